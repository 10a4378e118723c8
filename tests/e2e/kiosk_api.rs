//! The kiosk API as a kiosk meets it over HTTP: taps stored once per idempotency key,
//! heartbeats, and every kind of bad request refused with a clear JSON error and nothing
//! half-stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::domain::demo::LOCATION_NAME;
use mend_server::domain::kiosk::register;
use mend_testing::{spawn_demo, TestApp, TestDb};
use serde_json::{json, Value};

fn key() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn now_text(app: &TestApp, offset_minutes: i64) -> String {
    (app.clock.now() + chrono::Duration::minutes(offset_minutes))
        .and_utc()
        .to_rfc3339()
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn stored_taps(app: &TestApp) -> Vec<mend_server::db::models::KioskRating> {
    let loc = app
        .db
        .read(|c| mend_server::db::queries::locations::find_by_name(c, LOCATION_NAME))
        .unwrap()
        .unwrap();
    app.db
        .read(|c| mend_server::db::queries::kiosks::taps_at(c, &loc.id))
        .unwrap()
}

#[tokio::test]
async fn taps_are_stored_once_per_key_and_heartbeats_show_the_kiosk() {
    taps_once(TestDb::sqlite()).await;
}

#[tokio::test]
async fn taps_are_stored_once_per_key_on_postgresql_too() {
    if let Some(db) = TestDb::postgres() {
        taps_once(db).await;
    }
}

async fn taps_once(db: TestDb) {
    let (app, _) = spawn_demo(db, &[]).await;
    let (device, token) = register(&app.db, LOCATION_NAME, "Exit", app.clock.now()).unwrap();
    let keys: Vec<String> = (0..4).map(|_| key()).collect();
    let batch = |ks: &[String]| {
        let taps: Vec<Value> = ks
            .iter()
            .enumerate()
            .map(|(i, k)| json!({"key": k, "rating": i % 4 + 1, "tapped_at": now_text(&app, -10)}))
            .collect();
        serde_json::to_vec(&json!({ "taps": taps })).unwrap()
    };
    let (status, body) = post(&app, "/api/kiosk/v1/taps", Some(&token), batch(&keys[..3])).await;
    assert_eq!(
        (status, body.clone()),
        (200, json!({"accepted": 3, "duplicates": 0}))
    );
    // The kiosk did not see the answer and sends again, with one more tap.
    let (status, body) = post(&app, "/api/kiosk/v1/taps", Some(&token), batch(&keys)).await;
    assert_eq!(
        (status, body),
        (200, json!({"accepted": 1, "duplicates": 3}))
    );
    let stored = stored_taps(&app);
    assert_eq!(stored.len(), 4);
    assert_eq!(
        stored
            .iter()
            .map(|t| t.rating)
            .collect::<Vec<_>>()
            .iter()
            .sum::<i32>(),
        1 + 2 + 3 + 4
    );
    assert!(stored.iter().all(|t| t.device_id == device.id));

    let beat = serde_json::to_vec(&json!({"buffered": 17, "version": "0.1.0"})).unwrap();
    let (status, body) = post(&app, "/api/kiosk/v1/heartbeat", Some(&token), beat).await;
    assert_eq!(status, 200);
    assert!(body["server_time"].as_str().unwrap().ends_with('Z'));
    let seen = app
        .db
        .read(|c| mend_server::db::queries::kiosks::for_location(c, &device.location_id))
        .unwrap();
    assert_eq!(seen[0].buffered, 17);
    assert_eq!(seen[0].version.as_deref(), Some("0.1.0"));
    assert!(seen[0].last_seen_at.is_some());
}

#[tokio::test]
async fn bad_requests_get_clear_json_errors_and_store_nothing() {
    let (app, _) = spawn_demo(TestDb::sqlite(), &[]).await;
    let (device, token) = register(&app.db, LOCATION_NAME, "Exit", app.clock.now()).unwrap();
    let good = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|_| json!({"key": key(), "rating": 2, "tapped_at": now_text(&app, -1)}))
            .collect()
    };
    let body = |taps: Vec<Value>| serde_json::to_vec(&json!({ "taps": taps })).unwrap();
    let taps = "/api/kiosk/v1/taps";

    let (status, err) = post(&app, taps, None, body(good(1))).await;
    assert_eq!((status, err["error"].as_str()), (401, Some("unauthorized")));
    let (status, err) = post(&app, taps, Some("mk_wrong"), body(good(1))).await;
    assert_eq!((status, err["error"].as_str()), (401, Some("unauthorized")));

    let (status, err) = post(&app, taps, Some(&token), b"{\"taps\": [".to_vec()).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("malformed_json"))
    );
    let (status, err) = post(
        &app,
        taps,
        Some(&token),
        b"{\"taps\": [], \"extra\": 1}".to_vec(),
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("malformed_json"))
    );

    let (status, err) = post(&app, taps, Some(&token), body(good(501))).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (413, Some("batch_too_large"))
    );
    let huge = format!("{{\"taps\": [], \"pad\": \"{}\"}}", "x".repeat(200 * 1024));
    let (status, err) = post(&app, taps, Some(&token), huge.into_bytes()).await;
    assert_eq!((status, err["error"].as_str()), (413, Some("too_large")));

    // One tap from the future spoils the batch: the good ones before it are not kept.
    let mut mixed = good(3);
    mixed.push(json!({"key": key(), "rating": 3, "tapped_at": now_text(&app, 60)}));
    let (status, err) = post(&app, taps, Some(&token), body(mixed)).await;
    assert_eq!(status, 422);
    assert_eq!(err["error"], "invalid_tap");
    assert_eq!(err["index"], 3);
    assert!(err["detail"].as_str().unwrap().contains("future"));
    assert!(stored_taps(&app).is_empty(), "nothing half-stored");

    app.db
        .write(|c| {
            mend_server::db::queries::kiosks::revoke(c, &device.id, app.clock.now())
                .map_err(mend_server::db::DbError::from)
        })
        .unwrap();
    let (status, err) = post(&app, taps, Some(&token), body(good(1))).await;
    assert_eq!((status, err["error"].as_str()), (401, Some("revoked")));
    assert!(stored_taps(&app).is_empty());
}

