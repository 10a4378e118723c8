//! Turning a template into a response, with a render failure as an ordinary error.

use actix_web::HttpResponse;
use askama::Template;

use super::AppError;

pub fn html(page: &impl Template) -> Result<HttpResponse, AppError> {
    let body = page
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template failed to render: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body))
}
