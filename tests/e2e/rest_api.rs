//! The REST API as another system meets it: tokens by scope and by store against each
//! resource, the web's rules and events, JSON errors with a stable code in the reader's
//! language, idempotency keys, cursor paging, rate limits, and the OpenAPI document.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::domain::account::api_token::{make, Maker, TokenRequest};
use mend_server::domain::language::Language;
use mend_server::domain::setup::categories::{self, CategoryChange};
use mend_server::domain::setup::stores::StoreInput;
use mend_server::domain::setup::{spots, stores, Actor};
use mend_testing::{spawn_demo, Post, TestApp, TestDb};
use serde_json::{json, Value};

const PASSWORD: &str = "a long enough password";

fn token(app: &TestApp, email: &str, scope: &str, stores: &[&str]) -> String {
    mend_testing::api_token(app, email, scope, stores)
}

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = app.url(path);
    let mut req = match method {
        "GET" => client.get(url),
        "POST" => client.post(url),
        "PATCH" => client.patch(url),
        other => panic!("{other}"),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, value)
}

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    call(app, "GET", path, Some(token), None, &[]).await
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    call(app, "POST", path, Some(token), Some(body), &[]).await
}

fn references(list: &Value) -> Vec<String> {
    list["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reference"].as_str().unwrap().to_owned())
        .collect()
}

/// The demo store with a case, a second store with a case, and the people of each.
struct World {
    app: TestApp,
    demo_case: String,
    other_case: String,
    other_store: String,
    demo_store: String,
}

async fn world(db: TestDb, extra: &[(&str, &str)]) -> World {
    let (app, demo) = spawn_demo(db, extra).await;
    let other = stores::add(
        &app.db,
        &Actor::CommandLine,
        &StoreInput {
            name: "Busan Station".into(),
            time_zone: "Asia/Seoul".into(),
            language: "ko".into(),
            ..StoreInput::default()
        },
    )
    .unwrap();
    let spot = spots::add(&app.db, &Actor::CommandLine, &other.id, "Door").unwrap();
    let demo_store = app.location_of(&demo.touchpoints[0].code);
    app.add_user("admin", "admin@example.com", PASSWORD, &[]);
    app.add_user("staff", "busan@example.com", PASSWORD, &[&other.id]);
    let demo_case = app.complain(&demo.touchpoints[0].code, Post::valid()).await;
    let other_case = app.complain(&spot.code, Post::valid()).await;
    World {
        app,
        demo_case,
        other_case,
        other_store: other.id,
        demo_store,
    }
}

#[tokio::test]
async fn each_scope_and_store_sees_and_does_only_what_it_may() {
    access(TestDb::sqlite()).await;
}

#[tokio::test]
async fn each_scope_and_store_sees_and_does_only_what_it_may_on_postgresql() {
    if let Some(db) = TestDb::postgres() {
        access(db).await;
    }
}

