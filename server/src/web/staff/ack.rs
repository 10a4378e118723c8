//! `/ack/{reference}?to=&exp=&sig=`: the alert's "I'm on it" link. GET only shows a
//! confirm button (mail scanners open links); POST acknowledges. The signed link is the
//! credential: it names the case and the person, and it expires.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::models::Case;
use crate::db::queries::{cases, locations, touchpoints, users};
use crate::domain::alert::escalation::{acknowledge as acknowledge_case, Acknowledged};
use crate::domain::alert::ACK_PURPOSE;
use crate::domain::case::reference::normalize_reference;
use crate::domain::language::formats;
use crate::domain::language::Language;
use crate::domain::signed_link::{self, LinkError};
use crate::web::{render, AppError, AppState};

#[derive(Deserialize)]
pub struct AckLink {
    to: Option<String>,
    exp: Option<i64>,
    sig: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/ack.html")]
struct AckPage {
    lang: &'static str,
    title: String,
    summary: Vec<(String, String)>,
    body: String,
    /// The confirm button, while the case is not acknowledged yet.
    confirm: Option<(String, String)>,
    message: Option<String>,
    case_url: String,
    open_case: String,
}

struct Checked {
    case: Case,
    /// The store's categories, for the case's category's label.
    categories: Vec<crate::domain::setup::categories::Category>,
    store_language: String,
    /// Store name, spot, time zone.
    place: (String, String, String),
    to: String,
    lang: Language,
    /// Who acknowledged the case before this visit, if someone did.
    acknowledged_by: Option<String>,
}

fn refuse(lang: Language, e: LinkError) -> AppError {
    super::link_refused(lang, e, ("ack.expired_title", "ack.expired"))
}

/// Checks the signature and expiry, then finds the case and the person's language.
async fn check(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    reference: &str,
    link: &AckLink,
) -> Result<Checked, AppError> {
    let accept = req
        .headers()
        .get("accept-language")
        .and_then(|v| v.to_str().ok());
    let browser_lang = Language::negotiate(None, accept, "en");
    let (Some(reference), Some(to), Some(exp), Some(sig)) = (
        normalize_reference(reference),
        link.to.as_deref(),
        link.exp,
        link.sig.as_deref(),
    ) else {
        return Err(refuse(browser_lang, LinkError::Invalid));
    };
    let now = state.clock.now().and_utc().timestamp();
    signed_link::verify(
        state.settings.secret.expose_bytes(),
        ACK_PURPOSE,
        &[&reference, to],
        exp,
        sig,
        now,
    )
    .map_err(|e| refuse(browser_lang, e))?;
    let (db, to_owned) = (state.db.clone(), to.to_owned());
    let found = web::block(move || {
        db.read(|c| {
            let Some(case) = cases::find_by_reference(c, &reference)? else {
                return Ok(None);
            };
            let user_lang = users::find_by_email(c, &to_owned)?.map(|u| u.language);
            let Some(location) = locations::find(c, &case.location_id)? else {
                return Ok(None);
            };
            let spot = touchpoints::find(c, &case.touchpoint_id)?.map(|t| t.label);
            let categories = crate::domain::setup::categories::of_store(c, &location.id)?;
            let by = cases::acknowledged_by(c, &case.id)?;
            let store_language = location.default_language.clone();
            let place = (location.name, spot.unwrap_or_default(), location.time_zone);
            Ok(Some((
                (case, categories, store_language, by),
                place,
                user_lang.unwrap_or(location.default_language),
            )))
        })
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    let Some(((case, categories, store_language, acknowledged_by), place, lang)) = found else {
        return Err(refuse(browser_lang, LinkError::Invalid));
    };
    Ok(Checked {
        case,
        categories,
        store_language,
        place,
        to: to.to_owned(),
        lang: Language::or_default(&lang),
        acknowledged_by,
    })
}

fn page(
    state: &AppState,
    checked: &Checked,
    title: String,
    message: Option<String>,
    req: &HttpRequest,
) -> AckPage {
    let (case, lang) = (&checked.case, checked.lang);
    let confirm = case.acknowledged_at.is_none().then(|| {
        (
            format!("{}?{}", req.path(), req.query_string()),
            lang.text("ack.confirm"),
        )
    });
    AckPage {
        lang: lang.code(),
        title,
        summary: vec![
            (lang.text("alert.reference"), case.reference.clone()),
            (
                lang.text("alert.category"),
                checked
                    .categories
                    .iter()
                    .find(|k| k.key == case.category)
                    .map_or_else(
                        || lang.category_label(&case.category),
                        |k| k.label(lang, &checked.store_language),
                    ),
            ),
            (
                lang.text("alert.where"),
                format!("{} · {}", checked.place.0, checked.place.1),
            ),
            (
                lang.text("alert.when"),
                formats::date_time(lang, &checked.place.2, case.created_at),
            ),
        ],
        body: case.body.clone(),
        confirm,
        message,
        case_url: format!("{}/manage/cases/{}", state.base_url, case.reference),
        open_case: lang.text("alert.open_case"),
    }
}

/// The page's title and message for a case acknowledged before: thanks to the one who
/// did, and to anyone else who took it and when.
fn taken(
    lang: Language,
    checked: &Checked,
    at: chrono::NaiveDateTime,
    by: Option<&str>,
) -> (String, String) {
    let when = formats::date_time(lang, &checked.place.2, at);
    match by {
        Some(by) if !by.eq_ignore_ascii_case(&checked.to) => (
            lang.text("ack.taken_title"),
            lang.text_with("ack.taken_by", &[("who", by), ("when", &when)]),
        ),
        _ => (
            lang.text("ack.done_title"),
            lang.text_with("ack.already", &[("when", &when)]),
        ),
    }
}

pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    link: web::Query<AckLink>,
) -> Result<HttpResponse, AppError> {
    let checked = check(&state, &req, &path, &link).await?;
    let lang = checked.lang;
    let (title, message) = match checked.case.acknowledged_at {
        None => (lang.text("ack.title"), Some(lang.text("ack.confirm_hint"))),
        Some(at) => {
            let (title, message) = taken(lang, &checked, at, checked.acknowledged_by.as_deref());
            (title, Some(message))
        }
    };
    render::html(&page(&state, &checked, title, message, &req))
}

pub async fn acknowledge(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    link: web::Query<AckLink>,
) -> Result<HttpResponse, AppError> {
    let mut checked = check(&state, &req, &path, &link).await?;
    let (db, case, to, now) = (
        state.db.clone(),
        checked.case.clone(),
        checked.to.clone(),
        state.clock.now(),
    );
    let outcome =
        web::block(move || db.write(|c| acknowledge_case(c, &case, &to, "alert_link", now)))
            .await
            .map_err(|e| AppError::Internal(e.into()))??;
    let lang = checked.lang;
    let (title, message) = match outcome {
        Acknowledged::Now => {
            checked.case.acknowledged_at = Some(now);
            (lang.text("ack.done_title"), lang.text("ack.done"))
        }
        Acknowledged::Before { at, by } => {
            checked.case.acknowledged_at = Some(at);
            taken(lang, &checked, at, by.as_deref())
        }
    };
    render::html(&page(&state, &checked, title, Some(message), &req))
}
