//! The running app over HTTP: health, error pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_testing::{TestApp, TestDb};

async fn health_is_ok_while_the_database_answers_and_503_when_it_does_not(test_db: TestDb) {
    let app = TestApp::spawn(test_db).await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok\n");

    // Break the database behind the app's back: its schema is gone.
    match app.test_db.schema() {
        Some(schema) => app
            .test_db
            .execute_behind_the_back(&format!("DROP SCHEMA {schema} CASCADE")),
        None => app.test_db.execute_behind_the_back(
            "PRAGMA foreign_keys = OFF; ALTER TABLE locations RENAME TO locations_gone;",
        ),
    }
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 503);
}

#[tokio::test]
async fn health_on_sqlite() {
    health_is_ok_while_the_database_answers_and_503_when_it_does_not(TestDb::sqlite()).await;
}

#[tokio::test]
async fn health_on_postgres() {
    if let Some(db) = TestDb::postgres() {
        health_is_ok_while_the_database_answers_and_503_when_it_does_not(db).await;
    }
}

#[tokio::test]
async fn an_unknown_address_gets_a_404_page_that_echoes_nothing() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let res = app.get("/%3Cscript%3Ealert(1)%3C%2Fscript%3E").await;
    assert_eq!(res.status(), 404);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let body = res.text().await.unwrap();
    assert!(body.contains("Page not found"));
    assert!(!body.contains("<script>"));
    assert!(body.contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn the_home_page_says_mend_is_running() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let res = app.get("/").await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Mend is running"));
}

#[tokio::test]
async fn a_configured_base_url_is_the_public_address() {
    let app = TestApp::spawn_with(
        TestDb::sqlite(),
        &[("MEND_BASE_URL", "https://mend.example.com/")],
    )
    .await;
    assert_eq!(app.base_url, "https://mend.example.com");
}
