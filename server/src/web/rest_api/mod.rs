//! `/api/v1/`: the REST API for other systems, with bearer API tokens (see
//! `domain::account::api_token`). JSON in and out; errors are one shape (`error`);
//! every rule of the web holds, because the handlers call the same domain functions
//! with the token's person as the one acting, and see only the token's stores.
//!
//! POSTs that change something take an `Idempotency-Key` header: the answer is kept with
//! the key in the same transaction, so the same request sent again gets the same answer
//! and changes nothing.

pub mod auth;
pub mod cases;
pub mod directory;
pub mod error;
pub mod exports;
pub mod openapi;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::queries::api_tokens;
use crate::db::{DbConnection, DbError};
use crate::domain::case::workflow::WorkflowError;
use crate::domain::language::Language;
use crate::domain::setup::SetupError;
use crate::web::AppState;
use auth::Api;
use error::ApiError;

/// The largest JSON body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;
/// The longest idempotency key accepted (a UUID is 36).
pub const MAX_KEY_CHARS: usize = 200;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            // Unreadable JSON, queries and paths answer in the API's own shape.
            .app_data(web::QueryConfig::default().error_handler(|e, req| {
                let field = field_of(&e.to_string());
                ApiError::bad_request(auth::language_of(req), field.as_deref()).into()
            }))
            .app_data(
                web::PathConfig::default()
                    .error_handler(|_, req| ApiError::not_found(auth::language_of(req)).into()),
            )
            .route("/openapi.json", web::get().to(openapi::document))
            .route("/reference", web::get().to(openapi::reference))
            .route("/cases", web::get().to(cases::list))
            .route("/cases/{reference}", web::get().to(cases::show))
            .route("/cases/{reference}/{action}", web::post().to(cases::act))
            .route("/survey-answers", web::get().to(cases::answers))
            .route("/exports/{file}", web::get().to(exports::download))
            .configure(directory::routes)
            .default_service(web::to(not_found)),
    );
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found(auth::language_of(&req)))
}

/// serde names the field at fault as "... field `name` ..." or "unknown variant"; the
/// API's error carries the name when there is one.
fn field_of(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    let name = &message[start..start + len];
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        .then(|| name.to_owned())
}

/// The body, read up to [`BODY_LIMIT`]: past it, the rest is never read and the client
/// gets the API's JSON error (actix's own limit answers in plain text).
pub async fn read_body(lang: Language, mut payload: web::Payload) -> Result<web::Bytes, ApiError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request(lang, None))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(ApiError::new(
                lang,
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A JSON body read into `T`; a body that is not, or lacks a field, is a 400 naming the
/// field when serde says which.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    lang: Language,
    body: &[u8],
) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let field = field_of(&e.to_string());
        ApiError::bad_request(lang, field.as_deref())
    })
}

/// What went wrong inside a transaction, turned into the API's error in the reader's
/// language afterwards.
pub enum Failure {
    Api(ApiError),
    Setup(SetupError),
    Workflow(WorkflowError),
    Db(DbError),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}
impl From<SetupError> for Failure {
    fn from(e: SetupError) -> Self {
        Failure::Setup(e)
    }
}
impl From<WorkflowError> for Failure {
    fn from(e: WorkflowError) -> Self {
        Failure::Workflow(e)
    }
}
impl From<DbError> for Failure {
    fn from(e: DbError) -> Self {
        Failure::Db(e)
    }
}
impl From<diesel::result::Error> for Failure {
    fn from(e: diesel::result::Error) -> Self {
        Failure::Db(e.into())
    }
}

impl Failure {
    pub fn into_api(self, lang: Language) -> ApiError {
        match self {
            Failure::Api(e) => e,
            Failure::Setup(e) => ApiError::setup(lang, e),
            Failure::Workflow(e) => ApiError::workflow(lang, e),
            Failure::Db(e) => ApiError::from_db(lang, &e),
        }
    }
}

/// Runs `f` on a read connection off the async threads.
pub async fn read<T: Send + 'static>(
    state: &AppState,
    lang: Language,
    f: impl FnOnce(&mut DbConnection) -> Result<T, Failure> + Send + 'static,
) -> Result<T, ApiError> {
    let db = state.db.clone();
    web::block(move || {
        let mut out = None;
        let read = db.read(|c| {
            out = Some(f(c));
            Ok(())
        });
        match (read, out) {
            (Ok(()), Some(r)) => r,
            (Err(e), _) => Err(Failure::Db(e)),
            (Ok(()), None) => Err(Failure::Api(ApiError::unavailable(lang))),
        }
    })
    .await
    .map_err(|_| ApiError::unavailable(lang))?
    .map_err(|f| f.into_api(lang))
}

/// The request's idempotency key, checked.
pub fn idempotency_key(api: &Api, req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = v.to_str().map(str::trim).unwrap_or_default();
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
        return Err(ApiError::bad_request(api.lang, Some("Idempotency-Key")));
    }
    Ok(Some(key.to_owned()))
}

/// Runs a change in one write transaction and answers `status` with its result as JSON.
/// With an idempotency key, an earlier answer to the same request is given again instead
/// (and a different request with the same key is refused); the answer is kept in the
/// change's own transaction, so a change is never kept without its answer or the other
/// way round.
pub async fn write_once<T: Serialize + Send + 'static>(
    state: &AppState,
    api: &Api,
    req: &HttpRequest,
    body: &[u8],
    status: StatusCode,
    f: impl FnOnce(&mut DbConnection) -> Result<T, Failure> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let lang = api.lang;
    let key = idempotency_key(api, req)?;
    let request_hash = {
        let mut h = Sha256::new();
        h.update(req.method().as_str().as_bytes());
        h.update(b" ");
        h.update(req.path().as_bytes());
        h.update(b"\n");
        h.update(body);
        hex::encode(h.finalize())
    };
    let (db, token_id, now) = (
        state.db.clone(),
        api.caller.token_id.clone(),
        state.clock.now(),
    );
    let (status, json) = web::block(move || {
        db.write(|c| -> Result<(u16, String), Failure> {
            if let Some(key) = &key {
                if let Some((hash, status, body)) = api_tokens::kept_answer(c, &token_id, key)? {
                    if hash != request_hash {
                        return Err(ApiError::new(
                            lang,
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "idempotency_key_reused",
                        )
                        .on("Idempotency-Key")
                        .into());
                    }
                    return Ok((u16::try_from(status).unwrap_or(200), body));
                }
            }
            let value = f(c)?;
            let json = serde_json::to_string(&value)
                .map_err(|_| Failure::Api(ApiError::unavailable(lang)))?;
            if let Some(key) = &key {
                api_tokens::keep_answer(
                    c,
                    &token_id,
                    key,
                    &request_hash,
                    i32::from(status.as_u16()),
                    &json,
                    now,
                )?;
            }
            Ok((status.as_u16(), json))
        })
    })
    .await
    .map_err(|_| ApiError::unavailable(lang))?
    .map_err(|f| f.into_api(lang))?;
    state.outbox_waker.wake();
    Ok(
        HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
            .content_type("application/json")
            .body(json),
    )
}
