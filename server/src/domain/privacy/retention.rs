//! Privacy by time: a resolved case keeps the customer's contact details and photo only
//! as long as its store's retention period (180 days after resolution by default). Then
//! the case is anonymized: the email, the consent, the device hash and the photo go; the
//! email is also taken off the survey and off the mail that was sent to it. What stays is
//! what the figures need: store, spot, category, times, resolution, root cause, and the
//! customer's own words (staff are asked not to write personal data into updates).
//!
//! Photos go from the photo store in the same transaction (an object store's copy is
//! deleted by the worker right after), and only when no case that is still within its
//! period holds the same photo (photos are stored by content hash). A photo file from
//! before the photo store, not brought in yet, is deleted after the commit.
//!
//! A photo whose post was refused (a missing field, say) is kept for the customer's
//! corrected post, which sends it again by reference; if that post never comes, no case
//! holds the photo, and the hourly sweep deletes it a day (and an hour) after its last upload.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::{cases, locations, outbox, surveys};
use crate::db::states::MailKind;
use crate::db::{Db, DbConnection, DbError};

pub const DEFAULT_DAYS: i32 = 180;
/// Cases anonymized per transaction: a first run on a big, old database works in steps.
const BATCH: i64 = 200;
/// What an erased address is replaced with where a row must keep a recipient.
pub const ERASED: &str = "(erased)";
/// How long a photo no case holds is kept for the post it was uploaded with: longer than
/// the form stamp of the page that carries it stays valid, so no post that could still be
/// accepted loses its photo.
pub const ORPHAN_PHOTO_GRACE: std::time::Duration = std::time::Duration::from_secs(
    crate::domain::case::render_stamp::MAX_AGE_SECONDS.unsigned_abs() + 3600,
);

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Anonymized {
    pub cases: usize,
    pub photos_deleted: usize,
}

#[derive(Queryable)]
struct Due {
    id: String,
    contact_email: Option<String>,
    photo_path: Option<String>,
    photo_thumb_path: Option<String>,
}

/// Cases whose store's period has passed since they were resolved.
fn due(c: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Vec<Due>> {
    let stores: Vec<(String, i32)> = locations::table
        .select((locations::id, locations::retention_days))
        .load(c)?;
    let mut found = Vec::new();
    for (location_id, days) in stores {
        let cutoff = now - Duration::days(i64::from(days.max(1)));
        let rows: Vec<Due> = cases::table
            .filter(cases::location_id.eq(&location_id))
            .filter(cases::anonymized_at.is_null())
            .filter(cases::resolved_at.lt(cutoff))
            .order(cases::resolved_at.asc())
            .limit(BATCH)
            .select((
                cases::id,
                cases::contact_email,
                cases::photo_path,
                cases::photo_thumb_path,
            ))
            .load(c)?;
        found.extend(rows);
    }
    Ok(found)
}

/// Erases one case's personal data (its photo files are the caller's). Runs in a
/// transaction.
pub fn anonymize_case(
    c: &mut DbConnection,
    case_id: &str,
    contact_email: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(cases::table.find(case_id))
        .set((
            cases::contact_email.eq(None::<String>),
            cases::contact_consent.eq(false),
            cases::device_hash.eq(None::<String>),
            cases::photo_path.eq(None::<String>),
            cases::photo_thumb_path.eq(None::<String>),
            cases::anonymized_at.eq(now),
        ))
        .execute(c)?;
    // What they chose stays (for the counts); their own words go.
    crate::db::queries::recovery::erase_wish_text(c, case_id)?;
    diesel::update(surveys::table.filter(surveys::case_id.eq(case_id)))
        .set(surveys::recipient.eq(None::<String>))
        .execute(c)?;
    if let Some(email) = contact_email {
        diesel::update(
            outbox::table
                .filter(outbox::case_id.eq(case_id))
                .filter(outbox::recipient.eq(email)),
        )
        .set(outbox::recipient.eq(ERASED))
        .execute(c)?;
    }
    Ok(())
}

/// True when a case not yet anonymized still holds this photo.
fn photo_still_used(c: &mut DbConnection, path: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        cases::table
            .filter(cases::photo_path.eq(path))
            .filter(cases::anonymized_at.is_null()),
    ))
    .get_result(c)
}

