//! Cases: the list (the inbox's filters and search, newest first, a cursor per page), one
//! case with its timeline, the actions staff take on the case page, and survey answers.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Api;
use super::error::{ApiError, ErrorBody};
use super::{read, write_once, Failure};
use crate::db::models::Case;
use crate::db::queries::cases::{self as case_queries, CaseLine, CaseSearch, SearchStatus};
use crate::db::queries::exports::{survey_page, ExportFilter, Scope};
use crate::db::queries::search::Cursor;
use crate::db::queries::users;
use crate::db::states::{CaseStatus, Role, TokenScope};
use crate::db::DbConnection;
use crate::domain::case::actions::{perform, CaseAction, Performed, ResolutionInput};
use crate::domain::case::reference::normalize_reference;
use crate::domain::case::search;
use crate::domain::language::Language;
use crate::domain::setup::categories::label_from_row;
use crate::web::AppState;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// Where a case stands.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Nobody has acknowledged it.
    New,
    /// Acknowledged, being worked.
    InProgress,
    Resolved,
    /// A duplicate, merged into another case.
    Merged,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Named {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryRef {
    /// Stable key (what filters take).
    pub key: String,
    /// In the language of the request.
    pub label: String,
}

/// A case as lists show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseSummary {
    /// What staff and the customer call the case, e.g. `K7Q-M2P`.
    pub reference: String,
    pub status: CaseState,
    pub store: Named,
    /// The spot (touchpoint) where the customer scanned.
    pub spot: Named,
    pub category: CategoryRef,
    /// The customer's words.
    pub text: String,
    /// The language the customer wrote in (en, ko, ja, pl).
    pub language: String,
    pub received_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Who has the case.
    pub assignee: Option<Named>,
    /// An unhappy survey answer nobody has handled.
    pub flagged: bool,
    pub has_photo: bool,
    /// The case page for staff.
    pub url: String,
}

/// A page of cases, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    pub cases: Vec<CaseSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Resolution {
    pub what_was_done: Option<String>,
    pub root_cause: Option<String>,
    pub compensation_type: Option<String>,
    /// In the currency's minor unit (cents; whole won and yen).
    pub compensation_minor: Option<i32>,
    pub compensation_currency: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEvent {
    /// `received`, `alerted`, `escalated`, `acknowledged`, `assigned`, `note`,
    /// `public_update`, `resolved`, `reopened`, `merged`, `merged_in`,
    /// `returned_to_queue`, `survey_answered`, `flagged`, `flag_cleared`, `wish_given`,
    /// `remedy_proposed`, `remedy_approved`, `remedy_declined`.
    pub kind: String,
    pub at: DateTime<Utc>,
    /// The staff member's email; absent when Mend or the customer did it.
    pub by: Option<String>,
    /// What the event carries (text, to whom, the answer...), by kind.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// One case with everything the case page shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub summary: CaseSummary,
    /// The customer's email, when they gave one.
    pub contact_email: Option<String>,
    /// The customer agreed to be contacted.
    pub contact_consent: bool,
    pub merged_into: Option<String>,
    pub resolution: Option<Resolution>,
    /// What the customer said would make it right, if they said.
    pub wish: Option<CustomerWish>,
    /// A remedy above the resolver's limit waits for a manager: resolving with it again
    /// is refused until it is decided (see the `remedy_*` events).
    pub remedy_waiting: bool,
    pub timeline: Vec<TimelineEvent>,
}

/// The customer's answer to "what would make this right for you?".
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerWish {
    /// `replacement`, `refund`, `apology`, `call_back`, `just_fix`, `nothing`, `other`.
    pub kind: String,
    /// Their own words, if any.
    pub text: Option<String>,
    pub at: DateTime<Utc>,
}

fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

impl CaseState {
    fn of(line: &CaseLine) -> CaseState {
        if line.merged {
            CaseState::Merged
        } else if line.resolved_at.is_some() || line.status == CaseStatus::Resolved {
            CaseState::Resolved
        } else if line.acknowledged_at.is_none() {
            CaseState::New
        } else {
            CaseState::InProgress
        }
    }
}

