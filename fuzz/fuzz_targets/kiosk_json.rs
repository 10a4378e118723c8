//! A kiosk's batch of taps: any body is either refused as malformed JSON, refused with a
//! named bad tap, or yields taps within the rules; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mend_server::domain::kiosk::{check_batch, TapBatch};

fuzz_target!(|data: &[u8]| {
    let Ok(batch) = serde_json::from_slice::<TapBatch>(data) else {
        return;
    };
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
        .map(|t| t.naive_utc())
        .unwrap_or_default();
    if let Ok(taps) = check_batch(batch, now) {
        for tap in taps {
            assert!((1..=4).contains(&tap.rating));
            assert!(tap.tapped_at <= now + mend_server::domain::kiosk::CLOCK_SKEW);
        }
    }
});
