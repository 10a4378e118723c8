//! Working a case: assign, note, tell the customer, resolve, reopen, merge duplicates.
//! Every action checks its input first, then changes the case and records an event (who,
//! when, what) in one transaction; nothing is ever deleted. Messages to the customer go
//! through the outbox in the same transaction, in the customer's language, and only when
//! they gave an email and agreed to be contacted.

use crate::domain::language::Refusal;
use crate::domain::mail::CaseMailKind;
use crate::domain::mail::CustomerMailKind;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::models::{Case, CaseEvent, User};
use crate::db::queries::cases::transitions;
use crate::db::queries::{cases, escalations, users};
use crate::db::states::{CaseStatus, EventKind};
use crate::db::{DbConnection, DbError};
use crate::domain::mail::{enqueue, Enqueue, MailPayload};

/// Offered when a location has not chosen its own list.
pub const DEFAULT_ROOT_CAUSES: &[&str] = &[
    "staffing",
    "training",
    "process",
    "equipment",
    "supplier",
    "cleaning",
    "communication",
    "other",
];
pub const COMPENSATION_TYPES: &[&str] = &[
    "apology",
    "discount",
    "refund",
    "voucher",
    "replacement",
    "other",
];
pub const MAX_STAFF_TEXT: usize = 2_000;
/// Cases at the same touchpoint and category this close together are offered for merging.
pub const DUPLICATE_WINDOW_MINUTES: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// Shown to the person who sent the form.
    #[error("{0}")]
    Invalid(Refusal),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for WorkflowError {
    fn from(e: diesel::result::Error) -> Self {
        WorkflowError::Db(e.into())
    }
}

fn invalid(key: &'static str) -> WorkflowError {
    WorkflowError::Invalid(Refusal::new(key))
}

fn invalid_with(key: &'static str, name: &'static str, value: impl Into<String>) -> WorkflowError {
    WorkflowError::Invalid(Refusal::new(key).with(name, value))
}

/// Staff-written text: trimmed, not empty, not longer than the limit. `what` names the
/// field in the catalog (`workflow.empty.{what}`).
pub fn staff_text(what: StaffText, s: &str) -> Result<String, WorkflowError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(invalid(what.empty_key()));
    }
    if s.chars().count() > MAX_STAFF_TEXT {
        return Err(invalid_with(
            "workflow.too_long",
            "max",
            MAX_STAFF_TEXT.to_string(),
        ));
    }
    Ok(s.to_owned())
}

#[derive(Debug, Clone, Copy)]
pub enum StaffText {
    Note,
    Update,
    WhatWasDone,
    ReopenReason,
}

impl StaffText {
    fn empty_key(self) -> &'static str {
        match self {
            StaffText::Note => "workflow.empty_note",
            StaffText::Update => "workflow.empty_update",
            StaffText::WhatWasDone => "workflow.empty_what_was_done",
            StaffText::ReopenReason => "workflow.empty_reopen",
        }
    }
}

