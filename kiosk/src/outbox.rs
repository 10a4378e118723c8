//! The kiosk's own SQLite file: every tap is committed here, durably (WAL with
//! `synchronous=FULL`: the commit has reached the disk), before the screen thanks the
//! customer. A tap leaves only once the server has acknowledged it, so a restart, a power
//! cut or a week without network loses nothing; the server stores each key once, so a tap
//! sent twice (the acknowledgement was lost) counts once.

use std::path::Path;
use std::sync::Mutex;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

mod schema {
    diesel::table! {
        taps (seq) {
            seq -> BigInt,
            key -> Text,
            rating -> Integer,
            tapped_at_ms -> BigInt,
        }
    }

    diesel::table! {
        rejected_taps (key) {
            key -> Text,
            rating -> Integer,
            tapped_at_ms -> BigInt,
            reason -> Text,
        }
    }

    diesel::table! {
        settings (name) {
            name -> Text,
            value -> Text,
        }
    }
}

use schema::{rejected_taps, settings, taps};

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("the outbox database {path}: {detail}")]
    Open { path: String, detail: String },
    #[error("the outbox database: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("the outbox database is unusable after an earlier failure")]
    Poisoned,
}

/// A tap waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = taps)]
pub struct PendingTap {
    pub seq: i64,
    /// Its idempotency key: a UUIDv7, made when the tap was recorded.
    pub key: String,
    pub rating: i32,
    /// Unix milliseconds by the kiosk's clock.
    pub tapped_at_ms: i64,
}

#[derive(Insertable)]
#[diesel(table_name = taps)]
struct NewTap<'a> {
    key: &'a str,
    rating: i32,
    tapped_at_ms: i64,
}

/// One connection behind a lock: a kiosk has one customer at a time and one sync loop,
/// and every statement here takes well under a millisecond besides the commit itself.
pub struct Outbox {
    conn: Mutex<SqliteConnection>,
}

impl Outbox {
    /// Opens (creating if needed) the outbox file and brings its tables up to date.
    pub fn open(path: &Path) -> Result<Outbox, OutboxError> {
        let open_error = |detail: String| OutboxError::Open {
            path: path.display().to_string(),
            detail,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_error(e.to_string()))?;
        }
        let url = path
            .to_str()
            .ok_or_else(|| open_error("the path is not UTF-8".into()))?;
        let mut conn = SqliteConnection::establish(url).map_err(|e| open_error(e.to_string()))?;
        // FULL: a commit returns only when the WAL is on the disk, so the thank-you the
        // customer sees means the tap survives a power cut.
        conn.batch_execute(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
        )
        .map_err(|e| open_error(e.to_string()))?;
        conn.run_pending_migrations(MIGRATIONS)
            .map_err(|e| open_error(e.to_string()))?;
        Ok(Outbox {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut SqliteConnection) -> QueryResult<T>,
    ) -> Result<T, OutboxError> {
        let mut conn = self.conn.lock().map_err(|_| OutboxError::Poisoned)?;
        Ok(f(&mut conn)?)
    }

    /// Records a tap durably and returns it with its new key.
    pub fn record(&self, rating: i32, tapped_at_ms: i64) -> Result<PendingTap, OutboxError> {
        let key = new_key(tapped_at_ms);
        self.with(|c| {
            diesel::insert_into(taps::table)
                .values(NewTap {
                    key: &key,
                    rating,
                    tapped_at_ms,
                })
                .returning(PendingTap::as_returning())
                .get_result(c)
        })
    }

