//! The screen's languages: the same catalogs as the server (`locales/`), `kiosk.*` keys.

/// The languages: one per catalog compiled in, English first (adding a language is
/// adding its catalog file).
pub static CODES: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    let mut codes: Vec<&'static str> = rust_i18n::available_locales!()
        .into_iter()
        .map(|c| match c {
            std::borrow::Cow::Borrowed(c) => c,
            std::borrow::Cow::Owned(c) => &*Box::leak(c.into_boxed_str()),
        })
        .collect();
    codes.sort_by_key(|c| (*c != "en", *c));
    codes.dedup();
    codes
});

/// `ko`, `ko-KR`, `KO` -> `ko`; None for a language the catalogs lack.
pub fn parse(tag: &str) -> Option<&'static str> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    CODES.iter().copied().find(|c| *c == primary)
}

/// The name of a language in itself, for the switch (its catalog's `language.name`).
pub fn native_name(code: &str) -> String {
    text(code, "language.name")
}

pub fn text(lang: &str, key: &str) -> String {
    rust_i18n::t!(key, locale = lang).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_kiosk_text() {
        for lang in CODES.iter().copied() {
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
