//! "What worked before": from a store's own resolved cases of a category, the remedy given
//! most often and how customers who got each kind answered the survey. Shown only when
//! there is enough history to mean something.

use crate::db::queries::recovery::{self, PastRemedy};
use crate::db::DbConnection;

/// Fewer resolved cases of the category than this, and nothing is suggested.
pub const MIN_CASES: usize = 10;
/// Fewer survey answers for a kind of remedy than this, and its scores are not shown.
pub const MIN_ANSWERS: usize = 5;

/// One kind of remedy (None: nothing given) at this store for this category.
#[derive(Debug, Clone, PartialEq)]
pub struct RemedyRecord {
    pub kind: Option<String>,
    pub cases: usize,
    pub answers: usize,
    /// Mean satisfaction (1-5), when at least [`MIN_ANSWERS`] answered.
    pub csat: Option<f64>,
    /// Share (0-1) who said they would come back (4 or 5 of 5), with the same minimum.
    pub would_return: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub resolved: usize,
    /// Most often given first.
    pub records: Vec<RemedyRecord>,
}

/// Counts a store's history; None below [`MIN_CASES`].
pub fn from_history(past: &[PastRemedy]) -> Option<Suggestion> {
    if past.len() < MIN_CASES {
        return None;
    }
    Some(Suggestion {
        resolved: past.len(),
        records: tally(past),
    })
}

/// Each kind of remedy with its cases and, from [`MIN_ANSWERS`] answers, its scores; most
/// often given first.
pub fn tally(past: &[PastRemedy]) -> Vec<RemedyRecord> {
    let mut records: Vec<RemedyRecord> = Vec::new();
    let mut sums: Vec<(i64, usize, usize)> = Vec::new();
    for p in past {
        let i = match records.iter().position(|r| r.kind == p.compensation_type) {
            Some(i) => i,
            None => {
                records.push(RemedyRecord {
                    kind: p.compensation_type.clone(),
                    cases: 0,
                    answers: 0,
                    csat: None,
                    would_return: None,
                });
                sums.push((0, 0, 0));
                records.len() - 1
            }
        };
        records[i].cases += 1;
        if let Some(csat) = p.csat {
            records[i].answers += 1;
            sums[i].0 += i64::from(csat);
        }
        if let Some(r) = p.return_likelihood {
            sums[i].1 += 1;
            if r >= 4 {
                sums[i].2 += 1;
            }
        }
    }
    for (r, (csat_sum, returns, would)) in records.iter_mut().zip(sums) {
        if r.answers >= MIN_ANSWERS {
            r.csat = Some(csat_sum as f64 / r.answers as f64);
        }
        if returns >= MIN_ANSWERS {
            r.would_return = Some(would as f64 / returns as f64);
        }
    }
    records.sort_by(|a, b| b.cases.cmp(&a.cases).then_with(|| a.kind.cmp(&b.kind)));
    records
}

/// A wish, the resolved cases that had it, and each remedy given (or none) with its cases,
/// most often first.
pub type Asked = (crate::db::states::Wish, usize, Vec<(Option<String>, usize)>);

/// The dashboard's view of remedies over a period: what customers asked for against what
/// they got, and how each kind of remedy was answered.
#[derive(Debug, Clone, PartialEq)]
pub struct RemedyFigures {
    /// (wish, resolved cases with it, [(remedy given or none, cases)] most often first)
    pub asked: Vec<Asked>,
    /// Satisfaction answers by the remedy their case got.
    pub answered: Vec<RemedyRecord>,
}

pub fn figures(
    c: &mut DbConnection,
    locations: &[String],
    from: chrono::NaiveDateTime,
    to: chrono::NaiveDateTime,
) -> diesel::QueryResult<RemedyFigures> {
    let pairs = recovery::wished_and_given(c, locations, from, to)?;
    let answered = tally(&recovery::answered_remedies(c, locations, from, to)?);
    Ok(RemedyFigures {
        asked: asked_and_given(&pairs),
        answered,
    })
}

fn asked_and_given(pairs: &[(crate::db::states::Wish, Option<String>)]) -> Vec<Asked> {
    let mut out = Vec::new();
    for wish in crate::domain::recovery::wish::CHOICES {
        let mut given: Vec<(Option<String>, usize)> = Vec::new();
        for (_, kind) in pairs.iter().filter(|(w, _)| w == wish) {
            match given.iter_mut().find(|(k, _)| k == kind) {
                Some((_, n)) => *n += 1,
                None => given.push((kind.clone(), 1)),
            }
        }
        if given.is_empty() {
            continue;
        }
        given.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.push((*wish, given.iter().map(|(_, n)| n).sum(), given));
    }
    out
}

pub fn for_case(
    c: &mut DbConnection,
    location_id: &str,
    category: &str,
) -> diesel::QueryResult<Option<Suggestion>> {
    Ok(from_history(&recovery::past_remedies(
        c,
        location_id,
        category,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn past(kind: Option<&str>, csat: Option<i32>, back: Option<i32>) -> PastRemedy {
        PastRemedy {
            compensation_type: kind.map(str::to_owned),
            csat,
            return_likelihood: back,
        }
    }

    #[test]
    fn what_was_asked_is_set_against_what_was_given() {
        use crate::db::states::Wish;
        let pairs = vec![
            (Wish::Replacement, Some("replacement".to_owned())),
            (Wish::Replacement, Some("replacement".to_owned())),
            (Wish::Replacement, None),
            (Wish::Refund, Some("voucher".to_owned())),
        ];
        let asked = asked_and_given(&pairs);
        assert_eq!(
            asked,
            vec![
                (
                    Wish::Replacement,
                    3,
                    vec![(Some("replacement".to_owned()), 2), (None, 1)]
                ),
                (Wish::Refund, 1, vec![(Some("voucher".to_owned()), 1)]),
            ]
        );
    }

    #[test]
    fn nothing_is_suggested_from_too_little_history() {
        let few: Vec<_> = (0..MIN_CASES - 1)
            .map(|_| past(Some("voucher"), Some(5), Some(5)))
            .collect();
        assert_eq!(from_history(&few), None);
    }

    #[test]
    fn remedies_are_counted_and_scored_only_with_enough_answers() {
        let mut history = Vec::new();
        // Six vouchers, five answered: 5,5,4,4,2 -> 4.0; would come back 4 of 5.
        for (csat, back) in [(5, 5), (5, 4), (4, 5), (4, 4), (2, 1)] {
            history.push(past(Some("voucher"), Some(csat), Some(back)));
        }
        history.push(past(Some("voucher"), None, None));
        // Three apologies, all answered, too few to score.
        for _ in 0..3 {
            history.push(past(Some("apology"), Some(3), Some(3)));
        }
        history.push(past(None, None, None));
        let s = from_history(&history).unwrap();
        assert_eq!(s.resolved, 10);
        let voucher = &s.records[0];
        assert_eq!(voucher.kind.as_deref(), Some("voucher"));
        assert_eq!((voucher.cases, voucher.answers), (6, 5));
        assert_eq!(voucher.csat, Some(4.0));
        assert_eq!(voucher.would_return, Some(0.8));
        let apology = &s.records[1];
        assert_eq!(
            (apology.cases, apology.csat, apology.would_return),
            (3, None, None)
        );
        assert_eq!(s.records[2].kind, None);
    }
}