fn summary(base_url: &str, lang: Language, line: CaseLine) -> CaseSummary {
    let label = label_from_row(
        line.category_labels.as_deref(),
        &line.category,
        lang,
        &line.store_language,
    );
    CaseSummary {
        status: CaseState::of(&line),
        url: format!("{base_url}/manage/cases/{}", line.reference),
        reference: line.reference,
        store: Named {
            id: line.location_id,
            name: line.store_name,
        },
        spot: Named {
            id: line.touchpoint_id,
            name: line.spot_label.unwrap_or_default(),
        },
        category: CategoryRef {
            key: line.category,
            label,
        },
        text: line.body,
        language: line.language,
        received_at: utc(line.created_at.0),
        acknowledged_at: line.acknowledged_at.map(|t| utc(t.0)),
        resolved_at: line.resolved_at.map(|t| utc(t.0)),
        assignee: line.assignee_id.map(|id| Named {
            id,
            name: line.assignee_email.unwrap_or_default(),
        }),
        flagged: line.flagged,
        has_photo: line.has_photo,
    }
}

/// Which cases to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open` (default: not resolved, not merged), `new`, `in_progress`, `resolved`,
    /// `merged` or `all`.
    pub status: Option<String>,
    /// Words of the complaint, updates and notes in any language, or the customer's
    /// email address.
    pub q: Option<String>,
    /// A store id.
    pub store: Option<String>,
    /// A category key.
    pub category: Option<String>,
    /// A spot id.
    pub spot: Option<String>,
    /// A person's id, or `nobody`.
    pub assignee: Option<String>,
    /// Received on or after this day (YYYY-MM-DD, UTC) or moment (RFC 3339).
    pub from: Option<String>,
    /// Received before the end of this day (YYYY-MM-DD, UTC) or before this moment.
    pub to: Option<String>,
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// Cases per page, 1 to 200 (default 50).
    pub limit: Option<usize>,
}

pub(super) fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A day or a moment; `end` moves a day to the next midnight.
pub(super) fn moment(
    lang: Language,
    field: &str,
    v: &Option<String>,
    end: bool,
) -> Result<Option<NaiveDateTime>, ApiError> {
    let Some(v) = given(v) else {
        return Ok(None);
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(&v) {
        return Ok(Some(at.naive_utc()));
    }
    let day = NaiveDate::parse_from_str(&v, "%Y-%m-%d")
        .map_err(|_| ApiError::bad_request(lang, Some(field)))?;
    let day = if end {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    Ok(day.and_hms_opt(0, 0, 0))
}

fn limit_of(lang: Language, limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(lang, Some("limit"))),
    }
}

