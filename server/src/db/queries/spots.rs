//! Spots (touchpoints) as a store sets them up: order, retirement, replaced stickers.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::Spot;
use crate::db::schema::touchpoints;
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, spot: &Spot) -> QueryResult<()> {
    diesel::insert_into(touchpoints::table)
        .values(spot)
        .execute(conn)
        .map(|_| ())
}

/// Every spot of a store, retired ones too, in sticker order.
pub fn for_location(conn: &mut DbConnection, location_id: &str) -> QueryResult<Vec<Spot>> {
    touchpoints::table
        .filter(touchpoints::location_id.eq(location_id))
        .order((touchpoints::position.asc(), touchpoints::id.asc()))
        .select(Spot::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Spot>> {
    touchpoints::table
        .find(id)
        .select(Spot::as_select())
        .first(conn)
        .optional()
}

/// The spot whose sticker carries `code`, as its current code or the one it replaced.
pub fn find_by_any_code(conn: &mut DbConnection, code: &str) -> QueryResult<Option<Spot>> {
    touchpoints::table
        .filter(
            touchpoints::code
                .eq(code)
                .or(touchpoints::previous_code.eq(code)),
        )
        .select(Spot::as_select())
        .first(conn)
        .optional()
}

/// Writes what may change about a spot; false when there is no such spot.
pub fn update(conn: &mut DbConnection, spot: &Spot) -> QueryResult<bool> {
    diesel::update(touchpoints::table.find(&spot.id))
        .set((
            touchpoints::label.eq(&spot.label),
            touchpoints::code.eq(&spot.code),
            touchpoints::position.eq(spot.position),
            touchpoints::retired_at.eq(spot.retired_at),
            touchpoints::external_ref.eq(&spot.external_ref),
            touchpoints::previous_code.eq(&spot.previous_code),
            touchpoints::previous_code_retired_at.eq(spot.previous_code_retired_at),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn set_retired(
    conn: &mut DbConnection,
    id: &str,
    at: Option<NaiveDateTime>,
) -> QueryResult<bool> {
    diesel::update(touchpoints::table.find(id))
        .set(touchpoints::retired_at.eq(at))
        .execute(conn)
        .map(|n| n == 1)
}

/// Every spot of every store (for an import's plan: one read, not one per store).
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Spot>> {
    touchpoints::table
        .order((touchpoints::position.asc(), touchpoints::id.asc()))
        .select(Spot::as_select())
        .load(conn)
}

/// Inserts many spots, a chunk per statement (under SQLite's bound-parameter limit).
pub fn insert_many(conn: &mut DbConnection, rows: &[Spot]) -> QueryResult<()> {
    for chunk in rows.chunks(1_500) {
        insert_all!(conn, touchpoints::table, chunk)?;
    }
    Ok(())
}
