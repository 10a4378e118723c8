//! A store's own complaint categories.

use diesel::prelude::*;

use crate::db::models::StoreCategory;
use crate::db::schema::store_categories;
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
