//! HTTP: thin actix handlers, one module per audience. Domain logic lives in `domain`.

pub mod error;
mod health;
mod home;
pub mod manage;
pub mod public;
pub mod qr_cache;
pub mod render;
pub mod session;

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
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Malformed query strings get our error page, not actix's plain-text one.
    cfg.app_data(web::QueryConfig::default().error_handler(|e, _| {
        AppError::BadRequest(format!("The address has a malformed query: {e}")).into()
    }))
    .app_data(
        web::FormConfig::default()
            .limit(64 * 1024)
            .error_handler(|e, _| {
                AppError::BadRequest(format!("The form could not be read: {e}")).into()
            }),
    )
    .app_data(manage::upload_config())
    .route("/", web::get().to(home::show))
    .route("/healthz", web::get().to(health::check))
    .route("/t/{code}/qr.png", web::get().to(public::qr::png))
    .route("/t/{code}/qr.svg", web::get().to(public::qr::svg))
    .configure(manage::routes)
    .default_service(web::to(error::not_found));
}
