//! Kiosk devices and the taps they send.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::{KioskDevice, KioskRating};
use crate::db::schema::{kiosk_devices, kiosk_handoffs, kiosk_ratings, locations};
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, device: &KioskDevice) -> QueryResult<()> {
    diesel::insert_into(kiosk_devices::table)
        .values(device)
        .execute(conn)
        .map(|_| ())
}

pub fn find_by_token_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<KioskDevice>> {
    kiosk_devices::table
        .filter(kiosk_devices::token_hash.eq(hash))
        .select(KioskDevice::as_select())
        .first(conn)
        .optional()
}

pub fn for_location(conn: &mut DbConnection, location_id: &str) -> QueryResult<Vec<KioskDevice>> {
    kiosk_devices::table
        .filter(kiosk_devices::location_id.eq(location_id))
        .order(kiosk_devices::name.asc())
        .select(KioskDevice::as_select())
        .load(conn)
}

/// Revokes a device's token; false if there is no such device or it was revoked before.
pub fn revoke(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(kiosk_devices::table)
        .filter(kiosk_devices::id.eq(id))
        .filter(kiosk_devices::revoked_at.is_null())
        .set(kiosk_devices::revoked_at.eq(now))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn seen(
    conn: &mut DbConnection,
    id: &str,
    now: NaiveDateTime,
    buffered: Option<(i32, Option<String>)>,
) -> QueryResult<()> {
    let q = diesel::update(kiosk_devices::table).filter(kiosk_devices::id.eq(id));
    match buffered {
        Some((n, version)) => q
            .set((
                kiosk_devices::last_seen_at.eq(now),
                kiosk_devices::buffered.eq(n),
                kiosk_devices::version.eq(version),
            ))
            .execute(conn),
        None => q.set(kiosk_devices::last_seen_at.eq(now)).execute(conn),
    }
    .map(|_| ())
}

macro_rules! insert_unless_present {
    ($conn:expr, $tap:expr) => {
        diesel::insert_into(kiosk_ratings::table)
            .values($tap)
            .on_conflict(kiosk_ratings::idempotency_key)
            .do_nothing()
            .execute($conn)
    };
}

/// Stores a tap; one whose idempotency key is already stored is left alone (false).
/// `ON CONFLICT DO NOTHING`: a failed insert would abort the batch's transaction on
/// PostgreSQL.
pub fn insert_tap(conn: &mut DbConnection, tap: &KioskRating) -> QueryResult<bool> {
    let inserted = match conn {
        DbConnection::Sqlite(c) => insert_unless_present!(c, tap),
        DbConnection::Postgres(c) => insert_unless_present!(c, tap),
    }?;
    Ok(inserted == 1)
}

pub fn taps_at(conn: &mut DbConnection, location_id: &str) -> QueryResult<Vec<KioskRating>> {
    kiosk_ratings::table
        .filter(kiosk_ratings::location_id.eq(location_id))
        .order(kiosk_ratings::tapped_at.asc())
        .select(KioskRating::as_select())
        .load(conn)
}

/// The spot a kiosk stands at, if one was chosen.
pub fn touchpoint_of(conn: &mut DbConnection, device_id: &str) -> QueryResult<Option<String>> {
    kiosk_devices::table
        .find(device_id)
        .select(kiosk_devices::touchpoint_id)
        .first::<Option<String>>(conn)
        .optional()
        .map(Option::flatten)
}

pub fn set_touchpoint(
    conn: &mut DbConnection,
    device_id: &str,
    touchpoint_id: Option<&str>,
) -> QueryResult<bool> {
    diesel::update(kiosk_devices::table.find(device_id))
        .set(kiosk_devices::touchpoint_id.eq(touchpoint_id))
        .execute(conn)
        .map(|n| n == 1)
}

/// True when a complaint already came through this tap's handoff.
pub fn handoff_used(c: &mut DbConnection, tap_key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        kiosk_handoffs::table.filter(kiosk_handoffs::tap_key.eq(tap_key)),
    ))
    .get_result(c)
}

macro_rules! claim_once {
    ($conn:expr, $row:expr) => {
        diesel::insert_into(kiosk_handoffs::table)
            .values($row)
            .on_conflict(kiosk_handoffs::tap_key)
            .do_nothing()
            .execute($conn)
    };
}

/// Tags a new case with the tap it came from; false (and no tag) when the handoff was
/// used before. Runs in the case's transaction.
pub fn claim_handoff(
    c: &mut DbConnection,
    tap_key: &str,
    case_id: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let row = (
        kiosk_handoffs::tap_key.eq(tap_key),
        kiosk_handoffs::case_id.eq(case_id),
        kiosk_handoffs::created_at.eq(now),
    );
    let inserted = match c {
        DbConnection::Sqlite(c) => claim_once!(c, row),
        DbConnection::Postgres(c) => claim_once!(c, row),
    }?;
    Ok(inserted == 1)
}

/// The rating of the tap a case came from, once that tap has reached the server.
pub fn tap_of_case(
    c: &mut DbConnection,
    case_id: &str,
) -> QueryResult<Option<(String, Option<i32>)>> {
    kiosk_handoffs::table
        .left_join(
            kiosk_ratings::table.on(kiosk_ratings::idempotency_key.eq(kiosk_handoffs::tap_key)),
        )
        .filter(kiosk_handoffs::case_id.eq(case_id))
        .select((kiosk_handoffs::tap_key, kiosk_ratings::rating.nullable()))
        .first(c)
        .optional()
}

/// Unhappy taps (rating at most `max_rating`) at a location between two times.
pub fn unhappy_between(
    c: &mut DbConnection,
    location_id: &str,
    max_rating: i32,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> QueryResult<i64> {
    kiosk_ratings::table
        .filter(kiosk_ratings::location_id.eq(location_id))
        .filter(kiosk_ratings::rating.le(max_rating))
        .filter(kiosk_ratings::tapped_at.ge(from))
        .filter(kiosk_ratings::tapped_at.le(to))
        .count()
        .get_result(c)
}

/// A location's unhappy-tap rule: how many taps, within how many minutes, and when it
/// last alerted.
pub fn unhappy_rule(
    c: &mut DbConnection,
    location_id: &str,
) -> QueryResult<(i32, i32, Option<NaiveDateTime>)> {
    locations::table
        .find(location_id)
        .select((
            locations::unhappy_taps,
            locations::unhappy_tap_minutes,
            locations::unhappy_alerted_at,
        ))
        .first(c)
}

pub fn set_unhappy_alerted_at(
    c: &mut DbConnection,
    location_id: &str,
    at: Option<NaiveDateTime>,
) -> QueryResult<()> {
    diesel::update(locations::table.find(location_id))
        .set(locations::unhappy_alerted_at.eq(at))
        .execute(c)
        .map(drop)
}
