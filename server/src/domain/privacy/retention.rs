//! Privacy by time: a resolved case keeps the customer's contact details and photo only
//! as long as its store's retention period (180 days after resolution by default). Then
//! the case is anonymized: the email, the consent, the device hash and the photo go; the
//! email is also taken off the survey and off the mail that was sent to it. What stays is
//! what the figures need: store, spot, category, times, resolution, root cause, and the
//! customer's own words (staff are asked not to write personal data into updates).
//!
//! Photo files are deleted after the transaction commits, and only when no case that is
//! still within its period holds the same photo (photos are stored by content hash).
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

/// Deletes photo files (paths relative to the data dir); returns how many went.
pub fn delete_photos(data_dir: &std::path::Path, freed: &[String]) -> usize {
    let mut deleted = 0;
    for relative in freed {
        // Only our own photo paths: nothing in the database can name another file.
        if !relative.starts_with("photos/") || relative.contains("..") {
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
            Ok(Some(freed_photos(c, photos)?))
        })?;
        let Some(freed) = freed else { break };
        done.photos_deleted += delete_photos(data_dir, &freed);
    }
    Ok(done)
}

/// Which of these photos (by their main file's relative path) some case holds: one query
/// for the lot.
fn photos_held(
    c: &mut DbConnection,
    mains: &[String],
) -> QueryResult<std::collections::HashSet<String>> {
    Ok(cases::table
        .filter(cases::photo_path.eq_any(mains))
        .select(cases::photo_path)
        .load::<Option<String>>(c)?
        .into_iter()
        .flatten()
        .collect())
}

/// Deletes the photo files no case holds (uploads of posts that were refused and never
/// sent again) once they are [`ORPHAN_PHOTO_GRACE`] old; `now` is the file system's
/// clock, which wrote their times. Returns how many files went.
pub fn sweep_orphan_photos(
    db: &Db,
    data_dir: &std::path::Path,
    now: std::time::SystemTime,
) -> Result<usize, DbError> {
    let Ok(shards) = std::fs::read_dir(data_dir.join("photos")) else {
        return Ok(0);
    };
    // Files old enough to go, then one lookup per few hundred of them: no query at all for
    // the files still in their grace period, however many photos there are.
    let mut old = Vec::new();
    for file in shards
        .flatten()
        .filter_map(|shard| std::fs::read_dir(shard.path()).ok())
        .flatten()
        .flatten()
    {
        let name = file.file_name();
        let Some(hash) = name.to_str().and_then(|n| {
            n.strip_suffix(".thumb.jpg")
                .or_else(|| n.strip_suffix(".jpg"))
        }) else {
            continue;
        };
        // Only files this server wrote; anything else in the directory is not ours.
        if !crate::domain::case::photo::is_photo_hash(hash) {
            continue;
        }
        let old_enough = file.metadata().and_then(|m| m.modified()).is_ok_and(|t| {
            now.duration_since(t)
                .is_ok_and(|age| age >= ORPHAN_PHOTO_GRACE)
        });
        if old_enough {
            let (main, _) = crate::domain::case::photo::relative_paths(hash);
            old.push((file.path(), main));
        }
    }
    let mut deleted = 0;
    for chunk in old.chunks(500) {
        let mains: Vec<String> = chunk.iter().map(|(_, m)| m.clone()).collect();
        let held = db.read(|c| photos_held(c, &mains))?;
        for (path, main) in chunk {
            if held.contains(main) {
                continue;
            }
            match std::fs::remove_file(path) {
                Ok(()) => deleted += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(error = %e, "an unused photo could not be deleted"),
            }
        }
    }
    Ok(deleted)
}
