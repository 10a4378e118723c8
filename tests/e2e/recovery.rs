//! The recovery conversation over HTTP: the customer's wish on the status page (no
//! JavaScript, four languages), remedy limits per store and role in the store's currency,
//! a manager's approval by a signed email link (once only, declined, expired, refused to
//! a manager of another store), on SQLite and PostgreSQL, with a real SMTP server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use diesel::prelude::*;
use mend_server::db::models::RemedyProposal;
use mend_server::db::queries::{cases, recovery};
use mend_server::db::states::{EventKind, MailKind};
use mend_testing::smtp::{Received, SmtpSink};
use mend_testing::{api_token, csrf_in, spawn_demo, Post, TestApp, TestDb};

const PASSWORD: &str = "a long enough password";

/// A complaint; returns (reference, status page path with its token).
async fn complain(app: &TestApp, code: &str, lang: &str, body: &str) -> (String, String) {
    let page = app.open_form(code, &format!("?lang={lang}")).await;
    let res = app
        .post_raw(
            code,
            &Post::valid()
                .with("stamp", &mend_testing::input_value(&page, "stamp").unwrap())
                .with("lang", &mend_testing::input_value(&page, "lang").unwrap())
                .with("body", body),
        )
        .await;
    assert_eq!(res.status(), 303);
    let status = res.headers()["location"].to_str().unwrap().to_owned();
    let reference = status
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    (reference, status)
}

fn case_of(app: &TestApp, reference: &str) -> mend_server::db::models::Case {
    app.db
        .read(|c| cases::find_by_reference(c, reference))
        .unwrap()
        .unwrap()
}

fn proposals(app: &TestApp, reference: &str) -> Vec<RemedyProposal> {
    let id = case_of(app, reference).id;
    app.db.read(|c| recovery::proposals_of(c, &id)).unwrap()
}

fn events(app: &TestApp, reference: &str, kind: EventKind) -> Vec<serde_json::Value> {
    let id = case_of(app, reference).id;
    app.db
        .read(|c| cases::events(c, &id))
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .collect()
}

fn set_currency(app: &TestApp, location: &str, currency: &str) {
    use mend_server::db::schema::locations;
    app.db
        .write(|c| {
            diesel::update(locations::table.find(location))
                .set(locations::currency.eq(currency))
                .execute(c)
                .map_err(mend_server::db::DbError::from)
        })
        .unwrap();
}

/// Everything due sent, then what the SMTP server received.
async fn delivered(app: &TestApp, sink: &SmtpSink) -> Vec<Received> {
    app.outbox.until_idle().await;
    sink.messages()
}

/// The approve link of the ask mailed to `to` about `reference`.
fn approval_link(mails: &[Received], to: &str, reference: &str) -> String {
    let ask = mails
        .iter()
        .find(|m| m.kind == "remedy_ask" && m.rcpt_tos == [to] && m.subject.contains(reference))
        .unwrap_or_else(|| panic!("an ask to {to} about {reference}"));
    ask.text
        .split_whitespace()
        .find(|w| w.contains("/remedy/") && w.contains("decision=approve"))
        .unwrap()
        .to_owned()
}

/// The form fields of the approval page's decision.
async fn decide_by_link(app: &TestApp, link: &str, decision: &str) -> reqwest::Response {
    app.client
        .post(link)
        .form(&[("decision", decision)])
        .send()
        .await
        .unwrap()
}

fn resolve_with<'a>(kind: &'a str, value: &'a str, currency: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("resolution", "Made a fresh one and gave a voucher."),
        ("root_cause", "equipment"),
        ("compensation_type", kind),
        ("compensation_value", value),
        ("compensation_currency", currency),
    ]
}

/// A Korean complaint that `who` resolves with a KRW voucher of `amount`, above their
/// limit; the case and the approval link its store's manager was emailed.
async fn proposed(
    app: &TestApp,
    sink: &SmtpSink,
    who: &reqwest::Client,
    code: &str,
    text: &str,
    amount: &str,
) -> (String, String) {
    let (reference, _) = complain(app, code, "ko", text).await;
    app.case_action_done(
        who,
        &reference,
        "resolve",
        &resolve_with("voucher", amount, "KRW"),
    )
    .await;
    let mails = delivered(app, sink).await;
    let link = approval_link(&mails, "boss@cafe.example", &reference);
    (reference, link)
}

