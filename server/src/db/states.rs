//! States stored as text, read and written as enums: a match over them is exhaustive, and
//! no other spelling reaches the database or comes back from it unnoticed. The stored
//! words are the ones the rows already hold, so no data migration is needed.
//!
//! One generic `ToSql`/`FromSql` per enum serves SQLite, PostgreSQL and the
//! `MultiConnection` backend over both (the text goes through `str`'s and `String`'s own
//! impls; vaultwarden's `impl_FromToSqlText` is the same idea).

/// An enum stored as one of a fixed set of words in a `Text` column.
macro_rules! text_state {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The word stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    DB,
                >>::from_sql(bytes)?;
                $name::parse(&text)
                    .ok_or_else(|| format!("not a {}: {text:?}", stringify!($name)).into())
            }
        }
    };
}

text_state! {
    /// Where a case stands. Acknowledging sets `acknowledged_at` and leaves a case `New`
    /// until someone acts on it; `Acknowledged` is held by older rows and the demo history,
    /// and reads as being worked on. A merged case keeps its status and names the case it
    /// went into (`merged_into`).
    pub enum CaseStatus {
        New = "new",
        Acknowledged = "acknowledged",
        InProgress = "in_progress",
        Resolved = "resolved",
    }
}

text_state! {
    /// What a staff account may do.
    pub enum Role {
        /// Works the cases of their locations.
        Staff = "staff",
        /// Everything of their locations: cases, routing, stickers, exports, settings.
        Manager = "manager",
        /// Everything, including users.
        Admin = "admin",
    }
}

text_state! {
    /// What happened to a case: one line of its timeline (`case_events.kind`). The event's
    /// `detail` JSON has the shape its kind defines; the timeline's words are
    /// `event.{kind}` in the catalogs.
    pub enum EventKind {
        Received = "received",
        Alerted = "alerted",
        Escalated = "escalated",
        Acknowledged = "acknowledged",
        Assigned = "assigned",
        Note = "note",
        PublicUpdate = "public_update",
        Resolved = "resolved",
        Reopened = "reopened",
        Merged = "merged",
        MergedIn = "merged_in",
        /// The person who had the case left: it went back to the store's queue.
        ReturnedToQueue = "returned_to_queue",
        SurveyAnswered = "survey_answered",
        /// An unhappy survey answer, kept in the inbox until handled.
        Flagged = "flagged",
        FlagCleared = "flag_cleared",
        /// The customer said what would make it right (`detail`: kind, text).
        WishGiven = "wish_given",
        /// A remedy above the proposer's limit went to a manager.
        RemedyProposed = "remedy_proposed",
        RemedyApproved = "remedy_approved",
        RemedyDeclined = "remedy_declined",
    }
}

text_state! {
    /// What the customer said would make it right (`case_wishes.kind`); its words are
    /// `wish.{kind}` in the catalogs.
    pub enum Wish {
        Replacement = "replacement",
        Refund = "refund",
        Apology = "apology",
        CallBack = "call_back",
        JustFix = "just_fix",
        Nothing = "nothing",
        /// Their own words say what.
        Other = "other",
    }
}

text_state! {
    /// Which survey: the one after resolution, or the check days later.
    pub enum SurveyKind {
        Satisfaction = "satisfaction",
        FollowUp = "follow_up",
    }
}

text_state! {
    /// Which email an outbox row holds (`outbox.kind`): what the delivery log and the case
    /// page call it (`mail_kind.{kind}` in the catalogs), and what a mailing counts.
    pub enum MailKind {
        Alert = "alert",
        Escalation = "escalation",
        UnhappyCustomer = "unhappy_customer",
        Assigned = "assigned",
        Reopened = "reopened",
        KioskUnhappy = "kiosk_unhappy",
        Digest = "digest",
        Invitation = "invitation",
        PasswordReset = "password_reset",
        Survey = "survey",
        SurveyReminder = "survey_reminder",
        FollowUp = "follow_up",
        CustomerReceipt = "customer_receipt",
        CustomerUpdate = "customer_update",
        CustomerResolved = "customer_resolved",
        /// "You said, we did".
        CustomerChanged = "customer_changed",
        ErasureConfirmation = "erasure_confirmation",
        /// "Send a test to me".
        Test = "test",
        /// A webhook stopped: 410 Gone, or failing for days.
        WebhookStopped = "webhook_stopped",
        /// A remedy above staff's limit, to a manager to approve or decline.
        RemedyAsk = "remedy_ask",
        /// The manager's answer, to the one who proposed it.
        RemedyDecided = "remedy_decided",
    }
}

text_state! {
    /// What an API token may do, each including the one before.
    pub enum TokenScope {
        /// Read cases, answers, stores, spots, categories and people.
        Read = "read",
        /// Also work cases: acknowledge, assign, note, update, resolve, reopen.
        Write = "write",
        /// Also create, change and archive stores, spots, categories and people.
        Admin = "admin",
    }
}

text_state! {
    /// What a webhook tells: one of the documented event types.
    pub enum WebhookEvent {
        CaseCreated = "case.created",
        CaseAcknowledged = "case.acknowledged",
        CaseAssigned = "case.assigned",
        /// A note or a message to the customer.
        CaseUpdated = "case.updated",
        CaseResolved = "case.resolved",
        CaseReopened = "case.reopened",
        SurveyAnswered = "survey.answered",
        KioskUnhappyTaps = "kiosk.unhappy_taps",
    }
}

