//! `GET /c/{reference}?k={token}`: the customer's view of their case. Without the right
//! token the page does not exist, whatever the reference.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::queries::cases;
use crate::db::states::CaseStatus;
use crate::db::states::EventKind;
use subtle::ConstantTimeEq;

use crate::domain::case::reference::{normalize_reference, token_hash};
use crate::domain::language::Language;
use crate::web::{render, AppError, AppState};

#[derive(Template)]
#[template(path = "public/status.html")]
struct StatusPage {
    lang: &'static str,
    title: String,
    reference_label: String,
    reference: String,
    next: String,
    /// After resolution: what was done, as staff wrote it for the customer.
    outcome: Option<(String, String)>,
    keep: String,
    progress_label: String,
    steps: Vec<(String, bool)>,
    updates_label: String,
    no_updates: String,
    updates: Vec<(String, String)>,
    /// "You said, we did": what the store changed since, about this kind of complaint.
    changes_label: String,
    /// (from when, text)
    changes: Vec<(String, String)>,
    /// (path, label) of the survey, once the case is resolved.
    survey_link: Option<(String, String)>,
    /// Erasing one's data: the texts, the token for the form, and whether it was done.
    data: DataSection,
}

struct DataSection {
    title: String,
    text: String,
    confirm: String,
    button: String,
    erased: Option<String>,
    action: String,
    token: String,
}

#[derive(Deserialize)]
pub struct StatusQuery {
    k: Option<String>,
    lang: Option<String>,
}

#[derive(Deserialize)]
pub struct EraseForm {
    k: Option<String>,
    confirm: Option<String>,
}

/// `POST /c/{reference}/erase`: the customer erases their data from this case (the
/// status link's token is the authority), then sees their status page saying so.
pub async fn erase(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    form: web::Form<EraseForm>,
) -> Result<HttpResponse, AppError> {
    let token = form.k.clone().unwrap_or_default();
    let case = find_with_token(&state, &req, &reference, &token).await?;
    let status_page = format!(
        "/c/{}?k={}",
        case.reference,
        url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
    );
    if form.confirm.is_none() {
        // Not ticked: nothing happens (the box is required in the form itself).
        return Ok(HttpResponse::SeeOther()
            .insert_header(("Location", status_page))
            .finish());
    }
    let (db, dir, now) = (
        state.db.clone(),
        state.settings.data_dir.clone(),
        state.clock.now(),
    );
    web::block(move || {
        crate::domain::privacy::customer_data::erase_case(&db, &dir, &case.id, now)
            .map_err(|e| AppError::Internal(e.into()))
    })
    .await??;
    state.outbox_waker.wake();
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", status_page))
        .finish())
}

/// The case a status link names, if its token is right; else the not-found page.
async fn find_with_token(
    state: &AppState,
    req: &HttpRequest,
    reference: &str,
    token: &str,
) -> Result<crate::db::models::Case, AppError> {
    let accept = req
        .headers()
        .get("accept-language")
        .and_then(|v| v.to_str().ok());
    let not_found = || AppError::Customer {
        status: StatusCode::NOT_FOUND,
        lang: Language::negotiate(None, accept, "en"),
        title_key: "error.not_found_title",
        message_key: "error.not_found",
    };
    let Some(reference) = normalize_reference(reference) else {
        return Err(not_found());
    };
    let db = state.db.clone();
    let case = web::block(move || db.read(|c| cases::find_by_reference(c, &reference)))
        .await??
        .ok_or_else(not_found)?;
    if !token_opens(&case, token) {
        return Err(not_found());
    }
    Ok(case)
}

/// True when `token` is the secret part of this case's status link.
fn token_opens(case: &crate::db::models::Case, token: &str) -> bool {
    let expected = case.status_token_hash.as_deref().unwrap_or_default();
    // Without an early exit: timing does not reveal how much matched.
    bool::from(expected.as_bytes().ct_eq(token_hash(token).as_bytes()))
}

