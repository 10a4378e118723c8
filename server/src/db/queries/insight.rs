//! What the dashboard reads: the cases, answers and scans of a period, only the columns
//! it counts, limited to the locations the asker may see.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::queries::exports::Scope;
use crate::db::schema::{cases, locations, surveys, touchpoint_scans, touchpoints, user_locations};
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable)]
pub struct LocationInfo {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    pub sla_minutes: i32,
}

#[derive(Debug, Clone, Queryable)]
pub struct CaseInfo {
    pub id: String,
    pub location_id: String,
    pub touchpoint_id: String,
    pub category: String,
    pub root_cause: Option<String>,
    pub created_at: NaiveDateTime,
    pub acknowledged_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub compensation_currency: Option<String>,
    pub compensation_minor: Option<i32>,
    pub contact_email: Option<String>,
    pub device_hash: Option<String>,
}

#[derive(Debug, Clone, Queryable)]
pub struct AnswerInfo {
    pub location_id: Option<String>,
    pub answered_at: Option<NaiveDateTime>,
    pub csat: Option<i32>,
    pub fixed: Option<String>,
}

/// The locations the asker may see (one, if `only` is given), by name.
pub fn locations_in_scope(
    conn: &mut DbConnection,
    scope: &Scope,
    only: Option<&str>,
) -> QueryResult<Vec<LocationInfo>> {
    let mut q = locations::table.into_boxed();
    if !scope.is_admin {
        let mine = user_locations::table
            .filter(user_locations::user_id.eq(scope.user_id.clone()))
            .select(user_locations::location_id);
        q = q.filter(locations::id.eq_any(mine));
    }
    if let Some(id) = only {
        q = q.filter(locations::id.eq(id.to_owned()));
    }
    q.order((locations::name.asc(), locations::id.asc()))
        .select((
            locations::id,
            locations::name,
            locations::time_zone,
            locations::sla_minutes,
        ))
        .load(conn)
}

/// Cases of these locations received in `[from, to)` (UTC).
pub fn cases_between(
    conn: &mut DbConnection,
    location_ids: &[String],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<CaseInfo>> {
    cases::table
        .filter(cases::location_id.eq_any(location_ids))
        .filter(cases::created_at.ge(from))
        .filter(cases::created_at.lt(to))
        .select((
            cases::id,
            cases::location_id,
            cases::touchpoint_id,
            cases::category,
            cases::root_cause,
            cases::created_at,
            cases::acknowledged_at,
            cases::resolved_at,
            cases::compensation_currency,
            cases::compensation_minor,
            cases::contact_email,
            cases::device_hash,
        ))
        .load(conn)
}

/// Who complained in `[from, to)` (UTC) anywhere, for telling repeat complainants:
/// (id, received, email, device) of the cases that carry an email or a device.
#[allow(clippy::type_complexity)]
pub fn customers_between(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<(String, NaiveDateTime, Option<String>, Option<String>)>> {
    cases::table
        .filter(cases::created_at.ge(from))
        .filter(cases::created_at.lt(to))
        .filter(
            cases::contact_email
                .is_not_null()
                .or(cases::device_hash.is_not_null()),
        )
        .select((
            cases::id,
            cases::created_at,
            cases::contact_email,
            cases::device_hash,
        ))
        .load(conn)
}

/// Satisfaction answers of these locations given in `[from, to)` (UTC).
pub fn answers_between(
    conn: &mut DbConnection,
    location_ids: &[String],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<AnswerInfo>> {
    surveys::table
        .filter(surveys::kind.eq("satisfaction"))
        .filter(surveys::location_id.eq_any(location_ids))
        .filter(surveys::answered_at.ge(from))
        .filter(surveys::answered_at.lt(to))
        .select((
            surveys::location_id,
            surveys::answered_at,
            surveys::csat,
            surveys::fixed,
        ))
        .load(conn)
}

/// Touchpoints of these locations (id, location, label), by location then label.
pub fn touchpoints_of(
    conn: &mut DbConnection,
    location_ids: &[String],
) -> QueryResult<Vec<(String, String, String)>> {
    touchpoints::table
        .filter(touchpoints::location_id.eq_any(location_ids))
        .order((touchpoints::location_id.asc(), touchpoints::label.asc()))
        .select((
            touchpoints::id,
            touchpoints::location_id,
            touchpoints::label,
        ))
        .load(conn)
}

/// Scans per touchpoint over the store-local days `from..=to`.
pub fn scans_between(
    conn: &mut DbConnection,
    location_ids: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(String, i32)>> {
    touchpoint_scans::table
        .inner_join(touchpoints::table)
        .filter(touchpoints::location_id.eq_any(location_ids))
        .filter(touchpoint_scans::day.ge(from))
        .filter(touchpoint_scans::day.le(to))
        .select((touchpoint_scans::touchpoint_id, touchpoint_scans::scans))
        .load(conn)
}
