//! Rendering an outbox row into the email to send, when the worker sends it.

use std::collections::HashMap;

use crate::db::models::{Case, OutboxMessage};
use crate::db::queries::cases;
use crate::domain::alert::{AlertContext, CaseFacts, PlaceCache};
use crate::domain::language::Language;
use crate::domain::mail::customer;
use crate::domain::mail::{MailError, MailPayload, OutgoingEmail};

/// What a message says, when the worker is about to send it: rendered now from the case
/// as it stands. An error is permanent (the case is gone, or a template is broken); a
/// database hiccup is not.
pub fn render_payload(
    db: &crate::db::Db,
    ctx: &AlertContext,
    recipient: &str,
    payload: &str,
) -> Result<OutgoingEmail, MailError> {
    let payload: MailPayload = serde_json::from_str(payload)
        .map_err(|e| MailError::Permanent(format!("unreadable outbox payload: {e}")))?;
    match payload {
        MailPayload::CaseMail {
            case_id,
            mail,
            lang,
        } => {
            let facts = db
                .read(|c| match cases::find(c, &case_id)? {
                    Some(case) => CaseFacts::load(c, case)?
                        .map(|f| f.with_answer(c, &mail))
                        .transpose(),
                    None => Ok(None),
                })
                .map_err(|e| MailError::Transient(e.to_string()))?
                .ok_or_else(|| MailError::Permanent(format!("case {case_id} is gone")))?;
            facts.compose(ctx, mail, recipient, Language::or_default(&lang))
        }
        MailPayload::PasswordMail {
            user_id,
            mail,
            expires,
        } => {
            let user = db
                .read(|c| crate::db::queries::users::find(c, &user_id))
                .map_err(|e| MailError::Transient(e.to_string()))?
                .ok_or_else(|| MailError::Permanent(format!("account {user_id} is gone")))?;
            crate::domain::mail::account::compose(ctx, &user, mail, expires)
        }
        MailPayload::SurveyMail { survey_id, mail } => {
            let facts = db
                .read(|c| crate::domain::mail::survey::SurveyFacts::load(c, &survey_id))
                .map_err(|e| MailError::Transient(e.to_string()))?
                .ok_or_else(|| MailError::Permanent(format!("survey {survey_id} is gone")))?;
            facts.compose(ctx, mail, recipient)
        }
        MailPayload::CustomerMail {
            case_id,
            mail,
            lang,
        } => {
            let found = db
                .read(|c| customer::CustomerFacts::load(c, &case_id, &mail))
                .map_err(|e| MailError::Transient(e.to_string()))?
                .ok_or_else(|| MailError::Permanent(format!("case {case_id} is gone")))?;
            found.compose(ctx, &mail, Language::or_default(&lang))
        }
        MailPayload::DigestMail {
            location_id,
            week,
            lang,
        } => {
            let week = chrono::NaiveDate::parse_from_str(&week, "%Y-%m-%d")
                .map_err(|e| MailError::Permanent(format!("digest week \"{week}\": {e}")))?;
            crate::domain::insight::digest::compose(
                db,
                ctx,
                &location_id,
                week,
                Language::or_default(&lang),
            )?
            .ok_or_else(|| MailError::Permanent(format!("location {location_id} is gone")))
        }
        MailPayload::WebhookStopped {
            subscription_id,
            lang,
        } => crate::domain::webhook::stopped::compose(
            db,
            ctx,
            &subscription_id,
            Language::or_default(&lang),
        )?
        .ok_or_else(|| {
            MailError::Permanent(format!("webhook {subscription_id} is gone or running"))
        }),
        MailPayload::RemedyMail {
            proposal_id,
            mail,
            lang,
        } => crate::domain::recovery::mail::compose(
            db,
            ctx,
            &proposal_id,
            mail,
            recipient,
            Language::or_default(&lang),
        )?
        .ok_or_else(|| {
            MailError::Permanent(format!("remedy {proposal_id} is gone or was decided"))
        }),
        MailPayload::ErasureMail {
            reference,
            store,
            lang,
        } => crate::domain::privacy::customer_data::compose_erasure(
            &reference,
            &store,
            Language::or_default(&lang),
        )
        .map_err(MailError::from),
        MailPayload::TestMail {
            location_id,
            sample,
            lang,
        } => crate::domain::mail::test_mail::compose(
            db,
            ctx,
            &location_id,
            sample,
            Language::or_default(&lang),
            recipient,
        )?
        .ok_or_else(|| MailError::Permanent(format!("location {location_id} is gone"))),
        MailPayload::KioskAlert {
            location_id,
            from,
            to,
            count,
            lang,
        } => {
            let time = |s: &str| {
                chrono::DateTime::parse_from_rfc3339(s)
                    .map(|t| t.naive_utc())
                    .map_err(|e| MailError::Permanent(format!("kiosk alert time \"{s}\": {e}")))
            };
            let window = (time(&from)?, time(&to)?);
            crate::domain::kiosk::unhappy_taps::compose(
                db,
                ctx,
                &location_id,
                window,
                count,
                Language::or_default(&lang),
            )?
            .ok_or_else(|| MailError::Permanent(format!("location {location_id} is gone")))
        }
    }
}

