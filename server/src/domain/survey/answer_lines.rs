//! A customer's survey answer as staff read it, one line a question.

use crate::db::models::Survey;
use crate::domain::language::Language;

/// What a customer answered, one line a question, in the reader's language: "Rating: 2
/// of 5", "Fixed? No", "Would come back: 3 of 10", the comment. Shown to staff wherever
/// an unhappy answer reaches them.
pub fn answer_lines(
    lang: Language,
    csat: Option<i64>,
    fixed: Option<&str>,
    return_likelihood: Option<i64>,
    comment: Option<&str>,
    still_working: Option<bool>,
) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(n) = csat {
        lines.push(lang.text_with("survey_answer.rating", &[("value", &n.to_string())]));
    }
    if let Some(f) = fixed.filter(|f| matches!(*f, "yes" | "partly" | "no")) {
        let value = lang.text(&format!("survey.fixed_{f}"));
        lines.push(lang.text_with("survey_answer.fixed", &[("value", &value)]));
    }
    if let Some(n) = return_likelihood {
        lines.push(lang.text_with("survey_answer.come_back", &[("value", &n.to_string())]));
    }
    if let Some(w) = still_working {
        let value = lang.text(if w { "survey.yes" } else { "survey.no" });
        lines.push(lang.text_with("survey_answer.still_working", &[("value", &value)]));
    }
    if let Some(text) = comment.filter(|t| !t.trim().is_empty()) {
        lines.push(lang.text_with("survey_answer.comment", &[("text", text)]));
    }
    lines
}

/// [`answer_lines`] of a stored survey.
pub fn survey_lines(lang: Language, s: &Survey) -> Vec<String> {
    answer_lines(
        lang,
        s.csat.map(i64::from),
        s.fixed.as_deref(),
        s.return_likelihood.map(i64::from),
        s.comment.as_deref(),
        s.still_working,
    )
}
