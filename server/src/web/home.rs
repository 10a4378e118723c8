use actix_web::HttpResponse;
use askama::Template;

use super::{render, AppError};

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    lang: &'static str,
    version: &'static str,
}

pub async fn show() -> Result<HttpResponse, AppError> {
    render::html(&Home {
        lang: "en",
        version: env!("CARGO_PKG_VERSION"),
    })
}
