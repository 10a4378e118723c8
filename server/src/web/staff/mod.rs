//! Pages for store staff: what an alert's links lead to.

pub mod ack;
pub mod remedy;

use actix_web::web;

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
