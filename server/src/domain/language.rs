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
    fn tags_are_read_by_their_primary_language() {
        assert_eq!(Language::parse("ko-KR"), Some(Language::Ko));
        assert_eq!(Language::parse("PL"), Some(Language::Pl));
        assert_eq!(Language::parse("ja_JP"), Some(Language::Ja));
        assert_eq!(Language::parse("de"), None);
        assert_eq!(Language::or_default("xx"), Language::En);
    }
}
