//! `/manage/cases/{reference}`: the case an alert links to, for the staff of its location
//! (and admins). Others get 404, the same as for a case that does not exist, so a
//! reference reveals nothing. The full workflow (assign, notes, updates, resolve) builds
//! on this page.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::models::{Case, CaseEvent, Location, OutboxMessage, Touchpoint};
use crate::db::queries::{cases, locations, outbox, touchpoints, users};
use crate::domain::access::may_work_cases;
use crate::domain::clock::in_time_zone;
use crate::domain::escalation::acknowledge as acknowledge_case;
use crate::domain::language::Language;
use crate::domain::reference::normalize_reference;
use crate::jobs::outbox::mask;
use crate::web::session::{csrf_token, verify_csrf, SignedIn};
use crate::web::{render, AppError, AppState};

#[derive(Template)]
#[template(path = "manage/case.html")]
struct CasePage {
    lang: &'static str,
    csrf: String,
    reference: String,
    status: String,
    store: String,
    spot: String,
    category: String,
    received: String,
    waited: String,
    acknowledged: Option<String>,
    body: String,
    contact: Option<String>,
    has_photo: bool,
    language: String,
    timeline: Vec<(String, String)>,
    mail: Vec<(String, String, String)>,
}

struct Loaded {
    case: Case,
    location: Location,
    touchpoint: Option<Touchpoint>,
    events: Vec<CaseEvent>,
    mail: Vec<OutboxMessage>,
}

/// The case, if it exists and the signed-in person may work it; 404 otherwise.
async fn load(state: &AppState, who: &SignedIn, reference: &str) -> Result<Loaded, AppError> {
    let reference = normalize_reference(reference).ok_or(AppError::NotFound)?;
    let (db, user_id, role) = (state.db.clone(), who.user.id.clone(), who.role);
    let loaded = web::block(move || {
        db.read(|c| {
            let Some(case) = cases::find_by_reference(c, &reference)? else {
                return Ok(None);
            };
            let own = users::location_ids(c, &user_id)?;
            if !may_work_cases(role, &own, &case.location_id) {
                return Ok(None);
            }
            let Some(location) = locations::find(c, &case.location_id)? else {
                return Ok(None);
            };
            Ok(Some(Loaded {
                touchpoint: touchpoints::find(c, &case.touchpoint_id)?,
                events: cases::events(c, &case.id)?,
                mail: outbox::for_case(c, &case.id)?,
                location,
                case,
            }))
        })
    })
    .await??;
    loaded.ok_or(AppError::NotFound)
}

fn local(location: &Location, at: chrono::NaiveDateTime) -> String {
    in_time_zone(&location.time_zone, at)
}

/// One timeline line: what happened, in words.
fn describe(event: &CaseEvent) -> String {
    let detail: serde_json::Value = serde_json::from_str(&event.detail).unwrap_or_default();
    let list = |key: &str| {
        detail[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    match event.kind.as_str() {
        "received" => "Complaint received".into(),
        "alerted" => format!("Alert sent to {}", list("to")),
        "escalated" => format!(
            "Not acknowledged in time: escalated (level {}) to {}",
            detail["level"],
            list("to")
        ),
        "acknowledged" => format!(
            "Acknowledged by {}",
            detail["by"].as_str().unwrap_or("staff")
        ),
        "public_update" => format!(
            "Update to the customer: {}",
            detail["text"].as_str().unwrap_or_default()
        ),
        other => other.replace('_', " "),
    }
}

fn waited(from: chrono::NaiveDateTime, to: chrono::NaiveDateTime) -> String {
    let minutes = (to - from).num_minutes().max(0);
    match minutes {
        0..=59 => format!("{minutes} min"),
        60..=1439 => format!("{} h {} min", minutes / 60, minutes % 60),
        _ => format!("{} days", minutes / 1440),
    }
}

pub async fn show(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let l = load(&state, &who, &path).await?;
    let case = &l.case;
    let now = state.clock.now();
    let lang = Language::En;
    render::html(&CasePage {
        lang: lang.code(),
        csrf: csrf_token(&who.session)?,
        reference: case.reference.clone(),
        status: if case.resolved_at.is_some() {
            "Resolved".into()
        } else if case.acknowledged_at.is_some() {
            "Acknowledged".into()
        } else {
            "New: not acknowledged yet".into()
        },
        store: l.location.name.clone(),
        spot: l
            .touchpoint
            .as_ref()
            .map(|t| t.label.clone())
            .unwrap_or_default(),
        category: lang.category_label(&case.category),
        received: local(&l.location, case.created_at),
        waited: waited(case.created_at, case.acknowledged_at.unwrap_or(now)),
        acknowledged: case.acknowledged_at.map(|at| local(&l.location, at)),
        body: case.body.clone(),
        contact: case.contact_email.clone(),
        has_photo: case.photo_thumb_path.is_some(),
        language: Language::or_default(&case.language).native_name().into(),
        timeline: l
            .events
            .iter()
            .map(|e| (local(&l.location, e.created_at), describe(e)))
            .collect(),
        mail: l
            .mail
            .iter()
            .map(|m| {
                let state = if m.sent_at.is_some() {
                    "sent".to_owned()
                } else if m.failed_at.is_some() {
                    format!("refused: {}", m.last_error.clone().unwrap_or_default())
                } else if let Some(e) = &m.last_error {
                    format!("retrying: {e}")
                } else {
                    "queued".to_owned()
                };
                (m.kind.clone(), mask(&m.recipient), state)
            })
            .collect(),
    })
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn acknowledge(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let l = load(&state, &who, &path).await?;
    let (db, case, by, now) = (
        state.db.clone(),
        l.case.clone(),
        who.user.email.clone(),
        state.clock.now(),
    );
    web::block(move || db.write(|c| acknowledge_case(c, &case, &by, "case_page", now))).await??;
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            format!("/manage/cases/{}", l.case.reference),
        ))
        .finish())
}

#[derive(Deserialize)]
pub struct PhotoQuery {
    size: Option<String>,
}

/// The case's photo (or its thumbnail), for those who may see the case only.
pub async fn photo(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    query: web::Query<PhotoQuery>,
) -> Result<HttpResponse, AppError> {
    let l = load(&state, &who, &path).await?;
    let stored = match query.size.as_deref() {
        Some("full") => l.case.photo_path,
        _ => l.case.photo_thumb_path,
    }
    .ok_or(AppError::NotFound)?;
    let file = state.settings.data_dir.join(stored);
    let bytes = web::block(move || std::fs::read(file))
        .await?
        .map_err(|_| AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("image/jpeg")
        // A customer's photo: never kept by shared caches.
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(bytes))
}
