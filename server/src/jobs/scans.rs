//! Scan counts are gathered in memory and written every few seconds in one transaction:
//! a form view must not cost a durable write (on SQLite, writes take turns). A crash loses
//! at most the last few seconds of counts, which are statistics, never a customer's words.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use crate::db::queries::scans;
use crate::db::{Db, DbError};

pub const FLUSH_EVERY: Duration = Duration::from_secs(5);
/// One visitor at one spot counts once in this window: reloading the form, or a script
/// fetching it 300 times, is not 300 customers.
pub const SAME_VISITOR_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Visitors remembered at most; beyond it the oldest are forgotten first.
const MAX_REMEMBERED: usize = 200_000;

#[derive(Default)]
pub struct ScanCounter {
    pending: Mutex<HashMap<(String, NaiveDate), u32>>,
    /// (spot, visitor) -> when last counted.
    seen: Mutex<HashMap<(String, String), Instant>>,
}

impl ScanCounter {
    /// Counts a view of a spot's form by `visitor` (their device cookie, else their
    /// network), unless the same visitor was counted there within the window. True when
    /// counted.
    pub fn record(&self, touchpoint_id: &str, day: NaiveDate, visitor: &str) -> bool {
        self.record_at(touchpoint_id, day, visitor, Instant::now())
    }

    fn record_at(&self, touchpoint_id: &str, day: NaiveDate, visitor: &str, now: Instant) -> bool {
        {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            let key = (touchpoint_id.to_owned(), visitor.to_owned());
            if seen
                .get(&key)
                .is_some_and(|at| now.duration_since(*at) < SAME_VISITOR_WINDOW)
            {
                return false;
            }
            if seen.len() >= MAX_REMEMBERED {
                seen.retain(|_, at| now.duration_since(*at) < SAME_VISITOR_WINDOW);
                if seen.len() >= MAX_REMEMBERED {
                    seen.clear();
                }
            }
            seen.insert(key, now);
        }
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        *pending.entry((touchpoint_id.to_owned(), day)).or_insert(0) += 1;
        true
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_counts_once_per_spot_per_window() {
        let counter = ScanCounter::default();
        let day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default();
        let t0 = Instant::now();
        assert!(counter.record_at("spot-a", day, "device-1", t0));
        for _ in 0..300 {
            assert!(!counter.record_at("spot-a", day, "device-1", t0));
        }
        assert!(
            counter.record_at("spot-b", day, "device-1", t0),
            "another spot"
        );
        assert!(
            counter.record_at("spot-a", day, "device-2", t0),
            "another visitor"
        );
        assert!(
            counter.record_at("spot-a", day, "device-1", t0 + SAME_VISITOR_WINDOW),
            "after the window"
        );
        let pending = counter.pending.lock().unwrap();
        assert_eq!(pending[&("spot-a".to_owned(), day)], 3);
    }
}
