//! Webhooks against a real receiver process that verifies every signature with the
//! `standardwebhooks` package: one `case.created` per complaint, a case's events in order,
//! a receiver down and back, 410 Gone, the private-address guard, rotation, and each
//! preset's body in the shape its service documents.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::db::queries::webhooks as queries;
use mend_server::domain::setup::Actor;
use mend_server::domain::webhook::{self, SubscriptionRequest};
use mend_testing::smtp::SmtpSink;
use mend_testing::webhooks::Receiver;
use mend_testing::{spawn_demo, Post, TestApp, TestDb};
use serde_json::Value;

fn subscribe(
    app: &TestApp,
    url: &str,
    format: &str,
    events: &[&str],
) -> mend_server::db::models::WebhookSubscription {
    webhook::subscribe(
        &app.db,
        &Actor::CommandLine,
        webhook::Within::Everywhere,
        &SubscriptionRequest {
            url: url.into(),
            events: events.iter().map(|e| e.to_string()).collect(),
            format: format.into(),
            ..SubscriptionRequest::default()
        },
        app.clock.now(),
    )
    .unwrap()
}

fn types(received: &[Value]) -> Vec<String> {
    received
        .iter()
        .map(|m| m["body"]["type"].as_str().unwrap_or("?").to_owned())
        .collect()
}

