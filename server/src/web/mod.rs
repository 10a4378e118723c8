//! HTTP: thin actix handlers, one module per audience. Domain logic lives in `domain`.

pub mod error;
mod health;
mod home;
pub mod render;

use actix_web::web;

pub use error::AppError;

use crate::db::Db;

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    /// Public URL (no trailing slash) put into QR codes and emails.
    pub base_url: String,
    pub settings: crate::config::Settings,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home::show))
        .route("/healthz", web::get().to(health::check))
        .default_service(web::to(error::not_found));
}
