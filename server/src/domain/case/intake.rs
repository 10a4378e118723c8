//! Taking in a complaint: the case and its first timeline event are written in one
//! transaction, so a success answer always means both are stored. A second post of the
//! same form render (a double tap) finds the first case instead of making another.
//!
//! Complaints are stored a batch at a time by the writer threads of `jobs::intake`. The
//! staff alerts (outbox rows) and the escalation clock are written in the same
//! transaction as the case: a complaint is never stored without its alert, nor answered
//! before both are durable.

use chrono::NaiveDateTime;
use std::collections::{HashMap, HashSet};

use crate::db::models::{new_id, Case, CaseEvent, Escalation, Location, OutboxMessage, Touchpoint};
use crate::db::queries::{cases, escalations, outbox};
use crate::db::states::CaseStatus;
use crate::db::states::EventKind;
use crate::db::{Db, DbError};
use crate::domain::alert::{alert_new_case, AlertContext, AudienceCache, NewCaseAlert};
use crate::domain::case::complaint::Complaint;
use crate::domain::case::photo;
use crate::domain::case::reference::{new_reference, status_token, token_hash};
use crate::domain::language::Language;

pub struct Submission<'a> {
    pub location: &'a Location,
    pub touchpoint: &'a Touchpoint,
    pub complaint: Complaint,
    pub language: Language,
    pub render_nonce: String,
    /// A photo already in the photo store (see [`photo::store`]).
    pub photo_hash: Option<String>,
    /// The hash of the form's device cookie, when the browser kept it.
    pub device_hash: Option<String>,
    /// The kiosk tap whose handoff opened this form (checked by the caller).
    pub kiosk_tap: Option<String>,
    /// Severe by the store's rules as they are now (recorded on the case).
    pub severe: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    pub reference: String,
    /// The secret part of the customer's status link.
    pub token: String,
    /// True when this post repeated an earlier one.
    pub repeated: bool,
}

/// One complaint's fate: its reference, and whether it repeated an earlier post.
pub type Outcome = Result<(String, bool), DbError>;

/// A complaint ready to be stored: its case and first event, made before it joins a batch.
pub struct Pending {
    pub case: Case,
    pub event: CaseEvent,
    pub kiosk_tap: Option<String>,
}

/// The rows of a submission and the secret of its status link.
pub fn prepare(key: &[u8], s: &Submission<'_>, now: NaiveDateTime) -> (Pending, String) {
    let token = status_token(key, &s.render_nonce);
    let (case, event) = rows(s, &token, now);
    let pending = Pending {
        case,
        event,
        kiosk_tap: s.kiosk_tap.clone(),
    };
    (pending, token)
}

fn rows(s: &Submission<'_>, token: &str, now: NaiveDateTime) -> (Case, CaseEvent) {
    let (photo_path, photo_thumb_path) = match &s.photo_hash {
        Some(h) => {
            let (main, thumb) = photo::relative_paths(h);
            (Some(main), Some(thumb))
        }
        None => (None, None),
    };
    let case = Case {
        id: new_id(),
        reference: new_reference(),
        location_id: s.location.id.clone(),
        touchpoint_id: s.touchpoint.id.clone(),
        category: s.complaint.category.clone(),
        body: s.complaint.text.as_str().to_owned(),
        contact_email: s.complaint.contact.as_ref().map(|c| c.as_str().to_owned()),
        contact_consent: s.complaint.consent,
        language: s.language.code().to_owned(),
        status: CaseStatus::New,
        created_at: now,
        acknowledged_at: None,
        resolved_at: None,
        status_token_hash: Some(token_hash(token)),
        render_nonce: Some(s.render_nonce.clone()),
        photo_path,
        photo_thumb_path,
        assignee_id: None,
        resolution: None,
        root_cause: None,
        compensation_type: None,
        compensation_minor: None,
        compensation_currency: None,
        merged_into: None,
        device_hash: s.device_hash.clone(),
        severe: Some(s.severe),
        erased_at: None,
        flagged_at: None,
    };
    let event = CaseEvent::new(
        &case.id,
        None,
        EventKind::Received,
        serde_json::json!({}),
        now,
    );
    (case, event)
}

fn is_unique_violation(e: &DbError) -> bool {
    matches!(
        e,
        DbError::Query(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _
        ))
    )
}

