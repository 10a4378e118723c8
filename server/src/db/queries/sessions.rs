//! Server-side sessions: a cookie names a row here, and a session ends when its row does.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::SessionRow;
use crate::db::schema::sessions;
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, row: &SessionRow) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// The user of a session that has not ended.
pub fn live_user(conn: &mut DbConnection, id: &str) -> QueryResult<Option<String>> {
    sessions::table
        .find(id)
        .filter(sessions::ended_at.is_null())
        .select(sessions::user_id)
        .first(conn)
        .optional()
}

pub fn end(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::ended_at.is_null()),
    )
    .set(sessions::ended_at.eq(at))
    .execute(conn)
}

/// Ends every live session of a user but `keep` (the one asking, when there is one).
pub fn end_all_of(
    conn: &mut DbConnection,
    user_id: &str,
    keep: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    let live = sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null());
    match keep {
        Some(keep) => diesel::update(live.filter(sessions::id.ne(keep)))
            .set(sessions::ended_at.eq(at))
            .execute(conn),
        None => diesel::update(live)
            .set(sessions::ended_at.eq(at))
            .execute(conn),
    }
}

/// Deletes the rows of sessions started before `before` (long over, ended or not).
pub fn delete_started_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::created_at.lt(before))).execute(conn)
}