/// Of these photo files of just-anonymized cases, those no other case still holds.
pub fn freed_photos(c: &mut DbConnection, photos: Vec<String>) -> QueryResult<Vec<String>> {
    let mut freed = Vec::new();
    for p in photos {
        let main = p.replace(".thumb.jpg", ".jpg");
        if !photo_still_used(c, &main)? {
            freed.push(p);
        }
    }
    Ok(freed)
}

/// Erases freed photos from the photo store, in the caller's transaction; returns how
/// many were stored there.
pub fn forget_photos(
    c: &mut DbConnection,
    freed: &[String],
    now: NaiveDateTime,
) -> QueryResult<usize> {
    crate::db::queries::photos::forget(c, freed, now)
}

/// Deletes photo files from before the photo store (paths relative to the data dir) that
/// were not brought in yet; returns how many went.
pub fn delete_photo_files(data_dir: &std::path::Path, freed: &[String]) -> usize {
    let mut deleted = 0;
    for relative in freed {
        // Only our own photo paths: nothing in the database can name another file.
        if !crate::domain::case::photo::is_photo_path(relative) {
            continue;
        }
        match std::fs::remove_file(data_dir.join(relative)) {
            Ok(()) => deleted += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(error = %e, path = relative, "an erased photo could not be deleted")
            }
        }
    }
    deleted
}

/// Anonymizes every case that is due, a batch per transaction; deletes freed photos.
pub fn apply(
    db: &Db,
    data_dir: &std::path::Path,
    now: NaiveDateTime,
) -> Result<Anonymized, DbError> {
    let mut done = Anonymized::default();
    // A confirmation of an erasure needed the address until it was sent; no longer.
    db.write(|c| -> Result<usize, DbError> {
        Ok(diesel::update(
            outbox::table
                .filter(outbox::kind.eq(MailKind::ErasureConfirmation))
                .filter(outbox::sent_at.is_not_null())
                .filter(outbox::recipient.ne(ERASED)),
        )
        .set(outbox::recipient.eq(ERASED))
        .execute(c)?)
    })?;
    // Sessions end 12 hours after sign-in; their rows are kept a day longer, then go.
    db.write(|c| -> Result<usize, DbError> {
        Ok(crate::db::queries::sessions::delete_started_before(
            c,
            now - chrono::Duration::hours(36),
        )?)
    })?;
    loop {
        let freed = db.write(|c| -> Result<Option<Vec<String>>, DbError> {
            let due = due(c, now)?;
            if due.is_empty() {
                return Ok(None);
            }
            let mut photos = Vec::new();
            for d in &due {
                anonymize_case(c, &d.id, d.contact_email.as_deref(), now)?;
                photos.extend(d.photo_path.iter().chain(&d.photo_thumb_path).cloned());
            }
            done.cases += due.len();
            let freed = freed_photos(c, photos)?;
            done.photos_deleted += forget_photos(c, &freed, now)?;
            Ok(Some(freed))
        })?;
        let Some(freed) = freed else { break };
        done.photos_deleted += delete_photo_files(data_dir, &freed);
    }
    Ok(done)
}

/// Photos no case holds (uploads of posts that were refused and never sent again) go
/// once they are [`ORPHAN_PHOTO_GRACE`] old. Returns how many went.
pub fn sweep_orphan_photos(db: &Db, now: NaiveDateTime) -> Result<usize, DbError> {
    let grace = Duration::from_std(ORPHAN_PHOTO_GRACE).unwrap_or(Duration::days(1));
    let mut deleted = 0;
    loop {
        let swept = db.write(|c| -> Result<Option<usize>, DbError> {
            let old = crate::db::queries::photos::unheld_before(c, now - grace, 500)?;
            if old.is_empty() {
                return Ok(None);
            }
            // The flag is a shortcut; the cases are the truth.
            let held = crate::db::queries::photos::referenced(c, &old)?;
            crate::db::queries::photos::hold(
                c,
                &held.iter().map(String::as_str).collect::<Vec<_>>(),
            )?;
            let unused: Vec<String> = old.into_iter().filter(|p| !held.contains(p)).collect();
            Ok(Some(crate::db::queries::photos::forget(c, &unused, now)?))
        })?;
        match swept {
            Some(n) => deleted += n,
            None => return Ok(deleted),
        }
    }
}
