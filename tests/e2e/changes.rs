//! "You said, we did" over HTTP on both backends: a manager records a change, the
//! customers who complained about it (and agreed to be contacted) get one email each
//! through the real SMTP server, at most one a month, none after an erasure or without
//! consent; the change shows on the store's public page, the form, the status pages of
//! the cases it answers and the dashboard (complaints before and after); mistakes are
//! refused with the reason; a withdrawn change leaves every page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use mend_testing::smtp::SmtpSink;
use mend_testing::{csrf_in, spawn_demo, Post, TestApp, TestDb};

const KO_TEXT: &str = "이제 화장실을 30분마다 점검합니다.";
const EN_TEXT: &str = "We now check the restrooms every 30 minutes.";

#[tokio::test]
async fn a_change_reaches_the_customers_who_told_us_once_on_sqlite() {
    change_reaches_customers(TestDb::sqlite()).await;
}

#[tokio::test]
async fn a_change_reaches_the_customers_who_told_us_once_on_postgresql() {
    if let Some(db) = TestDb::postgres() {
        change_reaches_customers(db).await;
    }
}

/// Posts a complaint; its reference and status-page token.
async fn complain(app: &TestApp, code: &str, post: Post) -> (String, String) {
    let res = app.submit(code, post).await;
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    let (path, query) = to.split_once('?').unwrap();
    let token = query
        .split('&')
        .find_map(|p| p.strip_prefix("k="))
        .unwrap()
        .to_owned();
    (path.trim_start_matches("/c/").to_owned(), token)
}

fn from(email: &str, category: &str) -> Post {
    Post::valid()
        .with("email", email)
        .with("category", category)
}