/// The cases' photos are held now: the sweep of uploads whose post never came leaves them.
fn hold_photos(c: &mut crate::db::DbConnection, new: &[Case]) -> Result<(), DbError> {
    let paths: Vec<&str> = new
        .iter()
        .flat_map(|case| [&case.photo_path, &case.photo_thumb_path])
        .filter_map(|p| p.as_deref())
        .collect();
    if !paths.is_empty() {
        crate::db::queries::photos::hold(c, &paths)?;
    }
    Ok(())
}

/// Writes one new complaint's rows: the case, its first event, the kiosk tap it came
/// from, and its alert and escalation.
fn insert_rows(
    c: &mut crate::db::DbConnection,
    alerts: &AlertContext,
    audiences: &mut AudienceCache,
    job: &Pending,
) -> Result<(), DbError> {
    cases::insert(c, &job.case)?;
    hold_photos(c, std::slice::from_ref(&job.case))?;
    crate::domain::case::search::index_new(c, std::slice::from_ref(&job.case))?;
    cases::add_event(c, &job.event)?;
    if let Some(tap) = &job.kiosk_tap {
        // A second complaint through the same handoff is kept, untagged.
        crate::db::queries::kiosks::claim_handoff(c, tap, &job.case.id, job.case.created_at)?;
    }
    if let Some(receipt) = crate::domain::mail::customer::receipt(c, &job.case)? {
        crate::db::queries::outbox::enqueue(c, &receipt)?;
    }
    alert_new_case(c, alerts, &job.case, audiences)
}

