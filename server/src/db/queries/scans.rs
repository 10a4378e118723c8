//! Form views counted per touchpoint per store-local day. The increment is an upsert, the
//! one kind of statement that needs a per-backend branch (MultiConnection does not carry
//! ON CONFLICT); both branches build the same statement.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::schema::touchpoint_scans;
use crate::db::DbConnection;

macro_rules! increment {
    ($conn:expr, $touchpoint_id:expr, $day:expr, $n:expr) => {
        diesel::insert_into(touchpoint_scans::table)
            .values((
                touchpoint_scans::touchpoint_id.eq($touchpoint_id),
                touchpoint_scans::day.eq($day),
                touchpoint_scans::scans.eq($n),
            ))
            .on_conflict((touchpoint_scans::touchpoint_id, touchpoint_scans::day))
            .do_update()
            .set(touchpoint_scans::scans.eq(touchpoint_scans::scans + $n))
            .execute($conn)
    };
}

/// Adds `n` scans to a touchpoint's day.
pub fn add(
    conn: &mut DbConnection,
    touchpoint_id: &str,
    day: NaiveDate,
    n: u32,
) -> QueryResult<()> {
    let n = i32::try_from(n).unwrap_or(i32::MAX);
    match conn {
        DbConnection::Sqlite(c) => increment!(c, touchpoint_id, day, n),
        DbConnection::Postgres(c) => increment!(c, touchpoint_id, day, n),
    }
    .map(|_| ())
}

pub fn record(conn: &mut DbConnection, touchpoint_id: &str, day: NaiveDate) -> QueryResult<()> {
    add(conn, touchpoint_id, day, 1)
}

/// Scans of one touchpoint per day, oldest first, for days in `from..=to`.
pub fn per_day(
    conn: &mut DbConnection,
    touchpoint_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(NaiveDate, i32)>> {
    touchpoint_scans::table
        .filter(touchpoint_scans::touchpoint_id.eq(touchpoint_id))
        .filter(touchpoint_scans::day.between(from, to))
        .order(touchpoint_scans::day.asc())
        .select((touchpoint_scans::day, touchpoint_scans::scans))
        .load(conn)
}
