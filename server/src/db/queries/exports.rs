//! Rows for exports, a page at a time (keyset on the id, so memory stays flat however
//! many rows there are), limited to the locations a user may see.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use crate::db::schema::{case_wishes, cases, locations, surveys, touchpoints, user_locations};
use crate::db::stored_time::as_text;
use crate::db::DbConnection;

#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Inclusive, UTC.
    pub from: Option<NaiveDateTime>,
    /// Exclusive, UTC.
    pub to: Option<NaiveDateTime>,
    pub location_id: Option<String>,
    /// Only these stores, besides the reader's own (an API token limited to some).
    pub within: Option<Vec<String>>,
    pub category: Option<String>,
}

/// Who asks: admins see every location, everyone else their own.
#[derive(Debug, Clone)]
pub struct Scope {
    pub user_id: String,
    pub is_admin: bool,
}

/// An answered survey with what the export shows of its case: only these columns are
/// read (whole rows were most of the export's time). Times are stored UTC text, parsed
/// with [`crate::db::stored_time::unix_seconds`].
#[derive(Debug, Clone, Queryable)]
pub struct SurveyRow {
    pub id: String,
    pub case_id: String,
    pub category: Option<String>,
    pub language: String,
    pub root_cause: Option<String>,
    pub compensation_type: Option<String>,
    pub compensation_minor: Option<i32>,
    pub compensation_currency: Option<String>,
    pub answered_at: Option<String>,
    pub csat: Option<i32>,
    pub fixed: Option<String>,
    pub return_likelihood: Option<i32>,
    pub comment: Option<String>,
    pub reference: String,
    pub received: String,
    pub acknowledged: Option<String>,
    pub resolved: Option<String>,
    pub location: String,
    pub time_zone: String,
    pub touchpoint: String,
    /// What the customer said would make it right.
    pub wish: Option<String>,
}

#[derive(Debug, Clone, Queryable)]
pub struct CaseRow {
    pub id: String,
    pub reference: String,
    pub category: String,
    pub language: String,
    pub status: String,
    pub received: String,
    pub acknowledged: Option<String>,
    pub resolved: Option<String>,
    pub root_cause: Option<String>,
    pub compensation_type: Option<String>,
    pub compensation_minor: Option<i32>,
    pub compensation_currency: Option<String>,
    pub body: String,
    pub location: String,
    pub time_zone: String,
    pub touchpoint: String,
    pub wish: Option<String>,
    pub wish_text: Option<String>,
}

fn case_times(conn: &DbConnection) -> (String, String, String) {
    (
        as_text(conn, "cases.created_at"),
        as_text(conn, "cases.acknowledged_at"),
        as_text(conn, "cases.resolved_at"),
    )
}

/// Answered satisfaction surveys after `after` (an id), by id.
pub fn survey_page(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &ExportFilter,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<SurveyRow>> {
    let answered = as_text(conn, "surveys.answered_at");
    let (received, acknowledged, resolved) = case_times(conn);
    let mut q = surveys::table
        .inner_join(
            cases::table
                .inner_join(locations::table)
                .inner_join(touchpoints::table)
                .left_join(case_wishes::table),
        )
        .filter(surveys::kind.eq("satisfaction"))
        .filter(surveys::answered_at.is_not_null())
        .filter(surveys::id.gt(after.to_owned()))
        .into_boxed();
    // Filtered on the survey's own copy of the location (not indexed), so the planner
    // walks surveys by id and never sorts the whole table for each page.
    if !scope.is_admin {
        let mine = user_locations::table
            .filter(user_locations::user_id.eq(scope.user_id.clone()))
            .select(user_locations::location_id.nullable());
        q = q.filter(surveys::location_id.eq_any(mine));
    }
    if let Some(from) = f.from {
        q = q.filter(surveys::answered_at.ge(from));
    }
    if let Some(to) = f.to {
        q = q.filter(surveys::answered_at.lt(to));
    }
    if let Some(l) = &f.location_id {
        q = q.filter(surveys::location_id.eq(l.clone()));
    }
    if let Some(ids) = &f.within {
        q = q.filter(surveys::location_id.eq_any(ids.clone()));
    }
    if let Some(cat) = &f.category {
        q = q.filter(cases::category.eq(cat.clone()));
    }
    q.order(surveys::id.asc())
        .limit(limit)
        .select((
            surveys::id,
            cases::id,
            surveys::category,
            surveys::language,
            surveys::root_cause,
            surveys::compensation_type,
            surveys::compensation_minor,
            surveys::compensation_currency,
            sql::<Nullable<Text>>(&answered),
            surveys::csat,
            surveys::fixed,
            surveys::return_likelihood,
            surveys::comment,
            cases::reference,
            sql::<Text>(&received),
            sql::<Nullable<Text>>(&acknowledged),
            sql::<Nullable<Text>>(&resolved),
            locations::name,
            locations::time_zone,
            touchpoints::label,
            case_wishes::kind.nullable(),
        ))
        .load(conn)
}

/// Cases after `after` (an id), by id.
pub fn case_page(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &ExportFilter,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<CaseRow>> {
    let (received, acknowledged, resolved) = case_times(conn);
    let mut q = cases::table
        .inner_join(locations::table)
        .inner_join(touchpoints::table)
        .left_join(case_wishes::table)
        .filter(cases::id.gt(after.to_owned()))
        .into_boxed();
    // `location_id || ''` keeps the planner off the location index: walking cases by id
    // and filtering is linear; sorting a location's cases for every page is quadratic.
    if !scope.is_admin {
        let mine = user_locations::table
            .filter(user_locations::user_id.eq(scope.user_id.clone()))
            .select(user_locations::location_id);
        q = q.filter(cases::location_id.concat("").eq_any(mine));
    }
    if let Some(from) = f.from {
        q = q.filter(cases::created_at.ge(from));
    }
    if let Some(to) = f.to {
        q = q.filter(cases::created_at.lt(to));
    }
    if let Some(l) = &f.location_id {
        q = q.filter(cases::location_id.concat("").eq(l.clone()));
    }
    if let Some(ids) = &f.within {
        q = q.filter(cases::location_id.concat("").eq_any(ids.clone()));
    }
    if let Some(cat) = &f.category {
        q = q.filter(cases::category.eq(cat.clone()));
    }
    q.order(cases::id.asc())
        .limit(limit)
        .select((
            cases::id,
            cases::reference,
            cases::category,
            cases::language,
            cases::status,
            sql::<Text>(&received),
            sql::<Nullable<Text>>(&acknowledged),
            sql::<Nullable<Text>>(&resolved),
            cases::root_cause,
            cases::compensation_type,
            cases::compensation_minor,
            cases::compensation_currency,
            cases::body,
            locations::name,
            locations::time_zone,
            touchpoints::label,
            case_wishes::kind.nullable(),
            case_wishes::text.nullable(),
        ))
        .load(conn)
}

/// The follow-up answers ("still working?") of these cases.
pub fn follow_ups(
    conn: &mut DbConnection,
    case_ids: &[String],
) -> QueryResult<Vec<(String, Option<bool>)>> {
    surveys::table
        .filter(surveys::kind.eq("follow_up"))
        .filter(surveys::case_id.eq_any(case_ids))
        .filter(surveys::answered_at.is_not_null())
        .select((surveys::case_id, surveys::still_working))
        .load(conn)
}
