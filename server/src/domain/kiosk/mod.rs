//! The in-store kiosk: its taps (here), the hand-off of an unhappy tap to a phone
//! (`handoff`) and the alert when unhappy taps pile up (`unhappy_taps`).
//!
//! In-store kiosks, the server's side: registering a device (its token is shown once and
//! only its hash is kept), checking a batch of taps, and storing it exactly once per
//! idempotency key. A batch is all or nothing: one bad tap refuses the batch, with the
//! index of the culprit and a machine-readable code, and nothing of it is stored.

pub mod handoff;
pub mod unhappy_taps;

use chrono::{DateTime, Duration, NaiveDateTime};
use rand::RngCore;
use serde::Deserialize;

use crate::db::models::{new_id, KioskDevice, KioskRating};
use crate::db::queries::{kiosks, locations};
use crate::db::{Db, DbConnection, DbError};
use crate::domain::case::reference::token_hash;

/// Taps in one batch, at most: a kiosk back online sends its backlog in batches.
pub const MAX_BATCH: usize = 500;
/// A kiosk's clock may run this far ahead of the server's.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);
/// Older taps are refused: a kiosk offline longer than this has lost track of time, and a
/// tap "from year 1" would only bend the figures.
pub const MAX_TAP_AGE: Duration = Duration::days(90);
/// A bearer token's prefix, so a leaked one is recognisable in logs and scanners.
const TOKEN_PREFIX: &str = "mk_";

/// A new device token: 32 random bytes, hex, prefixed.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

#[derive(Debug, thiserror::Error)]
pub enum KioskAdminError {
    #[error("no location is named \"{0}\"")]
    NoSuchLocation(String),
    #[error("{0}")]
    Invalid(String),
    #[error("a kiosk needs a name of 1 to 80 characters")]
    BadName,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for KioskAdminError {
    fn from(e: diesel::result::Error) -> Self {
        KioskAdminError::Db(e.into())
    }
}

/// Registers a kiosk at the location of that name; returns the device and its token
/// (shown once).
pub fn register(
    db: &Db,
    location_name: &str,
    name: &str,
    now: NaiveDateTime,
) -> Result<(KioskDevice, String), KioskAdminError> {
    let location = db
        .read(|c| locations::find_by_name(c, location_name))?
        .ok_or_else(|| KioskAdminError::NoSuchLocation(location_name.to_owned()))?;
    register_at(db, &location.id, name, now)
}

/// Registers a kiosk at a location (by id).
pub fn register_at(
    db: &Db,
    location_id: &str,
    name: &str,
    now: NaiveDateTime,
) -> Result<(KioskDevice, String), KioskAdminError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(KioskAdminError::BadName);
    }
    let token = new_token();
    let device = db.write(|c| -> Result<KioskDevice, KioskAdminError> {
        let device = KioskDevice {
            id: new_id(),
            location_id: location_id.to_owned(),
            name: name.to_owned(),
            token_hash: token_hash(&token),
            created_at: now,
            last_seen_at: None,
            revoked_at: None,
            buffered: 0,
            version: None,
        };
        kiosks::insert(c, &device)?;
        Ok(device)
    })?;
    Ok((device, token))
}

/// A kiosk counts as online when it was heard from this recently (kiosks send a
/// heartbeat every minute).
pub const ONLINE_WITHIN: Duration = Duration::minutes(3);

pub fn is_online(device: &KioskDevice, now: NaiveDateTime) -> bool {
    device.revoked_at.is_none()
        && device
            .last_seen_at
            .is_some_and(|t| now - t <= ONLINE_WITHIN)
}

/// Why a request from a kiosk was refused; `code` is what the kiosk acts on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KioskApiError {
    #[error("no valid device token")]
    Unauthorized,
    #[error("this device's token was revoked")]
    Revoked,
    #[error("the body is not the JSON expected: {0}")]
    MalformedJson(String),
    #[error("a batch holds at most {MAX_BATCH} taps")]
    BatchTooLarge,
    #[error("tap {index}: {detail}")]
    InvalidTap { index: usize, detail: String },
}

