//! HTTP: thin actix handlers, one module per audience. Domain logic lives in `domain`.

pub mod client;
pub mod error;
mod health;
mod home;
pub mod kiosk_api;
pub mod limits;
pub(crate) mod log_span;
pub mod manage;
pub mod metrics;
pub mod public;
pub mod qr_cache;
pub mod rate_limit;
pub mod reader;
pub mod render;
pub mod rest_api;
pub mod session;
mod setup;
pub mod staff;

use actix_web::web;

pub use error::AppError;

use crate::db::Db;

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    /// Public URL (no trailing slash) put into QR codes and emails.
    pub base_url: String,
    pub settings: crate::config::Settings,
    pub qr_cache: qr_cache::QrCache,
    pub scans: std::sync::Arc<crate::jobs::scans::ScanCounter>,
    pub form_rate_limit: rate_limit::FormRateLimit,
    pub login_rate_limit: rate_limit::LoginRateLimit,
    /// REST API requests per token.
    pub api_rate_limit: rate_limit::KeyedLimit<String>,
    pub reset_rate_limit: rate_limit::ResetRateLimit,
    pub password_set_rate_limit: rate_limit::KeyedLimit<std::net::IpAddr>,
    /// Requests in progress per client (see [`limits`]).
    pub in_flight: limits::InFlight,
    /// Customer photos, decoded on threads of their own within one budget of pixels.
    pub photos: crate::jobs::photos::PhotoDecoder,
    /// Where photos are read from (the database, or the object store).
    pub photo_store: crate::jobs::photo_store::PhotoStore,
    pub places: public::form::PlaceCache,
    pub intake: crate::jobs::intake::IntakeQueue,
    /// The time signed links are checked against (moved forward only by tests).
    pub clock: crate::domain::clock::Clock,
    /// Wakes the outbox worker after a page queued mail.
    pub outbox_waker: crate::jobs::outbox::OutboxWaker,
    pub metrics: metrics::Metrics,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Malformed query strings get our error page, not actix's plain-text one.
    cfg.app_data(web::QueryConfig::default().error_handler(|e, _| {
        tracing::debug!(error = %e, "malformed query");
        AppError::Refused("error_page.bad_query").into()
    }))
    .app_data(
        web::FormConfig::default()
            .limit(64 * 1024)
            .error_handler(|e, _| {
                tracing::debug!(error = %e, "unreadable form");
                AppError::Refused("error_page.bad_form").into()
            }),
    )
    .route("/", web::get().to(home::show))
    .route("/healthz", web::get().to(health::check))
    .route("/metrics", web::get().to(metrics::show))
    .route("/t/{code}/qr.png", web::get().to(public::qr::png))
    .route("/t/{code}/qr.svg", web::get().to(public::qr::svg))
    .service(
        web::resource("/t/{code}")
            .route(web::get().to(public::form::show))
            .route(web::post().to(public::form::submit)),
    )
    .route("/c/{reference}", web::get().to(public::status::show))
    .route("/c/{reference}/wish", web::post().to(public::status::wish))
    .route("/s/{store}/changes", web::get().to(public::changes::show))
    .route(
        "/c/{reference}/erase",
        web::post().to(public::status::erase),
    )
    .route("/s/{token}", web::get().to(public::survey::show))
    .route("/s/{token}", web::post().to(public::survey::submit))
    .route("/u", web::get().to(public::survey::unsubscribe_form))
    .route("/u", web::post().to(public::survey::unsubscribe))
    .configure(kiosk_api::routes)
    .configure(rest_api::routes)
    .configure(staff::routes)
    .configure(manage::routes)
    .configure(setup::routes)
    .default_service(web::to(error::not_found));
}
