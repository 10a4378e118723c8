//! What the dashboard reads: the cases, answers and scans of a period, only the columns
//! it counts, limited to the locations the asker may see.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use crate::db::queries::exports::Scope;
use crate::db::schema::{cases, locations, surveys, touchpoint_scans, touchpoints, user_locations};
use crate::db::stored_time::{as_text, unix_seconds};
use crate::db::DbConnection;

#[derive(Debug, Clone, Queryable)]
pub struct LocationInfo {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    pub sla_minutes: i32,
}

/// Times are Unix seconds (UTC). The location is the touchpoint's (see
/// [`touchpoints_of`]): one column fewer to read.
#[derive(Debug, Clone)]
pub struct CaseInfo {
    pub touchpoint_id: String,
    pub category: String,
    pub root_cause: Option<String>,
    pub created_at: i64,
    pub acknowledged_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub compensation_currency: Option<String>,
    pub compensation_minor: Option<i32>,
    pub contact_email: Option<String>,
    pub device_hash: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AnswerInfo {
    pub location_id: Option<String>,
    /// Unix seconds.
    pub answered_at: Option<i64>,
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
    let created = as_text(conn, "cases.created_at");
    let acknowledged = as_text(conn, "cases.acknowledged_at");
    let resolved = as_text(conn, "cases.resolved_at");
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i32>,
        Option<String>,
        Option<String>,
    )> = cases::table
        .filter(cases::location_id.eq_any(location_ids))
        .filter(cases::created_at.ge(from))
        .filter(cases::created_at.lt(to))
        .select((
            cases::touchpoint_id,
            cases::category,
            cases::root_cause,
            sql::<Text>(&created),
            sql::<Nullable<Text>>(&acknowledged),
            sql::<Nullable<Text>>(&resolved),
            cases::compensation_currency,
            cases::compensation_minor,
            cases::contact_email,
            cases::device_hash,
        ))
        .load(conn)?;
    let time = |t: Option<String>| t.as_deref().and_then(unix_seconds);
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(CaseInfo {
                created_at: unix_seconds(&r.3)?,
                acknowledged_at: time(r.4),
                resolved_at: time(r.5),
                touchpoint_id: r.0,
                category: r.1,
                root_cause: r.2,
                compensation_currency: r.6,
                compensation_minor: r.7,
                contact_email: r.8,
                device_hash: r.9,
            })
        })
        .collect())
}

/// (received in Unix seconds, email, device)
pub type Customer = (i64, Option<String>, Option<String>);

/// Who complained in `[from, to)` (UTC), anywhere: (received in Unix seconds, email,
/// device) of the cases that carry an email or a device, for telling repeat complainants.
/// A plain range read: picking only returning customers in SQL (GROUP BY ... HAVING) was
/// slower than reading them all.
pub fn customers_between(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<Customer>> {
    let created = as_text(conn, "cases.created_at");
    cases::table
        .filter(cases::created_at.ge(from))
        .filter(cases::created_at.lt(to))
        .filter(
            cases::contact_email
                .is_not_null()
                .or(cases::device_hash.is_not_null()),
        )
        .select((
            sql::<Text>(&created),
            cases::contact_email,
            cases::device_hash,
        ))
        .load::<(String, Option<String>, Option<String>)>(conn)
        .map(|rows| {
            rows.into_iter()
                .filter_map(|(at, email, device)| Some((unix_seconds(&at)?, email, device)))
                .collect()
        })
}

/// Satisfaction answers of these locations given in `[from, to)` (UTC).
pub fn answers_between(
    conn: &mut DbConnection,
    location_ids: &[String],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<Vec<AnswerInfo>> {
    let answered = as_text(conn, "surveys.answered_at");
    type Row = (Option<String>, Option<String>, Option<i32>, Option<String>);
    let rows: Vec<Row> = surveys::table
        .filter(surveys::kind.eq("satisfaction"))
        .filter(surveys::location_id.eq_any(location_ids))
        .filter(surveys::answered_at.ge(from))
        .filter(surveys::answered_at.lt(to))
        .select((
            surveys::location_id,
            sql::<Nullable<Text>>(&answered),
            surveys::csat,
            surveys::fixed,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(location_id, answered_at, csat, fixed)| AnswerInfo {
            location_id,
            answered_at: answered_at.as_deref().and_then(unix_seconds),
            csat,
            fixed,
        })
        .collect())
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

/// Scans per touchpoint over the store-local days `from..=to`, summed.
pub fn scans_between(
    conn: &mut DbConnection,
    location_ids: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(String, i64)>> {
    let rows: Vec<(String, Option<i64>)> = touchpoint_scans::table
        .inner_join(touchpoints::table)
        .filter(touchpoints::location_id.eq_any(location_ids))
        .filter(touchpoint_scans::day.ge(from))
        .filter(touchpoint_scans::day.le(to))
        .group_by(touchpoint_scans::touchpoint_id)
        .select((
            touchpoint_scans::touchpoint_id,
            diesel::dsl::sum(touchpoint_scans::scans),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(tp, n)| (tp, n.unwrap_or(0)))
        .collect())
}
