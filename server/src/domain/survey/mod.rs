//! The survey after a case is resolved, its reminder and the follow-up; their emails are
//! composed in `mail::survey`.
//!
//! Closing the loop: a satisfaction survey after a case is resolved, a reminder, and a
//! follow-up check days later. A survey's link carries a token derived from its id with
//! the server key (so any email or page can show it again); only its hash is stored. It
//! works until answered, for 30 days. An unhappy answer reopens the case (or flags it, as
//! the location chooses) and tells the people working it.

pub mod answer_lines;

use chrono::{Duration, NaiveDateTime};

use crate::db::models::{new_id, Case, CaseEvent, Survey};
use crate::db::queries::{cases, routing, surveys, users};
use crate::db::states::EventKind;
use crate::db::{DbConnection, DbError};
use crate::domain::alert::Audience;
use crate::domain::case::reference::token_hash;
use crate::domain::mail::CaseMailKind;
use crate::domain::mail::SurveyMail;
use crate::domain::mail::{enqueue, Enqueue, MailPayload};

pub use crate::db::states::SurveyKind;
/// A survey link works this long.
pub const VALID_DAYS: i64 = 30;
/// One survey per customer address in this many days.
pub const ONE_PER_DAYS: i64 = 30;
/// An unanswered survey is recalled once, this long after it was sent.
pub const REMIND_AFTER_DAYS: i64 = 3;

pub fn survey_token(key: &[u8], survey_id: &str) -> String {
    crate::domain::signed_link::token(key, "survey", survey_id)
}

pub fn survey_path(key: &[u8], survey_id: &str) -> String {
    format!("/s/{}", survey_token(key, survey_id))
}

/// A new, unsent survey of a case (its token is derived from its id with `key`).
pub fn survey_for_case(
    case: &Case,
    kind: SurveyKind,
    recipient: Option<String>,
    due_at: Option<NaiveDateTime>,
    key: &[u8],
    now: NaiveDateTime,
) -> Survey {
    let id = new_id();
    Survey {
        token_hash: token_hash(&survey_token(key, &id)),
        id,
        case_id: case.id.clone(),
        recipient,
        due_at,
        ..Survey::unanswered(kind, &case.language, now)
    }
}

/// The address a survey may be emailed to: the customer's, if they agreed to be
/// contacted, have not unsubscribed, and were not asked already within 30 days.
fn may_email(
    c: &mut DbConnection,
    case: &Case,
    kind: SurveyKind,
    now: NaiveDateTime,
) -> Result<Option<String>, DbError> {
    let Some(to) = case.contact_email.clone().filter(|_| case.contact_consent) else {
        return Ok(None);
    };
    if surveys::opted_out(c, &to)? {
        return Ok(None);
    }
    let recent =
        surveys::count_to_recipient_since(c, &to, kind, now - Duration::days(ONE_PER_DAYS))?;
    Ok((recent == 0).then_some(to))
}

/// Schedules the surveys of a case just resolved: the satisfaction survey (emailed after
/// the location's delay, or shown on the status page to a customer without email) and the
/// follow-up check days later. A case that already has an open survey gets no second one.
/// Runs inside the resolving transaction.
pub fn schedule_after_resolution(
    c: &mut DbConnection,
    key: &[u8],
    case: &Case,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let existing = surveys::for_case(c, &case.id)?;
    if existing.iter().any(|s| s.kind == SurveyKind::Satisfaction) {
        return Ok(());
    }
    let Some(settings) = routing::alerting(c, &case.location_id)? else {
        return Ok(());
    };
    let to = may_email(c, case, SurveyKind::Satisfaction, now)?;
    let due = to
        .as_ref()
        .map(|_| now + Duration::minutes(i64::from(settings.survey_delay_minutes)));
    surveys::insert(
        c,
        &survey_for_case(case, SurveyKind::Satisfaction, to.clone(), due, key, now),
    )?;
    if let Some(to) = to {
        let follow_up_at = now + Duration::days(i64::from(settings.follow_up_days));
        surveys::insert(
            c,
            &survey_for_case(
                case,
                SurveyKind::FollowUp,
                Some(to),
                Some(follow_up_at),
                key,
                now,
            ),
        )?;
    }
    Ok(())
}