async fn access(db: TestDb) {
    let w = world(db, &[]).await;
    let app = &w.app;
    let manager = mend_server::domain::demo::MANAGER_EMAIL;

    // No token, a made-up one: 401 with the stable code, in JSON.
    let (status, body) = call(app, "GET", "/api/v1/cases", None, None, &[]).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    let (status, _) = get(app, "/api/v1/cases", "mend_0000").await;
    assert_eq!(status, 401);

    // A read token of the demo store's manager: the demo store's case only.
    let read = token(app, manager, "read", &[]);
    let (status, list) = get(app, "/api/v1/cases", &read).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(references(&list), vec![w.demo_case.clone()]);
    let (status, case) = get(app, &format!("/api/v1/cases/{}", w.demo_case), &read).await;
    assert_eq!(status, 200);
    assert_eq!(case["status"], "new");
    assert_eq!(case["timeline"][0]["kind"], "received");
    let (status, body) = get(app, &format!("/api/v1/cases/{}", w.other_case), &read).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, stores) = get(app, "/api/v1/stores", &read).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = stores
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![w.demo_store.as_str()]);
    let (status, _) = get(
        app,
        &format!("/api/v1/stores/{}/spots", w.other_store),
        &read,
    )
    .await;
    assert_eq!(status, 404);
    // ...and it may not act.
    let (status, body) = post(
        app,
        &format!("/api/v1/cases/{}/acknowledge", w.demo_case),
        &read,
        json!({}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));

    // A write token works the case with the web's rules and events.
    let write = token(app, manager, "write", &[]);
    let (status, case) = post(
        app,
        &format!("/api/v1/cases/{}/acknowledge", w.demo_case),
        &write,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["status"], "in_progress");
    let ack = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "acknowledged")
        .unwrap();
    assert_eq!(
        (ack["by"].as_str(), ack["detail"]["via"].as_str()),
        (Some(manager), Some("api"))
    );
    let (status, body) = post(
        app,
        &format!("/api/v1/cases/{}/notes", w.demo_case),
        &write,
        json!({"text": "  "}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (422, Some("invalid"), Some("text"))
    );
    let (status, body) = post(
        app,
        &format!("/api/v1/cases/{}/resolve", w.demo_case),
        &write,
        json!({"what_was_done": "Cleaned it"}),
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("root_cause")));
    // KRW has no minor unit: "5000.50" is refused, "5000" taken.
    let (status, body) = post(
        app,
        &format!("/api/v1/cases/{}/resolve", w.demo_case),
        &write,
        json!({"what_was_done": "Cleaned it", "root_cause": "cleaning", "compensation_type": "voucher", "compensation_value": "5000.50", "compensation_currency": "KRW"}),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("compensation_value"))
    );
    let (status, case) = post(
        app,
        &format!("/api/v1/cases/{}/resolve", w.demo_case),
        &write,
        json!({"what_was_done": "Cleaned it", "root_cause": "cleaning", "compensation_type": "voucher", "compensation_value": "5000", "compensation_currency": "KRW"}),
    )
    .await;
    assert_eq!(status, 200, "{case}");
    assert_eq!(case["status"], "resolved");
    assert_eq!(case["resolution"]["compensation_minor"], 5000);
    let (status, body) = post(
        app,
        &format!("/api/v1/cases/{}/resolve", w.demo_case),
        &write,
        json!({"what_was_done": "Again", "root_cause": "cleaning"}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")));
    // The message is in the reader's language.
    let (status, body) = call(
        app,
        "POST",
        &format!("/api/v1/cases/{}/notes", w.demo_case),
        Some(&write),
        Some(json!({"text": ""})),
        &[("accept-language", "ko")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c)),
        "{body}"
    );
    // An unknown field is a 400 naming it, not silently ignored.
    let (status, body) = post(
        app,
        &format!("/api/v1/cases/{}/notes", w.demo_case),
        &write,
        json!({"txt": "hello"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str(), body["field"].as_str()),
        (400, Some("bad_request"), Some("txt"))
    );

    // A write token may not provision.
    let (status, _) = post(
        app,
        "/api/v1/stores",
        &write,
        json!({"name": "X", "time_zone": "UTC", "language": "en"}),
    )
    .await;
    assert_eq!(status, 403);

    // An admin token limited to Busan: Busan's case, no chain-wide changes, nothing of
    // the demo store.
    let busan_admin = token(app, "admin@example.com", "admin", &["Busan Station"]);
    let (_, list) = get(app, "/api/v1/cases", &busan_admin).await;
    assert_eq!(references(&list), vec![w.other_case.clone()]);
    let (status, _) = post(
        app,
        "/api/v1/stores",
        &busan_admin,
        json!({"name": "X", "time_zone": "UTC", "language": "en"}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        app,
        "PATCH",
        &format!("/api/v1/stores/{}", w.demo_store),
        Some(&busan_admin),
        Some(json!({"name": "Mine now"})),
        &[],
    )
    .await;
    assert_eq!(status, 404);
    let (status, store) = call(
        app,
        "PATCH",
        &format!("/api/v1/stores/{}", w.other_store),
        Some(&busan_admin),
        Some(json!({"sla_minutes": 30})),
        &[],
    )
    .await;
    assert_eq!((status, store["sla_minutes"].as_i64()), (200, Some(30)));

    // Staff of Busan can be given a token only for their own store.
    let refused = make(
        &app.db,
        &Actor::CommandLine,
        Maker::Anyone,
        &TokenRequest {
            email: "busan@example.com".into(),
            name: "n".into(),
            scope: "read".into(),
            stores: vec![mend_server::domain::demo::LOCATION_NAME.into()],
            expires_in_days: None,
        },
        app.clock.now(),
    );
    assert!(refused.is_err());
}

#[tokio::test]
async fn a_listed_case_names_its_store_spot_category_and_person_as_its_page_does() {
    listed_names(TestDb::sqlite()).await;
}

#[tokio::test]
async fn a_listed_case_names_its_store_spot_category_and_person_on_postgresql() {
    if let Some(db) = TestDb::postgres() {
        listed_names(db).await;
    }
}

/// The list reads its names in the page's own query (spot, assignee, the store's own
/// category labels): each must be what the case's own page says, in the reader's language.
async fn listed_names(db: TestDb) {
    let w = world(db, &[]).await;
    let app = &w.app;
    // Busan names "cleanliness" its own way, in Korean only; the demo store keeps the
    // catalogs' labels.
    categories::change(
        &app.db,
        &Actor::CommandLine,
        &w.other_store,
        "cleanliness",
        &CategoryChange::Relabel {
            labels: vec![(Language::parse("ko").unwrap(), "화장실 비누".into())],
            severe: false,
        },
    )
    .unwrap();
    let admin = token(app, "admin@example.com", "write", &[]);
    let (status, _) = post(
        app,
        &format!("/api/v1/cases/{}/assign", w.other_case),
        &admin,
        json!({}),
    )
    .await;
    assert_eq!(status, 200);

    for (lang, busan_label, demo_label) in [
        ("ko", "화장실 비누", "청결"),
        // No English label of its own: the store's language, as its page shows it.
        ("en", "화장실 비누", "Cleanliness"),
    ] {
        let (status, list) = call(
            app,
            "GET",
            "/api/v1/cases?status=all",
            Some(&admin),
            None,
            &[("accept-language", lang)],
        )
        .await;
        assert_eq!(status, 200, "{list}");
        let listed = list["cases"].as_array().unwrap();
        assert_eq!(listed.len(), 2, "{list}");
        for item in listed {
            let reference = item["reference"].as_str().unwrap();
            let (_, page) = call(
                app,
                "GET",
                &format!("/api/v1/cases/{reference}"),
                Some(&admin),
                None,
                &[("accept-language", lang)],
            )
            .await;
            for field in [
                "status",
                "store",
                "spot",
                "category",
                "assignee",
                "received_at",
            ] {
                assert_eq!(item[field], page[field], "{field} of {reference} in {lang}");
            }
            let busan = reference == w.other_case;
            assert_eq!(
                item["category"]["label"],
                if busan { busan_label } else { demo_label },
                "{lang}"
            );
            assert_eq!(item["category"]["key"], "cleanliness");
            if busan {
                assert_eq!(item["store"]["name"], "Busan Station");
                assert_eq!(item["spot"]["name"], "Door");
                assert_eq!(item["assignee"]["name"], "admin@example.com");
            } else {
                assert!(!item["spot"]["name"].as_str().unwrap().is_empty());
                assert!(item["assignee"].is_null());
            }
        }
    }
}

#[tokio::test]
async fn an_admin_scope_is_refused_for_anyone_but_an_admin() {
    let (app, _) = spawn_demo(TestDb::sqlite(), &[]).await;
    let made = make(
        &app.db,
        &Actor::CommandLine,
        Maker::Anyone,
        &TokenRequest {
            email: mend_server::domain::demo::MANAGER_EMAIL.into(),
            name: "n".into(),
            scope: "admin".into(),
            ..TokenRequest::default()
        },
        app.clock.now(),
    );
    assert!(made.is_err());
}

#[tokio::test]
async fn provisioning_keeps_the_web_rules_and_an_idempotency_key_creates_once() {
    provisioning(TestDb::sqlite()).await;
}

#[tokio::test]
async fn provisioning_keeps_the_web_rules_on_postgresql() {
    if let Some(db) = TestDb::postgres() {
        provisioning(db).await;
    }
}

async fn provisioning(db: TestDb) {
    let w = world(db, &[]).await;
    let app = &w.app;
    let admin = token(app, "admin@example.com", "admin", &[]);
    let store = json!({"name": "Kraków Rynek", "time_zone": "Europe/Warsaw", "language": "pl", "ref": "PL-001"});
    let key = [("idempotency-key", "create-krakow-1")];
    let (status, first) = call(
        app,
        "POST",
        "/api/v1/stores",
        Some(&admin),
        Some(store.clone()),
        &key,
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["currency"], "PLN");
    let (status, again) = call(
        app,
        "POST",
        "/api/v1/stores",
        Some(&admin),
        Some(store.clone()),
        &key,
    )
    .await;
    assert_eq!(
        (status, &again),
        (201, &first),
        "the same request, the same answer"
    );
    let (_, all) = get(app, "/api/v1/stores", &admin).await;
    let named = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "Kraków Rynek")
        .count();
    assert_eq!(named, 1, "created once");
    let (status, body) = call(
        app,
        "POST",
        "/api/v1/stores",
        Some(&admin),
        Some(json!({"name": "Other", "time_zone": "UTC", "language": "en"})),
        &key,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    // Without a key, the second store of that name is refused as the setup page does.
    let (status, body) = post(app, "/api/v1/stores", &admin, store.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid")),
        "{body}"
    );
    let (status, body) = post(
        app,
        "/api/v1/stores",
        &admin,
        json!({"name": "Mars", "time_zone": "Mars/Base", "language": "en"}),
    )
    .await;
    assert_eq!((status, body["field"].as_str()), (422, Some("time_zone")));
    let krakow = first["id"].as_str().unwrap();

    // A spot, whose form answers at once; a category; a person invited by email.
    let (status, spot) = post(
        app,
        &format!("/api/v1/stores/{krakow}/spots"),
        &admin,
        json!({"label": "Kasa"}),
    )
    .await;
    assert_eq!(status, 201, "{spot}");
    // A reference names one spot (found by schemathesis: it was a database error).
    let (status, _) = post(
        app,
        &format!("/api/v1/stores/{krakow}/spots"),
        &admin,
        json!({"label": "Wejście", "ref": "K1"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, body) = post(
        app,
        &format!("/api/v1/stores/{krakow}/spots"),
        &admin,
        json!({"label": "Toaleta", "ref": "K1"}),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("ref")),
        "{body}"
    );
    let form = app
        .client
        .get(
            spot["form_url"]
                .as_str()
                .unwrap()
                .replace(&app.base_url, &app.address),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    let (status, category) = post(
        app,
        &format!("/api/v1/stores/{krakow}/categories"),
        &admin,
        json!({"labels": {"pl": "Parking", "en": "Parking"}, "severe": true}),
    )
    .await;
    assert_eq!(
        (status, category["severe"].as_bool()),
        (201, Some(true)),
        "{category}"
    );
    let (status, body) = post(
        app,
        &format!("/api/v1/stores/{krakow}/categories"),
        &admin,
        json!({"labels": {"en": "Only English"}}),
    )
    .await;
    assert_eq!(status, 422, "the store's own language is required: {body}");
    let (status, person) = post(app, "/api/v1/people", &admin, json!({"email": "Ola@Example.com", "role": "staff", "stores": ["PL-001"], "language": "pl"})).await;
    assert_eq!(status, 201, "{person}");
    assert_eq!(person["stores"], json!([krakow]));
    let (status, body) = post(
        app,
        "/api/v1/people",
        &admin,
        json!({"email": "ola@example.com", "role": "staff", "stores": ["PL-001"]}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (409, Some("conflict")));
    app.drain_outbox().await;
    assert!(
        app.outbox_rows()
            .iter()
            .any(|m| m.recipient == "ola@example.com"),
        "the invitation is queued"
    );

    // Archive a spot's store, deactivate a person: the same functions as the pages.
    let id = person["id"].as_str().unwrap();
    let (status, gone) = post(
        app,
        &format!("/api/v1/people/{id}/deactivate"),
        &admin,
        json!({}),
    )
    .await;
    assert_eq!((status, gone["active"].as_bool()), (200, Some(false)));
    let (status, store) = post(
        app,
        &format!("/api/v1/stores/{krakow}/archive"),
        &admin,
        json!({}),
    )
    .await;
    assert_eq!((status, store["archived"].as_bool()), (200, Some(true)));

    // Every change is in the audit log, by the token's person.
    let log = app
        .db
        .read(|c| mend_server::db::queries::admin_log::latest(c, 100))
        .unwrap();
    for action in [
        "store.create",
        "spot.create",
        "category.create",
        "person.deactivate",
        "store.archive",
    ] {
        let entry = log
            .iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("{action} not logged"));
        assert_eq!(entry.actor, "admin@example.com");
    }
}

#[tokio::test]
async fn a_revoked_expired_or_departed_token_stops_at_once() {
    let w = world(TestDb::sqlite(), &[]).await;
    let app = &w.app;
    let made = make(
        &app.db,
        &Actor::CommandLine,
        Maker::Anyone,
        &TokenRequest {
            email: "busan@example.com".into(),
            name: "expiring".into(),
            scope: "read".into(),
            expires_in_days: Some(1),
            ..TokenRequest::default()
        },
        app.clock.now(),
    )
    .unwrap();
    let (status, _) = get(app, "/api/v1/cases", &made.token).await;
    assert_eq!(status, 200);
    let listed = app
        .db
        .read(|c| mend_server::db::queries::api_tokens::find(c, &made.row.id))
        .unwrap()
        .unwrap();
    assert!(listed.last_used_at.is_some(), "the first use is recorded");
    assert_eq!(listed.token_hash.len(), 64);
    assert!(
        !listed.token_hash.contains(&made.token[5..]),
        "only a hash is kept"
    );

    app.advance(std::time::Duration::from_secs(25 * 3600));
    let (status, body) = get(app, "/api/v1/cases", &made.token).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("token_expired"))
    );

    let revoked = token(app, "busan@example.com", "read", &[]);
    let id = app
        .db
        .read(|c| mend_server::db::queries::api_tokens::list(c, None))
        .unwrap()[0]
        .0
        .id
        .clone();
    assert!(mend_server::domain::account::api_token::revoke(
        &app.db,
        &Actor::CommandLine,
        Maker::Anyone,
        &id,
        app.clock.now()
    )
    .unwrap());
    let (status, body) = get(app, "/api/v1/cases", &revoked).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("token_revoked"))
    );

    let departing = token(app, "busan@example.com", "read", &[]);
    mend_server::domain::setup::people::deactivate(
        &app.db,
        &Actor::CommandLine,
        "busan@example.com",
        app.clock.now(),
    )
    .unwrap();
    let (status, _) = get(app, "/api/v1/cases", &departing).await;
    assert_eq!(
        status, 401,
        "a departed person's tokens stop with their sessions"
    );
}