/// A Korean complaint that `who` resolves with a 20,000 won voucher, which must resolve
/// it at once (no limit stands in the way).
async fn resolved_at_once(app: &TestApp, who: &reqwest::Client, code: &str, text: &str) {
    let (reference, _) = complain(app, code, "ko", text).await;
    app.case_action_done(
        who,
        &reference,
        "resolve",
        &resolve_with("voucher", "20000", "KRW"),
    )
    .await;
    assert!(case_of(app, &reference).resolved_at.is_some());
}

async fn limits_and_approvals(db: TestDb) {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = spawn_demo(db, &[("MEND_SMTP_URL", &sink.url())]).await;
    let code = &store.touchpoints[0].code;
    let location = app.location_of(code);
    // A Seoul café: won have no minor unit.
    set_currency(&app, &location, "KRW");
    let other = app.add_location("Other store");
    app.add_user("staff", "staff@cafe.example", PASSWORD, &[&location]);
    let boss_id = app.add_user("manager", "boss@cafe.example", PASSWORD, &[&location]);
    app.add_user("manager", "elsewhere@cafe.example", PASSWORD, &[&other]);
    let staff = app.sign_in("staff@cafe.example", PASSWORD).await;
    let boss = app.sign_in("boss@cafe.example", PASSWORD).await;
    let elsewhere = app.sign_in("elsewhere@cafe.example", PASSWORD).await;
    let remedies = format!("/manage/locations/{location}/remedies");

    // Staff may not set limits; a manager sets staff's, not managers' own.
    let page = app.page(&boss, &remedies).await;
    assert!(page.contains("Amount per case (KRW)"), "{page}");
    let csrf = csrf_in(&page);
    let post_limit = |client: &reqwest::Client, fields: Vec<(&'static str, String)>| {
        let client = client.clone();
        let url = app.url(&format!("{remedies}/limit"));
        async move { client.post(url).form(&fields).send().await.unwrap() }
    };
    let refused = post_limit(
        &boss,
        vec![
            ("csrf", csrf.clone()),
            ("role", "manager".into()),
            ("amount", "1".into()),
        ],
    )
    .await;
    assert_eq!(
        refused.status(),
        403,
        "a manager does not set managers' own limit"
    );
    // Half a won does not exist: refused, nothing stored.
    let bad = post_limit(
        &boss,
        vec![
            ("csrf", csrf.clone()),
            ("role", "staff".into()),
            ("kind", "voucher".into()),
            ("amount", "5000.5".into()),
        ],
    )
    .await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("5000 KRW"));
    assert!(app
        .db
        .read(|c| recovery::limits_at(c, &location))
        .unwrap()
        .is_empty());
    let saved = post_limit(
        &boss,
        vec![
            ("csrf", csrf.clone()),
            ("role", "staff".into()),
            ("kind", "voucher".into()),
            ("kind", "apology".into()),
            ("amount", "5000".into()),
        ],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let limits = app.db.read(|c| recovery::limits_at(c, &location)).unwrap();
    assert_eq!(limits.len(), 1);
    assert_eq!(
        (limits[0].kinds.as_str(), limits[0].max_minor),
        ("voucher,apology", 5_000)
    );

    // Within the limit: staff resolve at once, and the event says how it was allowed.
    let (within, _) = complain(&app, code, "ko", "커피가 식었어요.").await;
    let staff_csrf = csrf_in(&app.page(&staff, &format!("/manage/cases/{within}")).await);
    let refused = post_limit(
        &staff,
        vec![
            ("csrf", staff_csrf),
            ("role", "staff".into()),
            ("amount", "1".into()),
        ],
    )
    .await;
    assert_eq!(refused.status(), 403);
    let page = app.page(&staff, &format!("/manage/cases/{within}")).await;
    assert!(page.contains("up to ₩5,000 a case"), "{page}");
    app.case_action_done(
        &staff,
        &within,
        "resolve",
        &resolve_with("voucher", "5000", "KRW"),
    )
    .await;
    assert!(case_of(&app, &within).resolved_at.is_some());
    assert_eq!(
        events(&app, &within, EventKind::Resolved)[0]["granted"],
        "within_limit"
    );

    // A kind not allowed, another currency, or more than the limit go to a manager. Half a
    // won is refused outright.
    let (above, _) = complain(&app, code, "ko", "주문이 틀렸어요.").await;
    let half = app
        .case_action(
            &staff,
            &above,
            "resolve",
            &resolve_with("voucher", "5000.5", "KRW"),
        )
        .await;
    assert_eq!(half.status(), 400);
    app.case_action_done(
        &staff,
        &above,
        "resolve",
        &resolve_with("voucher", "20000", "KRW"),
    )
    .await;
    let case = case_of(&app, &above);
    assert!(case.resolved_at.is_none(), "it waits for a manager");
    let waiting = proposals(&app, &above);
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (
            waiting[0].kind.as_str(),
            waiting[0].amount_minor,
            waiting[0].currency.as_deref()
        ),
        ("voucher", Some(20_000), Some("KRW"))
    );
    // One waiting proposal per case.
    let again = app
        .case_action(
            &staff,
            &above,
            "resolve",
            &resolve_with("voucher", "20000", "KRW"),
        )
        .await;
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("already waiting"));
    // The manager of the store is asked by email, in their language; the customer is told
    // nothing.
    let mails = delivered(&app, &sink).await;
    let link = approval_link(&mails, "boss@cafe.example", &above);
    app.outbox.until_idle().await;
    assert!(!app
        .outbox_rows()
        .iter()
        .any(|r| r.case_id.as_deref() == Some(case.id.as_str())
            && r.kind.is_to_customer()
            && r.kind != MailKind::CustomerReceipt));
    // A manager of another store sees neither the case nor its buttons.
    let own_csrf = csrf_in(
        &app.page(&elsewhere, &format!("/manage/locations/{other}/remedies"))
            .await,
    );
    let res = elsewhere
        .post(app.url(&format!("/manage/cases/{above}/approve")))
        .form(&[("csrf", own_csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(proposals(&app, &above)[0].decided_at.is_none());
    // GET only shows the proposal and asks; POST decides, once.
    let shown = app.client.get(&link).send().await.unwrap();
    assert_eq!(shown.status(), 200);
    let shown = shown.text().await.unwrap();
    assert!(
        shown.contains("₩20,000") && shown.contains("staff@cafe.example"),
        "{shown}"
    );
    assert!(proposals(&app, &above)[0].decided_at.is_none());
    let first = decide_by_link(&app, &link, "approve").await;
    assert_eq!(first.status(), 200);
    assert!(first.text().await.unwrap().contains("Approved."));
    let second = decide_by_link(&app, &link, "decline").await;
    assert_eq!(second.status(), 200);
    assert!(second
        .text()
        .await
        .unwrap()
        .contains("Already approved by boss@cafe.example"));
    let decided = &proposals(&app, &above)[0];
    assert_eq!(
        (decided.approved, decided.decided_by.as_deref()),
        (Some(true), Some(boss_id.as_str()))
    );
    assert_eq!(events(&app, &above, EventKind::RemedyApproved).len(), 1);
    assert!(events(&app, &above, EventKind::RemedyDeclined).is_empty());
    // The one who proposed it is told; then they resolve with it, and the customer hears.
    let mails = delivered(&app, &sink).await;
    let told = mails
        .iter()
        .find(|m| m.kind == "remedy_decided")
        .expect("the proposer told");
    assert_eq!(told.rcpt_tos, ["staff@cafe.example"]);
    assert!(told.subject.contains("Approved"), "{}", told.subject);
    let page = app.page(&staff, &format!("/manage/cases/{above}")).await;
    assert!(page.contains("Approved by boss@cafe.example"), "{page}");
    assert!(
        page.contains("value=\"20000\""),
        "the approved remedy is filled in"
    );
    app.case_action_done(
        &staff,
        &above,
        "resolve",
        &resolve_with("voucher", "20000", "KRW"),
    )
    .await;
    let resolved = &events(&app, &above, EventKind::Resolved)[0];
    assert_eq!(resolved["granted"], "approved");
    assert_eq!(resolved["approved_by"], "boss@cafe.example");
    let mails = delivered(&app, &sink).await;
    assert!(mails
        .iter()
        .any(|m| m.kind == "customer_resolved" && m.subject.contains(&above)));

    // Declined on the case page: the staff member is told, and the same remedy asks again.
    let (declined, _) = complain(&app, code, "ko", "자리가 더러워요.").await;
    app.case_action_done(
        &staff,
        &declined,
        "resolve",
        &resolve_with("refund", "3000", "KRW"),
    )
    .await;
    app.case_action_done(&boss, &declined, "decline", &[]).await;
    assert_eq!(proposals(&app, &declined)[0].approved, Some(false));
    assert_eq!(events(&app, &declined, EventKind::RemedyDeclined).len(), 1);
    let res = app.case_action(&boss, &declined, "decline", &[]).await;
    assert_eq!(res.status(), 400, "nothing waits any more");
    app.case_action_done(
        &staff,
        &declined,
        "resolve",
        &resolve_with("refund", "3000", "KRW"),
    )
    .await;
    assert!(case_of(&app, &declined).resolved_at.is_none());
    assert_eq!(proposals(&app, &declined).len(), 2);
    // Resolved another way meanwhile: the waiting remedy is withdrawn, its link decides
    // nothing.
    let mails = delivered(&app, &sink).await;
    let stale = mails
        .iter()
        .rfind(|m| m.kind == "remedy_ask" && m.subject.contains(&declined))
        .map(|m| {
            m.text
                .split_whitespace()
                .find(|w| w.contains("decision=approve"))
                .unwrap()
                .to_owned()
        })
        .unwrap();
    app.case_action_done(
        &boss,
        &declined,
        "resolve",
        &resolve_with("apology", "", "KRW"),
    )
    .await;
    let newest = &proposals(&app, &declined)[0];
    assert!(newest.decided_at.is_some() && newest.approved.is_none());
    let page = app
        .client
        .get(&stale)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Nothing to decide"), "{page}");
    let res = decide_by_link(&app, &stale, "approve").await;
    assert!(res.text().await.unwrap().contains("Nothing to decide"));
    assert!(proposals(&app, &declined)[0].approved.is_none());
    assert!(events(&app, &declined, EventKind::RemedyApproved).is_empty());

    // Managers have no limit unless an admin sets one: the manager gives 20,000 at once.
    resolved_at_once(&app, &boss, code, "너무 오래 기다렸어요.").await;

    // An expired link decides nothing.
    let (late, link) = proposed(&app, &sink, &staff, code, "음악이 너무 커요.", "9000").await;
    app.clock.advance(Duration::from_secs(73 * 3600));
    assert_eq!(app.client.get(&link).send().await.unwrap().status(), 410);
    assert_eq!(decide_by_link(&app, &link, "approve").await.status(), 410);
    assert!(proposals(&app, &late)[0].decided_at.is_none());

    // A manager moved to another store since the email is refused by its link. (Sessions
    // ended with the three days: sign in again.)
    let staff = app.sign_in("staff@cafe.example", PASSWORD).await;
    let (moved, link) = proposed(&app, &sink, &staff, code, "영수증이 틀렸어요.", "8000").await;
    app.db
        .write(|c| {
            use mend_server::db::schema::user_locations;
            diesel::delete(user_locations::table.filter(user_locations::user_id.eq(&boss_id)))
                .execute(c)?;
            diesel::insert_into(user_locations::table)
                .values((
                    user_locations::user_id.eq(&boss_id),
                    user_locations::location_id.eq(&other),
                ))
                .execute(c)
                .map_err(mend_server::db::DbError::from)
        })
        .unwrap();
    assert_eq!(decide_by_link(&app, &link, "approve").await.status(), 403);
    assert!(proposals(&app, &moved)[0].decided_at.is_none());

    // A limit can be taken away again: staff may not, an admin (or the store's manager)
    // may; the change log says so, and staff then decide every remedy themselves.
    app.add_user("admin", "owner@cafe.example", PASSWORD, &[]);
    let owner = app.sign_in("owner@cafe.example", PASSWORD).await;
    let page = app.page(&owner, &remedies).await;
    assert!(page.contains("Remove the limit"), "{page}");
    let remove = |csrf: String| {
        vec![
            ("csrf", csrf),
            ("role", "staff".into()),
            ("action", "remove".into()),
        ]
    };
    let staff_csrf = csrf_in(&app.page(&staff, &format!("/manage/cases/{moved}")).await);
    assert_eq!(post_limit(&staff, remove(staff_csrf)).await.status(), 403);
    assert_eq!(
        post_limit(&owner, remove(csrf_in(&page))).await.status(),
        303
    );
    assert!(app
        .db
        .read(|c| recovery::limits_at(c, &location))
        .unwrap()
        .is_empty());
    let log = app
        .db
        .read(|c| mend_server::db::queries::admin_log::latest(c, 1))
        .unwrap();
    assert_eq!(log[0].action, "remedy_limit.remove");
    assert!(log[0].before.as_deref().unwrap_or("").contains("5000"));
    let page = app.page(&owner, &remedies).await;
    assert!(page.contains("No limit: they decide"), "{page}");
    assert!(!page.contains("Remove the limit"), "{page}");
    // Removing what is not there changes nothing and logs nothing.
    assert_eq!(
        post_limit(&owner, remove(csrf_in(&page))).await.status(),
        303
    );
    let removals = app
        .db
        .read(|c| mend_server::db::queries::admin_log::latest(c, 1_000))
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "remedy_limit.remove")
        .count();
    assert_eq!(removals, 1);
    resolved_at_once(&app, &staff, code, "자리가 더러웠어요.").await;
}

#[tokio::test]
async fn staff_give_remedies_within_their_limit_and_a_manager_approves_the_rest_once() {
    limits_and_approvals(TestDb::sqlite()).await;
}

#[tokio::test]
async fn remedy_limits_and_approvals_hold_on_postgresql_too() {
    if let Some(db) = TestDb::postgres() {
        limits_and_approvals(db).await;
    }
}

async fn api_act(
    app: &TestApp,
    token: &str,
    reference: &str,
    action: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let path = format!("/api/v1/cases/{reference}/{action}");
    mend_testing::post_json(app, &path, token, &body).await
}

/// Another system resolving through the REST API meets the same limits, and a manager's
/// token approves or declines what waits, with the web's rules: not one's own proposal,
/// only a manager of the store or an admin, a read token never, each decision once.
async fn remedies_over_the_api(db: TestDb) {
    let (app, store) = spawn_demo(db, &[]).await;
    let code = &store.touchpoints[0].code;
    let location = app.location_of(code);
    set_currency(&app, &location, "JPY");
    let other = app.add_location("Other store");
    app.add_user("staff", "till@shop.example", PASSWORD, &[&location]);
    app.add_user("manager", "lead@shop.example", PASSWORD, &[&location]);
    app.add_user("manager", "away@shop.example", PASSWORD, &[&other]);
    app.db
        .write(|c| {
            mend_server::domain::recovery::limits::set(
                c,
                &mend_server::domain::setup::Actor::CommandLine,
                &location,
                mend_server::db::states::Role::Staff,
                &mend_server::domain::recovery::limits::Limit {
                    kinds: vec!["voucher".into()],
                    max_minor: 1_000,
                },
                app.clock.now(),
            )
            .map_err(mend_server::db::DbError::from)
        })
        .unwrap();
    let till = api_token(&app, "till@shop.example", "write", &[]);
    let lead = api_token(&app, "lead@shop.example", "write", &[]);
    let lead_reads = api_token(&app, "lead@shop.example", "read", &[]);
    let away = api_token(&app, "away@shop.example", "write", &[]);
    let (reference, _) = complain(&app, code, "ja", "コーヒーが冷めていました。").await;
    let voucher = |amount: &str| {
        serde_json::json!({
            "what_was_done": "Made a fresh one and gave a voucher.",
            "root_cause": "equipment",
            "compensation_type": "voucher",
            "compensation_value": amount,
        })
    };

    // Nothing waits yet: nothing to approve.
    let (status, body) = api_act(&app, &lead, &reference, "approve", serde_json::json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    // Above the limit: not resolved, waiting; asking twice is a conflict.
    let (status, body) = api_act(&app, &till, &reference, "resolve", voucher("3000")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["remedy_waiting"], true, "{body}");
    assert!(body["resolved_at"].is_null(), "{body}");
    let (status, _) = api_act(&app, &till, &reference, "resolve", voucher("3000")).await;
    assert_eq!(status, 409);
    // Not the proposer, not a read token, not a manager of another store (who does not
    // even see the case).
    let (status, body) = api_act(&app, &till, &reference, "approve", serde_json::json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden")),
        "{body}"
    );
    let (status, _) = api_act(
        &app,
        &lead_reads,
        &reference,
        "approve",
        serde_json::json!({}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = api_act(&app, &away, &reference, "approve", serde_json::json!({})).await;
    assert_eq!(status, 404);
    assert!(proposals(&app, &reference)[0].decided_at.is_none());
    // Declined: the same remedy asks again; approved: it resolves.
    let (status, body) = api_act(&app, &lead, &reference, "decline", serde_json::json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["remedy_waiting"], false, "{body}");
    assert_eq!(events(&app, &reference, EventKind::RemedyDeclined).len(), 1);
    let (status, body) = api_act(&app, &till, &reference, "resolve", voucher("3000")).await;
    assert_eq!(
        (status, body["remedy_waiting"].as_bool()),
        (200, Some(true))
    );
    let (status, _) = api_act(&app, &lead, &reference, "approve", serde_json::json!({})).await;
    assert_eq!(status, 200);
    let (status, _) = api_act(&app, &lead, &reference, "approve", serde_json::json!({})).await;
    assert_eq!(status, 409, "one decision only");
    assert_eq!(events(&app, &reference, EventKind::RemedyApproved).len(), 1);
    let (status, body) = api_act(&app, &till, &reference, "resolve", voucher("3000")).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body["resolved_at"].is_null(), "{body}");
    assert_eq!(
        events(&app, &reference, EventKind::Resolved)[0]["granted"],
        "approved"
    );
}

#[tokio::test]
async fn another_system_meets_the_same_limits_and_a_managers_token_decides() {
    remedies_over_the_api(TestDb::sqlite()).await;
}

#[tokio::test]
async fn remedies_over_the_api_hold_on_postgresql_too() {
    if let Some(db) = TestDb::postgres() {
        remedies_over_the_api(db).await;
    }
}

#[tokio::test]
async fn the_customer_says_what_would_make_it_right_without_javascript_in_four_languages() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    for (lang, title, thanks, said) in [
        (
            "en",
            "What would make this right for you?",
            "The team sees your answer.",
            "You told us: A replacement",
        ),
        (
            "ko",
            "어떻게 해 드리면 좋을까요?",
            "팀이 답을 확인합니다.",
            "보내신 답: 교환 또는 다시 만들어 주기",
        ),
        (
            "ja",
            "どうすればご満足いただけますか?",
            "チームが回答を確認します。",
            "いただいた回答: 交換・作り直し",
        ),
        (
            "pl",
            "Co by to dla Ciebie naprawiło?",
            "Zespół widzi Twoją odpowiedź.",
            "Twoja odpowiedź: Wymiana",
        ),
    ] {
        let (reference, status) = complain(&app, code, lang, "Cold coffee.").await;
        let page = app.get(&status).await.text().await.unwrap();
        assert!(page.contains(title), "{lang}: {page}");
        assert!(!page.contains("<script"), "no JavaScript needed");
        let token = status
            .split("k=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_owned();
        let post = |fields: Vec<(&'static str, String)>| {
            let url = app.url(&format!("/c/{reference}/wish"));
            let client = app.client.clone();
            async move { client.post(url).form(&fields).send().await.unwrap() }
        };
        // Nothing chosen: the page again, saying so in their language, words kept.
        let res = post(vec![
            ("k", token.clone()),
            ("lang", lang.into()),
            ("text", "with milk please".into()),
        ])
        .await;
        assert_eq!(res.status(), 400);
        let body = res.text().await.unwrap();
        assert!(body.contains("with milk please"), "{lang}: {body}");
        assert!(body.contains("role=\"alert\""));
        // A wrong token finds nothing.
        let res = post(vec![("k", "0".repeat(32)), ("wish", "refund".into())]).await;
        assert_eq!(res.status(), 404);
        let res = post(vec![
            ("k", token.clone()),
            ("lang", lang.into()),
            ("wish", "replacement".into()),
            ("text", "with milk please".into()),
        ])
        .await;
        assert_eq!(res.status(), 303);
        let back = res.headers()["location"].to_str().unwrap().to_owned();
        let page = app.get(&back).await.text().await.unwrap();
        assert!(
            page.contains(thanks) && page.contains(said),
            "{lang}: {page}"
        );
        // The same answer again changes nothing; a changed one is recorded.
        post(vec![
            ("k", token.clone()),
            ("wish", "replacement".into()),
            ("text", "with milk please".into()),
        ])
        .await;
        assert_eq!(events(&app, &reference, EventKind::WishGiven).len(), 1);
        // Staff see it at the top of the case.
        let case_page = app
            .page(&manager, &format!("/manage/cases/{reference}"))
            .await;
        assert!(
            case_page.contains("What would make it right for them:"),
            "{case_page}"
        );
        assert!(case_page.contains("A replacement") && case_page.contains("with milk please"));
    }

    // Changed, then closed once the case is resolved; erasing takes their words.
    let (reference, status) = complain(&app, code, "en", "Dirty table.").await;
    let token = status
        .split("k=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    let send = |wish: &'static str, text: &'static str| {
        let url = app.url(&format!("/c/{reference}/wish"));
        let client = app.client.clone();
        let token = token.clone();
        async move {
            client
                .post(url)
                .form(&[("k", token.as_str()), ("wish", wish), ("text", text)])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        send("other", "").await.status(),
        400,
        "something else: say what"
    );
    assert_eq!(send("refund", "").await.status(), 303);
    assert_eq!(send("call_back", "after 6 pm").await.status(), 303);
    assert_eq!(events(&app, &reference, EventKind::WishGiven).len(), 2);
    let id = case_of(&app, &reference).id;
    let wish = app.db.read(|c| recovery::wish_of(c, &id)).unwrap().unwrap();
    assert_eq!(
        (wish.kind.as_str(), wish.text.as_deref()),
        ("call_back", Some("after 6 pm"))
    );
    app.case_action_done(
        &manager,
        &reference,
        "resolve",
        &resolve_with("", "", "EUR"),
    )
    .await;
    assert_eq!(send("refund", "").await.status(), 409);
    // Exports carry it: the choice by its label, their words beside it.
    let csv = app.page(&manager, "/manage/export/cases.csv").await;
    assert!(csv.contains("What would make it right"), "{csv}");
    assert!(csv.contains("A call back,after 6 pm"), "{csv}");
    // The dashboard sets what was asked for against what was given.
    let dashboard = app.page(&manager, "/manage/dashboard").await;
    let asked = dashboard
        .split("id=\"asked\"")
        .nth(1)
        .expect("the asked table");
    assert!(
        asked.contains("A call back") && asked.contains("Nothing given 1"),
        "{dashboard}"
    );
    let page = app.get(&status).await.text().await.unwrap();
    assert!(
        !page.contains("What would make this right"),
        "closed once resolved"
    );
    let erase = app
        .client
        .post(app.url(&format!("/c/{reference}/erase")))
        .form(&[("k", token.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(erase.status(), 303);
    let wish = app.db.read(|c| recovery::wish_of(c, &id)).unwrap().unwrap();
    assert_eq!((wish.kind.as_str(), wish.text), ("call_back", None));
}

/// With a store's history, the case page suggests what worked before for the category
/// (counts, satisfaction, would come back) and says from how many; the dashboard scores
/// each remedy.
#[tokio::test]
async fn the_case_page_suggests_what_worked_before_from_the_stores_own_history() {
    use mend_server::domain::demo::history::{seed_history, HistoryPlan};
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let plan = HistoryPlan {
        days: 60,
        stores: 1,
        seed: 7,
    };
    let now = mend_server::db::models::now_utc();
    seed_history(&app.db, plan, now, &store.manager_email, &mut |_, _| {}).unwrap();
    // An open case of the history store, in a category with enough resolved cases.
    let open = app
        .db
        .read(|c| {
            use mend_server::db::schema::cases;
            cases::table
                .filter(cases::resolved_at.is_null())
                .filter(cases::merged_into.is_null())
                .select((cases::reference, cases::location_id, cases::category))
                .load::<(String, String, String)>(c)
        })
        .unwrap();
    let (reference, _, _) = open
        .iter()
        .find(|(_, location, category)| {
            app.db
                .read(|c| recovery::past_remedies(c, location, category))
                .unwrap()
                .len()
                >= mend_server::domain::recovery::suggest::MIN_CASES
        })
        .expect("an open case with history");
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let page = app
        .page(&manager, &format!("/manage/cases/{reference}"))
        .await;
    assert!(page.contains("What worked before:"), "{page}");
    assert!(page.contains("resolved cases of this kind at this store"));
    assert!(page.contains(
        "Shown from 10 resolved cases; scores only for remedies with at least 5 survey answers."
    ));
    let table = page.split("class=\"suggest\"").nth(1).unwrap();
    assert!(
        table.contains("Nothing given") || table.contains("Voucher") || table.contains("Discount")
    );
    let dashboard = app.page(&manager, "/manage/dashboard").await;
    assert!(dashboard.contains("id=\"remedy-scores\""), "{dashboard}");
}
