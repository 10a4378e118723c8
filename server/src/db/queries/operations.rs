//! What operators watch: mail waiting in the outbox, cases nobody has acknowledged.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{cases, locations, outbox};
use crate::db::DbConnection;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutboxStatus {
    /// Not sent yet and not given up on.
    pub unsent: i64,
    /// Given up on (a permanent failure).
    pub failed: i64,
    pub oldest_unsent: Option<NaiveDateTime>,
}

pub fn outbox_status(conn: &mut DbConnection) -> QueryResult<OutboxStatus> {
    let waiting = || {
        outbox::table
            .filter(outbox::sent_at.is_null())
            .filter(outbox::failed_at.is_null())
    };
    Ok(OutboxStatus {
        unsent: waiting().count().get_result(conn)?,
        failed: outbox::table
            .filter(outbox::failed_at.is_not_null())
            .count()
            .get_result(conn)?,
        oldest_unsent: waiting()
            .select(diesel::dsl::min(outbox::created_at))
            .first(conn)?,
    })
}

/// When each open, unacknowledged case came in, with its store's SLA in minutes.
pub fn unacknowledged(conn: &mut DbConnection) -> QueryResult<Vec<(NaiveDateTime, i32)>> {
    cases::table
        .inner_join(locations::table)
        .filter(cases::acknowledged_at.is_null())
        .filter(cases::resolved_at.is_null())
        .filter(cases::merged_into.is_null())
        .select((cases::created_at, locations::sla_minutes))
        .load(conn)
}
