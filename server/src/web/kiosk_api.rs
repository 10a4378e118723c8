//! `/api/kiosk/v1/`: JSON for in-store kiosks, with a device bearer token. Errors are
//! JSON too, `{"error": CODE, "detail": TEXT}`, so a kiosk acts on the code (a revoked
//! token stops the kiosk retrying; a bad tap is dropped from its outbox) and a person
//! reads the detail. Bodies are bounded; a batch is stored whole or not at all.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;

use crate::domain::kiosk::handoff;
use crate::domain::kiosk::{authenticate, check_batch, record, KioskApiError, TapBatch};
use crate::web::AppState;

/// A full batch of 500 taps is about 60 KB.
pub const BODY_LIMIT: usize = 128 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Kiosk(#[from] KioskApiError),
    #[error("the body is larger than {BODY_LIMIT} bytes")]
    TooLarge,
    #[error("temporarily unavailable, try again")]
    Unavailable(#[from] crate::db::DbError),
    #[error("temporarily unavailable, try again")]
    Busy,
    #[error("this kiosk's location has no touchpoint to hand customers over to")]
    NoTouchpoint,
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        ApiError::Unavailable(e.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Kiosk(KioskApiError::Unauthorized | KioskApiError::Revoked) => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Kiosk(KioskApiError::BatchTooLarge) | ApiError::TooLarge => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::Kiosk(KioskApiError::MalformedJson(_)) => StatusCode::BAD_REQUEST,
            ApiError::Kiosk(KioskApiError::InvalidTap { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) | ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NoTouchpoint => StatusCode::CONFLICT,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let code = match self {
            ApiError::Kiosk(k) => k.code(),
            ApiError::TooLarge => "too_large",
            ApiError::Unavailable(e) => {
                tracing::error!(error = %e, "kiosk API: database error");
                "unavailable"
            }
            ApiError::Busy => "unavailable",
            ApiError::NoTouchpoint => "no_touchpoint",
        };
        let mut body = serde_json::json!({ "error": code, "detail": self.to_string() });
        if let ApiError::Kiosk(KioskApiError::InvalidTap { index, .. }) = self {
            body["index"] = serde_json::json!(index);
        }
        HttpResponse::build(self.status_code()).json(body)
    }
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .ok_or(ApiError::Kiosk(KioskApiError::Unauthorized))
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::Kiosk(KioskApiError::MalformedJson(e.to_string())))
}

/// The body, read up to the limit: past it, the rest is never read and the kiosk gets
/// our JSON error (actix's own limit answers in plain text).
async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::Kiosk(KioskApiError::MalformedJson(e.to_string())))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(ApiError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/kiosk/v1")
            .route("/taps", web::post().to(taps))
            .route("/heartbeat", web::post().to(heartbeat))
            .route("/handoff", web::post().to(handoff)),
    );
}

/// A request's token and JSON body, checked.
async fn read_request<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(String, T), ApiError> {
    let token = bearer(req)?;
    let body = read_body(payload).await?;
    Ok((token, parse(&body)?))
}

/// Runs `f` for the token's device in one write transaction (refused if the token is
/// unknown or revoked).
async fn as_device<T: Send + 'static>(
    state: &AppState,
    token: String,
    f: impl FnOnce(&mut crate::db::DbConnection, &crate::db::models::KioskDevice) -> Result<T, ApiError>
        + Send
        + 'static,
) -> Result<T, ApiError> {
    let db = state.db.clone();
    web::block(move || {
        db.write(|c| -> Result<T, ApiError> {
            let device = authenticate(c, &token)??;
            f(c, &device)
        })
    })
    .await
    .map_err(|_| ApiError::Busy)?
}

/// `POST /api/kiosk/v1/taps` `{"taps": [{"key", "rating", "tapped_at"}]}` ->
/// `{"accepted": n, "duplicates": m}`.
async fn taps(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (token, batch): (String, TapBatch) = read_request(&req, payload).await?;
    let now = state.clock.now();
    let taps = check_batch(batch, now)?;
    let recorded = as_device(&state, token, move |c, device| {
        Ok(record(c, device, &taps, now)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(recorded))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Heartbeat {
    /// Taps waiting in the kiosk's outbox.
    buffered: u32,
    version: String,
}

/// `POST /api/kiosk/v1/heartbeat` `{"buffered": n, "version": "..."}` ->
/// `{"server_time": RFC 3339, "location_name", "language", "sticker_url"}`: a kiosk can
/// tell how far its clock is off, and learns what its screen shows (kept for offline
/// starts).
/// How many "you said, we did" changes a kiosk's idle screen shows.
const KIOSK_CHANGES: i64 = 2;

async fn heartbeat(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (token, beat): (String, Heartbeat) = read_request(&req, payload).await?;
    let version: String = beat
        .version
        .chars()
        .filter(|c| !c.is_control())
        .take(40)
        .collect();
    let buffered = i32::try_from(beat.buffered).unwrap_or(i32::MAX);
    let now = state.clock.now();
    let place = as_device(&state, token, move |c, device| {
        let status = Some((buffered, Some(version)));
        crate::db::queries::kiosks::seen(c, &device.id, now, status)?;
        let place = handoff::kiosk_place(c, device)?;
        // "You said, we did" on the idle screen: the store's latest changes.
        let changes = match &place {
            Some((location, _)) => {
                let today = crate::domain::language::formats::local_day(&location.time_zone, now);
                crate::domain::process_changes::shown_at(c, &location.id, today, KIOSK_CHANGES)
                    .map_err(crate::db::DbError::from)?
                    .into_iter()
                    .map(|ch| crate::domain::process_changes::Texts::parse(&ch.texts).0)
                    .collect()
            }
            None => Vec::new(),
        };
        Ok((place, changes))
    })
    .await?;
    let (place, changes) = place;
    let (location_name, language, sticker_url) = match place {
        Some((location, touchpoint)) => (
            location.name,
            location.default_language,
            touchpoint.map(|t| handoff::form_url(&state.base_url, &t.code)),
        ),
        None => (String::new(), "en".to_owned(), None),
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "server_time": now.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "location_name": location_name,
        "language": language,
        "sticker_url": sticker_url,
        "changes": changes,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HandoffAsk {
    /// The unhappy tap's key.
    key: String,
}

/// `POST /api/kiosk/v1/handoff` `{"key": tap key}` -> `{"url", "expires_at"}`: a one-time
/// link to the store's complaint form, tagged with the tap.
async fn handoff(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (token, ask): (String, HandoffAsk) = read_request(&req, payload).await?;
    let tap_key = crate::domain::kiosk::tap_key(&ask.key).ok_or(ApiError::Kiosk(
        KioskApiError::InvalidTap {
            index: 0,
            detail: "key must be a UUIDv7".into(),
        },
    ))?;
    let now = state.clock.now();
    let place = as_device(&state, token, move |c, device| {
        Ok(handoff::kiosk_place(c, device)?)
    })
    .await?;
    let Some(touchpoint) = place.and_then(|(_, t)| t) else {
        return Err(ApiError::NoTouchpoint);
    };
    let h = handoff::sign(
        state.settings.secret.expose_bytes(),
        &touchpoint.code,
        &tap_key,
        now,
    );
    let url = format!(
        "{}?h={h}",
        handoff::form_url(&state.base_url, &touchpoint.code)
    );
    let expires_at = (now + handoff::VALID_FOR)
        .and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Ok(HttpResponse::Ok().json(serde_json::json!({ "url": url, "expires_at": expires_at })))
}
