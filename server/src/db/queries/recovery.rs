//! The recovery conversation's tables: the customer's wish, what each role may grant at a
//! store, remedies waiting for a manager, and a store's reply texts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::{CaseWish, RemedyLimitRow, RemedyProposal};
use crate::db::schema::{
    case_wishes, cases, remedy_limits, remedy_proposals, store_replies, surveys,
};
use crate::db::states::{Role, SurveyKind, Wish};
use crate::db::DbConnection;

macro_rules! upsert_wish {
    ($conn:expr, $row:expr) => {
        diesel::insert_into(case_wishes::table)
            .values($row)
            .on_conflict(case_wishes::case_id)
            .do_update()
            .set((
                case_wishes::kind.eq($row.kind),
                case_wishes::text.eq($row.text.clone()),
                case_wishes::given_at.eq($row.given_at),
            ))
            .execute($conn)
    };
}

/// Stores the customer's answer, or their changed answer.
pub fn put_wish(conn: &mut DbConnection, row: &CaseWish) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => upsert_wish!(c, row),
        DbConnection::Postgres(c) => upsert_wish!(c, row),
    }
    .map(|_| ())
}

pub fn wish_of(conn: &mut DbConnection, case_id: &str) -> QueryResult<Option<CaseWish>> {
    case_wishes::table
        .find(case_id)
        .select(CaseWish::as_select())
        .first(conn)
        .optional()
}

/// The customer's words go with the rest of their data; what they chose stays, for counts.
pub fn erase_wish_text(conn: &mut DbConnection, case_id: &str) -> QueryResult<()> {
    diesel::update(case_wishes::table.find(case_id))
        .set(case_wishes::text.eq(None::<String>))
        .execute(conn)
        .map(|_| ())
}

/// The wishes of these cases, by case id.
pub fn wishes_of(conn: &mut DbConnection, case_ids: &[String]) -> QueryResult<Vec<CaseWish>> {
    let mut found = Vec::new();
    // Bounded lists: SQLite allows a limited number of bound parameters.
    for chunk in case_ids.chunks(500) {
        found.extend(
            case_wishes::table
                .filter(case_wishes::case_id.eq_any(chunk))
                .select(CaseWish::as_select())
                .load(conn)?,
        );
    }
    Ok(found)
}

pub fn limits_at(conn: &mut DbConnection, location_id: &str) -> QueryResult<Vec<RemedyLimitRow>> {
    remedy_limits::table
        .filter(remedy_limits::location_id.eq(location_id))
        .select(RemedyLimitRow::as_select())
        .load(conn)
}

pub fn limit_of(
    conn: &mut DbConnection,
    location_id: &str,
    role: Role,
) -> QueryResult<Option<RemedyLimitRow>> {
    remedy_limits::table
        .find((location_id, role))
        .select(RemedyLimitRow::as_select())
        .first(conn)
        .optional()
}

/// Takes a role's limit at a store away (no row = no limit); whether there was one.
pub fn remove_limit(conn: &mut DbConnection, location_id: &str, role: Role) -> QueryResult<bool> {
    Ok(diesel::delete(remedy_limits::table.find((location_id, role))).execute(conn)? > 0)
}

