//! What the server does for a kiosk beyond storing taps: the heartbeat tells the kiosk its
//! store, language and sticker; the handoff link is signed, expires, and tags exactly one
//! complaint; unhappy taps piling up send one alert per window through real SMTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::db::states::MailKind;
use std::time::Duration;

use mend_server::domain::demo::LOCATION_NAME;
use mend_server::domain::kiosk::register;
use mend_testing::smtp::SmtpSink;
use mend_testing::{input_value, spawn_demo, Post, TestApp, TestDb};
use serde_json::{json, Value};

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    mend_testing::post_json(app, path, token, &body).await
}

const SECRET: &str = "kiosk handoff test secret, long enough to sign with";

fn tap_key() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The path and query of a full URL on the app.
fn path_of(app: &TestApp, url: &str) -> String {
    let base = &app.base_url;
    url.strip_prefix(base.trim_end_matches('/'))
        .unwrap_or_else(|| panic!("{url} is not on {base}"))
        .to_owned()
}

fn handoffs_of(app: &TestApp) -> Vec<(String, String)> {
    use diesel::prelude::*;
    use mend_server::db::schema::kiosk_handoffs;
    app.db
        .read(|c| {
            kiosk_handoffs::table
                .select((kiosk_handoffs::tap_key, kiosk_handoffs::case_id))
                .load(c)
        })
        .unwrap()
}

#[tokio::test]
async fn the_heartbeat_tells_the_kiosk_its_store_language_and_sticker() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let (_, token) = register(&app.db, LOCATION_NAME, "Exit", app.clock.now()).unwrap();
    let (status, body) = post(
        &app,
        "/api/kiosk/v1/heartbeat",
        &token,
        json!({"buffered": 0, "version": "test"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["location_name"], LOCATION_NAME);
    assert_eq!(body["language"], "en");
    let sticker = body["sticker_url"].as_str().unwrap();
    assert_eq!(
        sticker,
        format!("{}/t/{}", app.base_url, store.touchpoints[0].code)
    );
}

#[tokio::test]
async fn a_handoff_opens_the_form_and_tags_one_complaint_only() {
    handoff_tags_once(TestDb::sqlite()).await;
}

#[tokio::test]
async fn a_handoff_tags_one_complaint_only_on_postgresql_too() {
    if let Some(db) = TestDb::postgres() {
        handoff_tags_once(db).await;
    }
}

async fn handoff_tags_once(db: TestDb) {
    let (app, store) = spawn_demo(db, &[]).await;
    let code = &store.touchpoints[0].code;
    let (_, token) = register(&app.db, LOCATION_NAME, "Exit", app.clock.now()).unwrap();
    let tap = tap_key();
    let (status, body) = post(&app, "/api/kiosk/v1/handoff", &token, json!({"key": tap})).await;
    assert_eq!(status, 200, "{body}");
    let url = body["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/t/{code}?h=", app.base_url)),
        "{url}"
    );
    assert!(body["expires_at"].as_str().is_some());

    // The customer's phone opens it: the form carries the handoff to the post.
    let page = app
        .open_form(code, &path_of(&app, url)[format!("/t/{code}").len()..])
        .await;
    let h = input_value(&page, "handoff").expect("the form carries the handoff");
    let stamp = input_value(&page, "stamp").unwrap();
    let res = app
        .post_raw(
            code,
            &Post::valid().with("stamp", &stamp).with("handoff", &h),
        )
        .await;
    assert_eq!(res.status(), 303);
    let tagged = handoffs_of(&app);
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0].0, tap);
    // Staff see where the case came from (the tap arrives in its own time).
    let taps = json!({"taps": [{"key": tap, "rating": 1, "tapped_at": app.clock.now().and_utc().to_rfc3339()}]});
    assert_eq!(post(&app, "/api/kiosk/v1/taps", &token, taps).await.0, 200);
    let reference = res.headers()["location"].to_str().unwrap()[3..]
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let case_page = app
        .page(&manager, &format!("/manage/cases/{reference}"))
        .await;
    assert!(
        case_page.contains("From the kiosk, after a tap of 1 of 4"),
        "{case_page}"
    );

    // Used: the link now opens the plain form, and a second complaint through the old
    // form is kept but not tagged.
    let again = app
        .open_form(code, &path_of(&app, url)[format!("/t/{code}").len()..])
        .await;
    assert_eq!(input_value(&again, "handoff"), None);
    let fresh = app.open_form(code, "").await;
    let res = app
        .post_raw(
            code,
            &Post::valid()
                .with("stamp", &input_value(&fresh, "stamp").unwrap())
                .with("handoff", &h)
                .with("body", "Second complaint"),
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.case_count(), 2);
    assert_eq!(handoffs_of(&app).len(), 1);
}