impl KioskApiError {
    pub fn code(&self) -> &'static str {
        match self {
            KioskApiError::Unauthorized => "unauthorized",
            KioskApiError::Revoked => "revoked",
            KioskApiError::MalformedJson(_) => "malformed_json",
            KioskApiError::BatchTooLarge => "batch_too_large",
            KioskApiError::InvalidTap { .. } => "invalid_tap",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TapBatch {
    pub taps: Vec<TapIn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TapIn {
    /// The tap's idempotency key: a UUIDv7 made on the kiosk.
    pub key: String,
    /// 1 (very unhappy) to 4 (very happy).
    pub rating: i64,
    /// RFC 3339, with an offset.
    pub tapped_at: String,
}

/// A tap that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Tap {
    pub key: String,
    pub rating: i32,
    pub tapped_at: NaiveDateTime,
}

/// A tap's idempotency key, hyphenated, if it is a UUIDv7.
pub fn tap_key(key: &str) -> Option<String> {
    uuid::Uuid::parse_str(key)
        .ok()
        .filter(|k| k.get_version_num() == 7)
        .map(|k| k.hyphenated().to_string())
}

/// Checks a batch; the first bad tap refuses it all.
pub fn check_batch(batch: TapBatch, now: NaiveDateTime) -> Result<Vec<Tap>, KioskApiError> {
    if batch.taps.len() > MAX_BATCH {
        return Err(KioskApiError::BatchTooLarge);
    }
    batch
        .taps
        .into_iter()
        .enumerate()
        .map(|(index, t)| {
            let bad = |detail: &str| KioskApiError::InvalidTap {
                index,
                detail: detail.to_owned(),
            };
            let key = tap_key(&t.key).ok_or_else(|| bad("key must be a UUIDv7"))?;
            let rating = i32::try_from(t.rating)
                .ok()
                .filter(|r| (1..=4).contains(r))
                .ok_or_else(|| bad("rating must be 1 to 4"))?;
            let tapped_at = DateTime::parse_from_rfc3339(&t.tapped_at)
                .map_err(|_| bad("tapped_at must be an RFC 3339 time with an offset"))?
                .naive_utc();
            if tapped_at > now + CLOCK_SKEW {
                return Err(bad("tapped_at is in the future"));
            }
            if tapped_at < now - MAX_TAP_AGE {
                return Err(bad("tapped_at is too long ago"));
            }
            Ok(Tap {
                key,
                rating,
                tapped_at,
            })
        })
        .collect()
}

/// The device a bearer token belongs to, if it is valid and not revoked.
/// The device a token names. A failed lookup is the database's error, never the token's:
/// a kiosk told "unauthorized" takes itself for revoked and pauses for minutes, while a
/// database hiccup should only be retried.
pub fn authenticate(
    c: &mut DbConnection,
    token: &str,
) -> diesel::QueryResult<Result<KioskDevice, KioskApiError>> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
        return Ok(Err(KioskApiError::Unauthorized));
    }
    Ok(match kiosks::find_by_token_hash(c, &token_hash(token))? {
        Some(d) if d.revoked_at.is_some() => Err(KioskApiError::Revoked),
        Some(d) => Ok(d),
        None => Err(KioskApiError::Unauthorized),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Recorded {
    pub accepted: usize,
    /// Taps sent before (the same key): already stored, not stored again.
    pub duplicates: usize,
}

/// Stores a checked batch for a device; run inside one transaction. Unhappy taps that
/// are new may set off the location's alert (in the same transaction).
pub fn record(
    c: &mut DbConnection,
    device: &KioskDevice,
    taps: &[Tap],
    now: NaiveDateTime,
) -> Result<Recorded, DbError> {
    let mut accepted = 0;
    let mut new_unhappy = Vec::new();
    for t in taps {
        let row = KioskRating {
            id: new_id(),
            device_id: device.id.clone(),
            location_id: device.location_id.clone(),
            rating: t.rating,
            idempotency_key: t.key.clone(),
            tapped_at: t.tapped_at,
            received_at: now,
        };
        if kiosks::insert_tap(c, &row)? {
            accepted += 1;
            if t.rating <= unhappy_taps::UNHAPPY_MAX_RATING {
                new_unhappy.push(t.tapped_at);
            }
        }
    }
    kiosks::seen(c, &device.id, now, None)?;
    unhappy_taps::check(c, &device.location_id, new_unhappy, now)?;
    Ok(Recorded {
        accepted,
        duplicates: taps.len() - accepted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .unwrap()
            .naive_utc()
    }

    fn tap(key: &str, rating: i64, at: &str) -> TapIn {
        TapIn {
            key: key.into(),
            rating,
            tapped_at: at.into(),
        }
    }

    const V7: &str = "019ab5a0-7c1e-7d2a-9b3c-0123456789ab";

    #[test]
    fn a_good_batch_passes_with_times_in_utc() {
        let taps = check_batch(
            TapBatch {
                taps: vec![tap(V7, 4, "2026-11-23T13:00:00+01:00")],
            },
            now(),
        )
        .unwrap();
        assert_eq!(taps[0].tapped_at, now());
        assert_eq!(taps[0].rating, 4);
    }

    #[test]
    fn one_bad_tap_refuses_the_batch_naming_it() {
        let cases = [
            (tap("not-a-uuid", 1, "2026-11-23T12:00:00Z"), "UUIDv7"),
            (
                tap(
                    "6f1c5d2e-8a4b-4c3d-9e2f-0123456789ab",
                    1,
                    "2026-11-23T12:00:00Z",
                ),
                "UUIDv7",
            ),
            (tap(V7, 5, "2026-11-23T12:00:00Z"), "rating"),
            (tap(V7, 0, "2026-11-23T12:00:00Z"), "rating"),
            (tap(V7, 2, "2026-11-23 12:00"), "RFC 3339"),
            (tap(V7, 2, "2026-11-23T12:06:00Z"), "future"),
            (tap(V7, 2, "0001-01-01T00:00:00Z"), "too long ago"),
            (tap(V7, 2, "2026-08-01T00:00:00Z"), "too long ago"),
        ];
        for (bad, word) in cases {
            let batch = TapBatch {
                taps: vec![tap(V7, 3, "2026-11-23T11:00:00Z"), bad],
            };
            match check_batch(batch, now()) {
                Err(KioskApiError::InvalidTap { index: 1, detail }) => {
                    assert!(detail.contains(word), "{detail}")
                }
                other => panic!("{word}: {other:?}"),
            }
        }
        let skewed = TapBatch {
            taps: vec![tap(V7, 2, "2026-11-23T12:04:00Z")],
        };
        assert!(
            check_batch(skewed, now()).is_ok(),
            "a little clock skew is fine"
        );
    }

    #[test]
    fn batches_are_bounded_and_tokens_are_prefixed_and_random() {
        let many = TapBatch {
            taps: (0..=MAX_BATCH)
                .map(|_| tap(V7, 1, "2026-11-23T12:00:00Z"))
                .collect(),
        };
        assert_eq!(check_batch(many, now()), Err(KioskApiError::BatchTooLarge));
        let (a, b) = (new_token(), new_token());
        assert!(a.starts_with("mk_") && a.len() == 67);
        assert_ne!(a, b);
    }
}
