//! The escalation chain: one row per case and level, fired or cancelled exactly once.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::Escalation;
use crate::db::schema::escalations;
use crate::db::DbConnection;

macro_rules! insert_unless_present {
    ($conn:expr, $row:expr) => {
        diesel::insert_into(escalations::table)
            .values($row)
            .on_conflict((escalations::case_id, escalations::level))
            .do_nothing()
            .execute($conn)
    };
}

/// Schedules a level for a case; a level already scheduled is kept as it is.
pub fn schedule(conn: &mut DbConnection, row: &Escalation) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(c) => insert_unless_present!(c, row),
        DbConnection::Postgres(c) => insert_unless_present!(c, row),
    }
    .map(|_| ())
}

/// Schedules the first levels of new cases in one statement; a clash fails it.
pub fn schedule_new(conn: &mut DbConnection, rows: &[Escalation]) -> QueryResult<()> {
    insert_all!(conn, escalations::table, rows)
}

macro_rules! pending {
    () => {
        escalations::fired_at
            .is_null()
            .and(escalations::cancelled_at.is_null())
    };
}

/// Pending escalations due at `now`, oldest first.
pub fn due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Escalation>> {
    escalations::table
        .filter(pending!())
        .filter(escalations::due_at.le(now))
        .order(escalations::due_at.asc())
        .limit(limit)
        .select(Escalation::as_select())
        .load(conn)
}

/// Marks a pending escalation fired; false when another worker fired or cancelled it first.
pub fn fire(
    conn: &mut DbConnection,
    case_id: &str,
    level: i32,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(escalations::table.find((case_id, level)).filter(pending!()))
        .set(escalations::fired_at.eq(now))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Cancels every pending escalation of a case (it was acknowledged).
pub fn cancel_pending(
    conn: &mut DbConnection,
    case_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        escalations::table
            .filter(escalations::case_id.eq(case_id))
            .filter(pending!()),
    )
    .set(escalations::cancelled_at.eq(now))
    .execute(conn)
}

pub fn for_case(conn: &mut DbConnection, case_id: &str) -> QueryResult<Vec<Escalation>> {
    escalations::table
        .filter(escalations::case_id.eq(case_id))
        .order(escalations::level.asc())
        .select(Escalation::as_select())
        .load(conn)
}
