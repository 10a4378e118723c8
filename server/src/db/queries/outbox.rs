//! The mail outbox. Rows are enqueued inside the transaction of the event that causes
//! them, claimed with a lease before sending (so two workers never send the same row and
//! a crashed worker's row comes back after its lease), and marked sent, retried or failed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::OutboxMessage;
use crate::db::schema::outbox;
use crate::db::DbConnection;

macro_rules! insert_unless_present {
    ($conn:expr, $message:expr) => {
        diesel::insert_into(outbox::table)
            .values($message)
            .on_conflict(outbox::dedupe_key)
            .do_nothing()
            .execute($conn)
    };
}

/// Enqueues a message; one whose dedupe key is already queued is left alone (false).
/// `ON CONFLICT DO NOTHING` rather than catching the error: on PostgreSQL a failed insert
/// would abort the surrounding transaction, and with it the event that caused the mail.
pub fn enqueue(conn: &mut DbConnection, message: &OutboxMessage) -> QueryResult<bool> {
    let inserted = match conn {
        DbConnection::Sqlite(c) => insert_unless_present!(c, message),
        DbConnection::Postgres(c) => insert_unless_present!(c, message),
    }?;
    Ok(inserted == 1)
}

/// Inserts new messages in one statement, without the dedupe check: for rows whose keys
/// cannot exist yet (a new case's alerts). A clash fails the statement.
pub fn insert_new(conn: &mut DbConnection, rows: &[OutboxMessage]) -> QueryResult<()> {
    insert_all!(conn, outbox::table, rows)
}

/// Is the row free to claim at `now`: not sent, not failed, due, and not leased.
macro_rules! claimable {
    ($now:expr) => {
        outbox::sent_at
            .is_null()
            .and(outbox::failed_at.is_null())
            .and(outbox::next_attempt_at.le($now))
            .and(
                outbox::claimed_until
                    .is_null()
                    .or(outbox::claimed_until.lt($now)),
            )
    };
}

/// Claims up to `limit` due messages until `lease_until`, oldest due first. Concurrent
/// workers (other processes on one PostgreSQL) never both win a row: on PostgreSQL the
/// candidates are picked and locked with `FOR UPDATE SKIP LOCKED`, so workers do not even
/// queue behind each other, and claimed in one `UPDATE ... RETURNING` (three round trips
/// for the whole claim); on SQLite each is a conditional UPDATE that only changes a row
/// still claimable. Run inside a write transaction.
pub fn claim_due(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OutboxMessage>> {
    let candidates = outbox::table
        .filter(claimable!(now))
        .order((outbox::next_attempt_at.asc(), outbox::id.asc()))
        .limit(limit)
        .select(outbox::id);
    let claim = (
        outbox::claimed_until.eq(lease_until),
        outbox::attempts.eq(outbox::attempts + 1),
    );
    match conn {
        DbConnection::Postgres(c) => {
            // The rows are locked until this transaction ends, so they are still claimable:
            // the update looks them up by key alone. (Repeating the claimable filter let
            // PostgreSQL's generic plan walk every waiting mail instead.)
            let ids: Vec<String> = candidates.for_update().skip_locked().load(c)?;
            let mut claimed: Vec<OutboxMessage> =
                diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
                    .set(claim)
                    .returning(OutboxMessage::as_returning())
                    .get_results(c)?;
            claimed.sort_by(|a, b| (a.next_attempt_at, &a.id).cmp(&(b.next_attempt_at, &b.id)));
            Ok(claimed)
        }
        // SQLite has one writer at a time, so no other worker can take a row between the
        // look-up and the update; each statement is a function call, not a round trip.
        DbConnection::Sqlite(c) => {
            let ids: Vec<String> = candidates.load(c)?;
            let mut claimed = Vec::with_capacity(ids.len());
            for id in ids {
                let won = diesel::update(outbox::table.find(&id).filter(claimable!(now)))
                    .set(claim)
                    .execute(c)?;
                if won == 1 {
                    claimed.push(
                        outbox::table
                            .find(&id)
                            .select(OutboxMessage::as_select())
                            .first(c)?,
                    );
                }
            }
            Ok(claimed)
        }
    }
}

/// Marks many messages sent in one statement.
pub fn mark_all_sent(conn: &mut DbConnection, ids: &[&str], now: NaiveDateTime) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set((
            outbox::sent_at.eq(now),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn mark_sent(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<()> {
    mark_all_sent(conn, &[id], now)
}

/// A transient failure: try again at `next_attempt_at`.
pub fn mark_retry(
    conn: &mut DbConnection,
    id: &str,
    next_attempt_at: NaiveDateTime,
    error: &str,
) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::next_attempt_at.eq(next_attempt_at),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(error),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A permanent failure: never tried again; the error stays for the admins.
pub fn mark_failed(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
    error: &str,
) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::failed_at.eq(now),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(error),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Messages about a case, oldest first.
pub fn for_case(conn: &mut DbConnection, case_id: &str) -> QueryResult<Vec<OutboxMessage>> {
    outbox::table
        .filter(outbox::case_id.eq(case_id))
        .order((outbox::created_at.asc(), outbox::id.asc()))
        .select(OutboxMessage::as_select())
        .load(conn)
}

/// Messages not delivered: refused for good, or waiting for a retry after an error. For
/// the admins' attention, newest first.
pub fn undelivered(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<OutboxMessage>> {
    outbox::table
        .filter(outbox::sent_at.is_null())
        .filter(outbox::last_error.is_not_null())
        .order(outbox::created_at.desc())
        .limit(limit)
        .select(OutboxMessage::as_select())
        .load(conn)
}
