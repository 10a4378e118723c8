//! `/manage/cases`: the queue of open cases (unacknowledged first, then oldest), and
//! finding any case: by reference (straight to it), the customer's email, words of the
//! complaint, updates and notes in any language, spot, status, category, who has it and
//! when it came in, newest first, a page at a time.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use serde::Deserialize;

use crate::db::models::{Case, Location};
use crate::db::queries::cases::{self, CaseSearch, InboxFilter, SearchStatus};
use crate::db::queries::search::Cursor;
use crate::db::queries::{locations, touchpoints, users};
use crate::db::states::CaseStatus;
use crate::db::states::Role;
use crate::domain::case::reference::normalize_reference;
use crate::domain::case::search;
use crate::domain::language::Language;
use crate::web::manage::cases::waited;
use crate::web::session::SignedIn;
use crate::web::{render, AppError, AppState};

/// Results a page shows.
const PAGE: usize = 50;
/// The longest query looked at.
const MAX_QUERY: usize = 200;
/// A reader with at most this many stores has the index narrow a search to them (a
/// staff member of one store among thousands). More, and the stores' words cost more
/// than they narrow: PostgreSQL's planner, told "one of 200 stores", took a word no case
/// has for a common one and walked the time index over a million cases (0.4 s).
const MAX_STORES_IN_QUERY: usize = 20;

#[derive(Deserialize, Default)]
pub struct InboxQuery {
    q: Option<String>,
    status: Option<String>,
    location: Option<String>,
    category: Option<String>,
    spot: Option<String>,
    assignee: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
}

struct Row {
    reference: String,
    store: String,
    category: String,
    words: String,
    /// "waiting 5 minutes", or the status and when it came in.
    note: String,
    overdue: bool,
    /// "Customer not satisfied", for a case an unhappy answer flagged.
    flag: Option<String>,
}

#[derive(Template)]
#[template(path = "manage/inbox.html")]
struct InboxPage {
    l: Language,
    q: String,
    searching: bool,
    rows: Vec<Row>,
    error: Option<String>,
    older: Option<String>,
    locations: Vec<(String, String, bool)>,
    categories: Vec<(String, String, bool)>,
    statuses: Vec<(&'static str, String, bool)>,
    spots: Vec<(String, String, bool)>,
    people: Vec<(String, String, bool)>,
    nobody: bool,
    from: String,
    to: String,
}

const STATUSES: &[(&str, SearchStatus, &str)] = &[
    ("", SearchStatus::Open, "inbox.status_open"),
    ("new", SearchStatus::New, "case_status.new_short"),
    (
        "in_progress",
        SearchStatus::InProgress,
        "case_status.in_progress",
    ),
    ("resolved", SearchStatus::Resolved, "case_status.resolved"),
    ("merged", SearchStatus::Merged, "case_status.merged"),
    ("all", SearchStatus::Any, "inbox.status_all"),
];

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A day typed as 2026-11-28, as the UTC moment it starts in the store's zone.
fn day_start(day: &str, time_zone: &str) -> Result<NaiveDateTime, ()> {
    let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| ())?;
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let midnight = d.and_hms_opt(0, 0, 0).ok_or(())?;
    Ok(tz
        .from_local_datetime(&midnight)
        .earliest()
        .map_or(midnight, |t| t.naive_utc()))
}

