//! Short texts a store keeps per language to start a message to the customer from: an
//! apology, and "I'm on it". Staff edit them before sending; the customer reads them in
//! their own language, whatever language the staff member works in.

use crate::db::queries::recovery;
use crate::db::DbConnection;
use crate::domain::language::{Language, Refusal};

/// The kinds of reply text, by their key (`reply.{kind}` in the catalogs holds the default).
pub const KINDS: &[&str] = &["apology", "on_it"];
/// A starting point, not a letter.
pub const MAX_REPLY: usize = 600;

/// The text of `kind` in `lang` for this store: its own, else the default.
pub fn text(
    c: &mut DbConnection,
    location_id: &str,
    kind: &str,
    lang: Language,
) -> diesel::QueryResult<String> {
    Ok(match recovery::reply(c, location_id, kind, lang.code())? {
        Some(own) => own,
        None => default(kind, lang),
    })
}

/// Its name on a button or a field.
pub fn label(lang: Language, kind: &str) -> String {
    lang.text(match kind {
        "on_it" => "reply.label_on_it",
        _ => "reply.label_apology",
    })
}

pub fn default(kind: &str, lang: Language) -> String {
    lang.text(&format!("reply.{kind}"))
}

/// A text as typed on the store's page: empty or the default itself means the default.
pub fn parse(kind: &str, lang: Language, typed: &str) -> Result<Option<String>, Refusal> {
    let typed = typed.trim();
    if typed.chars().count() > MAX_REPLY {
        return Err(Refusal::new("workflow.too_long").with("max", MAX_REPLY.to_string()));
    }
    if typed.is_empty() || typed == default(kind, lang) {
        return Ok(None);
    }
    Ok(Some(typed.to_owned()))
}

/// Stores a store's reply texts (`(kind, language, typed)`), each empty or default one
/// going back to the default, and writes the change log; all or nothing, in the caller's
/// transaction.
pub fn save(
    c: &mut DbConnection,
    actor: &crate::domain::setup::audit::Actor,
    location_id: &str,
    typed: &[(&'static str, Language, String)],
) -> Result<(), SaveError> {
    let mut parsed = Vec::new();
    for (kind, lang, text) in typed {
        parsed.push((
            *kind,
            *lang,
            parse(kind, *lang, text).map_err(SaveError::Invalid)?,
        ));
    }
    let before = recovery::replies_at(c, location_id)?;
    for (kind, lang, text) in &parsed {
        recovery::set_reply(c, location_id, kind, lang.code(), text.as_deref())?;
    }
    let after = recovery::replies_at(c, location_id)?;
    if before != after {
        crate::domain::setup::audit::record(
            c,
            actor,
            "store_replies.set",
            location_id,
            Some(&before),
            Some(&after),
        )?;
    }
    Ok(())
}

#[derive(Debug)]
pub enum SaveError {
    Invalid(Refusal),
    Db(diesel::result::Error),
}

impl From<crate::db::DbError> for SaveError {
    fn from(e: crate::db::DbError) -> Self {
        match e {
            crate::db::DbError::Query(e) => SaveError::Db(e),
            other => SaveError::Db(diesel::result::Error::QueryBuilderError(
                other.to_string().into(),
            )),
        }
    }
}

impl From<diesel::result::Error> for SaveError {
    fn from(e: diesel::result::Error) -> Self {
        SaveError::Db(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reply_has_a_default_in_every_language() {
        for lang in Language::all() {
            for kind in KINDS {
                let text = default(kind, lang);
                assert!(!text.starts_with("reply."), "{kind} in {}", lang.code());
            }
        }
        let ko = Language::parse("ko").unwrap();
        assert_eq!(parse("apology", ko, "  ").unwrap(), None);
        assert_eq!(parse("apology", ko, &default("apology", ko)).unwrap(), None);
        assert_eq!(
            parse("apology", ko, " 정말 죄송합니다 ")
                .unwrap()
                .as_deref(),
            Some("정말 죄송합니다")
        );
        assert!(parse("apology", ko, &"a".repeat(MAX_REPLY + 1)).is_err());
    }
}
