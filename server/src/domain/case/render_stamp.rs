//! The signed stamp a form carries from render to post: when it was shown, and a nonce
//! that names this one render. A post sooner than the minimum is taken for a bot; an old
//! or forged stamp is refused; the nonce makes a double tap land on the same case.

use rand::RngCore;

use crate::domain::signed_link::{stamp_signature, stamp_signature_matches};

/// A form older than this is refused (the page was left open overnight).
pub const MAX_AGE_SECONDS: i64 = 24 * 60 * 60;

#[derive(Debug, Clone, PartialEq)]
pub struct Stamp {
    pub issued_at: i64,
    pub nonce: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampError {
    /// Missing, malformed, forged, or for another touchpoint.
    Invalid,
    TooFast,
    Expired,
}

/// A render's nonce: the time in microseconds, then 8 random bytes. The case keeps it
/// (`cases.render_nonce`, a unique index), and time first makes a rush's entries sort
/// together at the index's end instead of landing on a random page each: every page a
/// commit touches is written again, to SQLite's WAL or as a PostgreSQL full-page image.
/// The random half keeps renders of the same microsecond apart (a shared nonce would
/// put two customers on one case).
fn new_nonce() -> String {
    let micros = u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&micros.to_be_bytes());
    rand::rng().fill_bytes(&mut bytes[8..]);
    hex::encode(bytes)
}

pub fn issue(key: &[u8], touchpoint_code: &str, now: i64) -> String {
    let nonce = new_nonce();
    let sig = stamp_signature(key, touchpoint_code, now, &nonce);
    format!("{now}.{nonce}.{sig}")
}

pub fn verify(
    key: &[u8],
    touchpoint_code: &str,
    stamp: &str,
    now: i64,
    min_seconds: u32,
) -> Result<Stamp, StampError> {
    let mut parts = stamp.trim().splitn(3, '.');
    let (Some(t), Some(nonce), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(StampError::Invalid);
    };
    let issued_at: i64 = t.parse().map_err(|_| StampError::Invalid)?;
    if !stamp_signature_matches(key, touchpoint_code, issued_at, nonce, sig) {
        return Err(StampError::Invalid);
    }
    let age = now - issued_at;
    // A minute of clock skew between instances is forgiven.
    if !(-60..=MAX_AGE_SECONDS).contains(&age) {
        return Err(StampError::Expired);
    }
    if age < i64::from(min_seconds) {
        return Err(StampError::TooFast);
    }
    Ok(Stamp {
        issued_at,
        nonce: nonce.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_stamp_verifies_after_the_minimum_and_before_a_day() {
        let s = issue(KEY, "ABC", 1_000);
        assert_eq!(verify(KEY, "ABC", &s, 1_000, 2), Err(StampError::TooFast));
        let ok = verify(KEY, "ABC", &s, 1_003, 2).unwrap();
        assert_eq!(ok.issued_at, 1_000);
        assert_eq!(verify(KEY, "ABC", &s, 1_000, 0).unwrap().nonce, ok.nonce);
        assert_eq!(
            verify(KEY, "ABC", &s, 1_000 + MAX_AGE_SECONDS + 1, 2),
            Err(StampError::Expired)
        );
    }

    #[test]
    fn forged_or_moved_stamps_are_invalid() {
        let s = issue(KEY, "ABC", 1_000);
        assert_eq!(verify(KEY, "XYZ", &s, 1_010, 2), Err(StampError::Invalid));
        assert_eq!(
            verify(b"another key of thirty-two bytes!", "ABC", &s, 1_010, 2),
            Err(StampError::Invalid)
        );
        let older = s.replacen("1000", "900", 1);
        assert_eq!(
            verify(KEY, "ABC", &older, 1_010, 2),
            Err(StampError::Invalid)
        );
        for junk in ["", "1.2", "x.y.z", "1000.n.zz"] {
            assert_eq!(
                verify(KEY, "ABC", junk, 1_010, 2),
                Err(StampError::Invalid),
                "{junk}"
            );
        }
    }

    #[test]
    fn nonces_sort_by_when_the_form_was_shown() {
        let nonce = || {
            let s = verify(KEY, "ABC", &issue(KEY, "ABC", 1_000), 1_005, 2);
            s.map(|s| s.nonce).unwrap_or_default()
        };
        let first = nonce();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let (second, third) = (nonce(), nonce());
        assert_eq!(first.len(), 32);
        assert!(first < second, "{first} then {second}");
        assert_ne!(second, third);
    }
}
