//! The screen's languages: the same catalogs as the server (`locales/`), `kiosk.*` keys.

pub const CODES: [&str; 4] = ["en", "ko", "ja", "pl"];

/// `ko`, `ko-KR`, `KO` -> `ko`; None for a language the catalogs lack.
pub fn parse(tag: &str) -> Option<&'static str> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    CODES.into_iter().find(|c| *c == primary)
}

/// The name of a language in itself, for the switch.
pub fn native_name(code: &str) -> &'static str {
    match code {
        "ko" => "한국어",
        "ja" => "日本語",
        "pl" => "Polski",
        _ => "English",
    }
}

pub fn text(lang: &str, key: &str) -> String {
    rust_i18n::t!(key, locale = lang).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_kiosk_text() {
        for lang in CODES {
            for key in crate::screen::TEXT_KEYS {
                let text = text(lang, key);
                assert!(!text.is_empty() && text != *key, "{lang}: {key}");
            }
        }
        assert_ne!(text("ko", "kiosk.question"), text("en", "kiosk.question"));
    }

    #[test]
    fn tags_are_read_loosely_and_unknown_ones_refused() {
        assert_eq!(parse("ko-KR"), Some("ko"));
        assert_eq!(parse("PL"), Some("pl"));
        assert_eq!(parse("de"), None);
        assert_eq!(parse(""), None);
    }
}