text_state! {
    /// How a webhook's body is shaped: Standard Webhooks JSON, or what a chat or push
    /// service takes as it is.
    pub enum WebhookFormat {
        Standard = "standard",
        Slack = "slack",
        Teams = "teams",
        GoogleChat = "google-chat",
        Ntfy = "ntfy",
    }
}

text_state! {
    /// Why a webhook subscription stopped.
    pub enum WebhookStop {
        /// Someone removed it.
        Removed = "removed",
        /// Its receiver answered 410 Gone.
        Gone = "gone",
        /// Its deliveries failed for `DISABLE_AFTER_DAYS` days.
        Failing = "failing",
    }
}

impl WebhookEvent {
    /// The webhook event a timeline event is, if any.
    pub fn of_case_event(kind: EventKind) -> Option<WebhookEvent> {
        match kind {
            EventKind::Received => Some(WebhookEvent::CaseCreated),
            EventKind::Acknowledged => Some(WebhookEvent::CaseAcknowledged),
            EventKind::Assigned => Some(WebhookEvent::CaseAssigned),
            EventKind::Note | EventKind::PublicUpdate => Some(WebhookEvent::CaseUpdated),
            EventKind::Resolved => Some(WebhookEvent::CaseResolved),
            EventKind::Reopened => Some(WebhookEvent::CaseReopened),
            EventKind::SurveyAnswered => Some(WebhookEvent::SurveyAnswered),
            EventKind::Alerted
            | EventKind::Escalated
            | EventKind::Merged
            | EventKind::MergedIn
            | EventKind::ReturnedToQueue
            | EventKind::Flagged
            | EventKind::FlagCleared
            | EventKind::WishGiven
            | EventKind::RemedyProposed
            | EventKind::RemedyApproved
            | EventKind::RemedyDeclined => None,
        }
    }
}

impl TokenScope {
    /// This scope may do what `needed` allows.
    pub fn allows(self, needed: TokenScope) -> bool {
        let rank = |s: TokenScope| match s {
            TokenScope::Read => 0,
            TokenScope::Write => 1,
            TokenScope::Admin => 2,
        };
        rank(self) >= rank(needed)
    }
}

impl EventKind {
    /// Staff's own words are in its detail, so search indexes them.
    pub fn carries_staff_words(self) -> bool {
        matches!(
            self,
            EventKind::Note | EventKind::PublicUpdate | EventKind::Resolved | EventKind::Reopened
        )
    }
}

impl MailKind {
    /// Sent to the customer rather than to staff.
    pub fn is_to_customer(self) -> bool {
        matches!(
            self,
            MailKind::Survey
                | MailKind::SurveyReminder
                | MailKind::FollowUp
                | MailKind::CustomerReceipt
                | MailKind::CustomerUpdate
                | MailKind::CustomerResolved
                | MailKind::CustomerChanged
                | MailKind::ErasureConfirmation
        )
    }
}

impl CaseStatus {
    /// Someone is on it and it is not done.
    pub fn is_being_worked(self) -> bool {
        matches!(self, CaseStatus::Acknowledged | CaseStatus::InProgress)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::DatabaseUrl;
    use crate::db::schema::cases;
    use crate::db::Db;
    use diesel::prelude::*;

    #[test]
    fn every_state_reads_back_its_word_and_nothing_else_parses() {
        for s in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(CaseStatus::parse("Resolved"), None);
        assert_eq!(CaseStatus::parse(""), None);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(*role));
        }
        assert_eq!(Role::parse("Admin"), None);
    }

    #[test]
    fn a_word_no_state_has_is_an_error_when_read_not_a_silent_default() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("mend.db").display());
        let db = Db::open(&DatabaseUrl::parse(&url).unwrap()).unwrap();
        db.migrate().unwrap();
        let read = db.read(|c| {
            diesel::sql_query(
                "INSERT INTO locations (id, name, time_zone, default_language, sla_minutes, created_at) \
                 VALUES ('l', 'S', 'UTC', 'en', 15, '2026-01-01 00:00:00')",
            )
            .execute(c)?;
            diesel::sql_query(
                "INSERT INTO touchpoints (id, location_id, label, code, created_at) \
                 VALUES ('t', 'l', 'Door', 'ABCDEFGH', '2026-01-01 00:00:00')",
            )
            .execute(c)?;
            diesel::sql_query(
                "INSERT INTO cases (id, reference, location_id, touchpoint_id, category, body, \
                 contact_consent, language, status, created_at) VALUES \
                 ('a', 'AAA-AAA', 'l', 't', 'other', 'x', 0, 'en', 'resolved', '2026-01-01 00:00:00'), \
                 ('b', 'BBB-BBB', 'l', 't', 'other', 'x', 0, 'en', 'lost', '2026-01-01 00:00:00')",
            )
            .execute(c)?;
            let good: CaseStatus = cases::table.find("a").select(cases::status).first(c)?;
            assert_eq!(good, CaseStatus::Resolved);
            let n: i64 = cases::table
                .filter(cases::status.eq(CaseStatus::Resolved))
                .count()
                .get_result(c)?;
            assert_eq!(n, 1);
            cases::table
                .find("b")
                .select(cases::status)
                .first::<CaseStatus>(c)
        });
        assert!(read.is_err(), "{read:?}");
    }
}