pub fn root_causes_of(configured: Option<&str>) -> Vec<String> {
    crate::domain::case::complaint::list_or_default(configured, DEFAULT_ROOT_CAUSES)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compensation {
    pub kind: String,
    /// Minor units (cents), with its currency; none for an apology.
    pub amount: Option<(i32, String)>,
}

/// "12.50" and "EUR" into 1250 EUR. Two decimals at most; a currency is three letters.
pub fn parse_compensation(
    kind: &str,
    value: &str,
    currency: &str,
) -> Result<Option<Compensation>, WorkflowError> {
    let kind = kind.trim();
    if kind.is_empty() || kind == "none" {
        return Ok(None);
    }
    if !COMPENSATION_TYPES.contains(&kind) {
        return Err(invalid_with("workflow.not_compensation", "kind", kind));
    }
    let value = value.trim().replace(',', ".");
    if value.is_empty() {
        if kind == "apology" || kind == "other" {
            return Ok(Some(Compensation {
                kind: kind.to_owned(),
                amount: None,
            }));
        }
        return Err(invalid("workflow.give_value"));
    }
    let currency = currency.trim().to_ascii_uppercase();
    let Ok(currency) = crate::domain::setup::fields::currency(&currency) else {
        return Err(invalid_with("workflow.not_currency", "currency", currency));
    };
    // The currency's own minor unit: KRW and JPY have none, so "5000.50" is refused.
    let digits = crate::domain::setup::fields::minor_digits(&currency) as usize;
    let example = if digits == 0 { "5000" } else { "12.50" };
    let bad_value = || {
        WorkflowError::Invalid(
            Refusal::new("workflow.not_amount")
                .with("value", value.clone())
                .with("example", format!("{example} {currency}")),
        )
    };
    let (whole, fraction) = match value.split_once('.') {
        Some((w, f))
            if !f.is_empty() && f.len() <= digits && f.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (w, format!("{f:0<digits$}"))
        }
        Some(_) => return Err(bad_value()),
        None => (value.as_str(), "0".repeat(digits)),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 7 {
        return Err(bad_value());
    }
    let minor: i32 = format!("{whole}{fraction}")
        .parse()
        .map_err(|_| bad_value())?;
    Ok(Some(Compensation {
        kind: kind.to_owned(),
        amount: Some((minor, currency)),
    }))
}

fn record(
    c: &mut DbConnection,
    case: &Case,
    actor: &User,
    kind: EventKind,
    detail: serde_json::Value,
    now: NaiveDateTime,
) -> Result<CaseEvent, DbError> {
    let event = CaseEvent::new(&case.id, Some(&actor.id), kind, detail, now);
    cases::add_event(c, &event)?;
    // Staff's words find the case too (its resolution, notes, updates, reasons).
    if kind.carries_staff_words() {
        crate::domain::case::search::reindex(c, &case.id)?;
    }
    Ok(event)
}

fn refuse_if_resolved(case: &Case) -> Result<(), WorkflowError> {
    if case.resolved_at.is_some() {
        return Err(invalid("workflow.resolved_reopen_first"));
    }
    Ok(())
}

/// Tells the customer, if they may be told: in their language, through the outbox.
fn tell_customer(
    c: &mut DbConnection,
    case: &Case,
    mail: CustomerMailKind,
    dedupe: &str,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    let Some(to) = case
        .contact_email
        .as_deref()
        .filter(|_| case.contact_consent)
    else {
        return Ok(());
    };
    if crate::db::queries::surveys::opted_out(c, to)? {
        return Ok(());
    }
    enqueue(
        c,
        Enqueue {
            kind: mail.mail_kind(),
            recipient: to,
            payload: &MailPayload::CustomerMail {
                case_id: case.id.clone(),
                mail,
                lang: case.language.clone(),
            },
            dedupe_key: format!("{dedupe}:{}", case.id),
            case_id: Some(&case.id),
            now,
        },
    )?;
    Ok(())
}

/// Gives the case to someone who works at its location (or an admin).
pub fn assign(
    c: &mut DbConnection,
    actor: &User,
    case: &Case,
    assignee_id: &str,
    now: NaiveDateTime,
) -> Result<(), WorkflowError> {
    refuse_if_resolved(case)?;
    let assignee =
        users::find(c, assignee_id)?.ok_or_else(|| invalid("account_error.no_account"))?;
    let works_here = assignee.role == crate::db::states::Role::Admin
        || users::location_ids(c, &assignee.id)?.contains(&case.location_id);
    if !works_here || users::deactivated_at(c, &assignee.id)?.is_some() {
        return Err(invalid_with(
            "workflow.not_here",
            "email",
            assignee.email.clone(),
        ));
    }
    // Only if it is not theirs already: of two racing clicks (PostgreSQL), the second
    // waits for the first's row, finds it theirs, and changes and records nothing.
    if !transitions::assign(c, &case.id, &assignee.id)? {
        return Ok(());
    }
    let event = record(
        c,
        case,
        actor,
        EventKind::Assigned,
        serde_json::json!({ "to": assignee.email }),
        now,
    )?;
    // The one who must act is told, in their language, with "I'm on it" (not someone
    // taking the case themselves).
    if assignee.id != actor.id {
        tell_staff(
            c,
            case,
            CaseMailKind::Assigned,
            &[assignee.email],
            &event.id,
            now,
        )?;
    }
    Ok(())
}

/// Someone has looked at an unhappy survey answer on a resolved case: it leaves the inbox.
pub fn clear_flag(
    c: &mut DbConnection,
    actor: &User,
    case: &Case,
    now: NaiveDateTime,
) -> Result<(), WorkflowError> {
    if !cases::unflag(c, &case.id)? {
        return Err(invalid("workflow.not_flagged"));
    }
    record(
        c,
        case,
        actor,
        EventKind::FlagCleared,
        serde_json::json!({}),
        now,
    )?;
    Ok(())
}

/// Emails colleagues about a case, each in their language, once per event.
fn tell_staff(
    c: &mut DbConnection,
    case: &Case,
    kind: CaseMailKind,
    to: &[String],
    event_id: &str,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    if let Some(audience) = crate::domain::alert::Audience::load(c, &case.location_id)? {
        audience.enqueue_case_mail(c, &case.id, kind, to, &format!("event:{event_id}"), now)?;
    }
    Ok(())
}

/// An internal note: staff only, never shown to the customer.
pub fn add_note(
    c: &mut DbConnection,
    actor: &User,
    case: &Case,
    text: &str,
    now: NaiveDateTime,
) -> Result<(), WorkflowError> {
    let text = staff_text(StaffText::Note, text)?;
    record(
        c,
        case,
        actor,
        EventKind::Note,
        serde_json::json!({ "text": text }),
        now,
    )?;
    Ok(())
}

/// A message to the customer: on their status page, and by email when they may be told.
pub fn public_update(
    c: &mut DbConnection,
    actor: &User,
    case: &Case,
    text: &str,
    now: NaiveDateTime,
) -> Result<(), WorkflowError> {
    let text = staff_text(StaffText::Update, text)?;
    if case.resolved_at.is_none() {
        transitions::set_status(c, &case.id, CaseStatus::InProgress)?;
    }
    let event = record(
        c,
        case,
        actor,
        EventKind::PublicUpdate,
        serde_json::json!({ "text": text }),
        now,
    )?;
    tell_customer(
        c,
        case,
        CustomerMailKind::Update {
            event_id: event.id.clone(),
        },
        &format!("update:{}", event.id),
        now,
    )?;
    Ok(())
}

pub struct Resolution {
    pub what_was_done: String,
    pub root_cause: String,
    pub compensation: Option<Compensation>,
    /// How its remedy was allowed (recorded on the event: who may grant what is audited).
    pub granted: Option<Granted>,
}

/// Why the one resolving could give the remedy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Granted {
    /// Within their store's limit for their role (or they have none).
    WithinLimit,
    /// A manager approved it on this case.
    Approved { proposal: String, by: String },
}

