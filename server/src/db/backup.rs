//! `mend-server backup FILE`: a consistent copy of the SQLite database while the server
//! keeps serving. `VACUUM INTO` reads one snapshot (a read transaction: writers go on in
//! the WAL meanwhile) and writes a compact, self-contained database file. The copy is
//! written beside the target and renamed into place only once it is complete and on
//! disk, then checked with `PRAGMA integrity_check`, so a file at FILE is always whole.
//!
//! PostgreSQL has its own tool for this (`pg_dump`); the error says how to use it.

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::{Backend, Db, DbConnection, DbError};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists: choose a new file (a backup never overwrites one)")]
    Exists(PathBuf),
    #[error(
        "the database is PostgreSQL: back it up with pg_dump while Mend runs, e.g. \
         `pg_dump --format=custom --file mend.dump \"$MEND_DATABASE_URL\"`, and restore with \
         `pg_restore --clean --if-exists --dbname \"$MEND_DATABASE_URL\" mend.dump`"
    )]
    Postgres,
    #[error("{path}: {detail}")]
    Io { path: PathBuf, detail: String },
    #[error("the copy failed its integrity check: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
    pub cases: i64,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::Io {
        path: path.to_owned(),
        detail: e.to_string(),
    }
}

/// Copies the database to `target` (a new file).
pub fn sqlite_backup(db: &Db, target: &Path) -> Result<Backup, BackupError> {
    if db.backend() == Backend::Postgres {
        return Err(BackupError::Postgres);
    }
    if target.exists() {
        return Err(BackupError::Exists(target.to_owned()));
    }
    let mut partial = target.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    // A partial file is what a backup killed half-way left behind: never a backup.
    if partial.exists() {
        std::fs::remove_file(&partial).map_err(io(&partial))?;
    }
    let partial_text = partial
        .to_str()
        .ok_or_else(|| BackupError::Io {
            path: partial.clone(),
            detail: "the path is not UTF-8".into(),
        })?
        .to_owned();
    db.read(|c| match c {
        DbConnection::Sqlite(c) => diesel::sql_query("VACUUM INTO ?")
            .bind::<Text, _>(&partial_text)
            .execute(c)
            .map(|_| ()),
        DbConnection::Postgres(_) => Err(diesel::result::Error::QueryBuilderError(
            "a backup needs SQLite".into(),
        )),
    })?;
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(io(&partial))?;
    let cases = check(&partial_text)?;
    std::fs::rename(&partial, target).map_err(io(target))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename itself must survive a power cut too.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    let bytes = std::fs::metadata(target).map_err(io(target))?.len();
    Ok(Backup {
        path: target.to_owned(),
        bytes,
        cases,
    })
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// `PRAGMA integrity_check` on a copy; returns its number of cases.
fn check(path: &str) -> Result<i64, BackupError> {
    let mut c = SqliteConnection::establish(path)
        .map_err(|e| BackupError::Corrupt(format!("cannot open the copy: {e}")))?;
    c.batch_execute("PRAGMA query_only = ON;")
        .map_err(|e| BackupError::Corrupt(e.to_string()))?;
    let lines: Vec<Line> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut c)
        .map_err(|e| BackupError::Corrupt(e.to_string()))?;
    let verdict: Vec<String> = lines.into_iter().map(|l| l.integrity_check).collect();
    if verdict != ["ok"] {
        return Err(BackupError::Corrupt(verdict.join("; ")));
    }
    let count: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM cases")
        .get_result(&mut c)
        .map_err(|e| BackupError::Corrupt(e.to_string()))?;
    Ok(count.n)
}
