//! The time the workers and signed links go by. It is the system clock, shifted by an
//! offset that only tests move: escalation after 15 minutes and links that expire after
//! days are tested by advancing the clock, not by waiting.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::NaiveDateTime;

#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Now, in UTC, at the microsecond precision both backends store.
    pub fn now(&self) -> NaiveDateTime {
        let offset = chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed));
        crate::db::models::now_utc() + offset
    }

    /// Moves this clock (and every copy of it) forward.
    pub fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_a_clock_moves_its_copies_too() {
        let clock = Clock::system();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(std::time::Duration::from_secs(16 * 60));
        let moved = copy.now() - before;
        assert!(moved >= chrono::Duration::minutes(16));
        assert!(moved < chrono::Duration::minutes(17));
    }
}
