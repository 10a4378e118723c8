//! "What would make this right for you?": asked on the status page and in the receipt,
//! never on the complaint form. One answer per case, which the customer may change until
//! the case is resolved; each answer is a timeline event.

use chrono::NaiveDateTime;

use crate::db::models::{Case, CaseEvent, CaseWish};
use crate::db::queries::{cases, recovery};
use crate::db::states::{EventKind, Wish};
use crate::db::{DbConnection, DbError};
use crate::domain::language::{Language, Refusal};

/// Long enough for "a call after 6 pm on 010-…", short enough to read at a glance.
pub const MAX_WISH_TEXT: usize = 500;

/// The choices in the order a customer sees them.
pub const CHOICES: &[Wish] = &[
    Wish::Replacement,
    Wish::Refund,
    Wish::Apology,
    Wish::CallBack,
    Wish::JustFix,
    Wish::Nothing,
    Wish::Other,
];

/// A wish's label in `lang` (`wish.{kind}`).
pub fn label(lang: Language, wish: Wish) -> String {
    lang.text(&format!("wish.{wish}"))
}

/// "What would make it right for them" as a label in a table (the catalog's text ends
/// with a colon for running text).
pub fn heading(lang: Language) -> String {
    lang.text("wish.staff_heading")
        .trim_end_matches([':', '：'])
        .to_owned()
}

/// The customer's answer in one line: their choice, and their words in quotes.
pub fn said(lang: Language, wish: &CaseWish) -> String {
    let choice = label(lang, wish.kind);
    match &wish.text {
        Some(t) => format!("{choice} — “{t}”"),
        None => choice,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WishInput {
    pub kind: Wish,
    pub text: Option<String>,
}

/// The form's two fields, checked: a choice from the list, and words that fit (needed for
/// "something else").
pub fn parse(kind: &str, text: &str) -> Result<WishInput, Refusal> {
    let kind = Wish::parse(kind.trim()).ok_or_else(|| Refusal::new("wish.choose"))?;
    let text = text.trim();
    if text.chars().count() > MAX_WISH_TEXT {
        return Err(Refusal::new("wish.too_long").with("max", MAX_WISH_TEXT.to_string()));
    }
    if text.is_empty() && kind == Wish::Other {
        return Err(Refusal::new("wish.say_what"));
    }
    Ok(WishInput {
        kind,
        text: (!text.is_empty()).then(|| text.to_owned()),
    })
}

#[derive(Debug)]
pub enum WishError {
    /// Resolved or erased: the question is closed.
    Closed,
    Db(DbError),
}

impl From<diesel::result::Error> for WishError {
    fn from(e: diesel::result::Error) -> Self {
        WishError::Db(e.into())
    }
}

impl From<DbError> for WishError {
    fn from(e: DbError) -> Self {
        WishError::Db(e)
    }
}

/// Records the customer's answer (or their changed one) with an event, in one
/// transaction; the same answer again changes nothing. Their words stay in `case_wishes`
/// only, so erasing them there erases them everywhere.
pub fn give(
    c: &mut DbConnection,
    case_id: &str,
    input: &WishInput,
    now: NaiveDateTime,
) -> Result<(), WishError> {
    // Read inside the write: a resolution that just landed closes the question.
    let case: Case = cases::find(c, case_id)?.ok_or(WishError::Closed)?;
    if case.resolved_at.is_some() || case.erased_at.is_some() {
        return Err(WishError::Closed);
    }
    if let Some(before) = recovery::wish_of(c, case_id)? {
        if before.kind == input.kind && before.text == input.text {
            return Ok(());
        }
    }
    recovery::put_wish(
        c,
        &CaseWish {
            case_id: case_id.to_owned(),
            kind: input.kind,
            text: input.text.clone(),
            given_at: now,
        },
    )?;
    let event = CaseEvent::new(
        case_id,
        None,
        EventKind::WishGiven,
        serde_json::json!({ "kind": input.kind, "with_words": input.text.is_some() }),
        now,
    );
    cases::add_event(c, &event)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wish_is_a_choice_from_the_list_with_words_that_fit() {
        assert_eq!(
            parse("replacement", "  ").unwrap(),
            WishInput {
                kind: Wish::Replacement,
                text: None
            }
        );
        assert_eq!(
            parse("call_back", " after 6 pm ").unwrap().text.as_deref(),
            Some("after 6 pm")
        );
        assert!(parse("money", "").is_err());
        assert!(parse("", "").is_err());
        assert!(parse("other", "").is_err(), "something else: say what");
        assert!(parse("other", "a seat by the window").is_ok());
        assert!(parse("refund", &"가".repeat(MAX_WISH_TEXT)).is_ok());
        assert!(parse("refund", &"가".repeat(MAX_WISH_TEXT + 1)).is_err());
    }

    #[test]
    fn every_choice_has_a_label_in_every_language() {
        for lang in Language::all() {
            for wish in CHOICES {
                assert_ne!(
                    label(lang, *wish),
                    format!("wish.{wish}"),
                    "{}",
                    lang.code()
                );
            }
        }
        assert_eq!(CHOICES.len(), Wish::ALL.len());
    }
}
