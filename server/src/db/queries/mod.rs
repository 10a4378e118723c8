//! Queries, one module per table group. Plain functions on a connection: callers choose
//! whether they run inside [`super::Db::read`] or a [`super::Db::write`] transaction.

/// Inserts many rows in one multi-row `INSERT`. Diesel's multi-backend connection does
/// not offer batch inserts, so each backend's connection runs it itself.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite(c) => {
                diesel::insert_into($table).values($rows).execute(c)
            }
            $crate::db::DbConnection::Postgres(c) => {
                diesel::insert_into($table).values($rows).execute(c)
            }
        }
        .map(|_| ())
    };
}

pub mod admin_log;
pub mod api_tokens;
pub mod cases;
pub mod categories;
pub mod escalations;
pub mod exports;
pub mod health;
pub mod insight;
pub mod kiosks;
pub mod locations;
pub mod operations;
pub mod outbox;
pub mod photos;
pub mod process_changes;
pub mod recovery;
pub mod routing;
pub mod scans;
pub mod search;
pub mod sessions;
pub mod spots;
pub mod stores;
pub mod surveys;
pub mod touchpoints;
pub mod users;
pub mod webhooks;