/// Records a change through the page's form; the response.
async fn record(
    app: &TestApp,
    manager: &reqwest::Client,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = app.page(manager, "/manage/changes").await;
    let csrf = csrf_in(&page);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    manager
        .post(app.url("/manage/changes"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn today(app: &TestApp) -> String {
    mend_server::domain::language::formats::local_day(
        mend_server::domain::demo::LOCATION_TIME_ZONE,
        app.clock.now(),
    )
    .to_string()
}

async fn change_reaches_customers(db: TestDb) {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let sink = sink.without("customer_receipt");
    let (app, store) = spawn_demo(db, &[("MEND_SMTP_URL", &sink.url())]).await;
    let code = &store.touchpoints[0].code;
    let location = app.location_of(code);

    // Who complained, and how.
    let (kim, kim_token) = complain(
        &app,
        code,
        from("kim@customer.example", "cleanliness").with("lang", "ko"),
    )
    .await;
    complain(
        &app,
        code,
        from("kim@customer.example", "cleanliness").with("lang", "ko"),
    )
    .await;
    complain(
        &app,
        code,
        from("no-consent@customer.example", "cleanliness").without("consent"),
    )
    .await;
    let (erased, erased_token) =
        complain(&app, code, from("erased@customer.example", "cleanliness")).await;
    complain(&app, code, from("waiting@customer.example", "waiting_time")).await;
    let (_, _) = complain(
        &app,
        code,
        from("ola@customer.example", "cleanliness").with("lang", "pl"),
    )
    .await;
    let res = app
        .client
        .post(app.url(&format!("/c/{erased}/erase")))
        .form(&[("k", erased_token.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    app.drain_outbox().await;
    let before = sink.count();

    // Mistakes are refused with the reason, in the manager's language; nothing is stored.
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let day = today(&app);
    let res = record(
        &app,
        &manager,
        &[("store", &location), ("category", "cleanliness")],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("What you changed: please fill this in."));
    let res = record(
        &app,
        &manager,
        &[("store", &location), ("text_en", EN_TEXT)],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("Complaints it answers"));
    let res = record(
        &app,
        &manager,
        &[
            ("store", &location),
            ("category", "weather"),
            ("text_en", EN_TEXT),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("one of the choices"), "{body}");
    let other_store = app.add_location("Somebody else's store");
    let res = record(
        &app,
        &manager,
        &[
            ("store", &other_store),
            ("category", "cleanliness"),
            ("text_en", EN_TEXT),
        ],
    )
    .await;
    assert_eq!(res.status(), 422, "not a store of theirs");
    let res = record(
        &app,
        &manager,
        &[
            ("store", &location),
            ("category", "cleanliness"),
            ("text_en", EN_TEXT),
            ("mail", "yes"),
            ("mail_from", &day),
            ("mail_to", "2020-01-01"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("must start before it ends"));
    let long = "x".repeat(501);
    let res = record(
        &app,
        &manager,
        &[
            ("store", &location),
            ("category", "cleanliness"),
            ("text_en", &long),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    let stored: i64 = app
        .db
        .read(|c| {
            use diesel::prelude::*;
            mend_server::db::schema::process_changes::table
                .count()
                .get_result(c)
        })
        .unwrap();
    assert_eq!(stored, 0);

    // Staff may not record one.
    let staff_id = app.add_user(
        "staff",
        "shift@demo.example",
        "a long enough password",
        &[&location],
    );
    assert!(!staff_id.is_empty());
    let staff = app
        .sign_in("shift@demo.example", "a long enough password")
        .await;
    assert_eq!(
        staff
            .get(app.url("/manage/changes"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    // The change, mailed to those who told us about it today.
    let res = record(
        &app,
        &manager,
        &[
            ("store", &location),
            ("category", "cleanliness"),
            ("text_en", EN_TEXT),
            ("text_ko", KO_TEXT),
            ("mail", "yes"),
            ("mail_from", &day),
            ("mail_to", &day),
        ],
    )
    .await;
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    app.drain_outbox().await;
    let told: Vec<_> = sink
        .messages()
        .into_iter()
        .skip(before)
        .filter(|m| m.kind == "customer_changed")
        .collect();
    let mut to: Vec<String> = told.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
    to.sort();
    assert_eq!(
        to,
        ["kim@customer.example", "ola@customer.example"],
        "once each, only with consent, not after the erasure, not another category"
    );
    let kim_mail = told
        .iter()
        .find(|m| m.rcpt_tos == ["kim@customer.example"])
        .unwrap();
    assert!(kim_mail.text.contains(KO_TEXT), "{}", kim_mail.text);
    assert!(kim_mail.subject.contains("바꾼 점"), "{}", kim_mail.subject);
    assert!(kim_mail
        .header_names
        .iter()
        .any(|h| h.eq_ignore_ascii_case("List-Unsubscribe")));
    // No Polish text was written: the Polish customer reads the store's language.
    let ola_mail = told
        .iter()
        .find(|m| m.rcpt_tos == ["ola@customer.example"])
        .unwrap();
    assert!(ola_mail.text.contains(EN_TEXT) && ola_mail.text.contains("Dziękujemy"));

    // The page says how many were told; the dashboard lists it.
    let page = app.page(&manager, "/manage/changes").await;
    assert!(page.contains("Emailed to 2 customers"), "{page}");
    let dashboard = app.page(&manager, "/manage/dashboard").await;
    assert!(dashboard.contains(EN_TEXT));

    // A second change this month mails nobody again.
    let res = record(
        &app,
        &manager,
        &[
            ("store", &location),
            ("category", "cleanliness"),
            ("text_en", "Soap is now refilled every morning."),
            ("mail", "yes"),
            ("mail_from", &day),
            ("mail_to", &day),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    app.drain_outbox().await;
    let again = sink
        .messages()
        .into_iter()
        .filter(|m| m.kind == "customer_changed")
        .count();
    assert_eq!(again, 2, "at most one such email per customer per month");

    // Everyone sees it: the store's public page (in Korean), the form, the status page.
    let public = app
        .client
        .get(app.url(&format!("/s/{location}/changes?lang=ko")))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 200);
    let public = public.text().await.unwrap();
    assert!(public.contains(KO_TEXT) && public.contains("<html lang=\"ko\">"));
    let form = app.open_form(code, "?lang=ko").await;
    assert!(
        form.contains("Soap is now refilled every morning."),
        "the latest, in the store's language"
    );
    let status = app
        .get(&format!("/c/{kim}?k={kim_token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(status.contains(KO_TEXT), "{status}");
    let sheet = app
        .page(&manager, &format!("/manage/locations/{location}/stickers"))
        .await;
    assert!(sheet.contains(&format!("/s/{location}/changes")));
    assert_eq!(app.get("/s/not-a-store/changes").await.status(), 404);

    // Withdrawn: off the public page and the form.
    let page = app.page(&manager, "/manage/changes").await;
    let id = page
        .split("/manage/changes/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let csrf = csrf_in(&page);
    let res = manager
        .post(app.url(&format!("/manage/changes/{id}/withdraw")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let public = app
        .get(&format!("/s/{location}/changes?lang=en"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!public.contains("Soap is now refilled every morning."));
    assert!(public.contains(EN_TEXT));
    let log = app
        .page(
            &app.sign_in(&store.manager_email, "demo-password-1").await,
            "/manage/changes",
        )
        .await;
    assert!(log.contains("Withdrawn"));
}

#[tokio::test]
async fn the_dashboard_compares_complaints_before_and_after_a_change() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let location = app.location_of(code);
    for _ in 0..3 {
        app.complain(code, Post::valid()).await;
    }
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let tomorrow = (chrono::NaiveDate::parse_from_str(&today(&app), "%Y-%m-%d").unwrap()
        + chrono::Duration::days(1))
    .to_string();
    let res = record(
        &app,
        &manager,
        &[
            ("store", &location),
            ("category", "cleanliness"),
            ("text_en", EN_TEXT),
            ("effective_on", &tomorrow),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let page = app.page(&manager, "/manage/changes").await;
    assert!(page.contains("Too early to compare"), "{page}");
    // Two days on, one more complaint; a day later the comparison covers two days each side.
    app.advance(Duration::from_secs(2 * 86_400));
    app.complain(code, Post::valid()).await;
    app.advance(Duration::from_secs(86_400));
    // (A session ends 12 hours after sign-in.)
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let page = app.page(&manager, "/manage/dashboard").await;
    assert!(
        page.contains("Complaints in the 2 days before: 3; in the 2 days since: 1 (-66%)"),
        "{page}"
    );

    // "All my stores" passes over an archived one rather than refusing the change.
    let archived = app.add_location("Closed café");
    app.test_db.execute_behind_the_back(&format!(
        "INSERT INTO user_locations (user_id, location_id) \
         SELECT id, '{archived}' FROM users WHERE email = '{}'; \
         UPDATE locations SET archived_at = created_at WHERE id = '{archived}'",
        store.manager_email
    ));
    let res = record(
        &app,
        &manager,
        &[
            ("all_stores", "yes"),
            ("category", "cleanliness"),
            ("text_en", "Napkins on every table."),
        ],
    )
    .await;
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    let public = app
        .get(&format!("/s/{location}/changes?lang=en"))
        .await
        .text()
        .await
        .unwrap();
    assert!(public.contains("Napkins on every table."));
    assert_eq!(
        app.get(&format!("/s/{archived}/changes")).await.status(),
        404
    );
}
