//! The values a store, a spot or a person is made of, parsed once: a value of these types
//! is valid by construction. Errors name the field and the problem, and are shown in the
//! reader's language (catalog keys `setup.field.*` and `setup.problem.*`).

use crate::db::states::Role;
use crate::db::DbError;
use crate::domain::language::Language;

/// Longest store name, spot label, address or region we keep (characters).
pub const MAX_NAME_CHARS: usize = 120;
/// Longest external reference (characters).
pub const MAX_REF_CHARS: usize = 64;
/// A response promise longer than a week is not a promise.
pub const MAX_SLA_MINUTES: i32 = 7 * 24 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Empty,
    TooLong,
    UnknownTimeZone,
    UnknownLanguage,
    UnknownCurrency,
    UnknownRole,
    NotANumber,
    OutOfRange,
    NotAnEmail,
    DuplicateRef,
    DuplicateName,
    UnknownStore,
    NeedsStore,
    NotYours,
    PasswordTooShort,
    AlreadySetUp,
    MissingColumn,
    Unreadable,
    Conflicting,
    TooMany,
    Repeated,
    NotADate,
    NotOffered,
    TooFar,
    BadPeriod,
    NotAUrl,
    PrivateAddress,
    Unresolvable,
}

impl Problem {
    fn key(self) -> &'static str {
        match self {
            Problem::Empty => "empty",
            Problem::TooLong => "too_long",
            Problem::UnknownTimeZone => "unknown_time_zone",
            Problem::UnknownLanguage => "unknown_language",
            Problem::UnknownCurrency => "unknown_currency",
            Problem::UnknownRole => "unknown_role",
            Problem::NotANumber => "not_a_number",
            Problem::OutOfRange => "out_of_range",
            Problem::NotAnEmail => "not_an_email",
            Problem::DuplicateRef => "duplicate_ref",
            Problem::DuplicateName => "duplicate_name",
            Problem::UnknownStore => "unknown_store",
            Problem::NeedsStore => "needs_store",
            Problem::NotYours => "not_yours",
            Problem::PasswordTooShort => "password_too_short",
            Problem::AlreadySetUp => "already_set_up",
            Problem::MissingColumn => "missing_column",
            Problem::Unreadable => "unreadable",
            Problem::Conflicting => "conflicting",
            Problem::TooMany => "too_many",
            Problem::Repeated => "repeated",
            Problem::NotADate => "not_a_date",
            Problem::NotOffered => "not_offered",
            Problem::TooFar => "too_far",
            Problem::BadPeriod => "bad_period",
            Problem::NotAUrl => "not_a_url",
            Problem::PrivateAddress => "private_address",
            Problem::Unresolvable => "unresolvable",
        }
    }
}

/// One field's problem: `field` is its name in files and on the command line
/// (`time_zone`, `currency`...), `value` what was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub problem: Problem,
    pub value: String,
}

impl FieldError {
    pub fn new(field: &'static str, problem: Problem, value: &str) -> FieldError {
        FieldError {
            field,
            problem,
            value: value.chars().take(80).collect(),
        }
    }

    /// "Time zone: "Mars/Base" is not a time zone (use an IANA name such as Asia/Seoul)."
    pub fn message(&self, lang: Language) -> String {
        let field = lang.text(&format!("setup.field.{}", self.field));
        lang.text_with(
            &format!("setup.problem.{}", self.problem.key()),
            &[("field", &field), ("value", &self.value)],
        )
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message(Language::EN))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0}")]
    Invalid(FieldError),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Password(#[from] crate::domain::account::password::PasswordError),
}

impl From<diesel::result::Error> for SetupError {
    fn from(e: diesel::result::Error) -> Self {
        SetupError::Db(e.into())
    }
}

impl From<FieldError> for SetupError {
    fn from(e: FieldError) -> Self {
        SetupError::Invalid(e)
    }
}

/// A name or label: trimmed, not empty, not too long, no control characters.
pub fn name(field: &'static str, raw: &str) -> Result<String, FieldError> {
    let v: String = raw.trim().chars().filter(|c| !c.is_control()).collect();
    if v.is_empty() {
        return Err(FieldError::new(field, Problem::Empty, raw));
    }
    if v.chars().count() > MAX_NAME_CHARS {
        return Err(FieldError::new(field, Problem::TooLong, raw));
    }
    Ok(v)
}

/// An optional text: empty means none.
pub fn optional(field: &'static str, raw: Option<&str>) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => name(field, v).map(Some),
    }
}

pub fn external_ref(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.chars().count() > MAX_REF_CHARS => {
            Err(FieldError::new("ref", Problem::TooLong, v))
        }
        Some(v) if v.chars().any(char::is_control) => {
            Err(FieldError::new("ref", Problem::Empty, v))
        }
        Some(v) => Ok(Some(v.to_owned())),
    }
}

