//! Storage: one pool over SQLite or PostgreSQL, chosen by the database URL.
//!
//! Promises: every connection has its backend's settings applied; writes go through
//! [`Db::write`], which runs them in a transaction and, on SQLite, one at a time, so that
//! "database is locked" never reaches a user.

pub mod backup;
pub mod connection;
pub mod migrations;
pub mod models;
pub mod queries;
pub mod schema;
pub mod states;
pub mod stored_time;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::Connection;

pub use connection::DbConnection;

use crate::config::DatabaseUrl;
use connection::ConnectionManager;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("no database connection available: {0}")]
    Unavailable(#[from] r2d2::Error),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    /// A value to be stored (an email's payload, a change's texts) would not encode.
    #[error("cannot encode for storage: {0}")]
    Encode(#[from] serde_json::Error),
    /// The thread that was to do the work (the intake writer, a reader) is gone.
    #[error("{0} has stopped")]
    Stopped(&'static str),
    /// The shared transaction this write was batched into failed; nothing of it is stored.
    #[error("the batch this write was part of failed: {0}")]
    Batch(String),
}

/// How long a request waits for a pooled connection before it is told to come back later.
const POOL_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<ConnectionManager>,
    backend: Backend,
    /// SQLite has one writer at a time; queueing writers here, instead of in SQLite's busy
    /// handler, keeps every write of this process from ever seeing SQLITE_BUSY.
    sqlite_writer: Arc<Mutex<()>>,
}

impl Db {
    /// Opens one connection first so that a wrong URL is reported at once, not after the
    /// pool's retry period.
    pub fn open(url: &DatabaseUrl) -> Result<Db, DbError> {
        Db::open_with(url, Some(1))
    }

    /// For a command that runs and exits: no connection is kept warm in the background.
    /// A pool thread still opening a PostgreSQL connection (TLS) while the process exits
    /// crashed it in OpenSSL's exit handlers (a SIGSEGV after the command's output).
    pub fn open_for_command(url: &DatabaseUrl) -> Result<Db, DbError> {
        Db::open_with(url, Some(0))
    }

    fn open_with(url: &DatabaseUrl, min_idle: Option<u32>) -> Result<Db, DbError> {
        let backend = match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        DbError::Connect(diesel::ConnectionError::BadConnection(format!(
                            "cannot create {}: {e}",
                            dir.display()
                        )))
                    })?;
                }
                Backend::Sqlite
            }
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        };
        let manager = ConnectionManager::new(url.clone());
        drop(manager.establish()?);
        let max_size = match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let pool = r2d2::Pool::builder()
            .max_size(max_size)
            // A SQLite connection is a file handle and cannot drop; checking it with a query
            // before every use only costs time. A PostgreSQL one can (a server restart).
            .test_on_check_out(backend == Backend::Postgres)
            .min_idle(min_idle)
            .connection_timeout(POOL_WAIT)
            .build_unchecked(manager);
        Ok(Db {
            pool,
            backend,
            sqlite_writer: Arc::new(Mutex::new(())),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The most connections the pool opens.
    pub fn max_connections(&self) -> u32 {
        self.pool.max_size()
    }

    pub fn migrate(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.pool.get()?;
        migrations::run_pending(&mut conn)
    }

    /// Runs read-only queries on a pooled connection.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> diesel::QueryResult<T>,
    ) -> Result<T, DbError> {
        let mut conn = self.pool.get()?;
        Ok(f(&mut conn)?)
    }

    /// Runs `f` in one transaction: all of it is committed, or none of it.
    pub fn write<T, E>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error> + From<DbError>,
    {
        // Take the writer's turn before a connection, so waiting writers do not hold
        // connections that readers need.
        let _turn = match self.backend {
            // A writer that panicked left nothing half-done (its transaction rolled back), so
            // a poisoned lock is still a good lock.
            Backend::Sqlite => Some(
                self.sqlite_writer
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            ),
            Backend::Postgres => None,
        };
        let mut conn = self.pool.get().map_err(DbError::from)?;
        (*conn).transaction(f)
    }

    /// True when the database answers a query against our own schema.
    pub fn is_healthy(&self) -> bool {
        self.read(queries::health::probe).is_ok()
    }
}
