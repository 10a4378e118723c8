//! A remedy above its proposer's limit waits for a manager: the proposal is stored with an
//! event, each approver is emailed in their language with signed, expiring approve and
//! decline links, and the first decision counts (a conditional update). The proposer is
//! told the answer; the customer is told nothing until staff resolve the case.

use chrono::{Duration, NaiveDateTime};

use crate::db::models::{new_id, Case, CaseEvent, RemedyProposal, User};
use crate::db::queries::{cases, recovery, users};
use crate::db::states::{EventKind, Role};
use crate::db::{DbConnection, DbError};
use crate::domain::case::workflow::{Compensation, WorkflowError};
use crate::domain::language::{Language, Refusal};
use crate::domain::mail::{enqueue, Enqueue, MailPayload, RemedyMail};
use crate::domain::signed_link;

/// What an approval link signs: `[proposal id, approver's user id]`.
pub const LINK_PURPOSE: &str = "mend remedy decision";
/// An approval link works this long: a manager off for a weekend still answers from it.
pub const LINK_HOURS: i64 = 72;

impl RemedyProposal {
    pub fn compensation(&self) -> Compensation {
        Compensation {
            kind: self.kind.clone(),
            amount: match (self.amount_minor, &self.currency) {
                (Some(m), Some(c)) => i32::try_from(m).ok().map(|m| (m, c.clone())),
                _ => None,
            },
        }
    }

    /// An approved proposal covers a remedy of its kind, in its currency, up to its amount.
    pub fn covers(&self, remedy: &Compensation) -> bool {
        if self.approved != Some(true) || self.kind != remedy.kind {
            return false;
        }
        match (&remedy.amount, self.amount_minor, &self.currency) {
            (None, _, _) => true,
            (Some((m, cur)), Some(max), Some(c)) => {
                cur.eq_ignore_ascii_case(c) && i64::from(*m) <= max
            }
            (Some(_), _, _) => false,
        }
    }
}

/// "Voucher 5,000 ₩": a remedy in the reader's words.
pub fn describe(lang: Language, remedy: &Compensation) -> String {
    let label = lang.compensation_label(&remedy.kind);
    match &remedy.amount {
        Some((m, cur)) => format!(
            "{label} {}",
            crate::domain::language::formats::money(lang, i64::from(*m), cur)
        ),
        None => label,
    }
}

/// An amount in minor units as staff type it: "20000" for won, "12.50" for euros.
pub fn typed_amount(minor: i64, currency: &str) -> String {
    let digits = crate::domain::setup::fields::minor_digits(currency);
    if digits == 0 {
        return minor.to_string();
    }
    let unit = 10_i64.pow(digits);
    format!(
        "{}.{:0width$}",
        minor / unit,
        minor % unit,
        width = digits as usize
    )
}

/// Who may decide a case's proposal: an active admin, or an active manager of its store;
/// never the one who proposed it.
pub fn may_decide(
    c: &mut DbConnection,
    who: &User,
    case: &Case,
    proposal: &RemedyProposal,
) -> diesel::QueryResult<bool> {
    if who.id == proposal.proposed_by || users::deactivated_at(c, &who.id)?.is_some() {
        return Ok(false);
    }
    Ok(match who.role {
        Role::Admin => true,
        Role::Manager => users::location_ids(c, &who.id)?.contains(&case.location_id),
        Role::Staff => false,
    })
}

/// Who is asked: the store's managers, else the admins; never the proposer.
fn approvers(c: &mut DbConnection, case: &Case, proposer: &User) -> diesel::QueryResult<Vec<User>> {
    let managers: Vec<User> = users::with_role_at(c, &case.location_id, &[Role::Manager])?
        .into_iter()
        .filter(|u| u.id != proposer.id)
        .collect();
    if !managers.is_empty() {
        return Ok(managers);
    }
    Ok(users::with_role(c, Role::Admin)?
        .into_iter()
        .filter(|u| u.id != proposer.id)
        .collect())
}