/// An IANA time zone name, as chrono-tz knows it ("Asia/Seoul").
pub fn time_zone(raw: &str) -> Result<String, FieldError> {
    let v = raw.trim();
    v.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_owned())
        .map_err(|_| FieldError::new("time_zone", Problem::UnknownTimeZone, raw))
}

pub fn language(raw: &str) -> Result<Language, FieldError> {
    let v = raw.trim();
    // Only the codes themselves: "ko-KR" is a browser's tag, not a store's setting.
    Language::all()
        .find(|l| l.code().eq_ignore_ascii_case(v))
        .ok_or_else(|| FieldError::new("language", Problem::UnknownLanguage, raw))
}

/// An ISO 4217 code that rusty-money knows (with its real minor unit).
pub fn currency(raw: &str) -> Result<String, FieldError> {
    let v = raw.trim().to_ascii_uppercase();
    rusty_money::iso::find(&v)
        .map(|c| c.iso_alpha_code.to_owned())
        .ok_or_else(|| FieldError::new("currency", Problem::UnknownCurrency, raw))
}

pub fn role(raw: &str) -> Result<Role, FieldError> {
    Role::parse(&raw.trim().to_ascii_lowercase())
        .ok_or_else(|| FieldError::new("role", Problem::UnknownRole, raw))
}

pub fn sla_minutes(raw: &str) -> Result<i32, FieldError> {
    let n: i32 = raw
        .trim()
        .parse()
        .map_err(|_| FieldError::new("sla_minutes", Problem::NotANumber, raw))?;
    if !(1..=MAX_SLA_MINUTES).contains(&n) {
        return Err(FieldError::new("sla_minutes", Problem::OutOfRange, raw));
    }
    Ok(n)
}

pub fn email(raw: &str) -> Result<String, FieldError> {
    crate::domain::case::complaint::ContactEmail::parse(raw)
        .map(|e| e.as_str().to_owned())
        .map_err(|_| FieldError::new("email", Problem::NotAnEmail, raw))
}

/// The currency a new store gets when none is given: the one of its time zone's country
/// for the languages Mend speaks, else the euro.
pub fn default_currency(time_zone: &str) -> &'static str {
    match time_zone {
        "Asia/Seoul" => "KRW",
        "Asia/Tokyo" => "JPY",
        "Europe/Warsaw" => "PLN",
        tz if tz.starts_with("America/") => "USD",
        "Europe/London" => "GBP",
        _ => "EUR",
    }
}

/// Digits after the decimal point in this currency: KRW and JPY have none.
pub fn minor_digits(currency: &str) -> u32 {
    use rusty_money::FormattableCurrency;
    rusty_money::iso::find(currency).map_or(2, |c| c.exponent())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_languages_and_currencies_are_checked_against_real_lists() {
        assert_eq!(time_zone(" Asia/Seoul ").unwrap(), "Asia/Seoul");
        assert_eq!(
            time_zone("Mars/Base").unwrap_err().problem,
            Problem::UnknownTimeZone
        );
        assert_eq!(language("KO").unwrap(), Language::parse("ko").unwrap());
        assert!(language("ko-KR").is_err());
        assert!(language("de").is_err());
        assert_eq!(currency("krw").unwrap(), "KRW");
        assert_eq!(
            currency("XYZ").unwrap_err().problem,
            Problem::UnknownCurrency
        );
        assert_eq!(minor_digits("KRW"), 0);
        assert_eq!(minor_digits("JPY"), 0);
        assert_eq!(minor_digits("PLN"), 2);
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("name", "  Café  ").unwrap(), "Café");
        assert_eq!(name("name", "   ").unwrap_err().problem, Problem::Empty);
        assert_eq!(
            name("name", &"x".repeat(121)).unwrap_err().problem,
            Problem::TooLong
        );
        assert_eq!(optional("region", Some("  ")).unwrap(), None);
        assert_eq!(sla_minutes("0").unwrap_err().problem, Problem::OutOfRange);
        assert_eq!(sla_minutes("abc").unwrap_err().problem, Problem::NotANumber);
    }

    #[test]
    fn errors_name_the_field_in_the_readers_language() {
        let e = FieldError::new("time_zone", Problem::UnknownTimeZone, "Mars/Base");
        assert!(e.to_string().starts_with("time_zone: "), "{e}");
        assert!(e.to_string().contains("Mars/Base"));
        let ko = e.message(Language::parse("ko").unwrap());
        assert!(ko.contains("Mars/Base") && !ko.contains("setup."), "{ko}");
    }
}
