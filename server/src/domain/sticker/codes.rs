//! Touchpoint short codes: printed under each sticker's QR code, so they must be easy to
//! read aloud and type, yet unguessable.

use rand::Rng;

/// No 0/O, 1/I/L: the characters people misread on a printed sticker.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// 31^10 is about 2^49.5 codes: well past the 40 bits that make guessing pointless.
pub const LENGTH: usize = 10;

pub fn new_touchpoint_code() -> String {
    let mut rng = rand::rng();
    (0..LENGTH)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Bits of randomness in one code.
pub fn entropy_bits() -> f64 {
    LENGTH as f64 * (ALPHABET.len() as f64).log2()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_carry_at_least_40_bits_and_no_confusable_characters() {
        assert!(entropy_bits() >= 40.0);
        for _ in 0..1_000 {
            let code = new_touchpoint_code();
            assert_eq!(code.len(), LENGTH);
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{code}");
            assert!(code.bytes().all(|b| ALPHABET.contains(&b)));
        }
    }

    #[test]
    fn codes_do_not_repeat() {
        let codes: std::collections::HashSet<String> =
            (0..10_000).map(|_| new_touchpoint_code()).collect();
        assert_eq!(codes.len(), 10_000);
    }
}
