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
    /// "What would make this right for you?", while the case is open.
    wish: Option<WishSection>,
}

struct WishSection {
    title: String,
    intro: String,
    /// (key, label, checked)
    choices: Vec<(&'static str, String, bool)>,
    words_label: String,
    words: String,
    button: String,
    /// What they said before, in words.
    given: Option<String>,
    /// Their answer just arrived.
    thanks: Option<String>,
    error: Option<String>,
    action: String,
    token: String,
    lang: &'static str,
}

/// What the customer typed into the wish form, when it comes back with a mistake.
struct TypedWish {
    kind: String,
    text: String,
    error: String,
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
    /// A choice picked in the receipt email: preselected, not yet sent (GET changes nothing).
    wish: Option<String>,
    /// Back from sending a wish.
    said: Option<String>,
}

#[derive(Deserialize)]
pub struct WishForm {
    k: Option<String>,
    lang: Option<String>,
    wish: Option<String>,
    text: Option<String>,
}

/// `POST /c/{reference}/wish`: the customer says what would make it right (the status
/// link's token is the authority). Then back to their page, which says thanks; a mistake
/// shows the page again with what they typed.
pub async fn wish(
    state: web::Data<AppState>,
    req: HttpRequest,
    reference: web::Path<String>,
    form: web::Form<WishForm>,
) -> Result<HttpResponse, AppError> {
    let token = form.k.clone().unwrap_or_default();
    let case = find_with_token(&state, &req, &reference, &token).await?;
    let lang = Language::negotiate(form.lang.as_deref(), None, &case.language);
    let kind = form.wish.clone().unwrap_or_default();
    let text = form.text.clone().unwrap_or_default();
    let back = format!(
        "{}&lang={}",
        status_path(&case.reference, &token),
        lang.code()
    );
    let typed = |error: String| TypedWish {
        kind: kind.clone(),
        text: text.clone(),
        error,
    };
    let input = match crate::domain::recovery::wish::parse(&kind, &text) {
        Ok(input) => input,
        Err(refusal) => {
            let mut response = page(
                &state,
                &case.reference,
                &token,
                lang,
                None,
                Some(typed(refusal.text(lang))),
            )
            .await?;
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(response);
        }
    };
    let (db, case_id, now) = (state.db.clone(), case.id.clone(), state.clock.now());
    let given = web::block(move || {
        db.write(
            |c| match crate::domain::recovery::wish::give(c, &case_id, &input, now) {
                Ok(()) => Ok(true),
                Err(crate::domain::recovery::wish::WishError::Closed) => Ok(false),
                Err(crate::domain::recovery::wish::WishError::Db(e)) => Err(e),
            },
        )
    })
    .await??;
    if !given {
        let mut response = page(
            &state,
            &case.reference,
            &token,
            lang,
            None,
            Some(typed(lang.text("wish.closed"))),
        )
        .await?;
        *response.status_mut() = StatusCode::CONFLICT;
        return Ok(response);
    }
    Ok(HttpResponse::SeeOther()
        .insert_header(("Location", format!("{back}&said=1#wish")))
        .finish())
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
    let status_page = status_path(&case.reference, &token);
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

/// The status page of a case with its token.
fn status_path(reference: &str, token: &str) -> String {
    format!(
        "/c/{reference}?k={}",
        url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
    )
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
    let lang = query.lang.as_deref().and_then(Language::parse);
    let picked = query.wish.clone().filter(|_| query.said.is_none());
    let thanks = query.said.is_some();
    status_page(&state, &reference, &token, lang, picked, thanks, None)
        .await?
        .ok_or(not_found)
}

/// The status page for a token, with the wish form's state.
async fn page(
    state: &AppState,
    reference: &str,
    token: &str,
    lang: Language,
    picked: Option<String>,
    typed: Option<TypedWish>,
) -> Result<HttpResponse, AppError> {
    status_page(state, reference, token, Some(lang), picked, false, typed)
        .await?
        .ok_or(AppError::NotFound)
}

/// None when the case does not exist or the token does not open it.
async fn status_page(
    state: &AppState,
    reference: &str,
    token: &str,
    asked_lang: Option<Language>,
    picked: Option<String>,
    thanks: bool,
    typed: Option<TypedWish>,
) -> Result<Option<HttpResponse>, AppError> {
    let (reference, token) = (reference.to_owned(), token.to_owned());
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
            let wish = crate::db::queries::recovery::wish_of(c, &case.id)?;
            Ok(Some((case, location, updates, survey, changes, wish)))
        })
    })
    .await??;
    let Some((case, location, updates, survey, changes, given)) = found else {
        return Ok(None);
    };
    if !token_opens(&case, &token) {
        return Ok(None);
    }

    let lang = asked_lang.unwrap_or_else(|| Language::or_default(&case.language));
    let wish = (case.resolved_at.is_none() && case.erased_at.is_none()).then(|| {
        use crate::domain::recovery::wish::{label, CHOICES};
        let chosen = typed
            .as_ref()
            .map(|t| t.kind.clone())
            .or(picked)
            .or_else(|| given.as_ref().map(|g| g.kind.as_str().to_owned()))
            .unwrap_or_default();
        WishSection {
            title: lang.text("wish.title"),
            intro: lang.text("wish.intro"),
            choices: CHOICES
                .iter()
                .map(|w| (w.as_str(), label(lang, *w), chosen == w.as_str()))
                .collect(),
            words_label: lang.text("wish.words"),
            words: typed
                .as_ref()
                .map(|t| t.text.clone())
                .or_else(|| given.as_ref().and_then(|g| g.text.clone()))
                .unwrap_or_default(),
            button: lang.text(if given.is_some() {
                "wish.change"
            } else {
                "wish.send"
            }),
            given: given
                .as_ref()
                .map(|g| lang.text_with("wish.you_said", &[("wish", &label(lang, g.kind))])),
            thanks: (thanks && typed.is_none()).then(|| lang.text("wish.thanks")),
            error: typed.as_ref().map(|t| t.error.clone()),
            action: format!("/c/{}/wish", case.reference),
            token: token.clone(),
            lang: lang.code(),
        }
    });
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
        wish,
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
    Ok(Some(response))
}
