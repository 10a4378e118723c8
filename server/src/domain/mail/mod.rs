//! Every email Mend sends: the payload the outbox keeps (here), how each kind is composed
//! (`customer`, `survey`, `account`, `test_mail`), rendering, and unsubscribing.
//!
//! An email as the outbox keeps it (what to render when sending: a message about a case, in
//! the recipient's language) and as the worker renders it. Images are kept as paths under
//! the data dir, not copied into every row.

pub mod account;
pub mod customer;
pub mod notice;
pub mod render;
pub mod survey;
pub mod test_mail;
pub mod unsubscribe;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::db::models::{new_id, OutboxMessage};
use crate::db::queries::outbox;
pub use crate::db::states::MailKind;
use crate::db::DbConnection;
use crate::domain::language::Language;

/// Which email: the first alert, or an escalation after `minutes` without acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaseMailKind {
    Alert,
    Escalation {
        minutes: i64,
    },
    /// The customer answered a survey: not fixed, or unhappy.
    Unhappy,
    /// Someone gave the case to the recipient.
    Assigned,
    /// Staff reopened a resolved case: to whoever has it, else the store's people.
    Reopened,
}

/// What a customer is told.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CustomerMailKind {
    /// A public update (the event holds its text).
    Update {
        event_id: String,
    },
    Resolved,
    /// The receipt, sent at once: the reference and the way back to the status page.
    Receipt,
    /// "You said, we did": a change a store made about what they complained of.
    Changed {
        change_id: String,
    },
}

impl CaseMailKind {
    /// Its outbox kind.
    pub fn mail_kind(self) -> MailKind {
        match self {
            CaseMailKind::Alert => MailKind::Alert,
            CaseMailKind::Escalation { .. } => MailKind::Escalation,
            CaseMailKind::Unhappy => MailKind::UnhappyCustomer,
            CaseMailKind::Assigned => MailKind::Assigned,
            CaseMailKind::Reopened => MailKind::Reopened,
        }
    }
}

impl CustomerMailKind {
    /// Its outbox kind.
    pub fn mail_kind(&self) -> MailKind {
        match self {
            CustomerMailKind::Update { .. } => MailKind::CustomerUpdate,
            CustomerMailKind::Resolved => MailKind::CustomerResolved,
            CustomerMailKind::Receipt => MailKind::CustomerReceipt,
            CustomerMailKind::Changed { .. } => MailKind::CustomerChanged,
        }
    }
}

/// Which email about a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemedyMail {
    /// To an approver: approve or decline.
    Ask,
    /// To the proposer: the answer.
    Decided,
}

impl RemedyMail {
    pub fn mail_kind(self) -> MailKind {
        match self {
            RemedyMail::Ask => MailKind::RemedyAsk,
            RemedyMail::Decided => MailKind::RemedyDecided,
        }
    }
}

/// What a survey email is: the first ask, its reminder, or the follow-up check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyMail {
    Ask,
    Reminder,
    FollowUp,
}

/// Which email: a reset, or an invitation to a new account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordMail {
    Reset,
    Invite,
}

impl SurveyMail {
    /// Its outbox kind.
    pub fn mail_kind(self) -> MailKind {
        match self {
            SurveyMail::Ask => MailKind::Survey,
            SurveyMail::Reminder => MailKind::SurveyReminder,
            SurveyMail::FollowUp => MailKind::FollowUp,
        }
    }
}

impl PasswordMail {
    /// Its outbox kind.
    pub fn mail_kind(self) -> MailKind {
        match self {
            PasswordMail::Reset => MailKind::PasswordReset,
            PasswordMail::Invite => MailKind::Invitation,
        }
    }
}

/// What "send a test to me" can send (`test_mail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sample {
    Reminder,
    FollowUp,
    Digest,
}

impl Sample {
    pub const ALL: [Sample; 3] = [Sample::Reminder, Sample::FollowUp, Sample::Digest];

    pub fn key(self) -> &'static str {
        match self {
            Sample::Reminder => "reminder",
            Sample::FollowUp => "follow_up",
            Sample::Digest => "digest",
        }
    }

    pub fn parse(s: &str) -> Option<Sample> {
        Sample::ALL.into_iter().find(|k| k.key() == s)
    }

    /// Its name for people (`test_mail.{key}`).
    pub fn label(self, lang: Language) -> String {
        lang.text(&format!("test_mail.{}", self.key()))
    }
}

/// Why an email was not sent. Permanent: trying again cannot help (a template that fails,
/// a recipient the server refuses, a case that is gone); the outbox gives up on it at once.
/// Transient: a timeout, a database or mail server away for now; the outbox tries again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    #[error("{0}")]
    Transient(String),
    #[error("{0}")]
    Permanent(String),
}

impl From<askama::Error> for MailError {
    fn from(e: askama::Error) -> Self {
        MailError::Permanent(format!("email template failed: {e}"))
    }
}

/// A database that did not answer is worth another try; anything else fails the same way
/// every time, and is given up at once instead of retried for hours.
impl From<crate::db::DbError> for MailError {
    fn from(e: crate::db::DbError) -> Self {
        use crate::db::DbError;
        match e {
            DbError::Connect(_) | DbError::Unavailable(_) | DbError::Query(_) => {
                MailError::Transient(e.to_string())
            }
            DbError::Stopped(_) | DbError::Batch(_) => MailError::Transient(e.to_string()),
            DbError::Migration(_) | DbError::Encode(_) => MailError::Permanent(e.to_string()),
        }
    }
}

