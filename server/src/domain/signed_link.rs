//! Links that act without a login (acknowledge from an alert, answer a survey): what they
//! are for, about whom, and until when, signed with the server key. A changed part or a
//! passed expiry makes the link refuse.

use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Forged, altered, or for something else.
    Invalid,
    Expired,
}

fn mac(key: &[u8], purpose: &str, parts: &[&str], expires: i64) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    mac.update(purpose.as_bytes());
    for part in parts {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") sign differently.
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac.update(&expires.to_be_bytes());
    Some(mac)
}

/// The signature (hex) of a link for `purpose` about `parts`, valid until `expires`
/// (Unix seconds).
pub fn sign(key: &[u8], purpose: &str, parts: &[&str], expires: i64) -> String {
    mac(key, purpose, parts, expires)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

pub fn verify(
    key: &[u8],
    purpose: &str,
    parts: &[&str],
    expires: i64,
    signature: &str,
    now: i64,
) -> Result<(), LinkError> {
    let sig = hex::decode(signature.trim()).map_err(|_| LinkError::Invalid)?;
    let m = mac(key, purpose, parts, expires).ok_or(LinkError::Invalid)?;
    m.verify_slice(&sig).map_err(|_| LinkError::Invalid)?;
    if now > expires {
        return Err(LinkError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_link_verifies_until_it_expires() {
        let sig = sign(KEY, "ack", &["K7F-39Q", "a@b.co"], 1_000);
        assert_eq!(
            verify(KEY, "ack", &["K7F-39Q", "a@b.co"], 1_000, &sig, 999),
            Ok(())
        );
        assert_eq!(
            verify(KEY, "ack", &["K7F-39Q", "a@b.co"], 1_000, &sig, 1_000),
            Ok(())
        );
        assert_eq!(
            verify(KEY, "ack", &["K7F-39Q", "a@b.co"], 1_000, &sig, 1_001),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn changing_any_part_purpose_expiry_or_key_invalidates_the_link() {
        let sig = sign(KEY, "ack", &["K7F-39Q", "a@b.co"], 1_000);
        let invalid = Err(LinkError::Invalid);
        assert_eq!(
            verify(KEY, "ack", &["K7F-39Q", "x@b.co"], 1_000, &sig, 0),
            invalid
        );
        assert_eq!(
            verify(KEY, "ack", &["K7F-39R", "a@b.co"], 1_000, &sig, 0),
            invalid
        );
        assert_eq!(
            verify(KEY, "survey", &["K7F-39Q", "a@b.co"], 1_000, &sig, 0),
            invalid
        );
        assert_eq!(
            verify(KEY, "ack", &["K7F-39Q", "a@b.co"], 9_999, &sig, 0),
            invalid
        );
        assert_eq!(
            verify(KEY, "ack", &["K7F-39Qa@b.co"], 1_000, &sig, 0),
            invalid
        );
        let other = b"another key, also at least 32 bytes long";
        assert_eq!(
            verify(other, "ack", &["K7F-39Q", "a@b.co"], 1_000, &sig, 0),
            invalid
        );
        assert_eq!(
            verify(KEY, "ack", &["K7F-39Q", "a@b.co"], 1_000, "zz", 0),
            invalid
        );
    }
}
