use diesel::prelude::*;

use crate::db::models::Location;
use crate::db::schema::locations;
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, location: &Location) -> QueryResult<()> {
    diesel::insert_into(locations::table)
        .values(location)
        .execute(conn)
        .map(|_| ())
}

pub fn find_by_name(conn: &mut DbConnection, name: &str) -> QueryResult<Option<Location>> {
    locations::table
        .filter(locations::name.eq(name))
        .select(Location::as_select())
        .first(conn)
        .optional()
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    locations::table.count().get_result(conn)
}
