//! Stores as their owners set them up (the `locations` table seen through [`Store`]).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::Store;
use crate::db::schema::locations;
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, store: &Store) -> QueryResult<()> {
    diesel::insert_into(locations::table)
        .values(store)
        .execute(conn)
        .map(|_| ())
}

/// Writes every field a store's owner may change; false when there is no such store.
pub fn update(conn: &mut DbConnection, store: &Store) -> QueryResult<bool> {
    diesel::update(locations::table.find(&store.id))
        .set((
            locations::name.eq(&store.name),
            locations::address.eq(&store.address),
            locations::region.eq(&store.region),
            locations::time_zone.eq(&store.time_zone),
            locations::default_language.eq(&store.default_language),
            locations::currency.eq(&store.currency),
            locations::sla_minutes.eq(store.sla_minutes),
            locations::external_ref.eq(&store.external_ref),
            locations::archived_at.eq(store.archived_at),
        ))
        .execute(conn)
        .map(|n| n == 1)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Store>> {
    locations::table
        .find(id)
        .select(Store::as_select())
        .first(conn)
        .optional()
}

/// A store by its id, then by external reference, then by name: pages send ids, people
/// and files name a store by the others.
pub fn find_by_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<Store>> {
    if let Some(store) = find(conn, key)? {
        return Ok(Some(store));
    }
    let by_ref = locations::table
        .filter(locations::external_ref.eq(key))
        .select(Store::as_select())
        .first(conn)
        .optional()?;
    if by_ref.is_some() {
        return Ok(by_ref);
    }
    locations::table
        .filter(locations::name.eq(key))
        .select(Store::as_select())
        .first(conn)
        .optional()
}

/// Every store, archived ones too, by name.
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Store>> {
    locations::table
        .order(locations::name.asc())
        .select(Store::as_select())
        .load(conn)
}

/// The stores a user works at, by name.
pub fn for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<Store>> {
    use crate::db::schema::user_locations;
    locations::table
        .inner_join(user_locations::table)
        .filter(user_locations::user_id.eq(user_id))
        .order(locations::name.asc())
        .select(Store::as_select())
        .load(conn)
}

pub fn set_archived(
    conn: &mut DbConnection,
    id: &str,
    at: Option<NaiveDateTime>,
) -> QueryResult<bool> {
    diesel::update(locations::table.find(id))
        .set(locations::archived_at.eq(at))
        .execute(conn)
        .map(|n| n == 1)
}

/// Inserts many stores, a chunk per statement (under SQLite's bound-parameter limit).
pub fn insert_many(conn: &mut DbConnection, rows: &[Store]) -> QueryResult<()> {
    for chunk in rows.chunks(1_000) {
        insert_all!(conn, locations::table, chunk)?;
    }
    Ok(())
}