async fn act(app: &TestApp, reference: &str, action: &str) {
    let token = mend_server::domain::account::api_token::make(
        &app.db,
        &Actor::CommandLine,
        mend_server::domain::account::api_token::Maker::Anyone,
        &mend_server::domain::account::api_token::TokenRequest {
            email: mend_server::domain::demo::MANAGER_EMAIL.into(),
            name: "t".into(),
            scope: "write".into(),
            ..Default::default()
        },
        app.clock.now(),
    )
    .unwrap()
    .token;
    let res = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/cases/{reference}/{action}")))
        .bearer_auth(token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

#[tokio::test]
async fn a_complaint_is_told_once_signed_and_its_events_follow_in_order() {
    told_once(TestDb::sqlite()).await;
}

#[tokio::test]
async fn a_complaint_is_told_once_on_postgresql_too() {
    if let Some(db) = TestDb::postgres() {
        told_once(db).await;
    }
}

async fn told_once(db: TestDb) {
    let Some(receiver) = Receiver::start() else {
        return;
    };
    let (app, demo) = spawn_demo(db, &[("MEND_WEBHOOK_ALLOW_PRIVATE", "1")]).await;
    let sub = subscribe(&app, &receiver.url("/hooks/mend"), "standard", &[]);
    receiver.configure(&[&sub.secret], 200).await;
    let reference = app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    app.drain_outbox().await;
    let got = receiver.received().await;
    assert_eq!(types(&got), vec!["case.created"], "{got:#?}");
    let m = &got[0];
    assert_eq!(m["verified"], true, "{m:#}");
    assert_eq!(m["path"], "/hooks/mend");
    let data = &m["body"]["data"];
    assert_eq!(data["case"]["reference"], reference.as_str());
    assert_eq!(data["case"]["status"], "new");
    assert_eq!(
        data["store"]["name"],
        mend_server::domain::demo::LOCATION_NAME
    );
    assert!(data["spot"]["label"].is_string() && data["case"]["category"]["label"].is_string());
    assert!(
        data.get("customer").is_none(),
        "no contact details unless allowed"
    );
    // Drained again: nothing more (delivered once).
    app.drain_outbox().await;
    assert_eq!(receiver.received().await.len(), 1);

    act(&app, &reference, "acknowledge").await;
    app.drain_outbox().await;
    let got = receiver.received().await;
    assert_eq!(types(&got), vec!["case.created", "case.acknowledged"]);
    assert!(got.iter().all(|m| m["verified"] == true));
    assert_eq!(
        got[1]["body"]["data"]["event"]["by"],
        mend_server::domain::demo::MANAGER_EMAIL
    );
    let ids: Vec<&str> = got
        .iter()
        .map(|m| m["headers"]["webhook-id"].as_str().unwrap())
        .collect();
    assert_ne!(ids[0], ids[1]);
    let log = app.db.read(|c| queries::log(c, &sub.id, 10)).unwrap();
    assert!(log
        .iter()
        .all(|d| d.delivered_at.is_some() && d.last_status == Some(200)));
}

#[tokio::test]
async fn a_receiver_down_then_back_gets_each_event_once_and_in_order() {
    let Some(mut receiver) = Receiver::start() else {
        return;
    };
    let (app, demo) = spawn_demo(TestDb::sqlite(), &[("MEND_WEBHOOK_ALLOW_PRIVATE", "1")]).await;
    let sub = subscribe(
        &app,
        &receiver.url("/in"),
        "standard",
        &["case.created", "case.acknowledged"],
    );
    receiver.stop();
    let reference = app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    act(&app, &reference, "acknowledge").await;
    app.drain_outbox().await;
    let log = app.db.read(|c| queries::log(c, &sub.id, 10)).unwrap();
    assert_eq!(log.len(), 2);
    let created = log
        .iter()
        .find(|d| d.event.as_str() == "case.created")
        .unwrap();
    let acked = log
        .iter()
        .find(|d| d.event.as_str() == "case.acknowledged")
        .unwrap();
    assert_eq!(created.attempts, 1, "tried once");
    assert!(created.last_error.is_some() && created.delivered_at.is_none());
    assert_eq!(acked.attempts, 0, "waits behind the case's earlier event");

    receiver.restart();
    receiver.configure(&[&sub.secret], 200).await;
    // The first retry comes after about 5 seconds (with up to a fifth more of jitter).
    app.advance(std::time::Duration::from_secs(7));
    app.drain_outbox().await;
    let got = receiver.received().await;
    assert_eq!(
        types(&got),
        vec!["case.created", "case.acknowledged"],
        "{got:#?}"
    );
    assert!(got.iter().all(|m| m["verified"] == true));
    app.advance(std::time::Duration::from_secs(3600));
    app.drain_outbox().await;
    assert_eq!(receiver.received().await.len(), 2, "each delivered once");
    let sub = app.db.read(|c| queries::find(c, &sub.id)).unwrap().unwrap();
    assert!(
        sub.failing_since.is_none(),
        "a success ends the failing spell"
    );
}

#[tokio::test]
async fn a_410_gone_disables_the_subscription() {
    let Some(receiver) = Receiver::start() else {
        return;
    };
    let (app, demo) = spawn_demo(TestDb::sqlite(), &[("MEND_WEBHOOK_ALLOW_PRIVATE", "1")]).await;
    let sub = subscribe(&app, &receiver.url("/gone"), "standard", &[]);
    receiver.configure(&[&sub.secret], 410).await;
    app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    app.drain_outbox().await;
    let sub = app.db.read(|c| queries::find(c, &sub.id)).unwrap().unwrap();
    assert!(sub.disabled_at.is_some(), "disabled");
    assert_eq!(
        sub.disabled_reason,
        Some(mend_server::db::states::WebhookStop::Gone)
    );
    app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    app.drain_outbox().await;
    assert_eq!(receiver.received().await.len(), 1, "nothing more is sent");
    assert_eq!(
        app.db.read(|c| queries::log(c, &sub.id, 10)).unwrap().len(),
        1,
        "nor queued"
    );
}

#[tokio::test]
async fn private_and_metadata_addresses_are_refused_without_the_switch() {
    use mend_server::jobs::webhooks::check_destination;
    for url in [
        "http://127.0.0.1:9/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://10.0.0.8/x",
        "http://localhost:8080/x",
    ] {
        let e = check_destination(url, false).unwrap_err();
        assert_eq!(e.field, "url", "{url}");
    }
    assert!(check_destination("http://127.0.0.1:9/x", true).is_ok());
    assert!(check_destination("ftp://example.com/x", true).is_err());

    // At delivery time too: a subscription made while allowed is not sent once the
    // switch is off.
    let Some(receiver) = Receiver::start() else {
        return;
    };
    let (app, demo) = spawn_demo(TestDb::sqlite(), &[]).await;
    let sub = subscribe(&app, &receiver.url("/inside"), "standard", &[]);
    app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    app.drain_outbox().await;
    assert!(
        receiver.received().await.is_empty(),
        "nothing reached the private address"
    );
    let log = app.db.read(|c| queries::log(c, &sub.id, 10)).unwrap();
    assert!(log[0].failed_at.is_some(), "{log:?}");
    assert!(
        log[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("not a public address"),
        "{log:?}"
    );
}

#[tokio::test]
async fn a_rotated_secret_and_the_old_one_both_verify_for_a_day() {
    let Some(receiver) = Receiver::start() else {
        return;
    };
    let (app, demo) = spawn_demo(TestDb::sqlite(), &[("MEND_WEBHOOK_ALLOW_PRIVATE", "1")]).await;
    let sub = subscribe(&app, &receiver.url("/r"), "standard", &["case.created"]);
    let new = webhook::rotate(
        &app.db,
        &Actor::CommandLine,
        webhook::Within::Everywhere,
        &sub.id,
        app.clock.now(),
    )
    .unwrap();
    receiver.configure(&[&sub.secret], 200).await;
    app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    app.drain_outbox().await;
    receiver.configure(&[&new], 200).await;
    app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    app.drain_outbox().await;
    let got = receiver.received().await;
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|m| m["verified"] == true), "{got:#?}");
    assert_eq!(
        got[1]["headers"]["webhook-signature"]
            .as_str()
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    // A day later only the new secret signs.
    app.advance(std::time::Duration::from_secs(25 * 3600));
    receiver.configure(&[&sub.secret], 200).await;
    app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    app.drain_outbox().await;
    let got = receiver.received().await;
    assert_eq!(
        got[2]["verified"], false,
        "the old secret no longer verifies"
    );
}

#[tokio::test]
async fn each_preset_sends_the_shape_its_service_takes() {
    let Some(receiver) = Receiver::start() else {
        return;
    };
    let (app, demo) = spawn_demo(TestDb::sqlite(), &[("MEND_WEBHOOK_ALLOW_PRIVATE", "1")]).await;
    for (format, path) in [
        ("slack", "/slack"),
        ("teams", "/teams"),
        ("google-chat", "/chat"),
        ("ntfy", "/ntfy/mend-team"),
    ] {
        subscribe(&app, &receiver.url(path), format, &["case.created"]);
    }
    app.complain(
        &demo.touchpoints[0].code,
        Post::valid().with("category", "cleanliness"),
    )
    .await;
    app.drain_outbox().await;
    let got = receiver.received().await;
    let at = |p: &str| {
        got.iter()
            .find(|m| m["path"] == p)
            .unwrap_or_else(|| panic!("nothing at {p}: {got:#?}"))["body"]
            .clone()
    };
    let title = format!(
        "New complaint at {}",
        mend_server::domain::demo::LOCATION_NAME
    );

    // Slack: `text` (the notification) and Block Kit blocks, a button to the case.
    let slack = at("/slack");
    assert!(slack["text"].as_str().unwrap().starts_with(&title));
    assert_eq!(slack["blocks"][0]["type"], "section");
    assert_eq!(slack["blocks"][0]["text"]["type"], "mrkdwn");
    assert_eq!(slack["blocks"][1]["elements"][0]["type"], "button");
    assert!(slack["blocks"][1]["elements"][0]["url"]
        .as_str()
        .unwrap()
        .contains("/manage/cases/"));

    // Teams Workflows: a message whose attachment is an Adaptive Card.
    let teams = at("/teams");
    assert_eq!(teams["type"], "message");
    let card = &teams["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(card["content"]["type"], "AdaptiveCard");
    assert_eq!(card["content"]["version"], "1.4");
    assert_eq!(card["content"]["body"][0]["type"], "TextBlock");
    assert_eq!(card["content"]["actions"][0]["type"], "Action.OpenUrl");

    // Google Chat: a text message with a link in its <url|label> form.
    let chat = at("/chat");
    let text = chat["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("*{title}"))
            && text.contains("/manage/cases/")
            && text.contains('|')
    );

    // ntfy: JSON published at the server's root with the topic inside, a click to the case
    // and an "I'm on it" view action to the signed acknowledge link.
    let ntfy = at("/ntfy/");
    assert_eq!(ntfy["topic"], "mend-team");
    assert!(ntfy["title"].as_str().unwrap().starts_with(&title));
    assert!([4, 5].contains(&ntfy["priority"].as_i64().unwrap()));
    assert!(ntfy["click"].as_str().unwrap().contains("/manage/cases/"));
    assert_eq!(ntfy["actions"][0]["action"], "view");
    assert!(ntfy["actions"][0]["url"]
        .as_str()
        .unwrap()
        .contains("/ack/"));
}

/// The mail to `to` whose subject starts so, through a real SMTP server.
async fn stop_notices(
    sink: &SmtpSink,
    to: &str,
    subject: &str,
) -> Vec<mend_testing::smtp::Received> {
    let start = std::time::Instant::now();
    loop {
        let found: Vec<_> = sink
            .messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.contains(to)) && m.subject.starts_with(subject))
            .collect();
        if !found.is_empty() || start.elapsed() > std::time::Duration::from_secs(10) {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A receiver, a real SMTP server, and the demo store sending to both.
async fn with_receiver_and_mail() -> Option<(
    Receiver,
    SmtpSink,
    TestApp,
    mend_server::domain::demo::DemoStore,
)> {
    let (receiver, sink) = (Receiver::start()?, SmtpSink::start()?);
    let (app, demo) = spawn_demo(
        TestDb::sqlite(),
        &[
            ("MEND_WEBHOOK_ALLOW_PRIVATE", "1"),
            ("MEND_SMTP_URL", &sink.url()),
        ],
    )
    .await;
    Some((receiver, sink, app, demo))
}

#[tokio::test]
async fn a_webhook_stopped_by_410_tells_the_person_who_made_it() {
    let Some((receiver, sink, app, demo)) = with_receiver_and_mail().await else {
        return;
    };
    let manager = app
        .db
        .read(|c| mend_server::db::queries::users::find_by_email(c, &demo.manager_email))
        .unwrap()
        .unwrap();
    let sub = webhook::subscribe(
        &app.db,
        &Actor::User {
            id: manager.id.clone(),
            email: manager.email.clone(),
        },
        webhook::Within::Everywhere,
        &SubscriptionRequest {
            url: receiver.url("/gone"),
            format: "standard".into(),
            ..SubscriptionRequest::default()
        },
        app.clock.now(),
    )
    .unwrap();
    receiver.configure(&[&sub.secret], 410).await;
    app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    app.drain_outbox().await;
    let mail = stop_notices(&sink, &demo.manager_email, "Mend stopped").await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].subject, "Mend stopped sending to 127.0.0.1");
    assert!(mail[0].text.contains("410 Gone"), "{}", mail[0].text);
    assert!(
        mail[0]
            .text
            .contains(&format!("/manage/integrations/webhooks/{}", sub.id)),
        "{}",
        mail[0].text
    );
}

#[tokio::test]
async fn a_webhook_failing_for_days_stops_and_tells_the_admins_in_their_language() {
    let Some((receiver, sink, app, demo)) = with_receiver_and_mail().await else {
        return;
    };
    let admin = app.add_user("admin", "boss@shop.example", "boss password 12", &[]);
    app.test_db.execute_behind_the_back(&format!(
        "UPDATE users SET language = 'pl' WHERE id = '{admin}'"
    ));
    // Made on the command line: nobody in particular owns it, so the admins hear.
    let sub = subscribe(&app, &receiver.url("/down"), "standard", &["case.created"]);
    receiver.configure(&[&sub.secret], 500).await;
    app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    app.drain_outbox().await;
    let failing = app.db.read(|c| queries::find(c, &sub.id)).unwrap().unwrap();
    assert!(failing.failing_since.is_some() && failing.disabled_at.is_none());

    // Days later it still fails: stopped, and said so once.
    app.advance(std::time::Duration::from_secs(
        3600 * 24 * u64::try_from(webhook::DISABLE_AFTER_DAYS).unwrap() + 3600,
    ));
    app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    app.drain_outbox().await;
    let stopped = app.db.read(|c| queries::find(c, &sub.id)).unwrap().unwrap();
    assert_eq!(
        stopped.disabled_reason,
        Some(mend_server::db::states::WebhookStop::Failing)
    );
    let mail = stop_notices(&sink, "boss@shop.example", "Mend").await;
    assert_eq!(mail.len(), 1, "one notice");
    assert_eq!(mail[0].subject, "Mend przestał wysyłać do 127.0.0.1");
    assert!(mail[0].text.contains("przez 3 dni"), "{}", mail[0].text);
}
