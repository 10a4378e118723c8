//! Uploading and removing a location's sticker logo.

use actix_multipart::form::{bytes::Bytes as UploadBytes, text::Text, MultipartForm};
use actix_web::{web, HttpResponse};

use super::stickers::{sheet_response, SheetChoice};
use crate::db::queries::locations;
use crate::domain::sticker::logo::{self, LogoError};
use crate::domain::sticker::sheet::{Paper, StickerSize};
use crate::web::session::{verify_csrf, CsrfForm, SignedIn};
use crate::web::{AppError, AppState};

#[derive(MultipartForm)]
pub struct LogoUpload {
    csrf: Text<String>,
    // One byte over the domain limit so the domain gives the message, not the parser.
    #[multipart(limit = "2MiB")]
    logo: UploadBytes,
}

/// Too large, or not a form at all: our page and message, not the parser's.
pub fn upload_config() -> actix_multipart::form::MultipartFormConfig {
    actix_multipart::form::MultipartFormConfig::default()
        .total_limit(3 * 1024 * 1024)
        .memory_limit(3 * 1024 * 1024)
        .error_handler(|e, req| {
            let l = crate::web::reader::of_request(req);
            let too_large = matches!(
                e,
                actix_multipart::MultipartError::Payload(actix_web::error::PayloadError::Overflow)
            ) || e.to_string().to_lowercase().contains("limit");
            let message = l.text(if too_large {
                LogoError::TooLarge.key()
            } else {
                "logo_error.unreadable"
            });
            AppError::BadRequest(message).into()
        })
}

fn back_to_sheet(location_id: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((
            "Location",
            format!("/manage/locations/{location_id}/stickers"),
        ))
        .finish()
}

pub async fn upload(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    form: MultipartForm<LogoUpload>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let location = super::managed_location(&state, &who, id.into_inner()).await?;
    let upload = form.into_inner().logo.data;
    let normalized = web::block(move || logo::normalize(&upload)).await?;
    let normalized = match normalized {
        Ok(n) => n,
        Err(e) => {
            // Nothing stored: the page shows the reason beside the form.
            let choice = SheetChoice {
                paper: Paper::A4,
                size: StickerSize::Mm50,
                only: Vec::new(),
            };
            let message = who.language().text(e.key());
            return sheet_response(&state, &who, location, &choice, Some(message)).await;
        }
    };
    let db = state.db.clone();
    let location_id = location.id.clone();
    web::block(move || {
        db.write(|c| -> Result<bool, AppError> {
            Ok(locations::set_logo(
                c,
                &location_id,
                Some((&normalized.png, &normalized.etag)),
            )?)
        })
    })
    .await??;
    Ok(back_to_sheet(&location.id))
}

pub async fn remove(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let location = super::managed_location(&state, &who, id.into_inner()).await?;
    let db = state.db.clone();
    let location_id = location.id.clone();
    web::block(move || {
        db.write(|c| -> Result<bool, AppError> { Ok(locations::set_logo(c, &location_id, None)?) })
    })
    .await??;
    Ok(back_to_sheet(&location.id))
}
