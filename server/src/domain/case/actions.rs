//! One entry for every way staff act on a case, used by the case page and the REST API
//! alike, so both check the same rules and record the same events.

use chrono::NaiveDateTime;

use crate::db::models::{Case, User};
use crate::db::queries::{cases, locations};
use crate::db::states::Role;
use crate::db::DbConnection;
use crate::domain::alert::escalation::acknowledge;
use crate::domain::case::reference::normalize_reference;
use crate::domain::case::workflow::{
    self, parse_compensation, parse_resolution, root_causes_of, Compensation, Granted,
    WorkflowError,
};
use crate::domain::language::Refusal;
use crate::domain::recovery::{approval, limits};

/// What someone does to a case, with what they typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseAction {
    /// `via` says where: "case_page", "api".
    Acknowledge {
        via: &'static str,
    },
    /// `None`: the one acting takes it.
    Assign {
        to: Option<String>,
    },
    Note {
        text: String,
    },
    /// A message the customer reads.
    Update {
        text: String,
    },
    Resolve(ResolutionInput),
    Reopen {
        reason: String,
    },
    /// An unhappy answer's flag, handled.
    ClearFlag,
    /// The other case (a reference) goes into this one.
    Merge {
        duplicate: String,
    },
    /// A manager approves or declines the remedy waiting on the case.
    Decide {
        approve: bool,
    },
}

/// What an action came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Performed {
    Done,
    /// The remedy was above the actor's limit: it waits for a manager, the case is not
    /// resolved and the customer is told nothing yet.
    Proposed,
    /// A decision that someone made first.
    DecidedBefore,
}

/// A resolution as typed: checked against the store's root causes and its currency's
/// minor unit when performed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolutionInput {
    pub what_was_done: String,
    pub root_cause: String,
    pub compensation_type: String,
    pub compensation_value: String,
    pub compensation_currency: String,
}

fn refused(key: &'static str) -> WorkflowError {
    WorkflowError::Invalid(Refusal::new(key))
}

/// Performs `action` by `actor` on the case as it is now, inside the caller's write
/// transaction: a double click's second request sees what the first one did. `key`
/// signs the survey links a resolution schedules.
pub fn perform(
    c: &mut DbConnection,
    key: &[u8],
    actor: &User,
    case_id: &str,
    action: &CaseAction,
    now: NaiveDateTime,
) -> Result<Performed, WorkflowError> {
    let case = cases::find(c, case_id)?.ok_or_else(|| {
        WorkflowError::Invalid(Refusal::new("workflow.no_case").with("reference", ""))
    })?;
    let done = |r: Result<(), WorkflowError>| r.map(|()| Performed::Done);
    match action {
        CaseAction::Acknowledge { via } => acknowledge(c, &case, &actor.email, via, now)
            .map(|_| Performed::Done)
            .map_err(WorkflowError::from),
        CaseAction::Assign { to } => {
            let to = to.as_deref().unwrap_or(actor.id.as_str());
            if to.trim().is_empty() {
                return Err(refused("workflow.choose_person"));
            }
            done(workflow::assign(c, actor, &case, to, now))
        }
        CaseAction::Note { text } => done(workflow::add_note(c, actor, &case, text, now)),
        CaseAction::Update { text } => done(workflow::public_update(c, actor, &case, text, now)),
        CaseAction::Resolve(input) => {
            let causes = root_causes_of(locations::root_causes(c, &case.location_id)?.as_deref());
            let compensation = parse_compensation(
                &input.compensation_type,
                &input.compensation_value,
                &input.compensation_currency,
            )?;
            let mut r = parse_resolution(
                &input.what_was_done,
                &input.root_cause,
                &causes,
                compensation,
            )?;
            if let Some(remedy) = &r.compensation {
                match grant(c, actor, &case, remedy)? {
                    Some(granted) => r.granted = Some(granted),
                    None => {
                        approval::propose(c, actor, &case, remedy, &r.what_was_done, now)?;
                        return Ok(Performed::Proposed);
                    }
                }
            }
            workflow::resolve(c, key, actor, &case, &r, now)?;
            // A remedy still waiting for a manager is moot now: nobody is asked any more.
            crate::db::queries::recovery::withdraw_waiting(c, &case.id, now)?;
            Ok(Performed::Done)
        }
        CaseAction::Reopen { reason } => done(workflow::reopen(c, actor, &case, reason, now)),
        CaseAction::ClearFlag => done(workflow::clear_flag(c, actor, &case, now)),
        CaseAction::Merge { duplicate } => {
            let other = visible(c, actor, duplicate)?;
            done(workflow::merge(c, actor, &case, &other, now))
        }
        CaseAction::Decide { approve } => {
            let waiting =
                approval::waiting(c, &case.id)?.ok_or_else(|| refused("remedy.nothing_waiting"))?;
            Ok(
                match approval::decide(c, actor, &waiting.id, *approve, now)? {
                    approval::Decided::Now => Performed::Done,
                    approval::Decided::Before { .. } => Performed::DecidedBefore,
                },
            )
        }
    }
}

/// How `actor` may give `remedy` on this case without asking: within their store's limit
/// for their role, or approved on this case by a manager. None: a manager must decide.
fn grant(
    c: &mut DbConnection,
    actor: &User,
    case: &Case,
    remedy: &Compensation,
) -> Result<Option<Granted>, WorkflowError> {
    let currency = crate::db::queries::stores::find(c, &case.location_id)?
        .map(|s| s.currency)
        .unwrap_or_default();
    if limits::within(c, actor, &case.location_id, &currency, remedy)? {
        return Ok(Some(Granted::WithinLimit));
    }
    let approved = crate::db::queries::recovery::proposals_of(c, &case.id)?
        .into_iter()
        .find(|p| p.covers(remedy));
    Ok(match approved {
        Some(p) => Some(Granted::Approved {
            by: match &p.decided_by {
                Some(id) => crate::db::queries::users::find(c, id)?.map(|u| u.email),
                None => None,
            }
            .unwrap_or_default(),
            proposal: p.id,
        }),
        None => None,
    })
}

/// A case by its reference as typed, if `actor` may see it.
fn visible(c: &mut DbConnection, actor: &User, typed: &str) -> Result<Case, WorkflowError> {
    let r = normalize_reference(typed).ok_or_else(|| {
        WorkflowError::Invalid(Refusal::new("workflow.not_reference").with("reference", typed))
    })?;
    cases::find_visible(c, &r, &actor.id, actor.role == Role::Admin)?.ok_or_else(|| {
        WorkflowError::Invalid(Refusal::new("workflow.no_case").with("reference", r))
    })
}
