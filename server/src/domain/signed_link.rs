//! Every HMAC Mend makes with the server key lives here, in three shapes:
//! - signed links that act without a login (acknowledge from an alert, a password link):
//!   what they are for, about whom, and until when ([`sign`], [`verify`]); a changed part
//!   or a passed expiry makes the link refuse;
//! - tokens that name one thing for good (a survey, a status page, an unsubscribe
//!   address): [`token`], 128 bits, checked with [`token_matches`];
//! - the stamp a form carries from render to post ([`stamp_signature`], checked with
//!   [`stamp_signature_matches`]).
//!
//! The bytes each shape signs are fixed: links and tokens already mailed keep working.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// HMAC-SHA256 over `message` with the server key (HMAC takes a key of any length).
fn hmac(key: &[u8], message: &[&[u8]]) -> Option<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    for part in message {
        mac.update(part);
    }
    Some(mac)
}

/// A token for `subject` under `label` (`survey`, `status link`, `unsubscribe`): the first
/// 16 bytes of the HMAC of `mend {label}|{subject}`, in hex.
pub fn token(key: &[u8], label: &str, subject: &str) -> String {
    hmac(key, &[b"mend ", label.as_bytes(), b"|", subject.as_bytes()])
        .map(|m| hex::encode(&m.finalize().into_bytes()[..16]))
        .unwrap_or_default()
}

/// Whether `candidate` is the token of `subject`, without an early exit: timing does not
/// reveal how much matched.
pub fn token_matches(key: &[u8], label: &str, subject: &str, candidate: &str) -> bool {
    bool::from(
        token(key, label, subject)
            .as_bytes()
            .ct_eq(candidate.trim().as_bytes()),
    )
}

/// The signature (hex) of a form's render stamp: `mend form|{form}|{issued_at}|{nonce}`.
pub fn stamp_signature(key: &[u8], form: &str, issued_at: i64, nonce: &str) -> String {
    let message = format!("mend form|{form}|{issued_at}|{nonce}");
    hmac(key, &[message.as_bytes()])
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

pub fn stamp_signature_matches(
    key: &[u8],
    form: &str,
    issued_at: i64,
    nonce: &str,
    signature: &str,
) -> bool {
    let Ok(sig) = hex::decode(signature) else {
        return false;
    };
    let message = format!("mend form|{form}|{issued_at}|{nonce}");
    hmac(key, &[message.as_bytes()]).is_some_and(|m| m.verify_slice(&sig).is_ok())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    /// Forged, altered, or for something else.
    Invalid,
    Expired,
}

fn mac(key: &[u8], purpose: &str, parts: &[&str], expires: i64) -> Option<Hmac<Sha256>> {
    let mut mac = hmac(key, &[purpose.as_bytes()])?;
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

    /// The values an independent HMAC (Python's `hmac`) gives for the same inputs: tokens
    /// already in customers' mailboxes must keep matching.
    #[test]
    fn tokens_and_stamps_keep_the_bytes_already_mailed() {
        assert_eq!(
            token(KEY, "survey", "abc"),
            "9b8d02d4f40ff926fe6133dc3619ba3a"
        );
        assert_eq!(
            token(KEY, "status link", "n1"),
            "a33057581d0788c509eb2faaa07cb7e3"
        );
        assert_eq!(
            token(KEY, "unsubscribe", "a@b.co"),
            "ce53bd30238315f7e8ca7968bb9031ce"
        );
        let stamp = "6deeaf5d452fff930d5f2fc949721b461946139cf1f2d79daa583189ed554145";
        assert_eq!(stamp_signature(KEY, "T1", 1000, "ab"), stamp);
        assert!(stamp_signature_matches(KEY, "T1", 1000, "ab", stamp));
        assert!(!stamp_signature_matches(KEY, "T1", 1001, "ab", stamp));
        assert!(!stamp_signature_matches(KEY, "T1", 1000, "ab", "zz"));
        assert!(token_matches(
            KEY,
            "survey",
            "abc",
            "9b8d02d4f40ff926fe6133dc3619ba3a"
        ));
        assert!(!token_matches(
            KEY,
            "survey",
            "abd",
            "9b8d02d4f40ff926fe6133dc3619ba3a"
        ));
        assert!(!token_matches(KEY, "survey", "abc", ""));
    }

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
