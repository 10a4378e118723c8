//! Which language a person reads a staff page in: their account's when signed in (see
//! `SignedIn::language`); before sign-in and on error pages, the choice they made with the
//! language switch (a cookie), else their browser's, else English. The switch stores the
//! choice on the account too.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::db::queries::users;
use crate::domain::language::Language;
use crate::web::{AppError, AppState};

pub const COOKIE: &str = "mend_lang";

/// The language of a person who may not be signed in.
pub fn of_request(req: &HttpRequest) -> Language {
    let chosen = req.cookie(COOKIE);
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Language::negotiate(chosen.as_ref().map(|c| c.value()), accept, "en")
}

/// Remembers the reader's language in their browser, for the pages before sign-in.
pub fn cookie(lang: Language) -> Cookie<'static> {
    Cookie::build(COOKIE, lang.code())
        .path("/")
        .same_site(SameSite::Lax)
        .http_only(true)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish()
}

#[derive(Deserialize)]
pub struct SwitchForm {
    to: String,
}

/// `POST /manage/language`. No form token: the session cookie is SameSite=Lax, so a post
/// from another site reaches here signed out and changes nothing but that browser's own
/// pages before sign-in.
pub async fn switch(
    state: web::Data<AppState>,
    req: HttpRequest,
    who: Option<crate::web::session::SignedIn>,
    form: web::Form<SwitchForm>,
) -> Result<HttpResponse, AppError> {
    let lang = Language::parse(&form.to)
        .ok_or_else(|| AppError::BadRequest(of_request(&req).text("staff.language_unknown")))?;
    if let Some(who) = who {
        let (db, user_id) = (state.db.clone(), who.user.id);
        web::block(move || {
            db.write(|c| -> Result<(), crate::db::DbError> {
                Ok(users::set_language(c, &user_id, lang.code())?)
            })
        })
        .await??;
    }
    Ok(HttpResponse::SeeOther()
        .cookie(cookie(lang))
        .insert_header((header::LOCATION, back_to(&req, &state.base_url)))
        .finish())
}

/// The page the switch was used on, when the browser says and it is one of ours.
fn back_to(req: &HttpRequest, base_url: &str) -> String {
    req.headers()
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .filter(|r| {
            url::Url::parse(base_url).is_ok_and(|b| b.origin() == r.origin())
                || req.connection_info().host() == r.host_str().unwrap_or_default()
        })
        .map(|r| match r.query() {
            Some(q) => format!("{}?{q}", r.path()),
            None => r.path().to_owned(),
        })
        .map(|p| crate::web::session::safe_next(Some(&p)))
        .unwrap_or_else(|| "/manage/".to_owned())
}

/// An error page, marked by `AppError` with what it says, is rendered again in the
/// reader's language (the error itself cannot see the request).
pub async fn localize_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?;
    // Only error pages are looked at: the language is worked out for them alone, so the
    // pages that answer by the thousand (the form) pay nothing here.
    let page = res
        .response()
        .extensions()
        .get::<crate::web::error::ErrorPageText>()
        .cloned();
    let Some(page) = page else {
        return Ok(res.map_into_boxed_body());
    };
    match of_request(res.request()) {
        Language::EN => Ok(res.map_into_boxed_body()),
        lang => {
            let (req, old) = res.into_parts();
            let mut fresh = page.render(lang);
            for (name, value) in old.headers() {
                if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                    fresh.headers_mut().insert(name.clone(), value.clone());
                }
            }
            Ok(ServiceResponse::new(req, fresh))
        }
    }
}