fn queue(
    c: &mut DbConnection,
    survey: &Survey,
    mail: SurveyMail,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let Some(to) = &survey.recipient else {
        return Ok(());
    };
    enqueue(
        c,
        Enqueue {
            kind: mail.mail_kind(),
            recipient: to,
            payload: &MailPayload::SurveyMail {
                survey_id: survey.id.clone(),
                mail,
            },
            dedupe_key: format!("{mail:?}:{}", survey.id),
            case_id: Some(&survey.case_id),
            now,
        },
    )?;
    Ok(())
}

/// Sends the surveys and reminders that have come due; returns how many were queued.
/// A follow-up whose case was reopened meanwhile is dropped (the case is not settled).
pub fn send_due(db: &crate::db::Db, now: NaiveDateTime) -> Result<usize, DbError> {
    let due = db.read(|c| surveys::due_to_send(c, now, 100))?;
    let remind =
        db.read(|c| surveys::due_for_reminder(c, now - Duration::days(REMIND_AFTER_DAYS), 100))?;
    let mut queued = 0;
    for survey in due {
        queued += db.write(|c| -> Result<usize, DbError> {
            if !surveys::mark_sent(c, &survey.id, now)? {
                return Ok(0);
            }
            let case = cases::find(c, &survey.case_id)?;
            let settled = case.is_some_and(|c| c.resolved_at.is_some());
            let opted_out = match &survey.recipient {
                Some(to) => surveys::opted_out(c, to)?,
                None => true,
            };
            if !settled || opted_out {
                return Ok(0);
            }
            let mail = if survey.kind == SurveyKind::FollowUp {
                SurveyMail::FollowUp
            } else {
                SurveyMail::Ask
            };
            queue(c, &survey, mail, now)?;
            Ok(1)
        })?;
    }
    for survey in remind {
        queued += db.write(|c| -> Result<usize, DbError> {
            if !surveys::mark_reminded(c, &survey.id, now)? {
                return Ok(0);
            }
            if let Some(to) = &survey.recipient {
                if surveys::opted_out(c, to)? {
                    return Ok(0);
                }
            }
            queue(c, &survey, SurveyMail::Reminder, now)?;
            Ok(1)
        })?;
    }
    Ok(queued)
}

/// A customer's answer, parsed. Satisfaction: CSAT 1-5 required; fixed and return
/// likelihood optional; a comment up to 2,000 characters. Follow-up: yes or no.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Satisfaction {
        csat: i32,
        fixed: Option<String>,
        return_likelihood: Option<i32>,
        comment: Option<String>,
    },
    FollowUp {
        still_working: bool,
    },
}

/// Errors are catalog keys, shown in the customer's language.
pub fn parse_answer(
    kind: SurveyKind,
    csat: Option<&str>,
    fixed: Option<&str>,
    return_likelihood: Option<&str>,
    comment: Option<&str>,
    still_working: Option<&str>,
) -> Result<Answer, &'static str> {
    fn blank(s: Option<&str>) -> Option<&str> {
        s.map(str::trim).filter(|s| !s.is_empty())
    }
    if kind == SurveyKind::FollowUp {
        return match blank(still_working) {
            Some("yes") => Ok(Answer::FollowUp {
                still_working: true,
            }),
            Some("no") => Ok(Answer::FollowUp {
                still_working: false,
            }),
            _ => Err("survey.error_still_working"),
        };
    }
    let csat = blank(csat)
        .and_then(|s| s.parse::<i32>().ok())
        .filter(|n| (1..=5).contains(n))
        .ok_or("survey.error_csat")?;
    let fixed = match blank(fixed) {
        None => None,
        Some(f @ ("yes" | "partly" | "no")) => Some(f.to_owned()),
        Some(_) => return Err("survey.error_fixed"),
    };
    let return_likelihood = match blank(return_likelihood) {
        None => None,
        Some(s) => Some(
            s.parse::<i32>()
                .ok()
                .filter(|n| (0..=10).contains(n))
                .ok_or("survey.error_return")?,
        ),
    };
    let comment = blank(comment).map(str::to_owned);
    if comment.as_ref().is_some_and(|c| c.chars().count() > 2_000) {
        return Err("survey.error_comment");
    }
    Ok(Answer::Satisfaction {
        csat,
        fixed,
        return_likelihood,
        comment,
    })
}

