//! The case workflow over HTTP: who may reach which page, the recovery path from alert to
//! resolution (with the customer told by email through a real SMTP server), merging
//! duplicates, and mistakes refused with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::db::states::{EventKind, MailKind};
use std::time::Duration;

use mend_server::db::queries::cases;
use mend_testing::smtp::SmtpSink;
use mend_testing::{csrf_in, spawn_demo, Post, TestApp, TestDb};

const PASSWORD: &str = "a long enough password";
const WAIT: Duration = Duration::from_secs(20);

async fn complain(app: &TestApp, code: &str, post: Post) -> String {
    app.complain(code, post).await
}

fn case_of(app: &TestApp, reference: &str) -> mend_server::db::models::Case {
    app.db
        .read(|c| cases::find_by_reference(c, reference))
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn the_recovery_path_from_alert_to_resolution_tells_the_customer_in_their_language() {
    recovery_path(TestDb::sqlite()).await;
}

#[tokio::test]
async fn the_recovery_path_works_on_postgresql_too() {
    if let Some(db) = TestDb::postgres() {
        recovery_path(db).await;
    }
}

async fn recovery_path(db: TestDb) {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = spawn_demo(db, &[("MEND_SMTP_URL", &sink.url())]).await;
    let code = &store.touchpoints[0].code;
    let location = app.location_of(code);
    let staff_id = app.add_user("staff", "till@shop.example", PASSWORD, &[&location]);
    // The customer writes in Korean and leaves an email, agreeing to be contacted.
    let page = app.open_form(code, "?lang=ko").await;
    let stamp = mend_testing::input_value(&page, "stamp").unwrap();
    let res = app
        .post_raw(
            code,
            &Post::valid()
                .with("stamp", &stamp)
                .with("lang", &mend_testing::input_value(&page, "lang").unwrap())
                .with("email", "kim@customer.example")
                .with("body", "커피가 차가워요."),
        )
        .await;
    assert_eq!(res.status(), 303);
    let status_path = res.headers()["location"].to_str().unwrap().to_owned();
    let reference = status_path
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    // The alert, to the manager and the staff member, and at once the customer's receipt:
    // in Korean, their words back, the reference and the way to the status page.
    let mails = sink.wait_for(3, WAIT).await;
    let receipt = mails
        .iter()
        .find(|m| m.rcpt_tos == ["kim@customer.example"])
        .expect("a receipt");
    assert_eq!(receipt.kind, "customer_receipt");
    assert!(receipt.subject.contains(&reference), "{}", receipt.subject);
    assert!(receipt.text.contains("접수했습니다"), "{}", receipt.text);
    assert!(receipt.header_names.iter().any(|h| h == "Auto-Submitted"));
    let receipt_link = receipt
        .text
        .split_whitespace()
        .find(|w| w.contains("/c/"))
        .unwrap()
        .to_owned();
    let opened = app.client.get(&receipt_link).send().await.unwrap();
    assert_eq!(opened.status(), 200);
    assert!(opened.text().await.unwrap().contains(&reference));

    let staff = app.sign_in("till@shop.example", PASSWORD).await;
    let inbox = app.page(&staff, "/manage/cases").await;
    assert!(
        inbox.contains(&reference) && inbox.contains("waiting"),
        "{inbox}"
    );

    // "I'm on it" gives the case to the one who said it.
    app.case_action_done(&staff, &reference, "acknowledge", &[])
        .await;
    assert_eq!(
        case_of(&app, &reference).assignee_id.as_deref(),
        Some(staff_id.as_str())
    );
    app.case_action_done(
        &staff,
        &reference,
        "note",
        &[("text", "Machine 2 runs cold.")],
    )
    .await;
    app.case_action_done(
        &staff,
        &reference,
        "update",
        &[("text", "We are brewing a fresh pot for you.")],
    )
    .await;

    // The customer sees the update on their status page and gets it by email, in Korean.
    let status_page = app.get(&status_path).await.text().await.unwrap();
    assert!(status_page.contains("We are brewing a fresh pot for you."));
    assert!(
        !status_page.contains("Machine 2 runs cold."),
        "notes stay internal"
    );
    let mails = sink.wait_for(4, WAIT).await;
    let update = mails
        .iter()
        .find(|m| m.rcpt_tos == ["kim@customer.example"] && m.kind == "customer_update")
        .unwrap();
    assert!(update.subject.contains(&reference));
    assert!(
        update
            .text
            .contains("Mend Demo Café 팀이 보낸 메시지입니다"),
        "{}",
        update.text
    );
    assert!(update.text.contains("We are brewing a fresh pot for you."));
    let link = update
        .text
        .split_whitespace()
        .find(|w| w.contains("/c/"))
        .unwrap()
        .to_owned();
    let followed = app.client.get(&link).send().await.unwrap();
    assert_eq!(
        followed.status(),
        200,
        "the email's link opens the status page"
    );

    app.case_action_done(
        &staff,
        &reference,
        "resolve",
        &[
            ("resolution", "Fresh coffee and a cake on the house."),
            ("root_cause", "equipment"),
            ("compensation_type", "voucher"),
            ("compensation_value", "4.50"),
            ("compensation_currency", "eur"),
        ],
    )
    .await;
    let case = case_of(&app, &reference);
    assert_eq!(case.status.as_str(), "resolved");
    assert!(case.resolved_at.is_some());
    assert_eq!(case.root_cause.as_deref(), Some("equipment"));
    assert_eq!(
        (
            case.compensation_type.as_deref(),
            case.compensation_minor,
            case.compensation_currency.as_deref()
        ),
        (Some("voucher"), Some(450), Some("EUR"))
    );
    let mails = sink.wait_for(5, WAIT).await;
    let resolved = mails
        .iter()
        .find(|m| m.rcpt_tos == ["kim@customer.example"] && m.kind == "customer_resolved")
        .unwrap();
    assert!(
        resolved.text.contains("해결되었습니다"),
        "{}",
        resolved.text
    );
    assert!(resolved
        .text
        .contains("Fresh coffee and a cake on the house."));

    let html = app
        .page(&staff, &format!("/manage/cases/{reference}"))
        .await;
    for expected in [
        "Resolved",
        "Voucher €4.50",
        "Internal note: Machine 2 runs cold.",
        "Update to the customer: We are brewing a fresh pot for you.",
        "Resolved (Equipment): Fresh coffee and a cake on the house.",
        // The mail list: the customer's address masked, colleagues' whole.
        "k***@customer.example",
        "Alert to till@shop.example",
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    let inbox = app.page(&staff, "/manage/cases").await;
    assert!(
        !inbox.contains(&reference),
        "resolved cases leave the inbox"
    );

    // Reopened, it is back in the inbox and can be worked again.
    app.case_action_done(
        &staff,
        &reference,
        "reopen",
        &[("text", "The customer came back.")],
    )
    .await;
    let case = case_of(&app, &reference);
    assert_eq!(case.status.as_str(), "in_progress");
    assert!(case.resolved_at.is_none());
    assert!(app.page(&staff, "/manage/cases").await.contains(&reference));
    let events = app.db.read(|c| cases::events(c, &case.id)).unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
    for kind in [
        "received",
        "alerted",
        "acknowledged",
        "note",
        "public_update",
        "resolved",
        "reopened",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    assert!(
        events
            .iter()
            .filter(|e| e.kind != EventKind::Received && e.kind != EventKind::Alerted)
            .all(|e| e.actor_user_id.as_deref() == Some(staff_id.as_str())),
        "every action records who"
    );
}

#[tokio::test]
async fn mistakes_are_refused_with_the_reason_and_what_was_typed_is_kept() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let reference = complain(&app, code, Post::valid()).await;
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    for (fields, message) in [
        (
            vec![("resolution", ""), ("root_cause", "equipment")],
            "Please write what was done.",
        ),
        (
            vec![
                ("resolution", "Refilled <the> soap"),
                ("root_cause", "gremlins"),
            ],
            "Please choose the root cause.",
        ),
        (
            vec![
                ("resolution", "Refilled <the> soap"),
                ("root_cause", "cleaning"),
                ("compensation_type", "refund"),
                ("compensation_value", "twelve"),
            ],
            "is not an amount like 12.50",
        ),
    ] {
        let res = app
            .case_action(&manager, &reference, "resolve", &fields)
            .await;
        assert_eq!(res.status(), 400);
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{message} in {html}");
        if fields[0].1 == "Refilled <the> soap" {
            assert!(
                html.contains("Refilled &#60;the&#62; soap"),
                "kept, escaped"
            );
        }
    }
    assert!(
        case_of(&app, &reference).resolved_at.is_none(),
        "nothing was saved"
    );
    let res = app
        .case_action(&manager, &reference, "update", &[("text", "   ")])
        .await;
    assert_eq!(res.status(), 400);
    let res = app
        .case_action(&manager, &reference, "reopen", &[("text", "why not")])
        .await;
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("This case is not resolved."));
    let res = app.case_action(&manager, &reference, "explode", &[]).await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn a_merged_duplicate_is_resolved_with_its_case_and_every_reporter_is_told() {
    let Some(sink) = SmtpSink::start().map(|s| s.without("customer_receipt")) else {
        return;
    };
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_SMTP_URL", &sink.url())]).await;
    let code = &store.touchpoints[1].code;
    let first = complain(
        &app,
        code,
        Post::valid().with("email", "a@customer.example"),
    )
    .await;
    let second = complain(
        &app,
        code,
        Post::valid().with("email", "b@customer.example"),
    )
    .await;
    let other = complain(&app, code, Post::valid().with("category", "staff")).await;
    sink.wait_for(3, WAIT).await;
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let page = app.page(&manager, &format!("/manage/cases/{first}")).await;
    assert!(page.contains("Possible duplicates") && page.contains(&second));
    assert!(
        !page.contains(&other),
        "another category is not a duplicate"
    );

    app.case_action_done(&manager, &first, "merge", &[("duplicate", &second)])
        .await;
    assert!(
        !app.page(&manager, "/manage/cases").await.contains(&second),
        "the duplicate leaves the inbox"
    );
    // The duplicate's page says where it went and offers no action that does not apply.
    let merged = app.page(&manager, &format!("/manage/cases/{second}")).await;
    assert!(merged.contains(&format!("href=\"/manage/cases/{first}\"")));
    for action in ["resolve", "assign", "update", "acknowledge", "merge"] {
        assert!(
            !merged.contains(&format!("/manage/cases/{second}/{action}\"")),
            "{action} offered on a merged case"
        );
    }
    app.case_action_done(
        &manager,
        &first,
        "resolve",
        &[
            ("resolution", "Refilled the soap."),
            ("root_cause", "cleaning"),
        ],
    )
    .await;
    for reference in [&first, &second] {
        let case = case_of(&app, reference);
        assert_eq!(case.status.as_str(), "resolved", "{reference}");
        assert_eq!(case.resolution.as_deref(), Some("Refilled the soap."));
    }
    assert!(case_of(&app, &other).resolved_at.is_none());
    let mails = sink.wait_for(5, WAIT).await;
    for who in ["a@customer.example", "b@customer.example"] {
        assert!(
            mails
                .iter()
                .any(|m| m.rcpt_tos == [who] && m.text.contains("Refilled the soap.")),
            "{who} is told"
        );
    }
}

#[tokio::test]
async fn every_staff_route_wants_a_sign_in_the_right_store_the_right_role_and_a_csrf_token() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let location = app.location_of(code);
    let reference = complain(&app, code, Post::valid().photo(Vec::new())).await;
    let case_routes = [
        format!("/manage/cases/{reference}"),
        format!("/manage/cases/{reference}/photo"),
    ];
    let actions = [
        "acknowledge",
        "assign",
        "note",
        "update",
        "resolve",
        "reopen",
        "merge",
    ];

    // Anonymous: to the sign-in page, for pages and actions alike.
    let anonymous = app.browser();
    for path in case_routes
        .iter()
        .map(String::as_str)
        .chain(["/manage/cases"])
    {
        let res = anonymous.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/manage/login"));
    }
    for action in actions {
        let res = anonymous
            .post(app.url(&format!("/manage/cases/{reference}/{action}")))
            .form(&[("csrf", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{action}");
    }

    // Staff of another store: nothing of this case exists for them, by URL or by form.
    let elsewhere = app.add_location("Elsewhere");
    app.add_user("staff", "else@shop.example", PASSWORD, &[&elsewhere]);
    let stranger = app.sign_in("else@shop.example", PASSWORD).await;
    for path in &case_routes {
        assert_eq!(
            stranger.get(app.url(path)).send().await.unwrap().status(),
            404,
            "{path}"
        );
    }
    let inbox = app.page(&stranger, "/manage/cases").await;
    assert!(!inbox.contains(&reference));
    let own_page = app.page(&stranger, "/manage/").await;
    let csrf = csrf_in(&own_page);
    for action in actions {
        let res = stranger
            .post(app.url(&format!("/manage/cases/{reference}/{action}")))
            .form(&[("csrf", csrf.as_str()), ("text", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{action}");
    }
    // This store's staff cannot give the case to someone who does not work here.
    app.add_user("staff", "till@shop.example", PASSWORD, &[&location]);
    let till = app.sign_in("till@shop.example", PASSWORD).await;
    let res = app
        .case_action(
            &till,
            &reference,
            "assign",
            &[("assignee", &user_id_of(&app, "else@shop.example"))],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("does not work at this location"));
    assert!(case_of(&app, &reference).assignee_id.is_none());

    // Staff: the wrong role for managers' pages.
    let res = till
        .get(app.url(&format!("/manage/locations/{location}/stickers")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Without the CSRF token, no action does anything.
    for action in actions {
        let res = till
            .post(app.url(&format!("/manage/cases/{reference}/{action}")))
            .form(&[("text", "x"), ("resolution", "x"), ("root_cause", "other")])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{action}: {}", res.status());
    }
    let case = case_of(&app, &reference);
    assert!(
        case.acknowledged_at.is_none() && case.resolved_at.is_none() && case.assignee_id.is_none()
    );
    let events = app.db.read(|c| cases::events(c, &case.id)).unwrap();
    assert_eq!(
        events.len(),
        2,
        "received and alerted, nothing else: {events:?}"
    );
}

fn user_id_of(app: &TestApp, email: &str) -> String {
    app.db
        .read(|c| mend_server::db::queries::users::find_by_email(c, email))
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn the_inbox_puts_unacknowledged_cases_first_then_the_oldest_and_marks_the_overdue() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let oldest = complain(&app, code, Post::valid().with("body", "first")).await;
    let acknowledged = complain(&app, code, Post::valid().with("body", "second")).await;
    let newest = complain(
        &app,
        code,
        Post::valid()
            .with("category", "staff")
            .with("body", "third"),
    )
    .await;
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    app.case_action_done(&manager, &oldest, "acknowledge", &[])
        .await;
    app.advance(Duration::from_secs(20 * 60));
    let inbox = app.page(&manager, "/manage/cases").await;
    let at = |r: &str| inbox.find(r).unwrap_or_else(|| panic!("{r} in {inbox}"));
    assert!(
        at(&acknowledged) < at(&newest),
        "unacknowledged, oldest first"
    );
    assert!(at(&newest) < at(&oldest), "acknowledged last");
    assert_eq!(inbox.matches("past the SLA").count(), 2, "{inbox}");
    let filtered = app.page(&manager, "/manage/cases?category=staff").await;
    assert!(filtered.contains(&newest) && !filtered.contains(&acknowledged));
    let filtered = app
        .page(&manager, "/manage/cases?status=new&location=&category=")
        .await;
    assert!(filtered.contains(&newest));
}

#[tokio::test]
async fn the_same_phone_complaining_again_is_flagged_even_without_an_email() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let phone = app.browser();
    let mut references = Vec::new();
    for client in [&phone, &phone, &app.browser()] {
        let page = app.page(client, &format!("/t/{code}")).await;
        let form = reqwest::multipart::Form::new()
            .text("stamp", mend_testing::input_value(&page, "stamp").unwrap())
            .text("category", "other")
            .text("body", "Again no soap.");
        let res = client
            .post(app.url(&format!("/t/{code}")))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        references.push(
            location
                .trim_start_matches("/c/")
                .split('?')
                .next()
                .unwrap()
                .to_owned(),
        );
    }
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let flagged = |r: &str| {
        let (app, manager, r) = (&app, &manager, r.to_owned());
        async move {
            app.page(manager, &format!("/manage/cases/{r}"))
                .await
                .contains("Repeat complainant")
        }
    };
    assert!(
        !flagged(&references[0]).await,
        "the first time is not a repeat"
    );
    assert!(flagged(&references[1]).await, "the same phone again");
    assert!(!flagged(&references[2]).await, "another phone");
    let device = case_of(&app, &references[0]).device_hash.unwrap();
    assert_eq!(device.len(), 64, "only a hash of the cookie is kept");
}

#[tokio::test]
async fn managers_set_routing_and_root_causes_on_a_page_and_bad_addresses_change_nothing() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let location = app.location_of(code);
    let path = format!("/manage/locations/{location}/settings");
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let page = app.page(&manager, &path).await;
    assert!(page.contains("value=\"15\""), "the SLA is shown");
    let csrf = csrf_in(&page);
    let save = |fields: Vec<(&'static str, &'static str)>| {
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("fallback", ""),
            ("categories", ""),
            ("after_hours", ""),
            ("hours", ""),
            ("sla_minutes", "15"),
            ("escalation_minutes", "15"),
            ("severe_categories", ""),
            ("severe_keywords", ""),
            ("root_causes", ""),
        ];
        for (k, v) in fields {
            form.retain(|(name, _)| *name != k);
            form.push((k, v));
        }
        manager.post(app.url(&path)).form(&form).send()
    };
    let res = save(vec![
        (
            "categories",
            "cleanliness=clean@shop.example\nstaff=lead@shop.example",
        ),
        ("root_causes", "late delivery, broken till"),
        ("sla_minutes", "10"),
    ])
    .await
    .unwrap();
    assert_eq!(res.status(), 303);
    let page = app.page(&manager, &format!("{path}?saved=1")).await;
    assert!(page.contains("cleanliness=clean@shop.example") && page.contains("Saved."));

    for (fields, message) in [
        (vec![("fallback", "not-an-address")], "not-an-address"),
        (vec![("hours", "whenever")], "opening hours"),
        (vec![("sla_minutes", "soon")], "not a number of minutes"),
    ] {
        let res = save(fields).await.unwrap();
        assert_eq!(res.status(), 400, "{message}");
        assert!(res.text().await.unwrap().contains(message), "{message}");
    }
    let kept = app.page(&manager, &path).await;
    assert!(
        kept.contains("value=\"10\"") && kept.contains("staff=lead@shop.example"),
        "nothing changed"
    );

    // The routing is used for the next complaint, and the root causes when resolving.
    let reference = complain(&app, code, Post::valid()).await;
    let rows = app
        .wait_for_outbox("the alert", WAIT, |rows| {
            rows.iter().any(|r| r.kind == MailKind::Alert)
        })
        .await;
    let alert = rows.iter().find(|r| r.kind == MailKind::Alert).unwrap();
    assert_eq!(alert.recipient, "clean@shop.example");
    let case_page = app
        .page(&manager, &format!("/manage/cases/{reference}"))
        .await;
    assert!(case_page.contains("broken till") && !case_page.contains("\"equipment\""));
    app.case_action_done(
        &manager,
        &reference,
        "resolve",
        &[("resolution", "New till"), ("root_cause", "broken till")],
    )
    .await;

    // A category rule left out of the box is removed.
    save(vec![("categories", "staff=lead@shop.example")])
        .await
        .unwrap();
    assert!(!app.page(&manager, &path).await.contains("cleanliness="));

    // Staff may not; anonymous people sign in first.
    app.add_user("staff", "till@shop.example", PASSWORD, &[&location]);
    let staff = app.sign_in("till@shop.example", PASSWORD).await;
    assert_eq!(
        staff.get(app.url(&path)).send().await.unwrap().status(),
        403
    );
    assert_eq!(
        app.browser()
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
}

/// The same action posted twice at once, as a double click sends it: the two statuses.
async fn twice(
    app: &TestApp,
    client: &reqwest::Client,
    reference: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> [u16; 2] {
    let (a, b) = tokio::join!(
        app.case_action(client, reference, action, fields),
        app.case_action(client, reference, action, fields)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    statuses
}

/// Two clicks on Resolve (or Reopen, or Assign) sent at once do the thing once: one
/// event, one email to the customer, one survey, on both backends.
async fn a_double_click_does_one_thing_once(db: TestDb) {
    let (app, store) = spawn_demo(db, &[]).await;
    let code = &store.touchpoints[0].code;
    let reference = complain(
        &app,
        code,
        Post::valid()
            .with("email", "kim@customer.example")
            .with("consent", "yes"),
    )
    .await;
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let count = |app: &TestApp, kind: EventKind| {
        let case = case_of(app, &reference);
        app.db
            .read(|c| cases::events(c, &case.id))
            .unwrap()
            .iter()
            .filter(|e| e.kind == kind)
            .count()
    };
    let manager_id = app
        .db
        .read(|c| mend_server::db::queries::users::find_by_email(c, &store.manager_email))
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(
        twice(
            &app,
            &manager,
            &reference,
            "assign",
            &[("assignee", &manager_id)]
        )
        .await,
        [303, 303],
        "the second is a no-op"
    );
    assert_eq!(count(&app, EventKind::Assigned), 1);
    let resolution = [
        ("resolution", "New batch brewed."),
        ("root_cause", "equipment"),
    ];
    assert_eq!(
        twice(&app, &manager, &reference, "resolve", &resolution).await,
        [303, 400]
    );
    assert_eq!(count(&app, EventKind::Resolved), 1);
    let told = app
        .outbox_rows()
        .iter()
        .filter(|r| r.kind == MailKind::CustomerResolved)
        .count();
    assert_eq!(told, 1, "one 'resolved' email");
    assert_eq!(
        twice(
            &app,
            &manager,
            &reference,
            "reopen",
            &[("text", "The customer called back.")]
        )
        .await,
        [303, 400]
    );
    assert_eq!(count(&app, EventKind::Reopened), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_double_click_does_one_thing_once_on_sqlite() {
    a_double_click_does_one_thing_once(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_double_click_does_one_thing_once_on_postgresql() {
    if let Some(db) = TestDb::postgres() {
        a_double_click_does_one_thing_once(db).await;
    }
}

/// What the customer sees on their status page as the case moves on: a reply promised
/// only until someone has seen it, then what was done, for a customer who left no email
/// too.
#[tokio::test]
async fn the_status_page_follows_the_case_and_shows_what_was_done() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let res = app
        .submit(code, Post::valid().without("email").without("consent"))
        .await;
    assert_eq!(res.status(), 303);
    let status = res.headers()["location"].to_str().unwrap().to_owned();
    let reference = status
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let page = || async { app.get(&status).await.text().await.unwrap() };
    assert!(page().await.contains("aims to respond within 15 minutes"));

    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let case_page = app
        .page(&manager, &format!("/manage/cases/{reference}"))
        .await;
    assert!(
        case_page.contains("<option value=\"\" selected>nobody yet</option>"),
        "who has it starts at nobody"
    );
    assert!(case_page.contains("The customer reads this text on their status page"));
    let res = app
        .case_action(&manager, &reference, "assign", &[("assignee", "")])
        .await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Choose who should have the case."));
    app.case_action_done(&manager, &reference, "acknowledge", &[])
        .await;
    let seen = page().await;
    assert!(
        seen.contains("has seen your report and is working on it"),
        "{seen}"
    );
    assert!(!seen.contains("aims to respond within"));

    app.case_action_done(
        &manager,
        &reference,
        "resolve",
        &[
            ("resolution", "We refilled every soap dispenser."),
            ("root_cause", "cleaning"),
        ],
    )
    .await;
    let done = page().await;
    assert!(done.contains("has resolved your report"), "{done}");
    assert!(done.contains("What was done"));
    assert!(done.contains("We refilled every soap dispenser."));
}

/// The person who must act is told: given a case, they get it by email in their language
/// with "I'm on it"; a reopened case goes to whoever has it. Taking a case yourself, or
/// reopening it yourself, sends nothing to you.
#[tokio::test]
async fn assigning_and_reopening_tell_the_person_who_must_act() {
    let Some(sink) = SmtpSink::start().map(|s| s.without("customer_receipt")) else {
        return;
    };
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_SMTP_URL", &sink.url())]).await;
    let code = &store.touchpoints[0].code;
    let location = app.location_of(code);
    let staff_id = app.add_user("staff", "mina@shop.example", PASSWORD, &[&location]);
    app.db
        .write(|c| {
            mend_server::db::queries::users::set_language(c, &staff_id, "ko")
                .map_err(mend_server::db::DbError::from)
        })
        .unwrap();
    let reference = complain(&app, code, Post::valid()).await;
    // Every alert of the complaint sent (there may be several), before counting them.
    app.drain_outbox().await;
    let alerts = sink.wait_for(1, WAIT).await.len();
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;

    app.case_action_done(&manager, &reference, "assign", &[("assignee", &staff_id)])
        .await;
    app.drain_outbox().await;
    let mails = sink.wait_for(alerts + 1, WAIT).await;
    let given = mails
        .iter()
        .find(|m| m.kind == "assigned")
        .expect("the assignee is told");
    assert_eq!(given.rcpt_tos, ["mina@shop.example"]);
    assert!(given.subject.contains(&reference) && given.subject.contains("담당 지정"));
    assert!(
        given.text.contains("이 건의 담당자로 지정되었습니다"),
        "{}",
        given.text
    );
    assert!(given
        .text
        .contains(&format!("/ack/{reference}?to=mina%40shop.example")));

    // The manager takes another case themselves: no mail to anyone.
    let other = complain(&app, code, Post::valid().with("category", "staff")).await;
    app.case_action_done(&manager, &other, "assign", &[]).await;

    app.case_action_done(
        &manager,
        &reference,
        "resolve",
        &[("resolution", "Soap refilled."), ("root_cause", "cleaning")],
    )
    .await;
    app.case_action_done(
        &manager,
        &reference,
        "reopen",
        &[("text", "The customer called: still none.")],
    )
    .await;
    app.drain_outbox().await;
    let mails = sink.messages();
    let reopened: Vec<_> = mails.iter().filter(|m| m.kind == "reopened").collect();
    assert_eq!(
        reopened.len(),
        1,
        "{:?}",
        mails.iter().map(|m| &m.kind).collect::<Vec<_>>()
    );
    assert_eq!(reopened[0].rcpt_tos, ["mina@shop.example"]);
    assert!(reopened[0].text.contains("이 건이 다시 열렸습니다"));
    assert_eq!(
        mails.iter().filter(|m| m.kind == "assigned").count(),
        1,
        "taking a case yourself tells nobody"
    );
}
