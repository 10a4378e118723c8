//! The languages Mend speaks: one per catalog in `locales/{code}.yml`. Adding a language
//! is adding a file; its texts, its own name and how it writes dates and money are in it.

pub mod formats;

/// Why something a person sent was refused, as a catalog key and the values for its
/// placeholders: the page shows it in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
    /// Placeholders filled with another catalog text (a field's name), in the same language.
    pub labels: Vec<(&'static str, &'static str)>,
}

impl Refusal {
    pub fn new(key: &'static str) -> Refusal {
        Refusal {
            key,
            args: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Fills `name` with the catalog text of `label_key` in the reader's language.
    pub fn with_label(mut self, name: &'static str, label_key: &'static str) -> Refusal {
        self.labels.push((name, label_key));
        self
    }

    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Refusal {
        self.args.push((name, value.into()));
        self
    }

    pub fn text(&self, lang: Language) -> String {
        let labels: Vec<(&str, String)> = self
            .labels
            .iter()
            .map(|(k, key)| (*k, lang.text(key)))
            .collect();
        let args: Vec<(&str, &str)> = self
            .args
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain(labels.iter().map(|(k, v)| (*k, v.as_str())))
            .collect();
        lang.text_with(self.key, &args)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(Language::EN))
    }
}

/// A language Mend speaks: one of the catalogs in `locales/` (English first, then by
/// code), or the test-only pseudo language. Everything that differs between languages
/// lives in its catalog (texts, its name, the date length, where the currency goes), so a
/// language is added by adding its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Language(u8);

/// The catalogs compiled in, by code, English first.
static CODES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    let mut codes: Vec<String> = rust_i18n::available_locales!()
        .into_iter()
        .map(|c| c.into_owned())
        .collect();
    codes.sort_by_key(|c| (c != "en", c.clone()));
    codes.dedup();
    codes.truncate(usize::from(u8::MAX));
    codes
});

static ALL: std::sync::LazyLock<Vec<Language>> = std::sync::LazyLock::new(|| {
    (0..CODES.len())
        .filter_map(|i| u8::try_from(i).ok())
        .map(Language)
        .collect()
});

static NAMES: std::sync::LazyLock<Vec<String>> =
    std::sync::LazyLock::new(|| Language::all().map(|l| l.text("language.name")).collect());

/// A test language, off unless [`enable_pseudo`] was called (`MEND_PSEUDO_LOCALE`):
/// English with every catalog text marked ⟦like this⟧, so a test can find the text on a
/// page that did not come from the catalogs. Never offered to anyone, not in `all()`.
static PSEUDO_ENABLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Lets the tag `qps` (the pseudo language) be chosen, as any other language is.
pub fn enable_pseudo() {
    PSEUDO_ENABLED.store(true, std::sync::atomic::Ordering::Relaxed);
}

pub const PSEUDO_OPEN: char = '⟦';
pub const PSEUDO_CLOSE: char = '⟧';

impl Language {
    /// English, the fallback of every catalog.
    pub const EN: Language = Language(0);
    pub const PSEUDO: Language = Language(u8::MAX);

    /// Every language with a catalog, English first.
    pub fn all() -> impl ExactSizeIterator<Item = Language> + Clone {
        ALL.iter().copied()
    }