/// List cases
///
/// The cases of the token's stores that match, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(ListQuery),
    responses(
        (status = 200, description = "A page of cases", body = CaseList),
        (status = 400, description = "A parameter is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 429, description = "Too many requests for this token", body = ErrorBody),
    ),
    security(("token" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    api: Api,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let lang = api.lang;
    let status = match given(&query.status).as_deref() {
        None | Some("open") => SearchStatus::Open,
        Some("new") => SearchStatus::New,
        Some("in_progress") => SearchStatus::InProgress,
        Some("resolved") => SearchStatus::Resolved,
        Some("merged") => SearchStatus::Merged,
        Some("all") => SearchStatus::Any,
        Some(_) => return Err(ApiError::bad_request(lang, Some("status"))),
    };
    let limit = limit_of(lang, query.limit)?;
    let before = match given(&query.cursor) {
        Some(c) => {
            Some(Cursor::parse(&c).ok_or_else(|| ApiError::bad_request(lang, Some("cursor")))?)
        }
        None => None,
    };
    let q: String = query
        .q
        .as_deref()
        .unwrap_or_default()
        .trim()
        .chars()
        .take(200)
        .collect();
    let words = search::parts(&q);
    let email = q.contains('@').then(|| q.to_lowercase());
    let store = given(&query.store);
    let caller = api.caller.clone();
    let s = CaseSearch {
        status,
        location_id: store.clone(),
        within: caller.narrowed_to(),
        category: given(&query.category),
        touchpoint_id: given(&query.spot),
        assignee: given(&query.assignee).map(|a| (a != "nobody").then_some(a)),
        from: moment(lang, "from", &query.from, false)?,
        until: moment(lang, "to", &query.to, true)?,
        reference: None,
        email: email.clone(),
        words: (email.is_none() && !words.is_empty()).then(|| {
            let narrow = store
                .clone()
                .map(|s| vec![s])
                .or_else(|| caller.stores.clone().filter(|s| s.len() <= 20));
            search::queries(&words, narrow.as_deref())
        }),
    };
    if !q.is_empty() && s.words.is_none() && s.email.is_none() {
        return Ok(HttpResponse::Ok().json(CaseList {
            cases: Vec::new(),
            next_cursor: None,
        }));
    }
    let base = state.base_url.clone();
    let list = read(&state, lang, move |c| {
        let admin = caller.user.role == Role::Admin;
        let found =
            case_queries::search_lines(c, &caller.user.id, admin, &s, before.as_ref(), limit)?;
        Ok(CaseList {
            cases: found
                .lines
                .into_iter()
                .map(|line| summary(&base, lang, line))
                .collect(),
            next_cursor: found.next.map(|n| n.to_param()),
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// The case with this reference, if the caller may see it.
fn visible(
    c: &mut DbConnection,
    api_caller: &crate::domain::account::api_token::Caller,
    lang: Language,
    reference: &str,
) -> Result<Case, Failure> {
    let reference = normalize_reference(reference).ok_or_else(|| ApiError::not_found(lang))?;
    let admin = api_caller.user.role == Role::Admin;
    case_queries::find_visible(c, &reference, &api_caller.user.id, admin)?
        .filter(|case| api_caller.may_see(&case.location_id))
        .ok_or_else(|| ApiError::not_found(lang).into())
}

fn detail(
    c: &mut DbConnection,
    base: &str,
    lang: Language,
    case: Case,
) -> Result<CaseDetail, Failure> {
    let line = case_queries::line(c, &case.id)?.ok_or_else(|| ApiError::not_found(lang))?;
    let events = case_queries::events(c, &case.id)?;
    let actors: Vec<String> = events
        .iter()
        .filter_map(|e| e.actor_user_id.clone())
        .collect();
    let emails: HashMap<String, String> = users::emails(c, &actors)?.into_iter().collect();
    let merged_into = match &case.merged_into {
        Some(id) => case_queries::find(c, id)?.map(|m| m.reference),
        None => None,
    };
    Ok(CaseDetail {
        summary: summary(base, lang, line),
        contact_email: case.contact_email.clone(),
        contact_consent: case.contact_consent,
        merged_into,
        resolution: case.resolved_at.map(|_| Resolution {
            what_was_done: case.resolution.clone(),
            root_cause: case.root_cause.clone(),
            compensation_type: case.compensation_type.clone(),
            compensation_minor: case.compensation_minor,
            compensation_currency: case.compensation_currency.clone(),
        }),
        wish: crate::db::queries::recovery::wish_of(c, &case.id)?.map(|w| CustomerWish {
            kind: w.kind.as_str().to_owned(),
            text: w.text,
            at: utc(w.given_at),
        }),
        remedy_waiting: crate::domain::recovery::approval::waiting(c, &case.id)?.is_some(),
        timeline: events
            .into_iter()
            .map(|e| TimelineEvent {
                kind: e.kind.as_str().to_owned(),
                at: utc(e.created_at),
                by: e
                    .actor_user_id
                    .as_ref()
                    .and_then(|id| emails.get(id).cloned()),
                detail: serde_json::from_str(&e.detail).unwrap_or_default(),
            })
            .collect(),
    })
}

/// One case
///
/// The case with its timeline, if it is at one of the token's stores.
#[utoipa::path(get, path = "/api/v1/cases/{reference}", tag = "cases",
    params(("reference" = String, Path, description = "The case's reference, e.g. K7Q-M2P")),
    responses(
        (status = 200, description = "The case", body = CaseDetail),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 404, description = "No such case at the token's stores", body = ErrorBody),
    ),
    security(("token" = [])))]
pub async fn show(
    state: web::Data<AppState>,
    api: Api,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (lang, caller, base) = (api.lang, api.caller.clone(), state.base_url.clone());
    let reference = path.into_inner();
    let case = read(&state, lang, move |c| {
        let case = visible(c, &caller, lang, &reference)?;
        detail(c, &base, lang, case)
    })
    .await?;
    Ok(HttpResponse::Ok().json(case))
}

/// What an action's body may carry; each action reads the fields it needs.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// `assign`: the person's id (default: the token's own person).
    pub assignee: Option<String>,
    /// `notes` and `updates`: the text (an update is sent to the customer).
    pub text: Option<String>,
    /// `resolve`: what was done.
    pub what_was_done: Option<String>,
    /// `resolve`: one of the store's root causes.
    pub root_cause: Option<String>,
    /// `resolve`: apology, discount, refund, voucher, replacement, other.
    pub compensation_type: Option<String>,
    /// `resolve`: the amount, e.g. "12.50" (whole units for KRW and JPY).
    pub compensation_value: Option<String>,
    /// `resolve`: ISO 4217 (default: the store's currency).
    pub compensation_currency: Option<String>,
    /// `reopen`: why.
    pub reason: Option<String>,
}

/// Act on a case
///
/// `acknowledge`, `assign`, `notes`, `updates` (a message to the customer), `resolve`,
/// `reopen`, `approve` or `decline`, with the same rules and timeline events as the case
/// page. Needs a `write` token. A `resolve` whose remedy is above the store's limit for the
/// token's person is not resolved: it waits (`remedy_waiting`) for a manager of the store
/// or an admin other than its proposer to `approve` or `decline` it (by email, on the case
/// page, or here); once approved, `resolve` with that remedy resolves. With an
/// `Idempotency-Key`, sending the same request again does it once.
#[utoipa::path(post, path = "/api/v1/cases/{reference}/{action}", tag = "cases",
    params(
        ("reference" = String, Path, description = "The case's reference"),
        ("action" = String, Path, description = "acknowledge, assign, notes, updates, resolve, reopen, approve or decline"),
        ("Idempotency-Key" = Option<String>, Header, description = "Any unique text, up to 200 characters"),
    ),
    request_body(content = ActionBody, description = "The action's fields (may be empty for acknowledge)"),
    responses(
        (status = 200, description = "The case after the action", body = CaseDetail),
        (status = 400, description = "The body is not JSON of this shape", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token may only read, or its person may not decide this remedy", body = ErrorBody),
        (status = 404, description = "No such case or action", body = ErrorBody),
        (status = 409, description = "The case is in the wrong state for this action", body = ErrorBody),
        (status = 422, description = "A field is not acceptable", body = ErrorBody),
    ),
    security(("token" = [])))]
pub async fn act(
    state: web::Data<AppState>,
    api: Api,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let lang = api.lang;
    let (reference, action) = path.into_inner();
    if ![
        "acknowledge",
        "assign",
        "notes",
        "updates",
        "resolve",
        "reopen",
        "approve",
        "decline",
    ]
    .contains(&action.as_str())
    {
        return Err(ApiError::not_found(lang));
    }
    api.require(TokenScope::Write)?;
    let body = super::read_body(lang, payload).await?;
    let form: ActionBody = if body.iter().all(u8::is_ascii_whitespace) {
        ActionBody::default()
    } else {
        super::parse_json(lang, &body)?
    };
    let (caller, base, key, now) = (
        api.caller.clone(),
        state.base_url.clone(),
        state.settings.secret.clone(),
        state.clock.now(),
    );
    write_once(&state, &api, &req, &body, StatusCode::OK, move |c| {
        let case = visible(c, &caller, lang, &reference)?;
        let text = || form.text.clone().unwrap_or_default();
        let action = match action.as_str() {
            "acknowledge" => CaseAction::Acknowledge { via: "api" },
            "assign" => CaseAction::Assign {
                to: form.assignee.clone(),
            },
            "notes" => CaseAction::Note { text: text() },
            "updates" => CaseAction::Update { text: text() },
            "resolve" => {
                let currency = match &form.compensation_currency {
                    Some(c) => c.clone(),
                    None => crate::db::queries::stores::find(c, &case.location_id)?
                        .map_or_else(|| "EUR".to_owned(), |s| s.currency),
                };
                CaseAction::Resolve(ResolutionInput {
                    what_was_done: form.what_was_done.clone().unwrap_or_default(),
                    root_cause: form.root_cause.clone().unwrap_or_default(),
                    compensation_type: form.compensation_type.clone().unwrap_or_default(),
                    compensation_value: form.compensation_value.clone().unwrap_or_default(),
                    compensation_currency: currency,
                })
            }
            "approve" | "decline" => CaseAction::Decide {
                approve: action == "approve",
            },
            _ => CaseAction::Reopen {
                reason: form.reason.clone().unwrap_or_default(),
            },
        };
        if perform(c, key.expose_bytes(), &caller.user, &case.id, &action, now)?
            == Performed::DecidedBefore
        {
            return Err(ApiError::conflict(lang).into());
        }
        let now_case = case_queries::find(c, &case.id)?.ok_or_else(|| ApiError::not_found(lang))?;
        detail(c, &base, lang, now_case)
    })
    .await
}

/// Which answers to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnswersQuery {
    /// Answered on or after this day (YYYY-MM-DD, UTC) or moment (RFC 3339).
    pub from: Option<String>,
    /// Answered before the end of this day (YYYY-MM-DD, UTC) or before this moment.
    pub to: Option<String>,
    /// A store id.
    pub store: Option<String>,
    /// A category key.
    pub category: Option<String>,
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// Answers per page, 1 to 200 (default 50).
    pub limit: Option<usize>,
}

/// A customer's answer to the satisfaction survey.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyAnswer {
    pub id: String,
    pub case_reference: String,
    pub store: String,
    pub spot: String,
    pub category: Option<String>,
    pub language: String,
    /// When answered (UTC, `YYYY-MM-DD HH:MM:SS`).
    pub answered_at: Option<String>,
    /// 1 (very unhappy) to 5 (very happy).
    pub csat: Option<i32>,
    /// `yes`, `partly` or `no`.
    pub fixed: Option<String>,
    /// 0 to 10.
    pub return_likelihood: Option<i32>,
    pub comment: Option<String>,
    pub root_cause: Option<String>,
    pub compensation_type: Option<String>,
    pub compensation_minor: Option<i32>,
    pub compensation_currency: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerList {
    pub answers: Vec<SurveyAnswer>,
    pub next_cursor: Option<String>,
}

/// List survey answers
///
/// Answered satisfaction surveys of the token's stores, oldest first.
#[utoipa::path(get, path = "/api/v1/survey-answers", tag = "surveys", params(AnswersQuery),
    responses(
        (status = 200, description = "A page of answers", body = AnswerList),
        (status = 400, description = "A parameter is malformed", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    ),
    security(("token" = [])))]