/// Checks a resolution against the location's root causes.
pub fn parse_resolution(
    what_was_done: &str,
    root_cause: &str,
    root_causes: &[String],
    compensation: Option<Compensation>,
) -> Result<Resolution, WorkflowError> {
    let what_was_done = staff_text(StaffText::WhatWasDone, what_was_done)?;
    let root_cause = root_cause.trim();
    if !root_causes.iter().any(|r| r == root_cause) {
        return Err(invalid("workflow.choose_root_cause"));
    }
    Ok(Resolution {
        what_was_done,
        root_cause: root_cause.to_owned(),
        compensation,
        granted: None,
    })
}

/// Resolves the case and every duplicate merged into it; stops escalation; tells each
/// reporter who may be told.
/// `key` signs the survey links the resolution schedules.
pub fn resolve(
    c: &mut DbConnection,
    key: &[u8],
    actor: &User,
    case: &Case,
    r: &Resolution,
    now: NaiveDateTime,
) -> Result<(), WorkflowError> {
    refuse_if_resolved(case)?;
    let (kind, minor, currency) = match &r.compensation {
        Some(Compensation { kind, amount }) => (
            Some(kind.clone()),
            amount.as_ref().map(|(m, _)| *m),
            amount.as_ref().map(|(_, c)| c.clone()),
        ),
        None => (None, None, None),
    };
    let mut all = vec![case.clone()];
    all.extend(cases::merged_into(c, &case.id)?);
    for each in &all {
        if each.resolved_at.is_some() {
            continue;
        }
        // Only while unresolved: of two resolutions racing each other (a double click on
        // PostgreSQL), the second changes nothing and says so.
        let resolved = transitions::Resolved {
            status: CaseStatus::Resolved,
            resolved_at: now,
            resolution: &r.what_was_done,
            root_cause: &r.root_cause,
            compensation_type: kind.as_deref(),
            compensation_minor: minor,
            compensation_currency: currency.as_deref(),
        };
        if !transitions::resolve(c, &each.id, &resolved)? {
            if each.id == case.id {
                return Err(invalid("workflow.resolved_reopen_first"));
            }
            continue;
        }
        escalations::cancel_pending(c, &each.id, now)?;
        record(
            c,
            each,
            actor,
            EventKind::Resolved,
            serde_json::json!({
                "what_was_done": r.what_was_done,
                "root_cause": r.root_cause,
                "compensation": kind,
                "compensation_minor": minor,
                "compensation_currency": currency,
                "via": if each.id == case.id { None } else { Some(&case.reference) },
                "granted": match &r.granted {
                    None => serde_json::Value::Null,
                    Some(Granted::WithinLimit) => serde_json::json!("within_limit"),
                    Some(Granted::Approved { .. }) => serde_json::json!("approved"),
                },
                "approved_by": match &r.granted {
                    Some(Granted::Approved { by, .. }) => Some(by),
                    _ => None,
                },
                "proposal": match &r.granted {
                    Some(Granted::Approved { proposal, .. }) => Some(proposal),
                    _ => None,
                },
            }),
            now,
        )?;
        // One message per resolution: a reopened and resolved again case tells again.
        tell_customer(
            c,
            each,
            CustomerMailKind::Resolved,
            &format!("resolved:{now}"),
            now,
        )?;
        crate::domain::survey::schedule_after_resolution(c, key, each, now)?;
    }
    Ok(())
}

