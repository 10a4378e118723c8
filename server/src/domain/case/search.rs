//! Finding cases by their words in any language. Text is broken into words here, the
//! same way for what is stored and for what is asked, and each backend's full-text index
//! (SQLite FTS5, PostgreSQL tsvector with GIN) finds them: Latin-script words whole (a
//! query word matches words that start with it, so "kaw" finds "kawa" and "kawy"),
//! Korean, Japanese and Chinese runs as overlapping two-character pieces, the usual way
//! to index scripts written without spaces between words (Lucene's CJK bigrams): "화장실"
//! is "화장 장실", found as a phrase in "화장실에 비누가 없어요", and "비누" (a two-syllable
//! word, too short for a trigram index) is one piece.

use crate::db::models::Case;
use crate::db::queries::cases;
use crate::db::queries::search::{self, Entry};
use crate::db::states::EventKind;
use crate::db::{Db, DbConnection, DbError};

/// The most words a query may have; more are ignored.
pub const MAX_WORDS: usize = 8;

/// What to look for in the index: each part must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// A word, matched as the start of a stored word.
    Prefix(String),
    /// Consecutive pieces of a CJK run.
    Phrase(Vec<String>),
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x11FF   // Hangul Jamo
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x3130..=0x318F // Hangul compatibility Jamo
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xAC00..=0xD7AF // Hangul syllables
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0xFF66..=0xFF9F // halfwidth Katakana
    )
}

/// Runs of letters and digits, split where the script changes between CJK and the rest
/// ("A4용지" is "a4" and "용지"), lower-cased.
fn runs(text: &str) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = Vec::new();
    let mut current: Option<(bool, String)> = None;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            out.extend(current.take());
            continue;
        }
        let cjk = is_cjk(c);
        match &mut current {
            Some((kind, run)) if *kind == cjk => run.extend(c.to_lowercase()),
            _ => {
                out.extend(current.take());
                current = Some((cjk, c.to_lowercase().collect()));
            }
        }
    }
    out.extend(current);
    out
}

fn pieces(run: &str) -> Vec<String> {
    let chars: Vec<char> = run.chars().collect();
    if chars.len() < 2 {
        return vec![run.to_owned()];
    }
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

/// The words of a text as the index stores them, separated by spaces.
pub fn terms(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for (cjk, run) in runs(text) {
        let words = if cjk { pieces(&run) } else { vec![run] };
        for w in words {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&w);
        }
    }
    out
}

/// The parts of a query (at most [`MAX_WORDS`]); empty when it has no letters or digits.
pub fn parts(query: &str) -> Vec<Part> {
    runs(query)
        .into_iter()
        .take(MAX_WORDS)
        .map(|(cjk, run)| {
            if cjk && run.chars().count() > 1 {
                Part::Phrase(pieces(&run))
            } else {
                Part::Prefix(run)
            }
        })
        .collect()
}