/// The proposal still waiting on a case, if any.
pub fn waiting(c: &mut DbConnection, case_id: &str) -> diesel::QueryResult<Option<RemedyProposal>> {
    Ok(recovery::proposals_of(c, case_id)?
        .into_iter()
        .find(|p| p.decided_at.is_none()))
}

/// Sends a remedy above `actor`'s limit to the approvers. One waiting proposal per case.
pub fn propose(
    c: &mut DbConnection,
    actor: &User,
    case: &Case,
    remedy: &Compensation,
    reason: &str,
    now: NaiveDateTime,
) -> Result<RemedyProposal, WorkflowError> {
    if case.resolved_at.is_some() {
        return Err(WorkflowError::Invalid(Refusal::new(
            "workflow.resolved_reopen_first",
        )));
    }
    if waiting(c, &case.id)?.is_some() {
        return Err(WorkflowError::Invalid(Refusal::new(
            "remedy.already_waiting",
        )));
    }
    let asked = approvers(c, case, actor)?;
    if asked.is_empty() {
        return Err(WorkflowError::Invalid(Refusal::new("remedy.nobody_to_ask")));
    }
    let proposal = RemedyProposal {
        id: new_id(),
        case_id: case.id.clone(),
        proposed_by: actor.id.clone(),
        kind: remedy.kind.clone(),
        amount_minor: remedy.amount.as_ref().map(|(m, _)| i64::from(*m)),
        currency: remedy.amount.as_ref().map(|(_, c)| c.clone()),
        reason: reason.to_owned(),
        created_at: now,
        approved: None,
        decided_by: None,
        decided_at: None,
    };
    recovery::add_proposal(c, &proposal)?;
    cases::add_event(
        c,
        &CaseEvent::new(
            &case.id,
            Some(&actor.id),
            EventKind::RemedyProposed,
            serde_json::json!({
                "proposal": proposal.id,
                "kind": proposal.kind,
                "amount_minor": proposal.amount_minor,
                "currency": proposal.currency,
                "asked": asked.iter().map(|u| u.email.clone()).collect::<Vec<_>>(),
            }),
            now,
        ),
    )?;
    for approver in &asked {
        queue(c, &proposal, RemedyMail::Ask, approver, now)?;
    }
    Ok(proposal)
}

fn queue(
    c: &mut DbConnection,
    proposal: &RemedyProposal,
    mail: RemedyMail,
    to: &User,
    now: NaiveDateTime,
) -> Result<(), DbError> {
    enqueue(
        c,
        Enqueue {
            kind: mail.mail_kind(),
            recipient: &to.email,
            payload: &MailPayload::RemedyMail {
                proposal_id: proposal.id.clone(),
                mail,
                lang: Language::or_default(&to.language).code().to_owned(),
            },
            dedupe_key: format!("remedy:{}:{}:{}", proposal.id, mail.mail_kind(), to.id),
            case_id: Some(&proposal.case_id),
            now,
        },
    )?;
    Ok(())
}

/// How a decision went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    Now,
    /// Someone decided first: their answer stands.
    Before {
        /// None: withdrawn, the case was resolved another way.
        approved: Option<bool>,
        by: Option<String>,
        at: NaiveDateTime,
    },
}

/// Approves or declines a proposal, once. Checked inside the transaction: the one deciding
/// must still be allowed to (a manager moved to another store is not).
pub fn decide(
    c: &mut DbConnection,
    who: &User,
    proposal_id: &str,
    approve: bool,
    now: NaiveDateTime,
) -> Result<Decided, WorkflowError> {
    let refuse = || WorkflowError::Invalid(Refusal::new("remedy.not_yours"));
    let proposal = recovery::proposal(c, proposal_id)?.ok_or_else(refuse)?;
    let case = cases::find(c, &proposal.case_id)?.ok_or_else(refuse)?;
    if !may_decide(c, who, &case, &proposal)? {
        return Err(refuse());
    }
    if !recovery::decide(c, &proposal.id, approve, &who.id, now)? {
        let before = recovery::proposal(c, proposal_id)?.ok_or_else(refuse)?;
        let by = match &before.decided_by {
            Some(id) => users::find(c, id)?.map(|u| u.email),
            None => None,
        };
        return Ok(Decided::Before {
            approved: before.approved,
            by,
            at: before.decided_at.unwrap_or(now),
        });
    }
    cases::add_event(
        c,
        &CaseEvent::new(
            &case.id,
            Some(&who.id),
            if approve {
                EventKind::RemedyApproved
            } else {
                EventKind::RemedyDeclined
            },
            serde_json::json!({
                "proposal": proposal.id,
                "kind": proposal.kind,
                "amount_minor": proposal.amount_minor,
                "currency": proposal.currency,
            }),
            now,
        ),
    )?;
    if let Some(proposer) = users::find(c, &proposal.proposed_by)? {
        if users::deactivated_at(c, &proposer.id)?.is_none() {
            queue(c, &proposal, RemedyMail::Decided, &proposer, now)?;
        }
    }
    Ok(Decided::Now)
}