pub fn reopen(
    c: &mut DbConnection,
    actor: &User,
    case: &Case,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), WorkflowError> {
    if case.resolved_at.is_none() {
        return Err(invalid("workflow.not_resolved"));
    }
    let reason = staff_text(StaffText::ReopenReason, reason)?;
    if !transitions::reopen(c, &case.id)? {
        return Err(invalid("workflow.not_resolved"));
    }
    // Reopening is handling an unhappy answer's flag.
    cases::unflag(c, &case.id)?;
    let event = record(
        c,
        case,
        actor,
        EventKind::Reopened,
        serde_json::json!({ "reason": reason }),
        now,
    )?;
    // Whoever has it, else the people a new complaint like it would alert; never the one
    // who reopened it.
    let assignee = match &case.assignee_id {
        Some(id) if users::deactivated_at(c, id)?.is_none() => users::find(c, id)?,
        Some(_) => None,
        None => None,
    };
    let to: Vec<String> = match assignee {
        Some(u) => vec![u.email],
        None => crate::domain::alert::Audience::load(c, &case.location_id)?
            .map(|a| a.recipients_for_new_case(&case.category, now))
            .unwrap_or_default(),
    };
    let to: Vec<String> = to.into_iter().filter(|e| *e != actor.email).collect();
    tell_staff(c, case, CaseMailKind::Reopened, &to, &event.id, now)?;
    Ok(())
}

/// Cases that look like the same problem: same touchpoint and category, within half an
/// hour, not resolved, not merged.
pub fn possible_duplicates(c: &mut DbConnection, case: &Case) -> QueryResult<Vec<Case>> {
    cases::open_alike(c, case, Duration::minutes(DUPLICATE_WINDOW_MINUTES))
}

