//! The staff's side of a case: the inbox (`/manage/cases`) and the case page
//! (`/manage/cases/{reference}`) with its actions. A case is looked up only through
//! [`cases::find_visible`], so anyone but the people of its location (and admins) gets
//! 404, whatever URL or form they try.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::models::{Case, CaseEvent, Location, OutboxMessage, User};
use crate::db::queries::{cases, locations, outbox, users};
use crate::domain::alerts::CaseFacts;
use crate::domain::case_workflow::{
    self as workflow, format_amount, parse_compensation, parse_resolution, root_causes_of,
    WorkflowError, COMPENSATION_TYPES,
};
use crate::domain::clock::in_time_zone;
use crate::domain::escalation::acknowledge as acknowledge_case;
use crate::domain::language::Language;
use crate::domain::reference::normalize_reference;
use crate::domain::role::Role;
use crate::jobs::outbox::mask;
use crate::web::session::{csrf_token, verify_csrf, SignedIn};
use crate::web::{render, AppError, AppState};

#[derive(Template)]
#[template(path = "manage/case.html")]
struct CasePage {
    lang: &'static str,
    csrf: String,
    error: Option<String>,
    reference: String,
    status: String,
    store: String,
    spot: String,
    category: String,
    received: String,
    waited: String,
    overdue: bool,
    acknowledged: Option<String>,
    resolved: bool,
    resolution: Vec<(String, String)>,
    flags: Vec<String>,
    assignee: Option<String>,
    body: String,
    contact: Option<String>,
    customer_gets_email: bool,
    has_photo: bool,
    language: String,
    /// (user id, email, is the assignee) of the people who may take the case.
    colleagues: Vec<(String, String, bool)>,
    /// (key, label) of each root cause and kind of compensation offered.
    root_causes: Vec<(String, String)>,
    compensation_types: Vec<(&'static str, String)>,
    duplicates: Vec<(String, String, String)>,
    merged: Vec<String>,
    merged_into: Option<String>,
    typed: ActionForm,
    timeline: Vec<(String, String, String)>,
    mail: Vec<(String, String, String)>,
}

/// Everything the case page shows, read in one go.
struct Loaded {
    facts: CaseFacts,
    events: Vec<CaseEvent>,
    mail: Vec<OutboxMessage>,
    colleagues: Vec<User>,
    actors: Vec<(String, String)>,
    duplicates: Vec<Case>,
    merged: Vec<Case>,
    merged_into: Option<Case>,
    root_causes: Option<String>,
    /// The kiosk tap whose handoff brought the customer here, with its rating once the
    /// tap reached the server.
    kiosk_tap: Option<(String, Option<i32>)>,
    /// The store's currency: compensation is given in it unless staff type another.
    currency: String,
}

async fn find_case(state: &AppState, who: &SignedIn, reference: &str) -> Result<Case, AppError> {
    let reference = normalize_reference(reference).ok_or(AppError::NotFound)?;
    let (db, user_id, admin) = (
        state.db.clone(),
        who.user.id.clone(),
        who.role == Role::Admin,
    );
    web::block(move || db.read(|c| cases::find_visible(c, &reference, &user_id, admin)))
        .await??
        .ok_or(AppError::NotFound)
}

async fn load(state: &AppState, who: &SignedIn, reference: &str) -> Result<Loaded, AppError> {
    let case = find_case(state, who, reference).await?;
    let db = state.db.clone();
    let loaded = web::block(move || {
        db.read(|c| {
            let Some(facts) = CaseFacts::load(c, case.clone())? else {
                return Ok(None);
            };
            let events = cases::events(c, &case.id)?;
            let mut actors = Vec::new();
            for id in events.iter().filter_map(|e| e.actor_user_id.clone()) {
                if !actors.iter().any(|(a, _)| *a == id) {
                    if let Some(u) = users::find(c, &id)? {
                        actors.push((id, u.email));
                    }
                }
            }
            let merged_into = match &case.merged_into {
                Some(id) => cases::find(c, id)?,
                None => None,
            };
            Ok(Some(Loaded {
                mail: outbox::for_case(c, &case.id)?,
                colleagues: users::with_role_at(c, &case.location_id, &["staff", "manager"])?,
                duplicates: workflow::possible_duplicates(c, &case)?,
                merged: cases::merged_into(c, &case.id)?,
                root_causes: locations::root_causes(c, &case.location_id)?,
                currency: crate::db::queries::stores::find(c, &case.location_id)?
                    .map(|s| s.currency)
                    .unwrap_or_else(|| "EUR".into()),
                kiosk_tap: crate::domain::kiosk_handoff::tap_of_case(c, &case.id)?,
                merged_into,
                actors,
                events,
                facts,
            }))
        })
    })
    .await??;
    loaded.ok_or(AppError::NotFound)
}

fn local(location: &Location, at: chrono::NaiveDateTime) -> String {
    in_time_zone(&location.time_zone, at)
}

/// One timeline line: who, and what happened, in words.
fn describe(event: &CaseEvent, actors: &[(String, String)]) -> (String, String) {
    let detail: serde_json::Value = serde_json::from_str(&event.detail).unwrap_or_default();
    let text = |key: &str| detail[key].as_str().unwrap_or_default().to_owned();
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
    let who = event
        .actor_user_id
        .as_ref()
        .and_then(|id| actors.iter().find(|(a, _)| a == id))
        .map(|(_, email)| email.clone())
        .unwrap_or_else(|| "Mend".into());
    let what = match event.kind.as_str() {
        "received" => "Complaint received".into(),
        "alerted" => format!("Alert sent to {}", list("to")),
        "escalated" => format!(
            "Not acknowledged in time: escalated (level {}) to {}",
            detail["level"],
            list("to")
        ),
        "acknowledged" => format!("Acknowledged by {}", text("by")),
        "assigned" => format!("Assigned to {}", text("to")),
        "note" => format!("Internal note: {}", text("text")),
        "public_update" => format!("Update to the customer: {}", text("text")),
        "resolved" => format!(
            "Resolved ({}): {}",
            Language::En.root_cause_label(&text("root_cause")),
            text("what_was_done")
        ),
        "reopened" => format!("Reopened: {}", text("reason")),
        "merged" => format!("Merged into {}", text("into")),
        "merged_in" => format!("Duplicate {} merged into this case", text("from")),
        other => other.replace('_', " "),
    };
    (who, what)
}

fn waited(from: chrono::NaiveDateTime, to: chrono::NaiveDateTime) -> String {
    let minutes = (to - from).num_minutes().max(0);
    match minutes {
        0..=59 => format!("{minutes} min"),
        60..=1439 => format!("{} h {} min", minutes / 60, minutes % 60),
        _ => format!("{} days", minutes / 1440),
    }
}

fn status_label(case: &Case) -> String {
    if case.resolved_at.is_some() {
        "Resolved".into()
    } else if case.merged_into.is_some() {
        "Merged".into()
    } else if case.acknowledged_at.is_none() {
        "New: not acknowledged yet".into()
    } else if case.status == "in_progress" {
        "In progress".into()
    } else {
        "Acknowledged".into()
    }
}

fn page(
    state: &AppState,
    who: &SignedIn,
    l: Loaded,
    error: Option<String>,
    typed: ActionForm,
) -> Result<CasePage, AppError> {
    let (case, location) = (&l.facts.case, &l.facts.location);
    let mut typed = typed;
    if typed.compensation_currency.is_none() {
        typed.compensation_currency = Some(l.currency.clone());
    }
    let now = state.clock.now();
    let lang = Language::En;
    let mut flags = Vec::new();
    if l.facts.severe {
        flags.push("Severe".to_owned());
    }
    if l.facts.repeat_count > 0 {
        flags.push(format!(
            "Repeat complainant: {} earlier complaint(s) in 90 days",
            l.facts.repeat_count
        ));
    }
    if let Some((_, rating)) = &l.kiosk_tap {
        flags.push(match rating {
            Some(r) => format!("From the kiosk, after a tap of {r} of 4"),
            None => "From the kiosk, after an unhappy tap".to_owned(),
        });
    }
    let waited_until = case.acknowledged_at.unwrap_or(now);
    let mut resolution = Vec::new();
    if let Some(done) = &case.resolution {
        resolution.push(("What was done".to_owned(), done.clone()));
    }
    if let Some(cause) = &case.root_cause {
        resolution.push(("Root cause".to_owned(), lang.root_cause_label(cause)));
    }
    if let Some(kind) = &case.compensation_type {
        let amount = match (case.compensation_minor, &case.compensation_currency) {
            (Some(m), Some(cur)) => format!(" {}", format_amount(m, cur)),
            _ => String::new(),
        };
        resolution.push((
            "Compensation".to_owned(),
            format!("{}{amount}", lang.compensation_label(kind)),
        ));
    }
    Ok(CasePage {
        lang: lang.code(),
        csrf: csrf_token(&who.session)?,
        error,
        reference: case.reference.clone(),
        status: status_label(case),
        store: location.name.clone(),
        spot: l.facts.touchpoint.label.clone(),
        category: l.facts.category_label(lang),
        received: local(location, case.created_at),
        waited: waited(case.created_at, waited_until),
        overdue: case.acknowledged_at.is_none()
            && (now - case.created_at).num_minutes() >= i64::from(l.facts.sla_minutes),
        acknowledged: case.acknowledged_at.map(|at| local(location, at)),
        resolved: case.resolved_at.is_some(),
        resolution,
        flags,
        assignee: case.assignee_id.as_ref().map(|id| {
            l.colleagues
                .iter()
                .find(|u| u.id == *id)
                .map_or_else(|| "someone who has left".to_owned(), |u| u.email.clone())
        }),
        body: case.body.clone(),
        contact: case.contact_email.clone(),
        customer_gets_email: case.contact_email.is_some() && case.contact_consent,
        has_photo: case.photo_thumb_path.is_some(),
        language: Language::or_default(&case.language).native_name().into(),
        colleagues: l
            .colleagues
            .iter()
            .map(|u| {
                (
                    u.id.clone(),
                    u.email.clone(),
                    case.assignee_id.as_deref() == Some(u.id.as_str()),
                )
            })
            .collect(),
        root_causes: root_causes_of(l.root_causes.as_deref())
            .into_iter()
            .map(|key| {
                let label = lang.root_cause_label(&key);
                (key, label)
            })
            .collect(),
        compensation_types: COMPENSATION_TYPES
            .iter()
            .map(|key| (*key, lang.compensation_label(key)))
            .collect(),
        duplicates: l
            .duplicates
            .iter()
            .map(|d| {
                (
                    d.reference.clone(),
                    local(location, d.created_at),
                    crate::domain::email::one_line(&d.body, 80),
                )
            })
            .collect(),
        merged: l.merged.iter().map(|m| m.reference.clone()).collect(),
        merged_into: l.merged_into.as_ref().map(|m| m.reference.clone()),
        typed,
        timeline: l
            .events
            .iter()
            .map(|e| {
                let (who, what) = describe(e, &l.actors);
                (local(location, e.created_at), who, what)
            })
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
                (m.kind.replace('_', " "), mask(&m.recipient), state)
            })
            .collect(),
    })
}

