//! `/metrics` as Prometheus scrapes it: requests per route pattern and status, latency,
//! mail waiting in the outbox and its age, cases past their SLA; readable from this
//! machine, or with the token when one is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use diesel::prelude::*;
use mend_server::db::models::{new_id, OutboxMessage};
use mend_server::db::schema::{cases, outbox};
use mend_server::db::states::MailKind;
use mend_testing::{plain_case, spawn_demo, Post, TestApp, TestDb};

async fn metrics(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut req = app.client.get(app.url("/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The value of one series, by its full name with labels.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn requests_outbox_and_overdue_cases_are_counted() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    for _ in 0..3 {
        assert_eq!(app.get(&format!("/t/{code}")).await.status(), 200);
    }
    assert_eq!(app.get("/t/NOSUCHCODE").await.status(), 404);
    assert_eq!(app.get("/no/such/page/at/all").await.status(), 404);

    // A case an hour old that nobody acknowledged (the SLA is 15 minutes), one new, and
    // one mail held back for tomorrow, queued ten minutes ago.
    let loc = app.location_of(code);
    let tp = app.touchpoint_id_of(code);
    let now = app.clock.now();
    app.db
        .write(|c| -> Result<(), mend_server::db::DbError> {
            for (reference, age) in [("MET-OLD1", 60), ("MET-NEW1", 1)] {
                let case = plain_case(&loc, &tp, reference, now - Duration::minutes(age));
                diesel::insert_into(cases::table).values(&case).execute(c)?;
            }
            let row = OutboxMessage {
                id: new_id(),
                kind: MailKind::Alert,
                recipient: "someone@example.com".into(),
                payload: "{}".into(),
                attempts: 1,
                next_attempt_at: now + Duration::days(1),
                claimed_until: None,
                sent_at: None,
                last_error: Some("450 try later".into()),
                dedupe_key: "metrics-test".into(),
                created_at: now - Duration::minutes(10),
                failed_at: None,
                case_id: None,
            };
            diesel::insert_into(outbox::table).values(&row).execute(c)?;
            Ok(())
        })
        .unwrap();

    let (status, text) = metrics(&app, None).await;
    assert_eq!(status, 200, "{text}");
    let series = |s: &str| value(&text, s);
    assert_eq!(
        series(r#"mend_http_requests_total{method="GET",route="/t/{code}",status="200"}"#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        series(r#"mend_http_requests_total{method="GET",route="/t/{code}",status="404"}"#),
        Some(1.0)
    );
    // Unknown paths share one series: nobody can make the scrape grow without bound.
    assert_eq!(
        series(r#"mend_http_requests_total{method="GET",route="unmatched",status="404"}"#),
        Some(1.0)
    );
    assert_eq!(
        series(r#"mend_http_request_duration_seconds_count{method="GET",route="/t/{code}"}"#),
        Some(4.0)
    );
    assert_eq!(series("mend_cases_past_sla"), Some(1.0), "{text}");
    assert_eq!(series("mend_outbox_unsent"), Some(1.0), "{text}");
    let age = series("mend_outbox_oldest_unsent_age_seconds").unwrap();
    assert!((599.0..=700.0).contains(&age), "{age}");
    assert!(!text.contains("NOSUCHCODE"));
}

#[tokio::test]
async fn with_a_token_only_its_bearer_reads_the_metrics() {
    const TOKEN: &str = "metrics-token-0123456789";
    let (app, _) = spawn_demo(TestDb::sqlite(), &[("MEND_METRICS_TOKEN", TOKEN)]).await;
    assert_eq!(metrics(&app, None).await.0, 403);
    assert_eq!(
        metrics(&app, Some("metrics-token-wrong-value")).await.0,
        403
    );
    let (status, text) = metrics(&app, Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert!(text.contains("mend_outbox_unsent 0"), "{text}");
}

#[test]
fn a_short_metrics_token_is_refused_at_start() {
    let raw = mend_server::config::RawConfig::from_pairs([
        ("MEND_DATA_DIR", "/tmp/mend-metrics-config-test"),
        ("MEND_SECRET", "a secret long enough for the check, surely"),
        ("MEND_METRICS_TOKEN", "short"),
    ]);
    let err = mend_server::config::Settings::from_raw(raw).unwrap_err();
    assert!(err.to_string().contains("MEND_METRICS_TOKEN"), "{err}");
}

#[tokio::test]
async fn a_complaint_shows_its_wait_for_the_writer_and_its_batch_commit() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let (_, before) = metrics(&app, None).await;
    assert_eq!(value(&before, "mend_intake_wait_seconds_count"), Some(0.0));
    for _ in 0..2 {
        assert_eq!(app.submit(code, Post::valid()).await.status(), 303);
    }

    let (_, text) = metrics(&app, None).await;
    let series = |s: &str| value(&text, s);
    assert_eq!(
        series("mend_intake_wait_seconds_count"),
        Some(2.0),
        "{text}"
    );
    // One at a time, each complaint was its own batch.
    assert_eq!(series("mend_intake_batch_size_sum"), Some(2.0), "{text}");
    assert_eq!(
        series("mend_intake_batch_seconds_count"),
        Some(2.0),
        "{text}"
    );
    let stored = series("mend_intake_batch_seconds_sum").unwrap();
    assert!(stored > 0.0, "{stored}");
}

/// Behind a proxy on the same machine every request arrives from loopback: one that was
/// forwarded comes from elsewhere, and without a token it is refused.
#[tokio::test]
async fn a_forwarded_request_is_not_this_machine() {
    let (app, _) = spawn_demo(TestDb::sqlite(), &[]).await;
    for (name, value) in [
        ("x-forwarded-for", "203.0.113.7"),
        ("forwarded", "for=203.0.113.7"),
        ("x-real-ip", "203.0.113.7"),
    ] {
        let res = app
            .client
            .get(app.url("/metrics"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{name}");
    }
    assert_eq!(metrics(&app, None).await.0, 200);
}