/// Merges `duplicate` into `case`: it leaves the inbox and is resolved with it.
pub fn merge(
    c: &mut DbConnection,
    actor: &User,
    case: &Case,
    duplicate: &Case,
    now: NaiveDateTime,
) -> Result<(), WorkflowError> {
    refuse_if_resolved(case)?;
    if duplicate.location_id != case.location_id || duplicate.id == case.id {
        return Err(invalid("workflow.merge_same_location"));
    }
    if duplicate.merged_into.is_some() || duplicate.resolved_at.is_some() {
        return Err(invalid_with(
            "workflow.already_merged",
            "reference",
            duplicate.reference.clone(),
        ));
    }
    if !transitions::merge(c, &duplicate.id, &case.id)? {
        return Err(invalid_with(
            "workflow.already_merged",
            "reference",
            duplicate.reference.clone(),
        ));
    }
    escalations::cancel_pending(c, &duplicate.id, now)?;
    record(
        c,
        duplicate,
        actor,
        EventKind::Merged,
        serde_json::json!({ "into": case.reference }),
        now,
    )?;
    record(
        c,
        case,
        actor,
        EventKind::MergedIn,
        serde_json::json!({ "from": duplicate.reference }),
        now,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::language::Language;

    #[test]
    fn every_default_root_cause_and_compensation_has_a_label_and_a_stores_own_shows_as_typed() {
        for lang in Language::all() {
            for key in DEFAULT_ROOT_CAUSES {
                assert_ne!(lang.root_cause_label(key), *key, "{}", lang.code());
            }
            for key in COMPENSATION_TYPES {
                assert_ne!(lang.compensation_label(key), *key, "{}", lang.code());
            }
        }
        assert_eq!(
            Language::parse("ko").unwrap().root_cause_label("staffing"),
            "인력 배치"
        );
        assert_eq!(
            Language::parse("ja").unwrap().compensation_label("refund"),
            "返金"
        );
        assert_eq!(
            Language::parse("ko")
                .unwrap()
                .root_cause_label("broken till"),
            "broken till"
        );
    }

    #[test]
    fn compensation_amounts_are_parsed_into_cents_with_a_currency() {
        let c = |k, v, cur| parse_compensation(k, v, cur).map_err(|e| e.to_string());
        let amount = |k: &str, m: i32, cur: &str| {
            Ok(Some(Compensation {
                kind: k.into(),
                amount: Some((m, cur.into())),
            }))
        };
        assert_eq!(c("refund", "12.50", "eur"), amount("refund", 1250, "EUR"));
        assert_eq!(c("voucher", "5", "PLN"), amount("voucher", 500, "PLN"));
        // KRW and JPY have no minor unit: amounts are whole.
        assert_eq!(
            c("discount", "3500", "krw"),
            amount("discount", 3500, "KRW")
        );
        assert_eq!(c("voucher", "500", "JPY"), amount("voucher", 500, "JPY"));
        assert!(c("discount", "3,5", "KRW").is_err());
        assert_eq!(c("refund", "12,5", "PLN"), amount("refund", 1250, "PLN"));
        assert_eq!(c("", "", ""), Ok(None));
        assert_eq!(
            c("apology", "", ""),
            Ok(Some(Compensation {
                kind: "apology".into(),
                amount: None
            }))
        );
        for (k, v, cur) in [
            ("bribe", "1", "EUR"),
            ("refund", "", "EUR"),
            ("refund", "-3", "EUR"),
            ("refund", "1.234", "EUR"),
            ("refund", "12.5x", "EUR"),
            ("refund", "99999999", "EUR"),
            ("refund", "1", "EURO"),
            ("refund", "1", "€"),
        ] {
            assert!(c(k, v, cur).is_err(), "{k} {v} {cur}");
        }
    }

    #[test]
    fn a_resolution_needs_what_was_done_and_a_root_cause_from_the_list() {
        let causes = root_causes_of(None);
        assert!(parse_resolution("Refilled the soap", "cleaning", &causes, None).is_ok());
        assert!(parse_resolution("  ", "cleaning", &causes, None).is_err());
        assert!(parse_resolution("Refilled", "gremlins", &causes, None).is_err());
        let own = root_causes_of(Some("late delivery, broken till"));
        assert_eq!(own, ["late delivery", "broken till"]);
        assert!(parse_resolution("Fixed", "broken till", &own, None).is_ok());
    }
}