#[tokio::test]
async fn forged_handoffs_are_refused_and_expired_ones_open_the_plain_form() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_SECRET", SECRET)]).await;
    let code = &store.touchpoints[0].code;
    let (_, token) = register(&app.db, LOCATION_NAME, "Exit", app.clock.now()).unwrap();
    let (_, body) = post(
        &app,
        "/api/kiosk/v1/handoff",
        &token,
        json!({"key": tap_key()}),
    )
    .await;
    let url = body["url"].as_str().unwrap().to_owned();
    let query = path_of(&app, &url)[format!("/t/{code}").len()..].to_owned();

    let forged = query.replacen("-7", "-8", 1);
    let res = app.get(&format!("/t/{code}{forged}")).await;
    assert_eq!(res.status(), 400);
    let res = app.get(&format!("/t/{code}?h=%3Cscript%3E")).await;
    assert_eq!(res.status(), 400);
    assert!(!res.text().await.unwrap().contains("<script>"));
    // A handoff made for another touchpoint is refused there.
    let other = &store.touchpoints[1].code;
    assert_eq!(app.get(&format!("/t/{other}{query}")).await.status(), 400);

    // Signed links expire: a handoff made 11 minutes "ago" no longer tags anything.
    let eleven_minutes_ago = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(11);
    let h = mend_server::domain::kiosk::handoff::sign(
        SECRET.as_bytes(),
        code,
        &tap_key(),
        eleven_minutes_ago,
    );
    let page = app.open_form(code, &format!("?h={h}")).await;
    assert_eq!(input_value(&page, "handoff"), None);
    // ...while one made now with the same key does.
    let h = mend_server::domain::kiosk::handoff::sign(
        SECRET.as_bytes(),
        code,
        &tap_key(),
        chrono::Utc::now().naive_utc(),
    );
    let page = app.open_form(code, &format!("?h={h}")).await;
    assert!(input_value(&page, "handoff").is_some());

    // Wrong token, malformed key: clear JSON errors.
    let (status, body) = post(
        &app,
        "/api/kiosk/v1/handoff",
        "mk_nope",
        json!({"key": tap_key()}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, body) = post(&app, "/api/kiosk/v1/handoff", &token, json!({"key": "1"})).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_tap")));
}

