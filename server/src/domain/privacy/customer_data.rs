//! One customer's data, found by their email address, for an admin answering a request
//! under the GDPR: everything Mend holds about them (access, Art. 15), and erasure of it
//! (Art. 17). Erasure goes further than retention: what they wrote is erased too, and
//! their survey comments; the cases stay, anonymized, for the store's figures.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{
    case_events, cases, locations, mail_opt_outs, outbox, surveys, touchpoints,
};
use crate::db::states::CaseStatus;
use crate::db::states::{EventKind, MailKind};
use crate::db::{Db, DbError};
use crate::domain::privacy::retention::{
    anonymize_case, delete_photo_files, forget_photos, freed_photos, ERASED,
};

/// What replaces the customer's words on an erased case.
pub const ERASED_TEXT: &str = "(erased at the customer's request)";

#[derive(Debug, thiserror::Error)]
pub enum CustomerDataError {
    #[error("\"{0}\" is not an email address")]
    NotAnEmail(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for CustomerDataError {
    fn from(e: diesel::result::Error) -> Self {
        CustomerDataError::Db(e.into())
    }
}

#[derive(Debug, Serialize, PartialEq)]
pub struct CaseData {
    pub reference: String,
    pub store: String,
    pub spot: String,
    pub category: String,
    pub what_they_wrote: String,
    /// What they said would make it right: their choice and their words.
    pub wish: Option<(String, Option<String>)>,
    pub contact_consent: bool,
    pub language: String,
    pub status: CaseStatus,
    pub received_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolution: Option<String>,
    pub has_photo: bool,
    /// What the store told them on their status page.
    pub updates: Vec<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct SurveyData {
    pub reference: String,
    pub kind: String,
    pub answered_at: Option<NaiveDateTime>,
    pub satisfaction: Option<i32>,
    pub fixed: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct CustomerData {
    pub email: String,
    pub cases: Vec<CaseData>,
    pub surveys: Vec<SurveyData>,
    pub emails_sent: i64,
    pub opted_out_of_email: bool,
}

fn normalized(email: &str) -> Result<String, CustomerDataError> {
    let e = email.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'))
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(e)
    } else {
        Err(CustomerDataError::NotAnEmail(email.to_owned()))
    }
}

/// Everything held about the customer with this email.
pub fn export(db: &Db, email: &str) -> Result<CustomerData, CustomerDataError> {
    let email = normalized(email)?;
    let data = db.read(|c| {
        let rows: Vec<(crate::db::models::Case, String, String)> = cases::table
            .inner_join(locations::table)
            .inner_join(touchpoints::table)
            .filter(cases::contact_email.eq(&email))
            .order(cases::created_at.asc())
            .select((
                crate::db::models::Case::as_select(),
                locations::name,
                touchpoints::label,
            ))
            .load(c)?;
        let mut out = Vec::new();
        for (case, store, spot) in rows {
            let updates: Vec<String> = case_events::table
                .filter(case_events::case_id.eq(&case.id))
                .filter(case_events::kind.eq(EventKind::PublicUpdate))
                .order(case_events::created_at.asc())
                .select(case_events::detail)
                .load::<String>(c)?
                .into_iter()
                .filter_map(|d| {
                    serde_json::from_str::<serde_json::Value>(&d)
                        .ok()
                        .and_then(|v| v["text"].as_str().map(str::to_owned))
                })
                .collect();
            let wish = crate::db::queries::recovery::wish_of(c, &case.id)?
                .map(|w| (w.kind.as_str().to_owned(), w.text));
            out.push(CaseData {
                wish,
                reference: case.reference,
                store,
                spot,
                category: case.category,
                what_they_wrote: case.body,
                contact_consent: case.contact_consent,
                language: case.language,
                status: case.status,
                received_at: case.created_at,
                resolved_at: case.resolved_at,
                resolution: case.resolution,
                has_photo: case.photo_path.is_some(),
                updates,
            });
        }
        let surveys: Vec<SurveyData> = surveys::table
            .inner_join(cases::table)
            .filter(
                surveys::recipient
                    .eq(&email)
                    .or(cases::contact_email.eq(&email)),
            )
            .order(surveys::created_at.asc())
            .select((
                cases::reference,
                surveys::kind,
                surveys::answered_at,
                surveys::csat,
                surveys::fixed,
                surveys::comment,
            ))
            .load::<(
                String,
                String,
                Option<NaiveDateTime>,
                Option<i32>,
                Option<String>,
                Option<String>,
            )>(c)?
            .into_iter()
            .map(
                |(reference, kind, answered_at, satisfaction, fixed, comment)| SurveyData {
                    reference,
                    kind,
                    answered_at,
                    satisfaction,
                    fixed,
                    comment,
                },
            )
            .collect();
        let emails_sent = outbox::table
            .filter(outbox::recipient.eq(&email))
            .count()
            .get_result(c)?;
        let opted_out_of_email = diesel::select(diesel::dsl::exists(
            mail_opt_outs::table.filter(mail_opt_outs::email.eq(&email)),
        ))
        .get_result(c)?;
        Ok(CustomerData {
            email: email.clone(),
            cases: out,
            surveys,
            emails_sent,
            opted_out_of_email,
        })
    })?;
    Ok(data)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Erased {
    pub cases: usize,
    pub surveys: usize,
    pub emails: usize,
    pub photos_deleted: usize,
}

/// Erases the customer with this email: their contact, words, photos and survey comments
/// on every case; the address on every mail; their opt-out record. One transaction.
pub fn erase(
    db: &Db,
    data_dir: &std::path::Path,
    email: &str,
    now: NaiveDateTime,
) -> Result<Erased, CustomerDataError> {
    let email = normalized(email)?;
    let (mut erased, freed) = db.write(|c| -> Result<(Erased, Vec<String>), DbError> {
        let found: Vec<(String, Option<String>, Option<String>)> = cases::table
            .filter(cases::contact_email.eq(&email))
            .select((cases::id, cases::photo_path, cases::photo_thumb_path))
            .load(c)?;
        let ids: Vec<&String> = found.iter().map(|(id, _, _)| id).collect();
        let erased = Erased {
            cases: found.len(),
            // Every address on the mail first, so the count covers all of it.
            emails: diesel::update(outbox::table.filter(outbox::recipient.eq(&email)))
                .set(outbox::recipient.eq(ERASED))
                .execute(c)?,
            surveys: diesel::update(
                surveys::table.filter(
                    surveys::case_id
                        .eq_any(&ids)
                        .or(surveys::recipient.eq(&email)),
                ),
            )
            .set((
                surveys::recipient.eq(None::<String>),
                surveys::comment.eq(None::<String>),
            ))
            .execute(c)?,
            photos_deleted: 0,
        };
        let mut photos = Vec::new();
        for (id, photo, thumb) in &found {
            anonymize_case(c, id, Some(&email), now)?;
            diesel::update(cases::table.find(id))
                .set((cases::body.eq(ERASED_TEXT), cases::erased_at.eq(now)))
                .execute(c)?;
            crate::domain::case::search::reindex(c, id)?;
            photos.extend(photo.iter().chain(thumb).cloned());
        }
        diesel::delete(mail_opt_outs::table.filter(mail_opt_outs::email.eq(&email))).execute(c)?;
        let freed = freed_photos(c, photos)?;
        let mut erased = erased;
        erased.photos_deleted = forget_photos(c, &freed, now)?;
        Ok((erased, freed))
    })?;
    erased.photos_deleted += delete_photo_files(data_dir, &freed);
    Ok(erased)
}

/// A customer erasing their data from their own status page (the link's token is the
/// authority, so only that case). When they left an email, one last message confirms it;
/// its address is erased too once it is sent (see `retention::apply`). False when the
/// case was erased before.
pub fn erase_case(
    db: &Db,
    data_dir: &std::path::Path,
    case_id: &str,
    now: NaiveDateTime,
) -> Result<bool, CustomerDataError> {
    let outcome = db.write(|c| -> Result<Option<Vec<String>>, DbError> {
        let Some(case) = crate::db::queries::cases::find(c, case_id)? else {
            return Ok(None);
        };
        if case.erased_at.is_some() {
            return Ok(None);
        }
        anonymize_case(c, &case.id, case.contact_email.as_deref(), now)?;
        diesel::update(cases::table.find(&case.id))
            .set((cases::body.eq(ERASED_TEXT), cases::erased_at.eq(now)))
            .execute(c)?;
        crate::domain::case::search::reindex(c, &case.id)?;
        diesel::update(surveys::table.filter(surveys::case_id.eq(&case.id)))
            .set(surveys::comment.eq(None::<String>))
            .execute(c)?;
        if let Some(email) = &case.contact_email {
            let store = crate::db::queries::locations::find(c, &case.location_id)?
                .map(|l| l.name)
                .unwrap_or_default();
            crate::domain::mail::enqueue(
                c,
                crate::domain::mail::Enqueue {
                    kind: MailKind::ErasureConfirmation,
                    recipient: email,
                    payload: &crate::domain::mail::MailPayload::ErasureMail {
                        reference: case.reference.clone(),
                        store,
                        lang: case.language.clone(),
                    },
                    dedupe_key: format!("erasure:{}", case.id),
                    case_id: None,
                    now,
                },
            )?;
        }
        let photos = case
            .photo_path
            .iter()
            .chain(&case.photo_thumb_path)
            .cloned()
            .collect();
        let freed = freed_photos(c, photos)?;
        forget_photos(c, &freed, now)?;
        Ok(Some(freed))
    })?;
    match outcome {
        Some(freed) => {
            delete_photo_files(data_dir, &freed);
            Ok(true)
        }
        None => Ok(false),
    }
}

#[derive(askama::Template)]
#[template(path = "email/erasure/body.html")]
struct ErasureHtml<'a> {
    lang: &'a str,
    subject: &'a str,
    body: &'a str,
}

#[derive(askama::Template)]
#[template(path = "email/erasure/body.txt")]
struct ErasureText<'a> {
    body: &'a str,
}

/// The confirmation, in the customer's language.
pub fn compose_erasure(
    reference: &str,
    store: &str,
    lang: crate::domain::language::Language,
) -> Result<crate::domain::mail::OutgoingEmail, askama::Error> {
    use askama::Template;
    let args = [("reference", reference), ("store", store)];
    let subject = crate::domain::mail::one_line(&lang.text_with("erasure.subject", &args), 200);
    let body = lang.text_with("erasure.body", &args);
    Ok(crate::domain::mail::OutgoingEmail {
        html: ErasureHtml {
            lang: lang.code(),
            subject: &subject,
            body: &body,
        }
        .render()?,
        text: ErasureText { body: &body }.render()?,
        subject,
        inline_images: Vec::new(),
        list_unsubscribe: None,
    })
}