/// Stores one complaint inside the batch's transaction (as a savepoint, so one bad row
/// does not undo the others). Returns the reference, and whether it was a repeat.
fn store_one(
    c: &mut crate::db::DbConnection,
    alerts: &AlertContext,
    audiences: &mut AudienceCache,
    job: &mut Pending,
) -> Outcome {
    use diesel::Connection;
    let nonce = job.case.render_nonce.clone().unwrap_or_default();
    if let Some(earlier) = cases::find_by_render_nonce(c, &nonce)? {
        return Ok((earlier.reference, true));
    }
    // A reference collision is rare (1 in hundreds of millions) but possible: draw again.
    while cases::reference_taken(c, &job.case.reference)? {
        job.case.reference = new_reference();
    }
    let stored = c.transaction(|c| insert_rows(c, alerts, audiences, job));
    match stored {
        Ok(()) => Ok((job.case.reference.clone(), false)),
        // Another server instance took the same render first (shared PostgreSQL).
        Err(e) if is_unique_violation(&e) => match cases::find_by_render_nonce(c, &nonce)? {
            Some(earlier) => Ok((earlier.reference, true)),
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}

/// A batch's rows, table by table, for one multi-row insert each.
#[derive(Default)]
struct BatchRows {
    cases: Vec<Case>,
    events: Vec<CaseEvent>,
    mails: Vec<OutboxMessage>,
    escalations: Vec<Escalation>,
}

impl BatchRows {
    fn collect(
        c: &mut crate::db::DbConnection,
        alerts: &AlertContext,
        batch: &[&Pending],
    ) -> Result<BatchRows, DbError> {
        // Who works each store is read once per batch, in the batch's transaction.
        let mut audiences = AudienceCache::default();
        let mut rows = BatchRows::default();
        for job in batch {
            let alert = NewCaseAlert::new(
                alerts,
                &job.case,
                audiences.require(c, &job.case.location_id)?,
            )?;
            rows.cases.push(job.case.clone());
            rows.events.push(job.event.clone());
            rows.events.push(alert.event);
            rows.mails.extend(alert.mails);
            rows.mails
                .extend(crate::domain::mail::customer::receipt(c, &job.case)?);
            rows.escalations.push(alert.escalation);
        }
        Ok(rows)
    }

    fn insert(&self, c: &mut crate::db::DbConnection) -> Result<(), DbError> {
        // `jobs::intake::MAX_BATCH` keeps each statement's parameters (25 per case) under
        // both backends' limits (32,766 and 65,535).
        cases::insert_many(c, &self.cases)?;
        hold_photos(c, &self.cases)?;
        crate::domain::case::search::index_new(c, &self.cases)?;
        cases::add_events(c, &self.events)?;
        if !self.mails.is_empty() {
            outbox::insert_new(c, &self.mails)?;
        }
        escalations::schedule_new(c, &self.escalations)?;
        Ok(())
    }
}

/// Stores a batch. Almost every complaint is new and unique, so the batch is first
/// written as one multi-row insert per table, with no checks and no savepoints (a
/// handful of statements for the whole batch, which on PostgreSQL means a handful of
/// round trips). A repeated render (a double tap) or a reference collision breaks a
/// unique index and rolls that attempt back; one lookup then finds the repeats and draws
/// new references (`settle`), and the batch is written again the same quick way. Only if
/// that fails too (another server took a render in between, or a row is refused) is it
/// written the careful way, one checked savepoint per complaint.
pub fn store_batch(
    db: &Db,
    alerts: &AlertContext,
    batch: &mut [Pending],
) -> Result<Vec<Outcome>, DbError> {
    let all_new = vec![None; batch.len()];
    let first = match db.write(|c| insert_batch(c, alerts, batch, all_new)) {
        Ok(outcomes) => return Ok(outcomes),
        Err(e) => e,
    };
    // Expected now and then (a double tap, a reference drawn twice); said at debug level
    // so a database that refuses every batch still shows why.
    tracing::debug!(error = %first, complaints = batch.len(), "intake: a batch is settled and written again");
    let settled = db.write(|c| {
        let earlier = settle(c, batch)?;
        insert_batch(c, alerts, batch, earlier)
    });
    match settled {
        Ok(outcomes) => return Ok(outcomes),
        Err(e) => tracing::warn!(
            error = %e,
            first = %first,
            complaints = batch.len(),
            "intake: a batch is written one complaint at a time"
        ),
    }
    db.write(|c| -> Result<Vec<Outcome>, DbError> {
        let mut audiences = AudienceCache::default();
        Ok(batch
            .iter_mut()
            .map(|job| store_one(c, alerts, &mut audiences, job))
            .collect())
    })
}

/// Writes the posts of `batch` that repeat nothing (`earlier` is None) as one multi-row
/// insert per table; a repeat is answered with the reference of its earlier case.
fn insert_batch(
    c: &mut crate::db::DbConnection,
    alerts: &AlertContext,
    batch: &[Pending],
    earlier: Vec<Option<String>>,
) -> Result<Vec<Outcome>, DbError> {
    let new: Vec<&Pending> = batch
        .iter()
        .zip(&earlier)
        .filter(|(_, earlier)| earlier.is_none())
        .map(|(job, _)| job)
        .collect();
    BatchRows::collect(c, alerts, &new)?.insert(c)?;
    for job in &new {
        if let Some(tap) = &job.kiosk_tap {
            // A second complaint through the same handoff is kept, untagged.
            crate::db::queries::kiosks::claim_handoff(c, tap, &job.case.id, job.case.created_at)?;
        }
    }
    Ok(batch
        .iter()
        .zip(earlier)
        .map(|(job, earlier)| {
            Ok(match earlier {
                Some(reference) => (reference, true),
                None => (job.case.reference.clone(), false),
            })
        })
        .collect())
}

/// Readies a batch that broke a unique index for a second quick insert, inside its
/// transaction, with one lookup for the whole batch. Returns, for each post that repeats
/// a render (already stored, or earlier in this batch: a double tap), the reference of
/// that case; every other post gets a reference nobody holds, drawn again where needed.
/// Without this a reference collision, which grows likelier with every case kept (about
/// one new case in 900 at a million), would send its whole batch the careful way.
fn settle(
    c: &mut crate::db::DbConnection,
    batch: &mut [Pending],
) -> Result<Vec<Option<String>>, DbError> {
    let nonces: Vec<String> = batch
        .iter()
        .map(|job| job.case.render_nonce.clone().unwrap_or_default())
        .collect();
    let references: Vec<String> = batch.iter().map(|j| j.case.reference.clone()).collect();
    let held = cases::holding_references_or_renders(c, &references, &nonces)?;
    let stored: HashMap<String, String> = held
        .iter()
        .filter_map(|(nonce, reference)| Some((nonce.clone()?, reference.clone())))
        .collect();
    let mut taken: HashSet<String> = held.into_iter().map(|(_, reference)| reference).collect();
    // For each post: the case it repeats, if any.
    enum Repeat {
        Stored(String),
        EarlierPost(usize),
    }
    let mut first_post = HashMap::new();
    let repeats: Vec<Option<Repeat>> = nonces
        .into_iter()
        .enumerate()
        .map(|(n, nonce)| match stored.get(&nonce) {
            Some(reference) => Some(Repeat::Stored(reference.clone())),
            None => match first_post.get(&nonce) {
                Some(first) => Some(Repeat::EarlierPost(*first)),
                None => {
                    first_post.insert(nonce, n);
                    None
                }
            },
        })
        .collect();
    let new: Vec<usize> = (0..batch.len()).filter(|n| repeats[*n].is_none()).collect();
    loop {
        let mut seen = HashSet::new();
        let clashes: Vec<usize> = new
            .iter()
            .copied()
            .filter(|n| {
                let reference = &batch[*n].case.reference;
                taken.contains(reference) || !seen.insert(reference.clone())
            })
            .collect();
        if clashes.is_empty() {
            break;
        }
        for n in &clashes {
            batch[*n].case.reference = new_reference();
        }
        let drawn: Vec<String> = clashes
            .iter()
            .map(|n| batch[*n].case.reference.clone())
            .collect();
        let held = cases::holding_references_or_renders(c, &drawn, &[])?;
        taken.extend(held.into_iter().map(|(_, reference)| reference));
    }
    Ok(repeats
        .into_iter()
        .map(|repeat| match repeat? {
            Repeat::Stored(reference) => Some(reference),
            Repeat::EarlierPost(first) => Some(batch[first].case.reference.clone()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::DatabaseUrl;
    use crate::db::models::now_utc;
    use crate::db::queries::{locations, touchpoints};
    use crate::domain::case::complaint::{categories_of, validate, ComplaintForm};

    fn job(location: &Location, touchpoint: &Touchpoint, reference: &str, nonce: &str) -> Pending {
        let form = ComplaintForm {
            category: "other".into(),
            body: "No soap".into(),
            ..Default::default()
        };
        let s = Submission {
            location,
            touchpoint,
            complaint: validate(&form, &categories_of(None)).unwrap(),
            language: Language::EN,
            render_nonce: nonce.into(),
            photo_hash: None,
            device_hash: None,
            kiosk_tap: None,
            severe: false,
        };
        let (mut case, event) = rows(&s, "token", now_utc());
        case.reference = reference.into();
        Pending {
            case,
            event,
            kiosk_tap: None,
        }
    }

    #[test]
    fn a_batch_draws_again_references_taken_and_answers_repeats_with_their_case() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("mend.db").display());
        let db = Db::open(&DatabaseUrl::parse(&url).unwrap()).unwrap();
        db.migrate().unwrap();
        let location = Location {
            id: new_id(),
            name: "Store".into(),
            time_zone: "UTC".into(),
            default_language: "en".into(),
            sla_minutes: 15,
            created_at: now_utc(),
        };
        let touchpoint = Touchpoint {
            id: new_id(),
            location_id: location.id.clone(),
            label: "Door".into(),
            code: "ABCDEFGH".into(),
            created_at: now_utc(),
        };
        let stored = job(&location, &touchpoint, "AAA-AAA", "stored");
        db.write(|c| -> Result<(), DbError> {
            locations::insert(c, &location)?;
            touchpoints::insert(c, &touchpoint)?;
            Ok(cases::insert(c, &stored.case)?)
        })
        .unwrap();

        let batch = || {
            vec![
                job(&location, &touchpoint, "AAA-AAA", "n0"), // reference taken in the database
                job(&location, &touchpoint, "BBB-BBB", "n1"),
                job(&location, &touchpoint, "BBB-BBB", "n2"), // taken earlier in the batch
                job(&location, &touchpoint, "CCC-CCC", "n1"), // a double tap of the second
                job(&location, &touchpoint, "DDD-DDD", "stored"), // a repeat of a stored case
            ]
        };
        let mut settled = batch();
        let earlier = db.write(|c| settle(c, &mut settled)).unwrap();
        assert_eq!(
            earlier,
            [
                None,
                None,
                None,
                Some("BBB-BBB".into()),
                Some("AAA-AAA".into())
            ]
        );
        let references: Vec<&str> = settled.iter().map(|j| j.case.reference.as_str()).collect();
        assert_ne!(references[0], "AAA-AAA");
        assert_eq!(references[1], "BBB-BBB");
        assert!(!["BBB-BBB", references[0]].contains(&references[2]));

        // Stored: three new cases, and the two repeats answered with their case.
        let alerts = AlertContext {
            base_url: "http://mend.test".into(),
            key: crate::config::SigningKey::parse(&"k".repeat(32)).unwrap(),
            clock: crate::domain::clock::Clock::system(),
            ack_link_ttl: chrono::Duration::hours(1),
        };
        let outcomes: Vec<(String, bool)> = store_batch(&db, &alerts, &mut batch())
            .unwrap()
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(outcomes[3], ("BBB-BBB".into(), true));
        assert_eq!(outcomes[4], ("AAA-AAA".into(), true));
        assert!(outcomes[..3].iter().all(|(_, repeated)| !repeated));
        assert_eq!(db.read(cases::count).unwrap(), 4);
    }
}
