//! `GET /healthz`: 200 when the database answers, 503 when it does not. For load balancers
//! and monitors, so it says little and costs little.

use actix_web::{web, HttpResponse};

use super::AppState;

pub async fn check(state: web::Data<AppState>) -> HttpResponse {
    let db = state.db.clone();
    match web::block(move || db.is_healthy()).await {
        Ok(true) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body("ok\n"),
        _ => HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body("database unavailable\n"),
    }
}