#[tokio::test]
async fn managers_register_see_and_revoke_their_kiosks_on_a_page() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let loc = app.location_of(&store.touchpoints[0].code);
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let page_path = format!("/manage/locations/{loc}/kiosks");
    let empty = app.page(&manager, &page_path).await;
    assert!(empty.contains("No kiosk yet."));
    let csrf = mend_testing::csrf_in(&empty);

    let res = manager
        .post(app.url(&page_path))
        .form(&[("csrf", csrf.as_str()), ("name", " ")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("A kiosk needs a name"));

    let res = manager
        .post(app.url(&page_path))
        .form(&[("csrf", csrf.as_str()), ("name", "Exit <door>")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let shown = res.text().await.unwrap();
    let start = shown.find("<code id=\"new-token\">").unwrap() + "<code id=\"new-token\">".len();
    let token = shown[start..].split('<').next().unwrap().to_owned();
    assert!(token.starts_with("mk_"), "{token}");
    assert!(shown.contains("Exit &#60;door&#62;"), "escaped");
    let listed = app.page(&manager, &page_path).await;
    assert!(!listed.contains(&token), "shown once");
    assert!(
        listed.contains("<td>offline</td><td>never</td>"),
        "{listed}"
    );

    let beat = serde_json::to_vec(&json!({"buffered": 3, "version": "0.1.0"})).unwrap();
    assert_eq!(
        post(&app, "/api/kiosk/v1/heartbeat", Some(&token), beat)
            .await
            .0,
        200
    );
    let online = app.page(&manager, &page_path).await;
    assert!(online.contains("<td>online</td>"), "{online}");
    assert!(online.contains("<td>3</td><td>0.1.0</td>"));
    app.advance(std::time::Duration::from_secs(4 * 60));
    assert!(app
        .page(&manager, &page_path)
        .await
        .contains("<td>offline</td>"));

    // Another store's kiosk cannot be revoked from here; this one can.
    let kiosk_id = app
        .db
        .read(|c| mend_server::db::queries::kiosks::for_location(c, &loc))
        .unwrap()[0]
        .id
        .clone();
    let other = app.add_location("Elsewhere");
    let (stranger, _) =
        mend_server::domain::kiosk::register_at(&app.db, &other, "Door", app.clock.now()).unwrap();
    let res = manager
        .post(app.url(&format!("{page_path}/{}/revoke", stranger.id)))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = manager
        .post(app.url(&format!("{page_path}/{kiosk_id}/revoke")))
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "CSRF");
    let res = manager
        .post(app.url(&format!("{page_path}/{kiosk_id}/revoke")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(app
        .page(&manager, &page_path)
        .await
        .contains("<td>revoked</td>"));
    let beat = serde_json::to_vec(&json!({"buffered": 0, "version": "0.1.0"})).unwrap();
    let (status, err) = post(&app, "/api/kiosk/v1/heartbeat", Some(&token), beat).await;
    assert_eq!((status, err["error"].as_str()), (401, Some("revoked")));

    // Not this manager's store (404); not a manager (403).
    let res = manager
        .get(app.url(&format!("/manage/locations/{other}/kiosks")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "another store's: as if there were none");
    app.add_user("staff", "till@shop.example", "staff password 1", &[&loc]);
    let staff = app.sign_in("till@shop.example", "staff password 1").await;
    let res = staff.get(app.url(&page_path)).send().await.unwrap();
    assert_eq!(res.status(), 403);
}

/// A database that cannot answer is not a revoked token: the kiosk is told to try again
/// soon (503), never "unauthorized" (401), which it takes for revoked and waits minutes.
#[tokio::test]
async fn a_database_error_while_checking_the_token_is_a_503_not_a_401() {
    let (app, _) = spawn_demo(TestDb::sqlite(), &[]).await;
    let (_, token) = register(&app.db, LOCATION_NAME, "Exit", app.clock.now()).unwrap();
    let beat = serde_json::to_vec(&json!({"buffered": 0, "version": "0.1.0"})).unwrap();
    let (status, _) = post(&app, "/api/kiosk/v1/heartbeat", Some(&token), beat.clone()).await;
    assert_eq!(status, 200);
    app.test_db
        .execute_behind_the_back("ALTER TABLE kiosk_devices RENAME TO kiosk_devices_away;");
    let (status, err) = post(&app, "/api/kiosk/v1/heartbeat", Some(&token), beat.clone()).await;
    assert_eq!((status, err["error"].as_str()), (503, Some("unavailable")));
    app.test_db
        .execute_behind_the_back("ALTER TABLE kiosk_devices_away RENAME TO kiosk_devices;");
    let (status, _) = post(&app, "/api/kiosk/v1/heartbeat", Some(&token), beat).await;
    assert_eq!(status, 200);
}
