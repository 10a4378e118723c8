//! What the dashboard reads: the cases, answers and scans of a period, only the columns
//! it counts, limited to the locations the asker may see.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

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

/// A timestamp column as text "YYYY-MM-DD HH:MM:SS...", written for the backend. Decoding
/// tens of thousands of timestamps through chrono's format parser (diesel's way on
/// SQLite), or SQLite's own strftime, was most of the dashboard's time; a fixed-format
/// parse ([`unix_seconds`]) is a few nanoseconds.
fn as_text(conn: &DbConnection, column: &str) -> String {
    match conn {
        DbConnection::Sqlite(_) => column.to_owned(),
        DbConnection::Postgres(_) => format!("to_char({column}, 'YYYY-MM-DD HH24:MI:SS')"),
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
    })
}

/// Unix seconds of a stored UTC time "YYYY-MM-DD HH:MM:SS" (a fraction is ignored).
pub fn unix_seconds(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, m, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (hh, mm, ss) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_read_as_the_same_unix_seconds_chrono_gives() {
        for text in [
            "1970-01-01 00:00:00",
            "2000-02-29 23:59:59",
            "2026-11-23 19:48:42.502705",
            "2026-03-01 00:00:00",
            "2100-12-31 12:00:00",
            "1969-12-31 23:59:59",
        ] {
            let chrono = NaiveDateTime::parse_from_str(&text[..19], "%Y-%m-%d %H:%M:%S")
                .unwrap()
                .and_utc()
                .timestamp();
            assert_eq!(unix_seconds(text), Some(chrono), "{text}");
        }
        for bad in [
            "",
            "2026-11-23",
            "2026-13-01 00:00:00",
            "2026-11-23 24:00:00",
            "20x6-11-23 00:00:00",
        ] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
    }
}