    pub fn code(self) -> &'static str {
        if self == Language::PSEUDO {
            return "qps";
        }
        CODES.get(usize::from(self.0)).map_or("en", String::as_str)
    }

    /// Accepts a language tag such as `ko`, `ko-KR` or `PL`; None for languages we lack.
    pub fn parse(tag: &str) -> Option<Language> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        if primary == "qps" && PSEUDO_ENABLED.load(std::sync::atomic::Ordering::Relaxed) {
            return Some(Language::PSEUDO);
        }
        Language::all().find(|l| l.code() == primary)
    }

    /// The language whose CLDR formats this one uses (the pseudo language's are English).
    pub fn formats_of(self) -> Language {
        if self == Language::PSEUDO {
            Language::EN
        } else {
            self
        }
    }

    /// Marks a formatted text in the pseudo language; as it is in every other.
    pub fn mark(self, text: String) -> String {
        if self == Language::PSEUDO {
            format!("{PSEUDO_OPEN}{text}{PSEUDO_CLOSE}")
        } else {
            text
        }
    }

    /// The location's language, or English when it names one we do not have.
    pub fn or_default(tag: &str) -> Language {
        Language::parse(tag).unwrap_or(Language::EN)
    }

    /// The catalog text for `key` in this language.
    pub fn text(self, key: &str) -> String {
        if self == Language::PSEUDO {
            let english = Language::EN.text(key);
            // A key with no text stays as it is, as it does in every language (labels
            // fall back to what a manager typed).
            return if english == key {
                english
            } else {
                self.mark(english)
            };
        }
        rust_i18n::t!(key, locale = self.code()).into_owned()
    }

    /// A sentence with a count in it, by this language's plural rules (`{key}.one`, ...),
    /// with `%{count}` and the other placeholders filled.
    pub fn count_with(self, key: &str, n: u64, args: &[(&str, &str)]) -> String {
        args.iter().fold(self.count(key, n), |text, (name, value)| {
            text.replace(&format!("%{{{name}}}"), value)
        })
    }

    /// [`Language::count`] of a length.
    /// (Templates pass their values by reference.)
    pub fn count_n(self, key: &str, n: impl std::borrow::Borrow<usize>) -> String {
        self.count(key, u64::try_from(*n.borrow()).unwrap_or(u64::MAX))
    }

    /// A count in words, by this language's plural rules: the catalog has `{key}.one`,
    /// `.few`, `.many`, `.other` as the language needs, with `%{count}` in them.
    pub fn count(self, key: &str, n: u64) -> String {
        let category = crate::domain::language::formats::plural_category(self.formats_of(), n);
        let exact = format!("{key}.{category}");
        let text = self.text(&exact);
        let text = if text == exact {
            self.text(&format!("{key}.other"))
        } else {
            text
        };
        let number = crate::domain::language::formats::number(
            self.formats_of(),
            i64::try_from(n).unwrap_or(i64::MAX),
        );
        text.replace("%{count}", &number)
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

    /// The language switch's choices: (code, name in itself, chosen).
    pub fn switch_choices(self) -> Vec<(&'static str, &'static str, bool)> {
        Language::all()
            .map(|l| (l.code(), l.native_name(), l == self))
            .collect()
    }

    /// Every language as (code, name in itself), for a choice of language.
    pub fn choices() -> Vec<(&'static str, &'static str)> {
        Language::all()
            .map(|l| (l.code(), l.native_name()))
            .collect()
    }

    /// The name of the language in itself (its catalog's `language.name`).
    pub fn native_name(self) -> &'static str {
        if self == Language::PSEUDO {
            return "⟦Pseudo⟧";
        }
        NAMES
            .get(usize::from(self.0))
            .map_or("English", String::as_str)
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
        let english = catalog(Language::EN);
        assert!(!english.is_empty());
        for lang in Language::all() {
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
        for key in catalog(Language::EN) {
            for lang in Language::all() {
                let text = lang.text(&key);
                assert!(
                    !text.is_empty() && text != key,
                    "{key} missing in {}",
                    lang.code()
                );
            }
            // Formats and currency symbols may well agree between languages.
            if key.starts_with("format.") || key.starts_with("currency_symbol.") {
                continue;
            }
            assert_ne!(
                Language::parse("ko").unwrap().text(&key),
                Language::EN.text(&key),
                "{key} not translated to ko"
            );
        }
    }

    /// Adding a language is adding its catalog: every file in `locales/` is a language
    /// with its own name, English first, and there is no other list of them.
    #[test]
    fn the_languages_are_the_catalog_files() {
        let dir = format!("{}/../locales", env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".yml")
                    .map(str::to_owned)
            })
            .collect();
        files.sort();
        let mut codes: Vec<&str> = Language::all().map(|l| l.code()).collect();
        assert_eq!(codes[0], "en");
        codes.sort_unstable();
        assert_eq!(codes, files);
        let names: std::collections::BTreeSet<&str> =
            Language::all().map(|l| l.native_name()).collect();
        assert_eq!(names.len(), files.len(), "each language has its own name");
        assert_eq!(
            Language::parse("ko").map(|l| l.native_name()),
            Some("한국어")
        );
    }

    #[test]
    fn the_query_wins_then_the_browser_by_preference_then_the_location() {
        assert_eq!(
            Language::negotiate(Some("ja"), Some("ko"), "pl"),
            Language::parse("ja").unwrap()
        );
        assert_eq!(
            Language::negotiate(Some("xx"), Some("de, ko;q=0.5, pl;q=0.8"), "en"),
            Language::parse("pl").unwrap()
        );
        assert_eq!(
            Language::negotiate(None, Some("de-DE, fr;q=0.9"), "ko"),
            Language::parse("ko").unwrap()
        );
        assert_eq!(
            Language::negotiate(None, Some("ja;q=0"), "pl"),
            Language::parse("pl").unwrap()
        );
        assert_eq!(Language::negotiate(None, None, "unknown"), Language::EN);
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            Language::EN.text_with("form.where", &[("store", "Café"), ("spot", "Till 2")]),
            "At Café · Till 2"
        );
    }

    #[test]
    fn tags_are_read_by_their_primary_language() {
        assert_eq!(
            Language::parse("ko-KR"),
            Some(Language::parse("ko").unwrap())
        );
        assert_eq!(Language::parse("PL"), Some(Language::parse("pl").unwrap()));
        assert_eq!(
            Language::parse("ja_JP"),
            Some(Language::parse("ja").unwrap())
        );
        assert_eq!(Language::parse("de"), None);
        assert_eq!(Language::or_default("xx"), Language::EN);
    }
    /// What the timeline and the delivery log build from a stored kind exists in every
    /// language: a new kind without its words fails here, not on a page.
    #[test]
    fn every_stored_kind_has_its_words_in_every_language() {
        use crate::db::states::{
            EventKind, MailKind, Role, TokenScope, WebhookEvent, WebhookFormat, WebhookStop,
        };
        for lang in Language::all() {
            let keys = catalog(lang);
            let missing: Vec<String> = EventKind::ALL
                .iter()
                .map(|k| format!("event.{k}"))
                .chain(MailKind::ALL.iter().map(|k| format!("mail_kind.{k}")))
                .chain(Role::ALL.iter().map(|k| format!("role.{k}")))
                .chain(
                    crate::db::states::WebhookEvent::ALL
                        .iter()
                        .map(|k| format!("webhook.title.{}", k.as_str().replace('.', "_"))),
                )
                .chain(
                    WebhookEvent::ALL
                        .iter()
                        .map(|k| format!("integrations.event.{}", k.as_str().replace('.', "_"))),
                )
                .chain(
                    WebhookFormat::ALL
                        .iter()
                        .map(|k| format!("integrations.format.{}", k.as_str().replace('-', "_"))),
                )
                .chain(
                    TokenScope::ALL
                        .iter()
                        .map(|k| format!("integrations.scope.{k}")),
                )
                .chain(
                    WebhookStop::ALL
                        .iter()
                        .map(|k| format!("integrations.stopped.{k}")),
                )
                .filter(|key| !keys.contains(key))
                .collect();
            assert!(missing.is_empty(), "{}: {missing:?}", lang.code());
        }
    }

    /// Every text of the catalogs is used somewhere: named in the code or a template, or in
    /// a section whose keys are built from data (a category, an event kind, a plural form).
    #[test]
    fn no_catalog_key_is_unused() {
        fn sources(dir: &std::path::Path, out: &mut String) {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path
                    .extension()
                    .is_some_and(|e| e == "rs" || e == "html" || e == "txt")
                {
                    out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut code = String::new();
        sources(&root.join("server/src"), &mut code);
        sources(&root.join("templates"), &mut code);
        sources(&root.join("kiosk/src"), &mut code);
        // Sections whose keys are made from stored values: `{section}.{key}`.
        const BUILT_FROM_DATA: &[&str] = &[
            "category.",
            "root_cause.",
            "compensation_type.",
            "event.",
            "mail_kind.",
            "role.",
            "log.",
            "export_column.",
            "currency_symbol.",
            "webhook.title.",
            "integrations.event.",
            "integrations.format.",
            "integrations.scope.",
            "integrations.stopped.",
            "integrations.miss.",
        ];
        let mut unused = Vec::new();
        for key in catalog(Language::EN) {
            if BUILT_FROM_DATA.iter().any(|p| key.starts_with(p)) {
                continue;
            }
            // A plural form is used through its stem: `count("stickers.count", n)`.
            let stem = ["one", "few", "many", "other"]
                .iter()
                .find_map(|form| key.strip_suffix(&format!(".{form}")))
                .unwrap_or(&key);
            let last = stem.rsplit('.').next().unwrap_or(stem);
            let quoted = |k: &str| code.contains(&format!("\"{k}\""));
            // Some keys are named by their section and last part apart (`text(&format!(
            // "{section}.{key}"))` with a literal `"key"` nearby): accept the last part as
            // a string literal only when the section is named too.
            let section = stem.rsplit_once('.').map_or("", |(s, _)| s);
            let by_parts =
                quoted(last) && !section.is_empty() && code.contains(&format!("\"{section}"));
            if !quoted(stem) && !by_parts {
                unused.push(key);
            }
        }
        assert!(unused.is_empty(), "keys no code uses: {unused:#?}");
    }
}