/// Replaces a role's limit at a store (inside the caller's transaction).
pub fn set_limit(conn: &mut DbConnection, row: &RemedyLimitRow) -> QueryResult<()> {
    diesel::delete(remedy_limits::table.find((&row.location_id, row.role))).execute(conn)?;
    diesel::insert_into(remedy_limits::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn add_proposal(conn: &mut DbConnection, p: &RemedyProposal) -> QueryResult<()> {
    diesel::insert_into(remedy_proposals::table)
        .values(p)
        .execute(conn)
        .map(|_| ())
}

pub fn proposal(conn: &mut DbConnection, id: &str) -> QueryResult<Option<RemedyProposal>> {
    remedy_proposals::table
        .find(id)
        .select(RemedyProposal::as_select())
        .first(conn)
        .optional()
}

/// A case's proposals, newest first.
pub fn proposals_of(conn: &mut DbConnection, case_id: &str) -> QueryResult<Vec<RemedyProposal>> {
    remedy_proposals::table
        .filter(remedy_proposals::case_id.eq(case_id))
        .order((
            remedy_proposals::created_at.desc(),
            remedy_proposals::id.desc(),
        ))
        .select(RemedyProposal::as_select())
        .load(conn)
}

/// Decides a proposal if nobody has: false when it was decided before (a second click,
/// or another manager first).
pub fn decide(
    conn: &mut DbConnection,
    id: &str,
    approved: bool,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(
        remedy_proposals::table
            .find(id)
            .filter(remedy_proposals::decided_at.is_null()),
    )
    .set((
        remedy_proposals::approved.eq(Some(approved)),
        remedy_proposals::decided_by.eq(Some(by)),
        remedy_proposals::decided_at.eq(Some(now)),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Closes the proposal still waiting on a case that was resolved another way: decided,
/// by nobody, neither approved nor declined.
pub fn withdraw_waiting(
    conn: &mut DbConnection,
    case_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        remedy_proposals::table
            .filter(remedy_proposals::case_id.eq(case_id))
            .filter(remedy_proposals::decided_at.is_null()),
    )
    .set(remedy_proposals::decided_at.eq(Some(now)))
    .execute(conn)
}

/// A store's own reply text of `kind` in `language`, if it wrote one.
pub fn reply(
    conn: &mut DbConnection,
    location_id: &str,
    kind: &str,
    language: &str,
) -> QueryResult<Option<String>> {
    store_replies::table
        .find((location_id, kind, language))
        .select(store_replies::text)
        .first(conn)
        .optional()
}

/// (kind, language, text) of every reply text the store wrote.
pub fn replies_at(
    conn: &mut DbConnection,
    location_id: &str,
) -> QueryResult<Vec<(String, String, String)>> {
    store_replies::table
        .filter(store_replies::location_id.eq(location_id))
        .select((
            store_replies::kind,
            store_replies::language,
            store_replies::text,
        ))
        .load(conn)
}

/// Replaces one reply text; `None` goes back to the default.
pub fn set_reply(
    conn: &mut DbConnection,
    location_id: &str,
    kind: &str,
    language: &str,
    text: Option<&str>,
) -> QueryResult<()> {
    diesel::delete(store_replies::table.find((location_id, kind, language))).execute(conn)?;
    if let Some(text) = text {
        diesel::insert_into(store_replies::table)
            .values((
                store_replies::location_id.eq(location_id),
                store_replies::kind.eq(kind),
                store_replies::language.eq(language),
                store_replies::text.eq(text),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// One resolved case of a store and category, for "what worked before": what it was
/// given and its satisfaction answer, if any.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct PastRemedy {
    pub compensation_type: Option<String>,
    pub csat: Option<i32>,
    pub return_likelihood: Option<i32>,
}

/// The store's resolved cases of a category (newest 2,000), with their satisfaction answer.
pub fn past_remedies(
    conn: &mut DbConnection,
    location_id: &str,
    category: &str,
) -> QueryResult<Vec<PastRemedy>> {
    cases::table
        .left_join(
            surveys::table.on(surveys::case_id
                .eq(cases::id)
                .and(surveys::kind.eq(SurveyKind::Satisfaction))
                .and(surveys::answered_at.is_not_null())),
        )
        .filter(cases::location_id.eq(location_id))
        .filter(cases::category.eq(category))
        .filter(cases::resolved_at.is_not_null())
        .filter(cases::merged_into.is_null())
        .order(cases::resolved_at.desc())
        .limit(2_000)
        .select((
            cases::compensation_type,
            surveys::csat.nullable(),
            surveys::return_likelihood.nullable(),
        ))
        .load(conn)
}

/// (wish, compensation given or none) of the resolved cases created in a window, at these
/// stores.
pub fn wished_and_given(
    conn: &mut DbConnection,
    locations: &[String],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<(Wish, Option<String>)>> {
    case_wishes::table
        .inner_join(cases::table)
        .filter(cases::created_at.ge(from))
        .filter(cases::created_at.lt(to))
        .filter(cases::resolved_at.is_not_null())
        .filter(cases::location_id.eq_any(locations))
        .select((case_wishes::kind, cases::compensation_type))
        .load(conn)
}

/// The satisfaction answers given in a window at these stores, with the remedy their case
/// got (the survey's own copy, as exported).
pub fn answered_remedies(
    conn: &mut DbConnection,
    locations: &[String],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<PastRemedy>> {
    surveys::table
        .filter(surveys::kind.eq(SurveyKind::Satisfaction))
        .filter(surveys::answered_at.ge(from))
        .filter(surveys::answered_at.lt(to))
        .filter(surveys::location_id.eq_any(locations))
        .select((
            surveys::compensation_type,
            surveys::csat,
            surveys::return_likelihood,
        ))
        .load(conn)
}