pub async fn answers(
    state: web::Data<AppState>,
    api: Api,
    query: web::Query<AnswersQuery>,
) -> Result<HttpResponse, ApiError> {
    let lang = api.lang;
    let limit = limit_of(lang, query.limit)?;
    let filter = ExportFilter {
        from: moment(lang, "from", &query.from, false)?,
        to: moment(lang, "to", &query.to, true)?,
        location_id: given(&query.store),
        within: api.caller.narrowed_to(),
        category: given(&query.category),
    };
    let after = given(&query.cursor).unwrap_or_default();
    if after.len() > 64 {
        return Err(ApiError::bad_request(lang, Some("cursor")));
    }
    let scope = Scope {
        user_id: api.caller.user.id.clone(),
        is_admin: api.caller.user.role == Role::Admin,
    };
    let page = read(&state, lang, move |c| {
        let rows = survey_page(
            c,
            &scope,
            &filter,
            &after,
            i64::try_from(limit + 1).unwrap_or(201),
        )?;
        Ok(rows)
    })
    .await?;
    let more = page.len() > limit;
    let answers: Vec<SurveyAnswer> = page
        .into_iter()
        .take(limit)
        .map(|r| SurveyAnswer {
            id: r.id,
            case_reference: r.reference,
            store: r.location,
            spot: r.touchpoint,
            category: r.category,
            language: r.language,
            answered_at: r.answered_at,
            csat: r.csat,
            fixed: r.fixed,
            return_likelihood: r.return_likelihood,
            comment: r.comment,
            root_cause: r.root_cause,
            compensation_type: r.compensation_type,
            compensation_minor: r.compensation_minor,
            compensation_currency: r.compensation_currency,
        })
        .collect();
    let next_cursor = more.then(|| answers.last().map(|a| a.id.clone())).flatten();
    Ok(HttpResponse::Ok().json(AnswerList {
        answers,
        next_cursor,
    }))
}