pub async fn show(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let l = load(&state, &who, &path).await?;
    render::html(&page(&state, &who, l, None, ActionForm::default())?)
}

/// Every action's fields; each action reads the ones it needs.
#[derive(Deserialize, Default, Clone)]
pub struct ActionForm {
    csrf: String,
    assignee: Option<String>,
    text: Option<String>,
    resolution: Option<String>,
    root_cause: Option<String>,
    compensation_type: Option<String>,
    compensation_value: Option<String>,
    compensation_currency: Option<String>,
    duplicate: Option<String>,
}

impl ActionForm {
    pub fn text(&self) -> &str {
        self.text.as_deref().unwrap_or_default()
    }
    pub fn resolution(&self) -> &str {
        self.resolution.as_deref().unwrap_or_default()
    }
    pub fn value(&self) -> &str {
        self.compensation_value.as_deref().unwrap_or_default()
    }
    pub fn currency(&self) -> &str {
        self.compensation_currency.as_deref().unwrap_or("EUR")
    }
}

/// `POST /manage/cases/{reference}/{action}`: acknowledge, assign, note, update, resolve,
/// reopen, merge. On success, back to the case; on a mistake, the case page again with
/// the message and what was typed.
pub async fn act(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let (reference, action) = path.into_inner();
    let case = find_case(&state, &who, &reference).await?;
    let form = form.into_inner();
    let back_to = case.reference.clone();
    let key = state.settings.secret.clone();
    let (db, actor, now, typed) = (
        state.db.clone(),
        who.user.clone(),
        state.clock.now(),
        form.clone(),
    );
    let done = web::block(move || -> Result<(), WorkflowError> {
        let found = |c: &mut crate::db::DbConnection, r: &str| -> Result<Case, WorkflowError> {
            let r = normalize_reference(r)
                .ok_or_else(|| WorkflowError::Invalid(format!("\"{r}\" is not a reference.")))?;
            cases::find_visible(c, &r, &actor.id, actor.role == "admin")?
                .ok_or_else(|| WorkflowError::Invalid(format!("There is no case {r}.")))
        };
        let act_on = |c: &mut crate::db::DbConnection,
                      action: &str,
                      case: &Case|
         -> Result<(), WorkflowError> {
            match action {
                "acknowledge" => acknowledge_case(c, case, &actor.email, "case_page", now)
                    .map(|_| ())
                    .map_err(WorkflowError::from),
                "assign" => {
                    let to = form.assignee.as_deref().unwrap_or(actor.id.as_str());
                    workflow::assign(c, &actor, case, to, now)
                }
                "note" => workflow::add_note(c, &actor, case, form.text(), now),
                "update" => workflow::public_update(c, &actor, case, form.text(), now),
                "resolve" => {
                    let causes =
                        root_causes_of(locations::root_causes(c, &case.location_id)?.as_deref());
                    let compensation = parse_compensation(
                        form.compensation_type.as_deref().unwrap_or_default(),
                        form.value(),
                        form.currency(),
                    )?;
                    let r = parse_resolution(
                        form.resolution(),
                        form.root_cause.as_deref().unwrap_or_default(),
                        &causes,
                        compensation,
                    )?;
                    workflow::resolve(c, key.expose_bytes(), &actor, case, &r, now)
                }
                "reopen" => workflow::reopen(c, &actor, case, form.text(), now),
                "merge" => {
                    let duplicate = found(c, form.duplicate.as_deref().unwrap_or_default())?;
                    workflow::merge(c, &actor, case, &duplicate, now)
                }
                _ => Err(WorkflowError::Invalid("There is no such action.".into())),
            }
        };
        db.write(|c| {
            // Checked on the case as it is now, inside the transaction that changes it: a
            // double click's second request sees what the first one did.
            let case = cases::find(c, &case.id)?
                .ok_or_else(|| WorkflowError::Invalid("There is no such case.".into()))?;
            act_on(c, &action, &case)
        })
    })
    .await?;
    match done {
        Ok(()) => {
            // An update or a resolution may have queued a message to the customer.
            state.outbox_waker.wake();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/manage/cases/{back_to}")))
                .finish())
        }
        Err(WorkflowError::Invalid(message)) => {
            let l = load(&state, &who, &back_to).await?;
            let mut response = render::html(&page(&state, &who, l, Some(message), typed)?)?;
            *response.status_mut() = StatusCode::BAD_REQUEST;
            Ok(response)
        }
        Err(WorkflowError::Db(e)) => Err(e.into()),
    }
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
    let case = find_case(&state, &who, &path).await?;
    let stored = match query.size.as_deref() {
        Some("full") => case.photo_path,
        _ => case.photo_thumb_path,
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

#[derive(Template)]
#[template(path = "manage/inbox.html")]
struct InboxPage {
    lang: &'static str,
    /// (reference, store, category, first words, waited, overdue, acknowledged)
    rows: Vec<(String, String, String, String, String, bool, bool)>,
    locations: Vec<(String, String, bool)>,
    categories: Vec<(String, String, bool)>,
    statuses: Vec<(&'static str, &'static str, bool)>,
}

#[derive(Deserialize)]
pub struct InboxQuery {
    status: Option<String>,
    location: Option<String>,
    category: Option<String>,
}

/// `GET /manage/cases`: my locations' open cases, unacknowledged first, then oldest.
pub async fn inbox(
    state: web::Data<AppState>,
    who: SignedIn,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, AppError> {
    let nonempty = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
    let filter = cases::InboxFilter {
        status: nonempty(&query.status),
        location_id: nonempty(&query.location),
        category: nonempty(&query.category),
    };
    let (db, user_id, admin) = (
        state.db.clone(),
        who.user.id.clone(),
        who.role == Role::Admin,
    );
    let f = filter.clone();
    let (open, mine, labels) = web::block(move || {
        db.read(|c| {
            let open = cases::inbox(c, &user_id, admin, &f, 500)?;
            let mine = if admin {
                locations::all(c)?
            } else {
                locations::for_user(c, &user_id)?
            };
            let ids: Vec<String> = mine.iter().map(|l| l.id.clone()).collect();
            let labels = crate::domain::setup::categories::Labels::read(c, &ids)?;
            Ok((open, mine, labels))
        })
    })
    .await??;
    let now = state.clock.now();
    let lang = Language::En;
    let mut categories: Vec<String> = crate::domain::complaint::DEFAULT_CATEGORIES
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    for (case, _) in &open {
        if !categories.contains(&case.category) {
            categories.push(case.category.clone());
        }
    }
    render::html(&InboxPage {
        lang: lang.code(),
        rows: open
            .iter()
            .map(|(case, location)| {
                let until = case.acknowledged_at.unwrap_or(now);
                (
                    case.reference.clone(),
                    location.name.clone(),
                    labels.label(Some(&location.id), &case.category, lang),
                    crate::domain::email::one_line(&case.body, 60),
                    waited(case.created_at, until),
                    case.acknowledged_at.is_none()
                        && (now - case.created_at).num_minutes() >= i64::from(location.sla_minutes),
                    case.acknowledged_at.is_some(),
                )
            })
            .collect(),
        locations: mine
            .iter()
            .map(|l| {
                (
                    l.id.clone(),
                    l.name.clone(),
                    filter.location_id.as_deref() == Some(l.id.as_str()),
                )
            })
            .collect(),
        categories: categories
            .into_iter()
            .map(|c| {
                let chosen = filter.category.as_deref() == Some(c.as_str());
                let label = labels.label(filter.location_id.as_deref(), &c, lang);
                (c, label, chosen)
            })
            .collect(),
        statuses: [("new", "New"), ("in_progress", "In progress")]
            .into_iter()
            .map(|(v, label)| (v, label, filter.status.as_deref() == Some(v)))
            .collect(),
    })
}
