//! The log of administrative changes.

use diesel::prelude::*;

use crate::db::models::AdminLogEntry;
use crate::db::schema::admin_log;
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, entry: &AdminLogEntry) -> QueryResult<()> {
    diesel::insert_into(admin_log::table)
        .values(entry)
        .execute(conn)
        .map(|_| ())
}

/// The newest entries first.
pub fn latest(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<AdminLogEntry>> {
    admin_log::table
        .order((admin_log::created_at.desc(), admin_log::id.desc()))
        .limit(limit)
        .select(AdminLogEntry::as_select())
        .load(conn)
}

pub fn insert_many(conn: &mut DbConnection, rows: &[AdminLogEntry]) -> QueryResult<()> {
    for chunk in rows.chunks(1_500) {
        insert_all!(conn, admin_log::table, chunk)?;
    }
    Ok(())
}
