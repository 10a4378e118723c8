//! The kiosk's handoff: after an unhappy tap the kiosk shows a QR code of a link to the
//! store's complaint form, signed by the server, valid for a few minutes, and good for
//! one complaint, which is then tagged with the tap. The customer tells the rest on their
//! own phone, away from the counter.
//!
//! The link is `/t/{code}?h={tap key}.{expires}.{signature}`. A forged or altered link
//! is refused; an expired or already used one opens the plain form (the customer can
//! still complain, the complaint is just not tagged).

use chrono::{Duration, NaiveDateTime};

use crate::db::models::{KioskDevice, Location, Touchpoint};
use crate::db::queries::{locations, touchpoints};
use crate::db::DbConnection;
use crate::domain::signed_link::{self, LinkError};

const PURPOSE: &str = "kiosk handoff";
/// Long enough to take out a phone and scan; the form itself then lasts a day.
pub const VALID_FOR: Duration = Duration::minutes(10);

/// The store a kiosk stands in, and the touchpoint its screen and handoffs point to:
/// the spot chosen for the kiosk while it is in use, else the store's first spot in use.
pub fn kiosk_place(
    c: &mut DbConnection,
    device: &KioskDevice,
) -> diesel::QueryResult<Option<(Location, Option<Touchpoint>)>> {
    let Some(location) = locations::find(c, &device.location_id)? else {
        return Ok(None);
    };
    let in_use = crate::domain::setup::spots::in_use(c, &location.id)?;
    let chosen = crate::db::queries::kiosks::touchpoint_of(c, &device.id)?;
    let spot = chosen
        .and_then(|id| in_use.iter().find(|s| s.id == id))
        .or_else(|| in_use.first());
    let touchpoint = match spot {
        Some(s) => touchpoints::find(c, &s.id)?,
        None => None,
    };
    Ok(Some((location, touchpoint)))
}

pub fn form_url(base_url: &str, code: &str) -> String {
    format!("{base_url}/t/{code}")
}

/// The signed `h` value for a tap at a touchpoint.
pub fn sign(key: &[u8], code: &str, tap_key: &str, now: NaiveDateTime) -> String {
    let expires = (now + VALID_FOR).and_utc().timestamp();
    let sig = signed_link::sign(key, PURPOSE, &[code, tap_key], expires);
    format!("{tap_key}.{expires}.{sig}")
}

/// The tap key a handoff value carries, if it is genuine for this touchpoint and was
/// still valid at `at` (Unix seconds).
pub fn verify(key: &[u8], code: &str, h: &str, at: i64) -> Result<String, LinkError> {
    let mut parts = h.trim().splitn(3, '.');
    let (Some(tap_key), Some(expires), Some(sig)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(LinkError::Invalid);
    };
    let tap_key = uuid::Uuid::parse_str(tap_key)
        .map_err(|_| LinkError::Invalid)?
        .hyphenated()
        .to_string();
    let expires: i64 = expires.parse().map_err(|_| LinkError::Invalid)?;
    signed_link::verify(key, PURPOSE, &[code, &tap_key], expires, sig, at)?;
    Ok(tap_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const TAP: &str = "019ab2c4-7e00-7000-8000-000000000001";

    fn at(s: &str) -> NaiveDateTime {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().naive_utc()
    }

    #[test]
    fn a_handoff_verifies_for_its_touchpoint_until_it_expires() {
        let now = at("2026-11-23T12:00:00Z");
        let h = sign(KEY, "ABCDEFGHJK", TAP, now);
        let t = now.and_utc().timestamp();
        assert_eq!(verify(KEY, "ABCDEFGHJK", &h, t).as_deref(), Ok(TAP));
        assert_eq!(
            verify(KEY, "ABCDEFGHJK", &h, t + 10 * 60 + 1),
            Err(LinkError::Expired)
        );
        assert_eq!(verify(KEY, "ZZZZZZZZZZ", &h, t), Err(LinkError::Invalid));
    }

    #[test]
    fn altered_handoffs_are_invalid() {
        let now = at("2026-11-23T12:00:00Z");
        let t = now.and_utc().timestamp();
        let h = sign(KEY, "ABCDEFGHJK", TAP, now);
        let other_tap = h.replacen("0001", "0002", 1);
        let later = {
            let mut p: Vec<String> = h.split('.').map(str::to_owned).collect();
            p[1] = (p[1].parse::<i64>().unwrap() + 3600).to_string();
            p.join(".")
        };
        for bad in [
            other_tap.as_str(),
            later.as_str(),
            "",
            "x.y.z",
            "<script>",
            TAP,
        ] {
            assert_eq!(
                verify(KEY, "ABCDEFGHJK", bad, t),
                Err(LinkError::Invalid),
                "{bad}"
            );
        }
    }
}