impl From<diesel::result::Error> for MailError {
    fn from(e: diesel::result::Error) -> Self {
        MailError::from(crate::db::DbError::Query(e))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
    #[serde(default)]
    pub inline_images: Vec<InlineImage>,
    /// For mail to customers: where to unsubscribe (sent as List-Unsubscribe, one-click).
    #[serde(default)]
    pub list_unsubscribe: Option<String>,
}

/// What an outbox row holds. Tagged, so later kinds of mail (survey invitations, replies
/// to customers) add variants without changing the rows already queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MailPayload {
    /// A message about a case, rendered by the worker when it sends.
    CaseMail {
        case_id: String,
        mail: CaseMailKind,
        lang: String,
    },
    /// A set-password link (a reset, or an invitation), valid until `expires` (Unix
    /// seconds), for the account as it was when asked for.
    PasswordMail {
        user_id: String,
        mail: PasswordMail,
        expires: i64,
    },
    /// A survey, its reminder, or the follow-up check.
    SurveyMail { survey_id: String, mail: SurveyMail },
    /// A message to the customer about their case, rendered when sent.
    CustomerMail {
        case_id: String,
        mail: CustomerMailKind,
        lang: String,
    },
    /// A location's weekly figures for one of its managers; `week` is its Monday.
    DigestMail {
        location_id: String,
        week: String,
        lang: String,
    },
    /// The last message to a customer who erased their data: it was done.
    ErasureMail {
        reference: String,
        store: String,
        lang: String,
    },
    /// "Send a test to me": a store's survey reminder, follow-up or weekly summary, now.
    TestMail {
        location_id: String,
        sample: Sample,
        lang: String,
    },
    /// Unhappy kiosk taps piled up at a location between `from` and `to` (RFC 3339).
    KioskAlert {
        location_id: String,
        from: String,
        to: String,
        count: i64,
        lang: String,
    },
    /// A webhook subscription stopped; to its owner.
    WebhookStopped {
        subscription_id: String,
        lang: String,
    },
    /// A remedy above staff's limit: the ask to an approver, or the answer to its proposer.
    RemedyMail {
        proposal_id: String,
        mail: RemedyMail,
        lang: String,
    },
}

/// An image the HTML part shows as `cid:{cid}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InlineImage {
    pub cid: String,
    /// Relative to the data dir.
    pub path: String,
    pub content_type: String,
}

/// One line, no control characters, at most `max` characters: customer text put into a
/// subject can neither add a header nor push the subject off the screen.
pub fn one_line(s: &str, max: usize) -> String {
    let words: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let line = words.join(" ");
    if line.chars().count() <= max {
        return line;
    }
    let cut: String = line.chars().take(max.saturating_sub(1)).collect();
    // End on a word boundary when one is near.
    let cut = match cut.rfind(' ') {
        Some(i) if i > max / 2 => cut[..i].to_owned(),
        _ => cut,
    };
    format!("{cut}…")
}

pub struct Enqueue<'a> {
    pub kind: MailKind,
    pub recipient: &'a str,
    pub payload: &'a MailPayload,
    /// One message per key, ever: the same event enqueued twice sends once.
    pub dedupe_key: String,
    pub case_id: Option<&'a str>,
    pub now: NaiveDateTime,
}

/// The outbox row of a message, due at once.
pub fn outbox_row(e: Enqueue<'_>) -> Result<OutboxMessage, crate::db::DbError> {
    let payload = serde_json::to_string(e.payload).map_err(crate::db::DbError::Encode)?;
    Ok(OutboxMessage {
        id: new_id(),
        kind: e.kind,
        recipient: e.recipient.to_owned(),
        payload,
        attempts: 0,
        next_attempt_at: e.now,
        claimed_until: None,
        sent_at: None,
        last_error: None,
        dedupe_key: e.dedupe_key,
        created_at: e.now,
        failed_at: None,
        case_id: e.case_id.map(str::to_owned),
    })
}

/// Puts a message into the outbox, due at once. Run inside the event's transaction.
pub fn enqueue(conn: &mut DbConnection, e: Enqueue<'_>) -> Result<bool, crate::db::DbError> {
    Ok(outbox::enqueue(conn, &outbox_row(e)?)?)
}

/// `j***@example.com`: enough to tell messages apart in a log, not to harvest addresses.
pub fn mask(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_format_is_stable_because_queued_rows_outlive_an_upgrade() {
        let payload = MailPayload::CaseMail {
            case_id: "c1".into(),
            mail: CaseMailKind::Escalation { minutes: 16 },
            lang: "ko".into(),
        };
        let json = r#"{"type":"case_mail","case_id":"c1","mail":{"kind":"escalation","minutes":16},"lang":"ko"}"#;
        assert_eq!(serde_json::to_string(&payload).unwrap(), json);
        assert_eq!(serde_json::from_str::<MailPayload>(json).unwrap(), payload);
        let alert = r#"{"type":"case_mail","case_id":"c1","mail":{"kind":"alert"},"lang":"en"}"#;
        assert!(serde_json::from_str::<MailPayload>(alert).is_ok());
    }

    #[test]
    fn one_line_removes_line_breaks_and_control_characters() {
        assert_eq!(
            one_line("Dirty\r\nBcc: evil@example.com\tand\u{0}more", 100),
            "Dirty Bcc: evil@example.com and more"
        );
    }

    #[test]
    fn one_line_shortens_on_a_word_boundary() {
        let s = one_line("the queue at the bakery counter was very long today", 30);
        assert_eq!(s, "the queue at the bakery…");
        assert!(s.chars().count() <= 30);
        assert_eq!(one_line("短い", 30), "短い");
    }
}