impl Answer {
    /// Not fixed, only partly, a poor rating, or "no longer working".
    pub fn is_unhappy(&self) -> bool {
        match self {
            Answer::Satisfaction { csat, fixed, .. } => {
                *csat <= 2 || matches!(fixed.as_deref(), Some("no" | "partly"))
            }
            Answer::FollowUp { still_working } => !still_working,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Answered {
    Saved {
        unhappy: bool,
    },
    /// Answered before: the first answer stands.
    Already,
}

/// The survey carrying a copy of what its case was when answered (store, spot, category,
/// root cause, compensation), so exports and the dashboard need not join the case.
/// The report a survey is about, so the customer knows which one: its reference, store,
/// day and first words.
pub struct Report {
    reference: String,
    store: String,
    time_zone: String,
    received: NaiveDateTime,
    /// None once the customer erased their words.
    first_words: Option<String>,
}

impl Report {
    pub fn load(c: &mut DbConnection, case_id: &str) -> diesel::QueryResult<Option<Report>> {
        let Some(case) = cases::find(c, case_id)? else {
            return Ok(None);
        };
        let Some(location) = crate::db::queries::locations::find(c, &case.location_id)? else {
            return Ok(None);
        };
        Ok(Some(Report {
            first_words: case
                .erased_at
                .is_none()
                .then(|| crate::domain::mail::one_line(&case.body, 80)),
            reference: case.reference,
            store: location.name,
            time_zone: location.time_zone,
            received: case.created_at,
        }))
    }

    /// A report as a test email shows it ("send a test to me"): a made-up one at the store.
    pub fn sample(store: &str, time_zone: &str, received: NaiveDateTime, words: String) -> Report {
        Report {
            reference: "ABC-123".to_owned(),
            store: store.to_owned(),
            time_zone: time_zone.to_owned(),
            received,
            first_words: Some(words),
        }
    }

    /// "About your report K7F-39Q to Café, 28 Nov 2026: “The restroom has no soap.”"
    pub fn text(&self, lang: crate::domain::language::Language) -> String {
        let date = crate::domain::language::formats::date(
            lang,
            crate::domain::language::formats::local_day(&self.time_zone, self.received),
        );
        let args = [
            ("reference", self.reference.as_str()),
            ("store", self.store.as_str()),
            ("date", date.as_str()),
        ];
        match &self.first_words {
            Some(words) => {
                let mut all = args.to_vec();
                all.push(("words", words.as_str()));
                lang.text_with("survey.about", &all)
            }
            None => lang.text_with("survey.about_erased", &args),
        }
    }
}

pub fn with_case_as_answered(survey: Survey, case: &Case) -> Survey {
    Survey {
        location_id: Some(case.location_id.clone()),
        touchpoint_id: Some(case.touchpoint_id.clone()),
        category: Some(case.category.clone()),
        root_cause: case.root_cause.clone(),
        compensation_type: case.compensation_type.clone(),
        compensation_minor: case.compensation_minor,
        compensation_currency: case.compensation_currency.clone(),
        ..survey
    }
}

/// Stores the answer with the case as it stands, and acts on an unhappy one: the case is
/// reopened (or flagged) and its assignee and managers are told. One transaction.
pub fn answer(
    c: &mut DbConnection,
    survey: &Survey,
    answer: &Answer,
    now: NaiveDateTime,
) -> Result<Answered, DbError> {
    let Some(case) = cases::find(c, &survey.case_id)? else {
        return Ok(Answered::Already);
    };
    let mut stored = with_case_as_answered(
        Survey {
            answered_at: Some(now),
            ..survey.clone()
        },
        &case,
    );
    match answer {
        Answer::Satisfaction {
            csat,
            fixed,
            return_likelihood,
            comment,
        } => {
            stored.csat = Some(*csat);
            stored.fixed = fixed.clone();
            stored.return_likelihood = *return_likelihood;
            stored.comment = comment.clone();
        }
        Answer::FollowUp { still_working } => stored.still_working = Some(*still_working),
    }
    if !surveys::record_answer(c, &stored)? {
        return Ok(Answered::Already);
    }
    let unhappy = answer.is_unhappy();
    let detail = serde_json::json!({
        "survey": survey.kind,
        "csat": stored.csat,
        "fixed": stored.fixed,
        "return_likelihood": stored.return_likelihood,
        "still_working": stored.still_working,
        "comment": stored.comment,
    });
    add_event(c, &case, EventKind::SurveyAnswered, detail, now)?;
    if unhappy {
        let reopens = routing::alerting(c, &case.location_id)?.is_some_and(|a| a.unhappy_reopens);
        if reopens && case.resolved_at.is_some() {
            cases::reopen_by_customer(c, &case.id)?;
            add_event(
                c,
                &case,
                EventKind::Reopened,
                // Who reopened it, not a sentence: the timeline says it in the reader's
                // language.
                serde_json::json!({ "by_customer": true }),
                now,
            )?;
        } else {
            // Kept in the inbox, marked, until someone has handled it.
            cases::flag(c, &case.id, now)?;
            add_event(
                c,
                &case,
                EventKind::Flagged,
                serde_json::json!({ "reason": "Unhappy survey answer" }),
                now,
            )?;
        }
        if let Some(audience) = Audience::load(c, &case.location_id)? {
            let mut to = audience.escalation_recipients(1);
            if let Some(assignee) = case
                .assignee_id
                .as_deref()
                .map(|id| users::find(c, id))
                .transpose()?
                .flatten()
            {
                if !to.contains(&assignee.email) {
                    to.insert(0, assignee.email);
                }
            }
            audience.enqueue_case_mail(
                c,
                &case.id,
                CaseMailKind::Unhappy,
                &to,
                &format!("unhappy:{}", survey.id),
                now,
            )?;
        }
    }
    Ok(Answered::Saved { unhappy })
}

/// The customer's doing: an event with no staff actor.
fn add_event(
    c: &mut DbConnection,
    case: &Case,
    kind: EventKind,
    detail: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    Ok(cases::add_event(
        c,
        &CaseEvent::new(&case.id, None, kind, detail, now),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_checked_and_unhappy_ones_recognised() {
        let sat = |csat, fixed, ret, comment| {
            parse_answer(SurveyKind::Satisfaction, csat, fixed, ret, comment, None)
        };
        let a = sat(Some("4"), Some("yes"), Some("9"), Some(" Thanks ")).unwrap();
        assert_eq!(
            a,
            Answer::Satisfaction {
                csat: 4,
                fixed: Some("yes".into()),
                return_likelihood: Some(9),
                comment: Some("Thanks".into())
            }
        );
        assert!(!a.is_unhappy());
        assert!(sat(Some("2"), None, None, None).unwrap().is_unhappy());
        assert!(sat(Some("5"), Some("partly"), None, None)
            .unwrap()
            .is_unhappy());
        assert_eq!(sat(None, None, None, None), Err("survey.error_csat"));
        assert_eq!(sat(Some("6"), None, None, None), Err("survey.error_csat"));
        assert_eq!(
            sat(Some("3"), Some("maybe"), None, None),
            Err("survey.error_fixed")
        );
        assert_eq!(
            sat(Some("3"), None, Some("11"), None),
            Err("survey.error_return")
        );
        let long = "x".repeat(2_001);
        assert_eq!(
            sat(Some("3"), None, None, Some(&long)),
            Err("survey.error_comment")
        );
        let f = |w| parse_answer(SurveyKind::FollowUp, None, None, None, None, w);
        assert!(f(Some("no")).unwrap().is_unhappy());
        assert!(!f(Some("yes")).unwrap().is_unhappy());
        assert_eq!(f(None), Err("survey.error_still_working"));
    }

    #[test]
    fn tokens_differ_per_survey_and_key() {
        let k1 = b"0123456789abcdef0123456789abcdef";
        let k2 = b"another key of at least 32 bytes!";
        assert_ne!(survey_token(k1, "a"), survey_token(k1, "b"));
        assert_ne!(survey_token(k1, "a"), survey_token(k2, "a"));
        assert_eq!(survey_token(k1, "a").len(), 32);
    }
}