/// The approval link's query for `approver`: `by`, `exp`, `sig`.
pub fn link_query(key: &[u8], proposal_id: &str, approver_id: &str, now: NaiveDateTime) -> String {
    let expires = (now + Duration::hours(LINK_HOURS)).and_utc().timestamp();
    let sig = signed_link::sign(key, LINK_PURPOSE, &[proposal_id, approver_id], expires);
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("by", approver_id)
        .append_pair("exp", &expires.to_string())
        .append_pair("sig", &sig)
        .finish()
}

pub fn verify_link(
    key: &[u8],
    proposal_id: &str,
    approver_id: &str,
    expires: i64,
    sig: &str,
    now: NaiveDateTime,
) -> Result<(), signed_link::LinkError> {
    signed_link::verify(
        key,
        LINK_PURPOSE,
        &[proposal_id, approver_id],
        expires,
        sig,
        now.and_utc().timestamp(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposal(kind: &str, amount: Option<(i64, &str)>, approved: Option<bool>) -> RemedyProposal {
        RemedyProposal {
            id: "p".into(),
            case_id: "c".into(),
            proposed_by: "u".into(),
            kind: kind.into(),
            amount_minor: amount.map(|(m, _)| m),
            currency: amount.map(|(_, c)| c.into()),
            reason: "r".into(),
            created_at: NaiveDateTime::default(),
            approved,
            decided_by: None,
            decided_at: None,
        }
    }

    #[test]
    fn an_approval_covers_its_kind_and_currency_up_to_its_amount_only_once_approved() {
        let remedy = |kind: &str, m: i32, cur: &str| Compensation {
            kind: kind.into(),
            amount: Some((m, cur.into())),
        };
        let yes = proposal("voucher", Some((20_000, "KRW")), Some(true));
        assert!(yes.covers(&remedy("voucher", 20_000, "KRW")));
        assert!(yes.covers(&remedy("voucher", 15_000, "krw")));
        assert!(!yes.covers(&remedy("voucher", 20_001, "KRW")));
        assert!(!yes.covers(&remedy("refund", 100, "KRW")));
        assert!(!yes.covers(&remedy("voucher", 100, "JPY")));
        assert!(
            !proposal("voucher", Some((20_000, "KRW")), None).covers(&remedy("voucher", 1, "KRW"))
        );
        assert!(!proposal("voucher", Some((20_000, "KRW")), Some(false))
            .covers(&remedy("voucher", 1, "KRW")));
    }

    #[test]
    fn approval_links_name_the_proposal_and_the_approver_and_expire() {
        let key = b"0123456789abcdef0123456789abcdef";
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let q = link_query(key, "p1", "u1", now);
        let pairs: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect();
        let exp: i64 = pairs["exp"].parse().unwrap();
        let sig = &pairs["sig"];
        assert_eq!(verify_link(key, "p1", "u1", exp, sig, now), Ok(()));
        assert!(verify_link(key, "p1", "u2", exp, sig, now).is_err());
        assert!(verify_link(key, "p2", "u1", exp, sig, now).is_err());
        let later = now + Duration::hours(LINK_HOURS) + Duration::seconds(1);
        assert_eq!(
            verify_link(key, "p1", "u1", exp, sig, later),
            Err(signed_link::LinkError::Expired)
        );
    }
}
