//! Pages for store staff: what an alert's links lead to.

pub mod ack;
pub mod remedy;

use actix_web::http::StatusCode;
use actix_web::web;

use crate::domain::language::Language;
use crate::domain::signed_link::LinkError;
use crate::web::AppError;

/// A signed link that does not open: 410 with the page's own words when it expired, 404
/// when it was forged, cut or altered.
fn link_refused(lang: Language, e: LinkError, expired: (&'static str, &'static str)) -> AppError {
    match e {
        LinkError::Expired => AppError::Customer {
            status: StatusCode::GONE,
            lang,
            title_key: expired.0,
            message_key: expired.1,
        },
        LinkError::Invalid => AppError::Customer {
            status: StatusCode::NOT_FOUND,
            lang,
            title_key: "ack.invalid_title",
            message_key: "ack.invalid",
        },
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/ack/{reference}")
            .route(web::get().to(ack::confirm))
            .route(web::post().to(ack::acknowledge)),
    )
    .service(
        web::resource("/remedy/{proposal}")
            .route(web::get().to(remedy::confirm))
            .route(web::post().to(remedy::decide)),
    );
}
