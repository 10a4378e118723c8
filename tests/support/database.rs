//! A database of its own per test: a temp SQLite file, or a fresh PostgreSQL schema
//! dropped afterwards.
//!
//! PostgreSQL: `MEND_TEST_POSTGRES_URL` names the server. When it is set, PostgreSQL tests
//! must run and fail loudly if the server cannot be reached (CI sets it). When it is not
//! set, the default local server is tried and, if absent, the test is counted as skipped
//! (see `skips`) and passes.

use diesel::connection::SimpleConnection;
use diesel::Connection;
use mend_server::config::DatabaseUrl;
use mend_server::db::connection::ConnectionManager;
use mend_server::db::{Db, DbConnection};

pub const POSTGRES_ENV: &str = "MEND_TEST_POSTGRES_URL";
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Runs each named `fn(&TestDb)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[test] fn $name() { super::$name(&$crate::TestDb::sqlite()); } )*
        }
        mod on_postgres {
            $( #[test] fn $name() {
                if let Some(db) = $crate::TestDb::postgres() { super::$name(&db); }
            } )*
        }
    };
}

pub enum TestDb {
    Sqlite {
        dir: tempfile::TempDir,
    },
    Postgres {
        server_url: String,
        schema: String,
    },
    /// Another test app's database, for a second instance beside it (owned, and dropped,
    /// by the first).
    Shared {
        url: String,
    },
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        TestDb::Sqlite {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A fresh schema on the test PostgreSQL server, or None (with a message) when there
    /// is no server and none was required.
    pub fn postgres() -> Option<TestDb> {
        let required = std::env::var(POSTGRES_ENV).ok().filter(|v| !v.is_empty());
        let server_url = required
            .clone()
            .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned());
        let mut admin = match diesel::PgConnection::establish(&with_param(
            &server_url,
            "connect_timeout=5",
        )) {
            Ok(c) => c,
            Err(e) if required.is_none() => {
                crate::skips::skipped(
                    crate::skips::Needs::Postgres,
                    &format!("no PostgreSQL at {DEFAULT_POSTGRES_URL} ({e}); set {POSTGRES_ENV} to require it"),
                );
                return None;
            }
            Err(e) => panic!("{POSTGRES_ENV} is set but PostgreSQL cannot be reached: {e}"),
        };
        let schema = format!("mend_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .unwrap();
        Some(TestDb::Postgres { server_url, schema })
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            TestDb::Sqlite { .. } => "sqlite",
            TestDb::Postgres { .. } => "postgres",
            TestDb::Shared { url } if url.starts_with("sqlite") => "sqlite",
            TestDb::Shared { .. } => "postgres",
        }
    }

    /// The URL as `MEND_DATABASE_URL` would give it.
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite { dir } => format!("sqlite://{}", dir.path().join("mend.db").display()),
            TestDb::Postgres { server_url, schema } => {
                with_param(server_url, &format!("options=-csearch_path%3D{schema}"))
            }
            TestDb::Shared { url } => url.clone(),
        }
    }

    pub fn database_url(&self) -> DatabaseUrl {
        DatabaseUrl::parse(&self.url()).unwrap()
    }

    /// The pool, with migrations applied.
    pub fn open(&self) -> Db {
        let db = Db::open(&self.database_url()).unwrap();
        db.migrate().unwrap();
        db
    }

    /// One connection with nothing applied, for migration tests.
    pub fn raw_connection(&self) -> DbConnection {
        ConnectionManager::new(self.database_url())
            .establish()
            .unwrap()
    }

    /// Runs SQL behind the application's back (to break things on purpose).
    pub fn execute_behind_the_back(&self, sql: &str) {
        match self {
            TestDb::Postgres { server_url, .. } => diesel::PgConnection::establish(server_url)
                .unwrap()
                .batch_execute(sql)
                .unwrap(),
            TestDb::Sqlite { .. } | TestDb::Shared { .. } => {
                self.raw_connection().batch_execute(sql).unwrap()
            }
        }
    }

    pub fn schema(&self) -> Option<&str> {
        match self {
            TestDb::Postgres { schema, .. } => Some(schema),
            TestDb::Sqlite { .. } | TestDb::Shared { .. } => None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { server_url, schema } = self {
            if let Ok(mut c) = diesel::PgConnection::establish(server_url) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

fn with_param(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}
