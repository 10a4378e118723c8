//! The REST API from a test: a token made as the command line makes one, and a JSON POST.

use mend_server::domain::account::api_token::{make, Maker, TokenRequest};
use mend_server::domain::setup::Actor;
use serde_json::Value;

use crate::TestApp;

/// A token for `email` with `scope`, limited to `stores` (none: all of the person's).
pub fn api_token(app: &TestApp, email: &str, scope: &str, stores: &[&str]) -> String {
    make(
        &app.db,
        &Actor::CommandLine,
        Maker::Anyone,
        &TokenRequest {
            email: email.into(),
            name: format!("{scope} test"),
            scope: scope.into(),
            stores: stores.iter().map(|s| s.to_string()).collect(),
            expires_in_days: None,
        },
        app.clock.now(),
    )
    .unwrap()
    .token
}

/// POSTs `body` as JSON with the bearer `token`; the status and the JSON answer (Null
/// when the answer is not JSON).
pub async fn post_json(app: &TestApp, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}
