//! A complaint as the form sends it, parsed into values that are valid by construction.
//! Errors are catalog keys, so every message reaches the customer in their language.

use lettre::Address;

pub const MAX_TEXT_CHARS: usize = 2_000;

/// Offered when a location has not chosen its own list.
pub const DEFAULT_CATEGORIES: &[&str] = &[
    "cleanliness",
    "waiting_time",
    "staff",
    "product",
    "price",
    "other",
];

/// What the customer wrote. Trimmed, not empty, at most 2,000 characters.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplaintText(String);

impl ComplaintText {
    pub fn parse(s: &str) -> Result<ComplaintText, &'static str> {
        let s = s.trim();
        if s.is_empty() {
            return Err("error.body_empty");
        }
        if s.chars().count() > MAX_TEXT_CHARS {
            return Err("error.body_too_long");
        }
        Ok(ComplaintText(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An address we could write to: one mailbox, no display name, no header tricks.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactEmail(String);

impl ContactEmail {
    pub fn parse(s: &str) -> Result<ContactEmail, &'static str> {
        let s = s.trim();
        if s.len() > 254 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("error.email_invalid");
        }
        // A plain local part only (letters, digits and !#$%&'*+-/=?^_`{|}~.): a quoted one
        // such as "<script>"@x.example parses, but mail servers refuse it and it would
        // never be delivered.
        let local = s.rsplit_once('@').map_or(s, |(l, _)| l);
        if local.is_empty()
            || local.chars().any(|c| {
                c.is_ascii() && !c.is_ascii_alphanumeric() && !"!#$%&'*+-/=?^_`{|}~.".contains(c)
            })
        {
            return Err("error.email_invalid");
        }
        let address: Address = s.parse().map_err(|_| "error.email_invalid")?;
        // A domain without a dot is not reachable from the public internet.
        if !address.domain().contains('.') {
            return Err("error.email_invalid");
        }
        Ok(ContactEmail(address.to_string().to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A location's category list: its own, or the defaults.
pub fn categories_of(configured: Option<&str>) -> Vec<String> {
    list_or_default(configured, DEFAULT_CATEGORIES)
}

/// A comma-separated list a location chose, or the defaults when it chose none.
pub fn list_or_default(configured: Option<&str>, defaults: &[&str]) -> Vec<String> {
    let own: Vec<String> = configured
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    if own.is_empty() {
        defaults.iter().map(|c| (*c).to_owned()).collect()
    } else {
        own
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Category,
    Body,
    Email,
    Photo,
}

/// What the form sent, as text.
#[derive(Debug, Clone, Default)]
pub struct ComplaintForm {
    pub category: String,
    pub body: String,
    pub email: String,
    pub consent: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Complaint {
    pub category: String,
    pub text: ComplaintText,
    pub contact: Option<ContactEmail>,
    /// Only ever true with a contact.
    pub consent: bool,
}

/// Every problem at once, so the customer fixes them in one go.
pub fn validate(
    form: &ComplaintForm,
    categories: &[String],
) -> Result<Complaint, Vec<(Field, &'static str)>> {
    let mut errors = Vec::new();
    let category = form.category.trim();
    if !categories.iter().any(|c| c == category) {
        errors.push((Field::Category, "error.category_unknown"));
    }
    let text = ComplaintText::parse(&form.body)
        .map_err(|e| errors.push((Field::Body, e)))
        .ok();
    let contact = if form.email.trim().is_empty() {
        None
    } else {
        ContactEmail::parse(&form.email)
            .map_err(|e| errors.push((Field::Email, e)))
            .ok()
    };
    match text {
        Some(text) if errors.is_empty() => Ok(Complaint {
            category: category.to_owned(),
            text,
            consent: form.consent && contact.is_some(),
            contact,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(category: &str, body: &str, email: &str) -> ComplaintForm {
        ComplaintForm {
            category: category.into(),
            body: body.into(),
            email: email.into(),
            consent: true,
        }
    }

    fn defaults() -> Vec<String> {
        categories_of(None)
    }

    #[test]
    fn a_good_complaint_is_trimmed_and_kept() {
        let c = validate(
            &form("staff", "  rude at till 2 \n", " Guest@Example.COM "),
            &defaults(),
        )
        .unwrap();
        assert_eq!(c.text.as_str(), "rude at till 2");
        assert_eq!(c.contact.unwrap().as_str(), "guest@example.com");
        assert!(c.consent);
    }

    #[test]
    fn text_must_be_there_and_at_most_2000_characters() {
        assert_eq!(ComplaintText::parse(" \n\t"), Err("error.body_empty"));
        assert!(
            ComplaintText::parse(&"가".repeat(2_000)).is_ok(),
            "characters, not bytes"
        );
        assert_eq!(
            ComplaintText::parse(&"a".repeat(2_001)),
            Err("error.body_too_long")
        );
    }

    #[test]
    fn bad_emails_are_refused_including_header_injection() {
        for bad in [
            "not-an-email",
            "a@b",
            "a@@b.com",
            "x@example.com\r\nBcc: victim@example.com",
            "Guest <g@example.com>",
            "two@example.com, three@example.com",
            // Parses, but no mail server takes it.
            "\"<script>\"@x.example",
            "\"quoted local\"@example.com",
        ] {
            assert_eq!(
                ContactEmail::parse(bad),
                Err("error.email_invalid"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let errors = validate(&form("bananas", "", "nope"), &defaults()).unwrap_err();
        let fields: Vec<Field> = errors.iter().map(|e| e.0).collect();
        assert_eq!(fields, vec![Field::Category, Field::Body, Field::Email]);
    }

    #[test]
    fn consent_without_an_email_means_nothing() {
        let c = validate(&form("other", "cold coffee", ""), &defaults()).unwrap();
        assert!(c.contact.is_none() && !c.consent);
    }

    #[test]
    fn a_location_may_have_its_own_categories() {
        assert_eq!(
            categories_of(Some("fuel, car wash ,")),
            vec!["fuel", "car wash"]
        );
        assert_eq!(categories_of(Some(" , ")), defaults());
    }
}