    /// The oldest taps not yet acknowledged, at most `limit`.
    pub fn pending(&self, limit: usize) -> Result<Vec<PendingTap>, OutboxError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            taps::table
                .order(taps::seq.asc())
                .limit(limit)
                .select(PendingTap::as_select())
                .load(c)
        })
    }

    /// Forgets taps the server has stored.
    pub fn acknowledge(&self, seqs: &[i64]) -> Result<(), OutboxError> {
        self.with(|c| {
            diesel::delete(taps::table.filter(taps::seq.eq_any(seqs)))
                .execute(c)
                .map(|_| ())
        })
    }

    /// Moves a tap the server refused as invalid out of the queue, keeping it.
    pub fn reject(&self, tap: &PendingTap, reason: &str) -> Result<(), OutboxError> {
        self.with(|c| {
            c.transaction(|c| {
                diesel::insert_into(rejected_taps::table)
                    .values((
                        rejected_taps::key.eq(&tap.key),
                        rejected_taps::rating.eq(tap.rating),
                        rejected_taps::tapped_at_ms.eq(tap.tapped_at_ms),
                        rejected_taps::reason.eq(reason),
                    ))
                    .on_conflict_do_nothing()
                    .execute(c)?;
                diesel::delete(taps::table.filter(taps::seq.eq(tap.seq))).execute(c)?;
                Ok(())
            })
        })
    }

    /// Taps waiting to be sent.
    pub fn buffered(&self) -> Result<i64, OutboxError> {
        self.with(|c| taps::table.count().get_result(c))
    }

    /// Taps the server refused for good.
    pub fn rejected(&self) -> Result<i64, OutboxError> {
        self.with(|c| rejected_taps::table.count().get_result(c))
    }

    pub fn setting(&self, name: &str) -> Result<Option<String>, OutboxError> {
        self.with(|c| {
            settings::table
                .filter(settings::name.eq(name))
                .select(settings::value)
                .first(c)
                .optional()
        })
    }

    pub fn set_setting(&self, name: &str, value: &str) -> Result<(), OutboxError> {
        self.with(|c| {
            diesel::insert_into(settings::table)
                .values((settings::name.eq(name), settings::value.eq(value)))
                .on_conflict(settings::name)
                .do_update()
                .set(settings::value.eq(value))
                .execute(c)
                .map(|_| ())
        })
    }
}

/// A UUIDv7 for a tap at that time: unique across kiosks, and ordered by time, which
/// keeps the server's index on keys append-mostly.
fn new_key(tapped_at_ms: i64) -> String {
    let ms = u64::try_from(tapped_at_ms).unwrap_or(0);
    let ts =
        uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, ((ms % 1000) * 1_000_000) as u32);
    uuid::Uuid::new_v7(ts).hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox() -> (tempfile::TempDir, Outbox) {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(&dir.path().join("kiosk.sqlite")).unwrap();
        (dir, outbox)
    }

    #[test]
    fn taps_wait_in_order_until_acknowledged() {
        let (_dir, outbox) = outbox();
        let a = outbox.record(1, 1_000).unwrap();
        let b = outbox.record(4, 2_000).unwrap();
        let c = outbox.record(2, 3_000).unwrap();
        assert_ne!(a.key, b.key);
        assert_eq!(outbox.pending(2).unwrap(), vec![a.clone(), b.clone()]);
        outbox.acknowledge(&[a.seq, b.seq]).unwrap();
        assert_eq!(outbox.pending(10).unwrap(), vec![c]);
        assert_eq!(outbox.buffered().unwrap(), 1);
    }

    #[test]
    fn keys_are_uuid_v7_carrying_the_tap_time() {
        let (_dir, outbox) = outbox();
        let tap = outbox.record(3, 1_763_900_000_123).unwrap();
        let key = uuid::Uuid::parse_str(&tap.key).unwrap();
        assert_eq!(key.get_version_num(), 7);
        let (secs, nanos) = key.get_timestamp().unwrap().to_unix();
        assert_eq!((secs, nanos / 1_000_000), (1_763_900_000, 123));
    }

    #[test]
    fn taps_survive_closing_and_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kiosk.sqlite");
        let tap = Outbox::open(&path).unwrap().record(2, 5).unwrap();
        let reopened = Outbox::open(&path).unwrap();
        assert_eq!(reopened.pending(10).unwrap(), vec![tap]);
    }

    #[test]
    fn a_rejected_tap_leaves_the_queue_but_is_kept() {
        let (_dir, outbox) = outbox();
        let bad = outbox.record(1, 10).unwrap();
        let good = outbox.record(2, 20).unwrap();
        outbox.reject(&bad, "tapped_at is in the future").unwrap();
        outbox.reject(&bad, "twice is harmless").unwrap();
        assert_eq!(outbox.pending(10).unwrap(), vec![good]);
        assert_eq!(outbox.rejected().unwrap(), 1);
    }

    #[test]
    fn settings_are_kept_and_replaced() {
        let (_dir, outbox) = outbox();
        assert_eq!(outbox.setting("language").unwrap(), None);
        outbox.set_setting("language", "ko").unwrap();
        outbox.set_setting("language", "ja").unwrap();
        assert_eq!(outbox.setting("language").unwrap().as_deref(), Some("ja"));
    }
}