/// `GET /manage/cases`.
pub async fn inbox(
    state: web::Data<AppState>,
    who: SignedIn,
    query: web::Query<InboxQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = who.language();
    let q: String = query
        .q
        .as_deref()
        .unwrap_or_default()
        .trim()
        .chars()
        .take(MAX_QUERY)
        .collect();
    let status_code = nonempty(&query.status).unwrap_or_default();
    let status = STATUSES
        .iter()
        .find(|(code, _, _)| *code == status_code)
        .map_or(SearchStatus::Open, |(_, s, _)| *s);
    let location_id = nonempty(&query.location);
    let assignee = nonempty(&query.assignee);
    let (from, to) = (nonempty(&query.from), nonempty(&query.to));
    let before = nonempty(&query.before).and_then(|b| Cursor::parse(&b));
    let searching = !q.is_empty()
        || !matches!(
            status,
            SearchStatus::Open | SearchStatus::New | SearchStatus::InProgress
        )
        || nonempty(&query.spot).is_some()
        || assignee.is_some()
        || from.is_some()
        || to.is_some()
        || before.is_some();
    let (db, user_id, admin) = (
        state.db.clone(),
        who.user.id.clone(),
        who.role == Role::Admin,
    );
    let spot = nonempty(&query.spot);
    let category = nonempty(&query.category);
    let q2 = q.clone();
    let (assignee2, from2, to2) = (assignee.clone(), from.clone(), to.clone());
    let ((found, next), mine, labels, spots, people, error, straight_to) = web::block(move || {
        db.read(|c| {
            let mine = if admin {
                locations::all(c)?
            } else {
                locations::for_user(c, &user_id)?
            };
            // A reference goes straight to its case.
            if let Some(reference) = normalize_reference(&q2) {
                if cases::find_visible(c, &reference, &user_id, admin)?.is_some() {
                    return Ok((
                        (Vec::new(), None),
                        mine,
                        None,
                        Vec::new(),
                        Vec::new(),
                        None,
                        Some(reference),
                    ));
                }
            }
            // Days are the chosen store's, else the reader's first store's.
            let zone = location_id
                .as_deref()
                .and_then(|id| mine.iter().find(|l| l.id == id))
                .or(mine.first())
                .map_or("UTC", |l: &Location| l.time_zone.as_str())
                .to_owned();
            let mut error = None;
            let mut day = |d: &Option<String>| {
                d.as_deref().and_then(|d| {
                    day_start(d, &zone)
                        .map_err(|()| error = Some("inbox.bad_date"))
                        .ok()
                })
            };
            let (from_at, to_at) = (
                day(&from2),
                day(&to2).map(|t| t + chrono::Duration::days(1)),
            );
            let (found, next) = if searching {
                let words = search::parts(&q2);
                let email = q2.contains('@').then(|| q2.to_lowercase());
                let s = CaseSearch {
                    status,
                    location_id: location_id.clone(),
                    within: None,
                    category: category.clone(),
                    touchpoint_id: spot.clone(),
                    assignee: assignee2
                        .as_deref()
                        .map(|a| (a != "nobody").then(|| a.to_owned())),
                    from: from_at,
                    until: to_at,
                    reference: None,
                    email: email.clone(),
                    // The index itself narrows to the chosen store, or to the reader's
                    // own when they have a few (not an admin's whole chain).
                    words: (email.is_none() && !words.is_empty()).then(|| {
                        let stores: Option<Vec<String>> = match &location_id {
                            Some(id) => Some(vec![id.clone()]),
                            None if !admin && mine.len() <= MAX_STORES_IN_QUERY => {
                                Some(mine.iter().map(|l| l.id.clone()).collect())
                            }
                            None => None,
                        };
                        search::queries(&words, stores.as_deref())
                    }),
                };
                // Typed something, but nothing to look for in it (only punctuation).
                if !q2.is_empty() && s.words.is_none() && s.email.is_none() {
                    (Vec::new(), None)
                } else {
                    let found = cases::search(c, &user_id, admin, &s, before.as_ref(), PAGE)?;
                    (found.cases, found.next)
                }
            } else {
                let filter = InboxFilter {
                    status: match status {
                        SearchStatus::New => Some("new".to_owned()),
                        SearchStatus::InProgress => Some("in_progress".to_owned()),
                        _ => None,
                    },
                    location_id: location_id.clone(),
                    category: category.clone(),
                };
                (cases::inbox(c, &user_id, admin, &filter, 500)?, None)
            };
            let ids: Vec<String> = mine.iter().map(|l| l.id.clone()).collect();
            let labels = crate::domain::setup::categories::Labels::read(c, &ids)?;
            // Spots and people are offered for one store at a time (a chain has thousands).
            let chosen = location_id
                .as_deref()
                .filter(|id| mine.iter().any(|l| l.id == *id));
            let (spots, people) = match chosen {
                Some(id) => (
                    touchpoints::for_location(c, id)?,
                    users::with_role_at(c, id, &[Role::Staff, Role::Manager])?,
                ),
                None => (Vec::new(), Vec::new()),
            };
            Ok((
                (found, next),
                mine,
                Some(labels),
                spots,
                people,
                error,
                None,
            ))
        })
    })
    .await??;
    if let Some(reference) = straight_to {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/manage/cases/{reference}")))
            .finish());
    }
    let Some(labels) = labels else {
        return Err(AppError::NotFound);
    };
    let now = state.clock.now();
    let rows = found
        .iter()
        .map(|(case, location)| {
            let overdue = case.acknowledged_at.is_none()
                && case.resolved_at.is_none()
                && (now - case.created_at).num_minutes() >= i64::from(location.sla_minutes);
            let note = if searching {
                format!(
                    "{} · {}",
                    status_label(lang, case),
                    crate::domain::language::formats::date_time(
                        lang,
                        &location.time_zone,
                        case.created_at
                    )
                )
            } else {
                let time = waited(lang, case.created_at, case.acknowledged_at.unwrap_or(now));
                let key = if case.acknowledged_at.is_some() {
                    "inbox.acknowledged_after"
                } else {
                    "inbox.waiting"
                };
                lang.text_with(key, &[("time", &time)])
            };
            Row {
                reference: case.reference.clone(),
                store: location.name.clone(),
                category: labels.label(Some(&location.id), &case.category, lang),
                words: crate::domain::mail::one_line(&case.body, 60),
                note,
                overdue,
                flag: case.flagged_at.map(|_| lang.text("alert.unhappy_subject")),
            }
        })
        .collect();
    let older = next.map(|next| {
        let mut params: Vec<(&str, String)> = vec![
            ("q", q.clone()),
            ("status", status_code.clone()),
            ("location", query.location.clone().unwrap_or_default()),
            ("category", query.category.clone().unwrap_or_default()),
            ("spot", query.spot.clone().unwrap_or_default()),
            ("assignee", query.assignee.clone().unwrap_or_default()),
            ("from", query.from.clone().unwrap_or_default()),
            ("to", query.to.clone().unwrap_or_default()),
        ];
        params.retain(|(_, v)| !v.trim().is_empty());
        params.push(("before", next.to_param()));
        format!(
            "/manage/cases?{}",
            serde_urlencoded::to_string(&params).unwrap_or_default()
        )
    });
    let mut categories: Vec<String> = crate::domain::case::complaint::DEFAULT_CATEGORIES
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    for (case, _) in &found {
        if !categories.contains(&case.category) {
            categories.push(case.category.clone());
        }
    }
    let chosen_location = nonempty(&query.location);
    let chosen_category = nonempty(&query.category);
    let chosen_spot = nonempty(&query.spot);
    render::html(&InboxPage {
        l: lang,
        q,
        searching,
        rows,
        error: error.map(|k| lang.text(k)),
        older,
        locations: mine
            .iter()
            .map(|l| {
                let chosen = chosen_location.as_deref() == Some(l.id.as_str());
                (l.id.clone(), l.name.clone(), chosen)
            })
            .collect(),
        categories: categories
            .into_iter()
            .map(|c| {
                let chosen = chosen_category.as_deref() == Some(c.as_str());
                let label = labels.label(chosen_location.as_deref(), &c, lang);
                (c, label, chosen)
            })
            .collect(),
        statuses: STATUSES
            .iter()
            .map(|(code, _, key)| (*code, lang.text(key), *code == status_code))
            .collect(),
        spots: spots
            .into_iter()
            .map(|t| {
                let chosen = chosen_spot.as_deref() == Some(t.id.as_str());
                (t.id, t.label, chosen)
            })
            .collect(),
        people: people
            .into_iter()
            .map(|u| {
                let chosen = assignee.as_deref() == Some(u.id.as_str());
                (u.id, u.email, chosen)
            })
            .collect(),
        nobody: assignee.as_deref() == Some("nobody"),
        from: from.unwrap_or_default(),
        to: to.unwrap_or_default(),
    })
}

fn status_label(lang: Language, case: &Case) -> String {
    let key = if case.merged_into.is_some() {
        "case_status.merged"
    } else {
        match case.status {
            CaseStatus::New => "case_status.new_short",
            CaseStatus::Resolved => "case_status.resolved",
            CaseStatus::Acknowledged => "case_status.acknowledged",
            CaseStatus::InProgress => "case_status.in_progress",
        }
    };
    lang.text(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_starts_at_the_store_midnight() {
        let seoul = day_start("2026-11-28", "Asia/Seoul").unwrap();
        assert_eq!(seoul.to_string(), "2026-11-27 15:00:00");
        assert!(day_start("28.11.2026", "UTC").is_err());
    }
}
