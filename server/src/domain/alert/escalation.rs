//! The escalation chain and what stops it. A case nobody acknowledges within the
//! location's SLA goes to the location's managers; still unacknowledged one more interval
//! later, to the admins. Each level fires at most once (several workers may race for it);
//! acknowledging cancels whatever is pending.

use chrono::{Duration, NaiveDateTime};

use crate::db::models::{Case, CaseEvent, Escalation};
use crate::db::queries::{cases, escalations, routing, users};
use crate::db::states::EventKind;
use crate::db::{DbConnection, DbError};
use crate::domain::alert::{AlertContext, Audience};
use crate::domain::mail::CaseMailKind;

/// The last level: the admins.
pub const TOP_LEVEL: i32 = 2;

#[derive(Debug, Clone, PartialEq)]
pub enum Fired {
    /// Sent to these people.
    Escalated { level: i32, to: Vec<String> },
    /// The case was acknowledged or resolved meanwhile: the chain ends here.
    Cancelled,
    /// Another worker took it first.
    AlreadyHandled,
}

/// Fires one due escalation. Run inside a write transaction.
pub fn fire(c: &mut DbConnection, ctx: &AlertContext, due: &Escalation) -> Result<Fired, DbError> {
    let now = ctx.clock.now();
    let Some(case) = cases::find(c, &due.case_id)? else {
        return Ok(Fired::AlreadyHandled);
    };
    if case.acknowledged_at.is_some() || case.resolved_at.is_some() {
        escalations::cancel_pending(c, &case.id, now)?;
        return Ok(Fired::Cancelled);
    }
    if !escalations::fire(c, &due.case_id, due.level, now)? {
        return Ok(Fired::AlreadyHandled);
    }
    let Some(audience) = Audience::load(c, &case.location_id)? else {
        return Ok(Fired::AlreadyHandled);
    };
    let to = audience.escalation_recipients(due.level);
    let waited = (now - case.created_at).num_minutes().max(0);
    audience.enqueue_case_mail(
        c,
        &case.id,
        CaseMailKind::Escalation { minutes: waited },
        &to,
        &format!("escalation{}", due.level),
        now,
    )?;
    cases::add_event(
        c,
        &CaseEvent::new(
            &case.id,
            None,
            EventKind::Escalated,
            serde_json::json!({ "level": due.level, "to": to }),
            now,
        ),
    )?;
    if due.level < TOP_LEVEL {
        // A location without managers goes straight on to the admins.
        let after = if to.is_empty() {
            Duration::zero()
        } else {
            let minutes =
                routing::alerting(c, &case.location_id)?.map_or(15, |a| a.escalation_minutes);
            Duration::minutes(i64::from(minutes))
        };
        escalations::schedule(
            c,
            &Escalation {
                case_id: case.id.clone(),
                level: due.level + 1,
                due_at: now + after,
                fired_at: None,
                cancelled_at: None,
            },
        )?;
    }
    Ok(Fired::Escalated {
        level: due.level,
        to,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum Acknowledged {
    /// This call acknowledged the case.
    Now,
    /// Someone had already: when, and who (their email) when it was a person.
    Before {
        at: NaiveDateTime,
        by: Option<String>,
    },
}

/// Acknowledges a case on behalf of `by` (an email; the user's id when they have an
/// account), records who and how, and stops the escalation chain. Run inside a write
/// transaction.
pub fn acknowledge(
    c: &mut DbConnection,
    case: &Case,
    by: &str,
    via: &str,
    now: NaiveDateTime,
) -> Result<Acknowledged, DbError> {
    if !cases::acknowledge(c, &case.id, now)? {
        let at = cases::find(c, &case.id)?
            .and_then(|c| c.acknowledged_at)
            .unwrap_or(now);
        let by = cases::acknowledged_by(c, &case.id)?;
        return Ok(Acknowledged::Before { at, by });
    }
    let actor = users::find_by_email(c, by)?.map(|u| u.id);
    // "I'm on it": the one who acknowledges has the case, unless someone was given it.
    if let Some(id) = &actor {
        cases::assign_if_nobody(c, &case.id, id)?;
    }
    cases::add_event(
        c,
        &CaseEvent::new(
            &case.id,
            actor.as_deref(),
            EventKind::Acknowledged,
            serde_json::json!({ "by": by, "via": via }),
            now,
        ),
    )?;
    escalations::cancel_pending(c, &case.id, now)?;
    Ok(Acknowledged::Now)
}