#[derive(Deserialize)]
struct PublicUpdate {
    text: String,
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    query: web::Query<StatusQuery>,
) -> Result<HttpResponse, AppError> {
    let accept = req
        .headers()
        .get("accept-language")
        .and_then(|v| v.to_str().ok());
    let not_found = AppError::Customer {
        status: StatusCode::NOT_FOUND,
        lang: Language::negotiate(query.lang.as_deref(), accept, "en"),
        title_key: "error.not_found_title",
        message_key: "error.not_found",
    };
    let (Some(reference), Some(token)) = (normalize_reference(&reference), query.k.clone()) else {
        return Err(not_found);
    };
    let db = state.db.clone();
    let found = web::block(move || {
        db.read(|c| {
            let Some((case, location)) = cases::find_by_reference_with_location(c, &reference)?
            else {
                return Ok(None);
            };
            let updates = cases::events_of_kind(c, &case.id, EventKind::PublicUpdate)?;
            let survey = crate::db::queries::surveys::for_case(c, &case.id)?
                .into_iter()
                .find(|s| s.kind == crate::domain::survey::SurveyKind::Satisfaction);
            let changes = crate::domain::process_changes::answering(c, &case)?;
            Ok(Some((case, location, updates, survey, changes)))
        })
    })
    .await??;
    let Some((case, location, updates, survey, changes)) = found else {
        return Err(not_found);
    };
    if !token_opens(&case, &token) {
        return Err(not_found);
    }

    let lang = Language::negotiate(query.lang.as_deref(), None, &case.language);
    let when = |t: chrono::NaiveDateTime| {
        crate::domain::language::formats::date_time(lang, &location.time_zone, t)
    };
    let fixing = matches!(case.status, CaseStatus::InProgress | CaseStatus::Resolved);
    // A resolved case's survey, open to a customer without email too.
    let open_until = chrono::Duration::days(crate::domain::survey::VALID_DAYS);
    let survey_link = survey
        .filter(|s| s.answered_at.is_none() && case.resolved_at.is_some())
        .filter(|s| state.clock.now() <= s.created_at + open_until)
        .map(|s| {
            (
                crate::domain::survey::survey_path(state.settings.secret.expose_bytes(), &s.id),
                lang.text("survey.on_status_page"),
            )
        });
    let page = StatusPage {
        lang: lang.code(),
        title: lang.text("status.title"),
        reference_label: lang.text("status.reference"),
        reference: case.reference.clone(),
        // What happens next, as the case stands: a reply promised only while none came.
        next: lang.text_with(
            if case.resolved_at.is_some() {
                "status.next_resolved"
            } else if case.acknowledged_at.is_some() {
                "status.next_seen"
            } else {
                "status.next"
            },
            &[
                ("store", &location.name),
                ("minutes", &location.sla_minutes.to_string()),
            ],
        ),
        outcome: case
            .resolved_at
            .and(case.resolution.clone())
            .filter(|r| !r.trim().is_empty())
            .map(|r| (lang.text("status.outcome"), r)),
        keep: lang.text("status.keep"),
        progress_label: lang.text("status.progress"),
        steps: vec![
            (lang.text("status.received"), true),
            // Resolved is seen, even when nobody pressed "I'm on it" first.
            (
                lang.text("status.seen"),
                case.acknowledged_at.is_some() || case.resolved_at.is_some(),
            ),
            (lang.text("status.fixing"), fixing),
            (lang.text("status.resolved"), case.resolved_at.is_some()),
        ],
        survey_link,
        changes_label: lang.text("changes.status_heading"),
        changes: changes
            .iter()
            .map(|ch| {
                let day = crate::domain::language::formats::date(lang, ch.effective_on);
                let text = crate::domain::process_changes::Texts::parse(&ch.texts)
                    .pick(lang, &location.default_language)
                    .to_owned();
                (lang.text_with("changes.since", &[("date", &day)]), text)
            })
            .collect(),
        updates_label: lang.text("status.updates"),
        no_updates: lang.text("status.no_updates"),
        data: DataSection {
            title: lang.text("status.data_title"),
            text: lang.text("status.data_text"),
            confirm: lang.text("status.data_confirm"),
            button: lang.text("status.data_button"),
            erased: case
                .erased_at
                .is_some()
                .then(|| lang.text("status.data_erased")),
            action: format!("/c/{}/erase", case.reference),
            token: token.clone(),
        },
        updates: updates
            .into_iter()
            .filter_map(|e| {
                let u: PublicUpdate = serde_json::from_str(&e.detail).ok()?;
                Some((when(e.created_at), u.text))
            })
            .collect(),
    };
    let mut response = render::html(&page)?;
    response.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
