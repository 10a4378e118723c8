//! "Send a test to me": a manager previews the survey reminder, the follow-up and the
//! weekly summary of a store in the browser, and sends each to themselves now through the
//! real SMTP server (a double click sends one); staff and other stores' managers cannot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_testing::smtp::SmtpSink;
use mend_testing::{csrf_in, spawn_demo, TestDb};

#[tokio::test]
async fn a_manager_previews_and_sends_the_later_emails_to_themselves() {
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_SMTP_URL", &sink.url())]).await;
    let location = app.location_of(&store.touchpoints[0].code);
    app.test_db.execute_behind_the_back(&format!(
        "UPDATE locations SET default_language = 'ko' WHERE id = '{location}'"
    ));
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let settings = app
        .page(&manager, &format!("/manage/locations/{location}/settings"))
        .await;
    assert!(settings.contains("Send a test to me"), "{settings}");

    // Previews: the customers' emails in the store's language about a made-up report; the
    // managers' summary in the reader's.
    let preview = |sample: &str| {
        let (manager, url) = (
            manager.clone(),
            app.url(&format!("/manage/locations/{location}/test/{sample}")),
        );
        async move { manager.get(url).send().await.unwrap() }
    };
    let reminder = preview("reminder").await;
    assert_eq!(reminder.status(), 200);
    let reminder = reminder.text().await.unwrap();
    assert!(
        reminder.contains("처리가 어땠는지") && reminder.contains("ABC-123"),
        "{reminder}"
    );
    let follow_up = preview("follow_up").await.text().await.unwrap();
    assert!(follow_up.contains("여전히 잘 되고 있나요"), "{follow_up}");
    let digest = preview("digest").await.text().await.unwrap();
    assert!(digest.contains("Mend Demo"), "{digest}");
    assert_eq!(preview("alert").await.status(), 404);

    // Sent now, once per click within a minute, to the manager.
    for sample in ["reminder", "follow_up", "digest", "digest"] {
        let csrf = csrf_in(&settings);
        let res = manager
            .post(app.url(&format!("/manage/locations/{location}/test/{sample}")))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303);
    }
    app.drain_outbox().await;
    let tests: Vec<_> = sink
        .messages()
        .into_iter()
        .filter(|m| m.kind == "test")
        .collect();
    assert_eq!(tests.len(), 3, "a double click sends one");
    assert!(tests
        .iter()
        .all(|m| m.rcpt_tos == [store.manager_email.clone()]));
    assert!(tests
        .iter()
        .any(|m| m.subject.starts_with("[테스트]") && m.text.contains("ABC-123")));
    assert!(tests.iter().any(|m| m.subject.starts_with("[Test]")));
    let after = app
        .page(
            &manager,
            &format!("/manage/locations/{location}/settings?sent=digest"),
        )
        .await;
    assert!(after.contains("is on its way to"));

    // Staff may not; another store's manager finds nothing.
    app.add_user(
        "staff",
        "shift@demo.example",
        "a long enough password",
        &[&location],
    );
    let staff = app
        .sign_in("shift@demo.example", "a long enough password")
        .await;
    let res = staff
        .get(app.url(&format!("/manage/locations/{location}/test/reminder")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let other = app.add_location("Elsewhere");
    app.add_user(
        "manager",
        "other@demo.example",
        "a long enough password",
        &[&other],
    );
    let other_manager = app
        .sign_in("other@demo.example", "a long enough password")
        .await;
    let res = other_manager
        .get(app.url(&format!("/manage/locations/{location}/test/reminder")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}
