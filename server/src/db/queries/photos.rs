//! The photo store's table: customer photos by path (`photos/ab/<sha256>.jpg` and its
//! `.thumb.jpg`), the bytes here or, once the worker has moved them, in the object store.
//! Photos are named by their content, so writing one again writes the same bytes.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{cases, photos};
use crate::db::DbConnection;

macro_rules! upsert {
    ($conn:expr, $path:expr, $bytes:expr, $size:expr, $held:expr, $now:expr) => {
        diesel::insert_into(photos::table)
            .values((
                photos::path.eq($path),
                photos::bytes.eq(Some($bytes)),
                photos::byte_size.eq($size),
                photos::stored_at.eq($now),
                photos::held.eq($held),
                photos::remote.eq(false),
            ))
            .on_conflict(photos::path)
            .do_update()
            // Uploaded again: its day of grace counts from now, and a photo erased a
            // moment ago (its object not yet deleted) is a live photo again, held here
            // until the worker puts it back.
            .set((
                photos::stored_at.eq($now),
                photos::deleted_at.eq(None::<NaiveDateTime>),
                photos::bytes.eq(Some($bytes)),
                photos::remote.eq(false),
            ))
            .execute($conn)
    };
}

/// Writes a photo (or writes it again). `held`: a case already refers to it (a file
/// brought in from the data dir); a new upload is not held until its case is stored.
pub fn put(
    conn: &mut DbConnection,
    path: &str,
    bytes: &[u8],
    held: bool,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    match conn {
        DbConnection::Sqlite(c) => upsert!(c, path, bytes, size, held, now),
        DbConnection::Postgres(c) => upsert!(c, path, bytes, size, held, now),
    }
    .map(|_| ())
}

/// True when every one of these photos is stored (and not erased).
pub fn all_present(conn: &mut DbConnection, paths: &[&str]) -> QueryResult<bool> {
    let n: i64 = photos::table
        .filter(photos::path.eq_any(paths))
        .filter(photos::deleted_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(usize::try_from(n).unwrap_or(0) == paths.len())
}

/// Where a stored photo's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Here(Vec<u8>),
    /// In the object store, under the same path.
    Remote,
}

pub fn find(conn: &mut DbConnection, path: &str) -> QueryResult<Option<Found>> {
    let row: Option<(Option<Vec<u8>>, bool)> = photos::table
        .find(path)
        .filter(photos::deleted_at.is_null())
        .select((photos::bytes, photos::remote))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(bytes, remote)| match bytes {
        Some(b) => Some(Found::Here(b)),
        None => remote.then_some(Found::Remote),
    }))
}

/// A case now refers to these photos: the sweep of unsent uploads leaves them alone.
pub fn hold(conn: &mut DbConnection, paths: &[&str]) -> QueryResult<usize> {
    diesel::update(photos::table.filter(photos::path.eq_any(paths)))
        .set(photos::held.eq(true))
        .execute(conn)
}

/// Erases these photos: gone at once where the bytes are here; marked for the worker where
/// they are in the object store. Returns how many were stored.
pub fn forget(conn: &mut DbConnection, paths: &[String], now: NaiveDateTime) -> QueryResult<usize> {
    let here = diesel::delete(
        photos::table
            .filter(photos::path.eq_any(paths))
            .filter(photos::remote.eq(false)),
    )
    .execute(conn)?;
    let remote = diesel::update(
        photos::table
            .filter(photos::path.eq_any(paths))
            .filter(photos::remote.eq(true))
            .filter(photos::deleted_at.is_null()),
    )
    .set((
        photos::deleted_at.eq(now),
        photos::bytes.eq(None::<Vec<u8>>),
    ))
    .execute(conn)?;
    Ok(here + remote)
}

/// Photos no case has held, last uploaded before `cutoff`: the sweep's candidates.
pub fn unheld_before(
    conn: &mut DbConnection,
    cutoff: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<String>> {
    photos::table
        .filter(photos::held.eq(false))
        .filter(photos::deleted_at.is_null())
        .filter(photos::stored_at.lt(cutoff))
        .order(photos::stored_at.asc())
        .limit(limit)
        .select(photos::path)
        .load(conn)
}

/// Of these paths, those some case refers to (as its photo or its thumbnail).
pub fn referenced(conn: &mut DbConnection, paths: &[String]) -> QueryResult<Vec<String>> {
    let mains: Vec<Option<String>> = cases::table
        .filter(cases::photo_path.eq_any(paths))
        .select(cases::photo_path)
        .load(conn)?;
    let thumbs: Vec<Option<String>> = cases::table
        .filter(cases::photo_thumb_path.eq_any(paths))
        .select(cases::photo_thumb_path)
        .load(conn)?;
    let mut found: Vec<String> = mains.into_iter().chain(thumbs).flatten().collect();
    found.sort();
    found.dedup();
    Ok(found)
}

/// Photos whose bytes are still here, oldest first: what the worker moves to the object
/// store.
pub fn to_move(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<(String, Vec<u8>)>> {
    let rows: Vec<(String, Option<Vec<u8>>)> = photos::table
        .filter(photos::bytes.is_not_null())
        .filter(photos::deleted_at.is_null())
        .order(photos::stored_at.asc())
        .limit(limit)
        .select((photos::path, photos::bytes))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(path, bytes)| bytes.map(|b| (path, b)))
        .collect())
}

/// The photo is in the object store now; false when it was erased meanwhile (its object
/// is then the caller's to delete).
pub fn moved(conn: &mut DbConnection, path: &str) -> QueryResult<bool> {
    let n = diesel::update(
        photos::table
            .find(path)
            .filter(photos::deleted_at.is_null()),
    )
    .set((photos::bytes.eq(None::<Vec<u8>>), photos::remote.eq(true)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Erased photos whose objects are still to be deleted.
pub fn to_delete(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<String>> {
    photos::table
        .filter(photos::deleted_at.is_not_null())
        .order(photos::deleted_at.asc())
        .limit(limit)
        .select(photos::path)
        .load(conn)
}

/// The object is deleted: the row goes, unless the photo was uploaded again meanwhile.
pub fn purged(conn: &mut DbConnection, path: &str) -> QueryResult<usize> {
    diesel::delete(
        photos::table
            .find(path)
            .filter(photos::deleted_at.is_not_null()),
    )
    .execute(conn)
}

/// How many photos are stored, and how many of them wait to be moved to the object store.
pub fn counts(conn: &mut DbConnection) -> QueryResult<(i64, i64)> {
    let all = photos::table
        .filter(photos::deleted_at.is_null())
        .count()
        .get_result(conn)?;
    let waiting = photos::table
        .filter(photos::bytes.is_not_null())
        .filter(photos::remote.eq(false))
        .count()
        .get_result(conn)?;
    Ok((all, waiting))
}