/// Unhappy and happy taps, `minutes_ago` each, sent as one batch.
async fn send_taps(app: &TestApp, token: &str, taps: &[(i64, i64)]) {
    let taps: Vec<Value> = taps
        .iter()
        .map(|(rating, minutes_ago)| {
            json!({
                "key": tap_key(),
                "rating": rating,
                "tapped_at": (app.clock.now() - chrono::Duration::minutes(*minutes_ago)).and_utc().to_rfc3339(),
            })
        })
        .collect();
    let (status, body) = post(app, "/api/kiosk/v1/taps", token, json!({ "taps": taps })).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn five_unhappy_taps_in_fifteen_minutes_send_one_alert_per_window() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, _) = spawn_demo(TestDb::sqlite(), &[("MEND_SMTP_URL", &sink.url())]).await;
    let (_, token) = register(&app.db, LOCATION_NAME, "Exit", app.clock.now()).unwrap();
    let alerts = |app: &TestApp| {
        app.outbox_rows()
            .into_iter()
            .filter(|r| r.kind == MailKind::KioskUnhappy)
            .count()
    };

    // Four unhappy and many happy taps: no alert. Unhappy taps 20 minutes apart: none.
    send_taps(
        &app,
        &token,
        &[(1, 14), (2, 12), (4, 11), (3, 10), (1, 9), (4, 1)],
    )
    .await;
    send_taps(&app, &token, &[(2, 40)]).await;
    send_taps(&app, &token, &[(1, 5)]).await;
    assert_eq!(alerts(&app), 0);
    // The fifth unhappy tap within 15 minutes: an alert to the store's people.
    send_taps(&app, &token, &[(2, 1)]).await;
    let rows = app
        .wait_for_outbox("the kiosk alert", Duration::from_secs(10), |rows| {
            rows.iter()
                .any(|r| r.kind == MailKind::KioskUnhappy && r.sent_at.is_some())
        })
        .await;
    let sent: Vec<_> = rows
        .iter()
        .filter(|r| r.kind == MailKind::KioskUnhappy)
        .collect();
    assert!(!sent.is_empty());
    let recipients = sent.len();
    // More unhappy taps in the same window: no second alert.
    send_taps(&app, &token, &[(1, 0), (1, 0), (2, 0)]).await;
    assert_eq!(alerts(&app), recipients);
    // A week-old backlog of unhappy taps arriving now alerts nobody.
    send_taps(&app, &token, &[(1, 7 * 24 * 60); 8]).await;
    assert_eq!(alerts(&app), recipients);

    let start = std::time::Instant::now();
    let mail = loop {
        let found: Vec<_> = sink
            .messages()
            .into_iter()
            .filter(|m| m.subject.contains("unhappy kiosk taps"))
            .collect();
        if found.len() == recipients || start.elapsed() > Duration::from_secs(10) {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(mail.len(), recipients);
    assert!(
        mail[0].subject.contains(LOCATION_NAME),
        "{}",
        mail[0].subject
    );
    assert!(
        mail[0]
            .subject
            .contains("5 unhappy kiosk taps in 15 minutes"),
        "{}",
        mail[0].subject
    );
    assert!(mail[0].html.contains("/kiosks"), "{}", mail[0].html);

    // Switched off: no alert, whatever happens.
    mend_server::domain::alert::settings::apply(
        &app.db,
        LOCATION_NAME,
        &mend_server::domain::alert::settings::AlertSettingsChange {
            unhappy_taps: Some(0),
            ..Default::default()
        },
    )
    .unwrap();
    app.advance(Duration::from_secs(3600));
    send_taps(&app, &token, &[(1, 0); 10]).await;
    assert_eq!(alerts(&app), recipients);
}

#[tokio::test]
async fn the_alert_threshold_is_checked_when_set() {
    let (app, _) = spawn_demo(TestDb::sqlite(), &[]).await;
    use mend_server::domain::alert::settings::{apply, AlertSettingsChange};
    let set = |n: Option<u32>, m: Option<u32>| {
        apply(
            &app.db,
            LOCATION_NAME,
            &AlertSettingsChange {
                unhappy_taps: n,
                unhappy_tap_minutes: m,
                ..Default::default()
            },
        )
    };
    assert!(set(Some(1001), None).is_err());
    assert!(set(None, Some(0)).is_err());
    assert!(set(None, Some(1441)).is_err());
    let shown = set(Some(3), Some(10)).unwrap().to_string();
    assert!(
        shown.contains("unhappy kiosk taps alert: 3 within 10 min"),
        "{shown}"
    );
    let shown = set(Some(0), None).unwrap().to_string();
    assert!(shown.contains("unhappy kiosk taps alert: off"), "{shown}");
}