#[tokio::test]
async fn cases_come_a_page_at_a_time_and_the_rate_limit_answers_429() {
    let w = world(TestDb::sqlite(), &[("MEND_API_RATE_LIMIT", "8")]).await;
    let app = &w.app;
    let code = app
        .db
        .read(|c| mend_server::db::queries::touchpoints::for_location(c, &w.demo_store))
        .unwrap()[0]
        .code
        .clone();
    for _ in 0..2 {
        app.complain(&code, Post::valid()).await;
    }
    let read = token(app, mend_server::domain::demo::MANAGER_EMAIL, "read", &[]);
    let mut seen = Vec::new();
    let mut path = "/api/v1/cases?limit=2&status=all".to_owned();
    loop {
        let (status, page) = get(app, &path, &read).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(references(&page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/cases?limit=2&status=all&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "no case twice");
    let (status, body) = get(app, "/api/v1/cases?limit=500", &read).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("limit")));
    let (status, body) = get(app, "/api/v1/cases?cursor=nonsense", &read).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("cursor")));
    // 4 requests so far; the limit is 8 a minute for this token, then 429 with a wait.
    let mut last = 0;
    for _ in 0..5 {
        last = get(app, "/api/v1/stores", &read).await.0;
    }
    assert_eq!(last, 429);
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/stores"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(
        res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // Another token has its own budget.
    let other = token(app, mend_server::domain::demo::MANAGER_EMAIL, "read", &[]);
    assert_eq!(get(app, "/api/v1/stores", &other).await.0, 200);
}

