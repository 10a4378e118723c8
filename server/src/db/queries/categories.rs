//! A store's own complaint categories.

use diesel::prelude::*;

use crate::db::models::StoreCategory;
use crate::db::schema::{locations, store_categories};
use crate::db::DbConnection;

/// Every category of a store, retired ones too, in order.
pub fn for_location(conn: &mut DbConnection, location_id: &str) -> QueryResult<Vec<StoreCategory>> {
    store_categories::table
        .filter(store_categories::location_id.eq(location_id))
        .order((
            store_categories::position.asc(),
            store_categories::key.asc(),
        ))
        .select(StoreCategory::as_select())
        .load(conn)
}

/// The own categories of these stores, each with its store's language (for the label's
/// fallback). Read in slices: SQLite limits the parameters of one statement.
pub fn for_locations(
    conn: &mut DbConnection,
    location_ids: &[String],
) -> QueryResult<Vec<(StoreCategory, String)>> {
    let mut out = Vec::new();
    for ids in location_ids.chunks(1_000) {
        out.extend(
            store_categories::table
                .inner_join(locations::table)
                .filter(store_categories::location_id.eq_any(ids))
                .select((StoreCategory::as_select(), locations::default_language))
                .load::<(StoreCategory, String)>(conn)?,
        );
    }
    Ok(out)
}

pub fn insert(conn: &mut DbConnection, row: &StoreCategory) -> QueryResult<()> {
    diesel::insert_into(store_categories::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn update(conn: &mut DbConnection, row: &StoreCategory) -> QueryResult<bool> {
    diesel::update(store_categories::table.find((&row.location_id, &row.key)))
        .set((
            store_categories::labels.eq(&row.labels),
            store_categories::position.eq(row.position),
            store_categories::severe.eq(row.severe),
            store_categories::retired_at.eq(row.retired_at),
        ))
        .execute(conn)
        .map(|n| n == 1)
}
