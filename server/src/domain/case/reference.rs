//! Case references and status-page tokens.
//!
//! The reference (`K7F-39Q`) is for people: short, readable over the phone, shown nowhere
//! without its token. The token makes the status link unguessable; it is derived from the
//! form render's nonce with the server key, so a double tap on "send" leads to the same
//! link, and only its hash is stored.

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::domain::sticker::codes::ALPHABET;

/// 31^6 ≈ 887 million references; uniqueness is still checked by the database.
pub fn new_reference() -> String {
    let mut rng = rand::rng();
    let mut pick = || char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]);
    let a: String = (0..3).map(|_| pick()).collect();
    let b: String = (0..3).map(|_| pick()).collect();
    format!("{a}-{b}")
}

/// References may be typed in lower case or without the dash.
pub fn normalize_reference(s: &str) -> Option<String> {
    let clean: String = s
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    (clean.len() == 6 && clean.bytes().all(|b| ALPHABET.contains(&b)))
        .then(|| format!("{}-{}", &clean[..3], &clean[3..]))
}

/// The token of a case's status page, from the render that made it.
pub fn status_token(key: &[u8], render_nonce: &str) -> String {
    crate::domain::signed_link::token(key, "status link", render_nonce)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_look_like_k7f_39q_and_read_back_however_typed() {
        let r = new_reference();
        assert_eq!(r.len(), 7);
        assert_eq!(&r[3..4], "-");
        assert_eq!(
            normalize_reference(&r.to_lowercase().replace('-', "")),
            Some(r.clone())
        );
        assert_eq!(
            normalize_reference("K0F-39Q"),
            None,
            "0 is not in the alphabet"
        );
        assert_eq!(normalize_reference("K7F-39"), None);
    }

    #[test]
    fn the_same_render_gives_the_same_token_and_another_render_another() {
        let key = b"k".repeat(32);
        assert_eq!(status_token(&key, "n1"), status_token(&key, "n1"));
        assert_ne!(status_token(&key, "n1"), status_token(&key, "n2"));
        assert_ne!(
            status_token(&key, "n1"),
            status_token(&b"j".repeat(32), "n1")
        );
        assert_eq!(status_token(&key, "n1").len(), 32);
    }
}