#[tokio::test]
async fn the_openapi_document_and_its_reference_page_are_served_without_a_token() {
    let (app, _) = spawn_demo(TestDb::sqlite(), &[]).await;
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["components"]["securitySchemes"]["token"].is_object());
    let page = reqwest::Client::new()
        .get(app.url("/api/v1/reference"))
        .header("accept-language", "ko")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("매개변수"), "Korean labels");
    assert!(page.contains("/api/v1/cases/{reference}/{action}"));
    assert!(!page.contains("api_reference."), "no catalog key shows");
    assert!(!page.contains("<script"), "nothing from elsewhere");
    // An unknown API path answers in the API's shape, not the HTML error page.
    let (status, body) = call(&app, "GET", "/api/v1/nothing", None, None, &[]).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn exports_hold_the_tokens_stores_only() {
    exports(TestDb::sqlite()).await;
}

#[tokio::test]
async fn exports_hold_the_tokens_stores_only_on_postgresql() {
    if let Some(db) = TestDb::postgres() {
        exports(db).await;
    }
}

async fn exports(db: TestDb) {
    let w = world(db, &[]).await;
    let app = &w.app;
    let download = |token: String, path: &'static str| async move {
        let res = reqwest::Client::new()
            .get(app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let kind = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, kind, res.bytes().await.unwrap().to_vec())
    };
    let admin = token(app, "admin@example.com", "read", &[]);
    let (status, kind, body) = download(admin.clone(), "/api/v1/exports/cases.json").await;
    assert_eq!((status, kind.as_str()), (200, "application/json"));
    let rows: Vec<Value> = serde_json::from_slice(&body).unwrap();
    let text = String::from_utf8(body).unwrap();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(text.contains(&w.demo_case) && text.contains(&w.other_case));

    // A token of one store, and a token limited to one store: that store's cases only.
    for limited in [
        token(app, "busan@example.com", "read", &[]),
        token(app, "admin@example.com", "read", &["Busan Station"]),
    ] {
        let (status, _, body) = download(limited.clone(), "/api/v1/exports/cases.json").await;
        let text = String::from_utf8(body).unwrap();
        assert_eq!(status, 200);
        assert!(
            text.contains(&w.other_case) && !text.contains(&w.demo_case),
            "{text}"
        );
        let (status, kind, body) = download(limited, "/api/v1/exports/cases.csv").await;
        assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
        let text = String::from_utf8(body).unwrap();
        assert!(!text.starts_with('\u{feff}'), "no BOM for programs");
        assert!(text.contains(&w.other_case) && !text.contains(&w.demo_case));
    }
    let (status, kind, body) = download(admin.clone(), "/api/v1/exports/surveys.xlsx").await;
    assert_eq!(status, 200);
    assert!(kind.contains("spreadsheetml"), "{kind}");
    assert!(body.starts_with(b"PK"), "a zip");

    let (status, err) = get(app, "/api/v1/exports/cases.txt", &admin).await;
    assert_eq!((status, err["code"].as_str()), (404, Some("not_found")));
    let (status, err) = get(app, "/api/v1/exports/cases.json?from=yesterday", &admin).await;
    assert_eq!((status, err["field"].as_str()), (400, Some("from")));
    let (status, _) = get(app, "/api/v1/exports/cases.json", "mend_nonsense").await;
    assert_eq!(status, 401);
}