/// [`render_payload`] for every row the worker claimed at once. The mails about cases,
/// nearly all of a rush, are read on one connection: their cases with one query, each
/// store and spot once (on PostgreSQL, a handful of round trips per claim instead of six
/// per mail).
pub fn render_batch(
    db: &crate::db::Db,
    ctx: &AlertContext,
    rows: &[OutboxMessage],
) -> Vec<Result<OutgoingEmail, MailError>> {
    let mut rendered: Vec<Option<Result<OutgoingEmail, MailError>>> = Vec::new();
    let mut case_mails = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match serde_json::from_str::<MailPayload>(&row.payload) {
            Ok(MailPayload::CaseMail {
                case_id,
                mail,
                lang,
            }) => {
                rendered.push(None);
                case_mails.push((i, case_id, mail, lang));
            }
            // Other mails are few; each is rendered on its own.
            _ => rendered.push(Some(render_payload(db, ctx, &row.recipient, &row.payload))),
        }
    }
    let facts = db.read(|c| {
        let ids: Vec<&str> = case_mails.iter().map(|(_, id, _, _)| id.as_str()).collect();
        let found: HashMap<String, Case> = cases::find_many(c, &ids)?
            .into_iter()
            .map(|case| (case.id.clone(), case))
            .collect();
        let mut places = PlaceCache::default();
        case_mails
            .iter()
            .map(|(_, case_id, mail, _)| {
                // A case with several recipients is in `found` once; each mail needs a copy.
                match found.get(case_id).cloned() {
                    Some(case) => CaseFacts::load_with(c, case, &mut places)?
                        .map(|f| f.with_answer(c, mail))
                        .transpose(),
                    None => Ok(None),
                }
            })
            .collect::<diesel::QueryResult<Vec<_>>>()
    });
    for (n, (i, case_id, mail, lang)) in case_mails.into_iter().enumerate() {
        let email = match &facts {
            Err(e) => Err(MailError::Transient(e.to_string())),
            Ok(all) => match &all[n] {
                None => Err(MailError::Permanent(format!("case {case_id} is gone"))),
                Some(facts) => facts
                    .compose(ctx, mail, &rows[i].recipient, Language::or_default(&lang))
                    .map_err(|e| MailError::Permanent(e.to_string())),
            },
        };
        rendered[i] = Some(email);
    }
    rendered
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(MailError::Transient("not rendered".into()))))
        .collect()
}

#[cfg(test)]
mod failure_tests {
    use super::*;

    #[test]
    fn a_template_that_fails_is_permanent_and_a_database_that_fails_is_not() {
        let template = askama::Error::Custom("x".into());
        assert!(matches!(MailError::from(template), MailError::Permanent(_)));
        let db = crate::db::DbError::Query(diesel::result::Error::BrokenTransactionManager);
        assert!(matches!(MailError::from(db), MailError::Transient(_)));
    }
}