/// An FTS5 MATCH expression: every part, each quoted (parts hold only letters and digits,
/// so the quotes cannot be broken out of).
pub fn fts5(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Prefix(w) => format!("\"{w}\"*"),
            Part::Phrase(ws) => format!("\"{}\"", ws.join(" ")),
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// A PostgreSQL tsquery for `to_tsquery('simple', ..)`, each word quoted as a lexeme.
pub fn tsquery(parts: &[Part]) -> String {
    let lexeme = |w: &str| format!("'{w}'");
    parts
        .iter()
        .map(|p| match p {
            Part::Prefix(w) => format!("{}:*", lexeme(w)),
            Part::Phrase(ws) => format!(
                "({})",
                ws.iter()
                    .map(|w| lexeme(w))
                    .collect::<Vec<_>>()
                    .join(" <-> ")
            ),
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// The words a case is found by: its reference, the complaint (unless it was erased),
/// what staff wrote to the customer and in notes.
pub fn case_text<'a>(
    reference: &'a str,
    body: Option<&'a str>,
    staff_texts: impl IntoIterator<Item = &'a str>,
) -> String {
    let mut all = vec![reference];
    all.extend(body);
    all.extend(staff_texts);
    terms(&all.join("\n"))
}

/// The word that says which store a case is at: stored with its words, so a search
/// limited to some stores is answered by the index itself (a staff member of one store
/// among thousands would otherwise read the whole chain's matches to find theirs).
pub fn store_token(location_id: &str) -> String {
    let id: String = location_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    format!("zstore{id}")
}

/// [`fts5`] and [`tsquery`] of the words, limited to `stores` when given.
pub fn queries(parts: &[Part], stores: Option<&[String]>) -> (String, String) {
    let (mut f, mut t) = (fts5(parts), tsquery(parts));
    if let Some(stores) = stores.filter(|s| !s.is_empty()) {
        let tokens: Vec<String> = stores.iter().map(|s| store_token(s)).collect();
        let fts_any: Vec<String> = tokens.iter().map(|t| format!("\"{t}\"")).collect();
        let ts_any: Vec<String> = tokens.iter().map(|t| format!("'{t}'")).collect();
        f = format!("({f}) AND ({})", fts_any.join(" OR "));
        t = format!("({t}) & ({})", ts_any.join(" | "));
    }
    (f, t)
}

/// Events whose text staff wrote, and the field it is in.
const TEXT_EVENTS: &[(EventKind, &str)] = &[
    (EventKind::Note, "text"),
    (EventKind::PublicUpdate, "text"),
    (EventKind::Resolved, "what_was_done"),
    (EventKind::Reopened, "reason"),
];

/// Indexes cases as they are written (inside the transaction that writes them).
pub fn index_new(c: &mut DbConnection, new: &[Case]) -> Result<(), DbError> {
    let entries: Vec<Entry> = new
        .iter()
        .map(|case| Entry {
            case_id: case.id.clone(),
            created_at: case.created_at,
            terms: format!(
                "{} {}",
                case_text(&case.reference, Some(&case.body), []),
                store_token(&case.location_id)
            ),
        })
        .collect();
    Ok(search::put(c, &entries)?)
}

/// Indexes a case again after its text changed: a note, an update, a resolution, an
/// erasure (whose complaint text then no longer finds it).
pub fn reindex(c: &mut DbConnection, case_id: &str) -> Result<(), DbError> {
    let Some(case) = cases::find(c, case_id)? else {
        return Ok(());
    };
    let kinds: Vec<EventKind> = TEXT_EVENTS.iter().map(|(k, _)| *k).collect();
    let details = cases::event_details(c, case_id, &kinds)?;
    let texts: Vec<String> = details
        .iter()
        .filter_map(|(kind, detail)| {
            let field = TEXT_EVENTS.iter().find(|(k, _)| k == kind)?.1;
            let value: serde_json::Value = serde_json::from_str(detail).ok()?;
            value.get(field)?.as_str().map(str::to_owned)
        })
        .collect();
    let body = case.erased_at.is_none().then_some(case.body.as_str());
    let terms = format!(
        "{} {}",
        case_text(&case.reference, body, texts.iter().map(String::as_str)),
        store_token(&case.location_id)
    );
    Ok(search::put(
        c,
        &[Entry {
            case_id: case.id.clone(),
            created_at: case.created_at,
            terms,
        }],
    )?)
}

/// Indexes the cases an installation had before the index, `batch` at a time, each batch
/// its own short transaction so complaints keep coming in; returns how many it indexed.
pub fn catch_up(db: &Db, batch: i64) -> Result<usize, DbError> {
    if db.read(search::missing)? <= 0 {
        return Ok(0);
    }
    let mut done = 0;
    let mut after = None;
    loop {
        let found = db.write(|c| -> Result<_, DbError> {
            let found = search::unindexed(c, after.as_ref(), batch)?;
            for (_, id) in &found {
                reindex(c, id)?;
            }
            Ok(found)
        })?;
        done += found.len();
        if found.len() < usize::try_from(batch).unwrap_or(usize::MAX) {
            return Ok(done);
        }
        after = found.last().cloned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_words_whole_and_cjk_runs_in_pairs() {
        assert_eq!(
            terms("Kawa ZIMNA, K7F-39Q: zapłaciłem"),
            "kawa zimna k7f 39q zapłaciłem"
        );
        assert_eq!(
            terms("화장실에 비누가 없어요"),
            "화장 장실 실에 비누 누가 없어 어요"
        );
        assert_eq!(
            terms("石けんがありません"),
            "石け けん んが があ あり りま ませ せん"
        );
        assert_eq!(terms("A4용지"), "a4 용지");
        assert_eq!(terms("비"), "비");
        assert_eq!(terms("<script>'; DROP"), "script drop");
    }

    #[test]
    fn a_query_matches_the_pieces_it_would_have_been_stored_as() {
        assert_eq!(
            parts("화장실 kaw"),
            vec![
                Part::Phrase(vec!["화장".into(), "장실".into()]),
                Part::Prefix("kaw".into())
            ]
        );
        assert_eq!(parts("비누"), vec![Part::Phrase(vec!["비누".into()])]);
        assert_eq!(parts("\"*' OR 1=1 --"), parts("or 1 1"));
        assert!(parts(" -- ").is_empty());
        assert_eq!(parts(&"a ".repeat(50)).len(), MAX_WORDS);
        let p = parts("화장실 kaw");
        assert_eq!(fts5(&p), "\"화장 장실\" AND \"kaw\"*");
        assert_eq!(tsquery(&p), "('화장' <-> '장실') & 'kaw':*");
        let stores = ["01AB-cd".to_owned(), "x9".to_owned()];
        let (f, t) = queries(&parts("kaw"), Some(&stores));
        assert_eq!(f, "(\"kaw\"*) AND (\"zstore01abcd\" OR \"zstorex9\")");
        assert_eq!(t, "('kaw':*) & ('zstore01abcd' | 'zstorex9')");
        assert_eq!(queries(&parts("kaw"), None).0, "\"kaw\"*");
    }
}
