//! Scan counts are gathered in memory and written every few seconds in one transaction:
//! a form view must not cost a durable write (on SQLite, writes take turns). A crash loses
//! at most the last few seconds of counts, which are statistics, never a customer's words.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::NaiveDate;

use crate::db::queries::scans;
use crate::db::{Db, DbError};

pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct ScanCounter {
    pending: Mutex<HashMap<(String, NaiveDate), u32>>,
}

impl ScanCounter {
    pub fn record(&self, touchpoint_id: &str, day: NaiveDate) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        *pending.entry((touchpoint_id.to_owned(), day)).or_insert(0) += 1;
    }

    /// Writes what was counted; on failure the counts are kept for the next try.
    pub fn flush(&self, db: &Db) -> Result<(), DbError> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() {
            return Ok(());
        }
        let written = db.write(|c| -> Result<(), DbError> {
            for ((tp, day), n) in &batch {
                scans::add(c, tp, *day, *n)?;
            }
            Ok(())
        });
        if written.is_err() {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            for (k, n) in batch {
                *pending.entry(k).or_insert(0) += n;
            }
        }
        written
    }
}
