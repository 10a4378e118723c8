//! The languages Mend speaks. Each has a catalog in `locales/{code}.yml`; adding a language
//! is adding a file and a line here.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    En,
    Ko,
    Ja,
    Pl,
}

impl Language {
    pub const ALL: [Language; 4] = [Language::En, Language::Ko, Language::Ja, Language::Pl];

    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ko => "ko",
            Language::Ja => "ja",
            Language::Pl => "pl",
        }
    }

    /// Accepts a language tag such as `ko`, `ko-KR` or `PL`; None for languages we lack.
    pub fn parse(tag: &str) -> Option<Language> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        Language::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The location's language, or English when it names one we do not have.
    pub fn or_default(tag: &str) -> Language {
        Language::parse(tag).unwrap_or(Language::En)
    }

    /// The catalog text for `key` in this language.
    pub fn text(self, key: &str) -> String {
        rust_i18n::t!(key, locale = self.code()).into_owned()
    }

    /// The catalog text with `%{name}` placeholders filled in.
    pub fn text_with(self, key: &str, args: &[(&str, &str)]) -> String {
        args.iter().fold(self.text(key), |text, (name, value)| {
            text.replace(&format!("%{{{name}}}"), value)
        })
    }

    /// A category's name; a location's own category has no catalog entry and is shown as
    /// written.
    pub fn category_label(self, key: &str) -> String {
        self.catalog_or_as_written("category", key)
    }

    /// A root cause's name: the catalogs have the defaults; a store's own causes are typed
    /// by its manager, in words, and shown as written.
    pub fn root_cause_label(self, key: &str) -> String {
        self.catalog_or_as_written("root_cause", key)
    }

    /// A kind of compensation (apology, refund, ...), in this language.
    pub fn compensation_label(self, key: &str) -> String {
        self.catalog_or_as_written("compensation_type", key)
    }

    fn catalog_or_as_written(self, section: &str, key: &str) -> String {
        let label_key = format!("{section}.{key}");
        let label = self.text(&label_key);
        if label == label_key {
            key.to_owned()
        } else {
            label
        }
    }

    /// The name of the language in itself, for the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::En => "English",
            Language::Ko => "한국어",
            Language::Ja => "日本語",
            Language::Pl => "Polski",
        }
    }

    /// The customer's language: `?lang=` first, then the browser's `Accept-Language`
    /// (by preference), then the location's own.
    pub fn negotiate(
        query: Option<&str>,
        accept_language: Option<&str>,
        location_default: &str,
    ) -> Language {
        if let Some(l) = query.and_then(Language::parse) {
            return l;
        }
        if let Some(header) = accept_language {
            let mut offered: Vec<(f32, usize, Language)> = header
                .split(',')
                .enumerate()
                .filter_map(|(i, part)| {
                    let mut bits = part.split(';');
                    let lang = Language::parse(bits.next()?)?;
                    let q = bits
                        .find_map(|b| b.trim().strip_prefix("q="))
                        .and_then(|q| q.parse::<f32>().ok())
                        .unwrap_or(1.0);
                    (q > 0.0).then_some((q, i, lang))
                })
                .collect();
            offered.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            if let Some((_, _, l)) = offered.first() {
                return *l;
            }
        }
        Language::or_default(location_default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(prefix: &str, value: &serde_yaml::Value, out: &mut BTreeSet<String>) {
        match value {
            serde_yaml::Value::Mapping(map) => {
                for (k, v) in map {
                    let k = k.as_str().unwrap_or_default();
                    let full = if prefix.is_empty() {
                        k.to_owned()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    keys(&full, v, out);
                }
            }
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }

    fn catalog(lang: Language) -> BTreeSet<String> {
        let path = format!(
            "{}/../locales/{}.yml",
            env!("CARGO_MANIFEST_DIR"),
            lang.code()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let value: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let mut out = BTreeSet::new();
        keys("", &value, &mut out);
        out
    }

    #[test]
    fn every_catalog_has_every_key_of_the_english_one_and_no_other() {
        let english = catalog(Language::En);
        assert!(!english.is_empty());
        for lang in Language::ALL {
            assert_eq!(
                catalog(lang),
                english,
                "catalog {} differs from en",
                lang.code()
            );
        }
    }

    #[test]
    fn every_key_is_translated_in_every_language() {
        for key in catalog(Language::En) {
            for lang in Language::ALL {
                let text = lang.text(&key);
                assert!(
                    !text.is_empty() && text != key,
                    "{key} missing in {}",
                    lang.code()
                );
            }
            assert_ne!(
                Language::Ko.text(&key),
                Language::En.text(&key),
                "{key} not translated to ko"
            );
        }
    }

    #[test]
    fn the_query_wins_then_the_browser_by_preference_then_the_location() {
        assert_eq!(
            Language::negotiate(Some("ja"), Some("ko"), "pl"),
            Language::Ja
        );
        assert_eq!(
            Language::negotiate(Some("xx"), Some("de, ko;q=0.5, pl;q=0.8"), "en"),
            Language::Pl
        );
        assert_eq!(
            Language::negotiate(None, Some("de-DE, fr;q=0.9"), "ko"),
            Language::Ko
        );
        assert_eq!(
            Language::negotiate(None, Some("ja;q=0"), "pl"),
            Language::Pl
        );
        assert_eq!(Language::negotiate(None, None, "unknown"), Language::En);
    }

    #[test]
    fn every_default_root_cause_and_compensation_has_a_label_and_a_stores_own_shows_as_typed() {
        use crate::domain::case_workflow::{COMPENSATION_TYPES, DEFAULT_ROOT_CAUSES};
        for lang in Language::ALL {
            for key in DEFAULT_ROOT_CAUSES {
                assert_ne!(lang.root_cause_label(key), *key, "{}", lang.code());
            }
            for key in COMPENSATION_TYPES {
                assert_ne!(lang.compensation_label(key), *key, "{}", lang.code());
            }
        }
        assert_eq!(Language::Ko.root_cause_label("staffing"), "인력 배치");
        assert_eq!(Language::Ja.compensation_label("refund"), "返金");
        assert_eq!(Language::Ko.root_cause_label("broken till"), "broken till");
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            Language::En.text_with("form.where", &[("store", "Café"), ("spot", "Till 2")]),
            "At Café · Till 2"
        );
    }

    #[test]
    fn tags_are_read_by_their_primary_language() {
        assert_eq!(Language::parse("ko-KR"), Some(Language::Ko));
        assert_eq!(Language::parse("PL"), Some(Language::Pl));
        assert_eq!(Language::parse("ja_JP"), Some(Language::Ja));
        assert_eq!(Language::parse("de"), None);
        assert_eq!(Language::or_default("xx"), Language::En);
    }
}
