use actix_web::HttpResponse;
use askama::Template;

use super::{render, AppError};

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    l: crate::domain::language::Language,
    version: &'static str,
}

pub async fn show(req: actix_web::HttpRequest) -> Result<HttpResponse, AppError> {
    render::html(&Home {
        l: super::reader::of_request(&req),
        version: env!("CARGO_PKG_VERSION"),
    })
}
