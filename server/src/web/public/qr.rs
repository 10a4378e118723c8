//! `GET /t/{code}/qr.png?px=N` and `GET /t/{code}/qr.svg`: the sticker's QR code, which
//! encodes `{MEND_BASE_URL}/t/{code}`. Rendered once per (address, size, logo) and then
//! served from memory; clients revalidate with the ETag.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::db::queries::{locations, touchpoints};
use crate::domain::sticker::{logo, qr};
use crate::web::{AppError, AppState};

/// A month: a sticker's image changes only when the base URL or the logo does, and the
/// ETag catches both on revalidation.
const CACHE_CONTROL: &str = "public, max-age=2592000";

#[derive(Debug, Deserialize)]
pub struct PngQuery {
    px: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Png(u32),
    Svg,
}

pub async fn png(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
    query: web::Query<PngQuery>,
) -> Result<HttpResponse, AppError> {
    let px = qr::parse_px(query.px.as_deref()).map_err(|e| AppError::BadRequest(e.to_string()))?;
    serve(state, req, &code, Format::Png(px)).await
}

pub async fn svg(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    serve(state, req, &code, Format::Svg).await
}

/// Codes are printed in capitals but may be typed in any case.
pub fn normalize_code(code: &str) -> Option<String> {
    let code = code.trim().to_ascii_uppercase();
    (!code.is_empty() && code.len() <= 32 && code.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(code)
}

async fn serve(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: &str,
    format: Format,
) -> Result<HttpResponse, AppError> {
    let code = normalize_code(code).ok_or(AppError::NotFound)?;
    let db = state.db.clone();
    let lookup = code.clone();
    let subject = web::block(move || db.read(|c| touchpoints::find_sticker_subject(c, &lookup)))
        .await??
        .ok_or(AppError::NotFound)?;
    let url = format!("{}/t/{}", state.base_url, code);
    let tag = etag(&url, format, subject.logo_etag.as_deref());

    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    if fresh {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
            .finish());
    }

    let body = match state.qr_cache.get(&tag) {
        Some(body) => body,
        None => {
            let st = state.clone();
            let location_id = subject.touchpoint.location_id.clone();
            let has_logo = subject.logo_etag.is_some();
            let rendered = web::block(move || -> Result<web::Bytes, AppError> {
                let logo_png = if has_logo {
                    st.db.read(|c| locations::logo_png(c, &location_id))?
                } else {
                    None
                };
                render(&url, format, logo_png.as_deref())
            })
            .await??;
            state.qr_cache.insert(tag.clone(), rendered.clone());
            rendered
        }
    };
    let content_type = match format {
        Format::Png(_) => "image/png",
        Format::Svg => "image/svg+xml",
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .body(body))
}

fn render(url: &str, format: Format, logo_png: Option<&[u8]>) -> Result<web::Bytes, AppError> {
    let internal = |e: qr::QrError| AppError::Internal(anyhow::anyhow!("QR rendering failed: {e}"));
    match format {
        Format::Png(px) => {
            let logo = logo_png.and_then(logo::decode_stored);
            qr::png(url, px, logo.as_ref())
                .map(web::Bytes::from)
                .map_err(internal)
        }
        Format::Svg => qr::svg(url, logo_png.map(qr::SvgLogo::Embedded))
            .map(web::Bytes::from)
            .map_err(internal),
    }
}

/// Names one rendering: the address, the format and size, the logo, and the renderer's
/// version (bump it when the drawing changes).
fn etag(url: &str, format: Format, logo_etag: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let format = match format {
        Format::Png(px) => format!("png{px}"),
        Format::Svg => "svg".to_owned(),
    };
    let digest = Sha256::digest(format!("qr1|{url}|{format}|{}", logo_etag.unwrap_or("-")));
    format!("\"{}\"", hex::encode(&digest[..12]))
}
