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

/// (id, time zone) of the locations whose managers get the weekly email.
pub fn with_weekly_digest(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    locations::table
        .filter(locations::weekly_digest.eq(true))
        .select((locations::id, locations::time_zone))
        .load(conn)
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    locations::table.count().get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Location>> {
    locations::table
        .find(id)
        .select(Location::as_select())
        .first(conn)
        .optional()
}

pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<Location>> {
    locations::table
        .order(locations::name.asc())
        .select(Location::as_select())
        .load(conn)
}

/// The locations a user works at, by name.
pub fn for_user(conn: &mut DbConnection, user_id: &str) -> QueryResult<Vec<Location>> {
    use crate::db::schema::user_locations;
    locations::table
        .inner_join(user_locations::table)
        .filter(user_locations::user_id.eq(user_id))
        .order(locations::name.asc())
        .select(Location::as_select())
        .load(conn)
}

/// The logo's fingerprint, without loading the logo.
pub fn logo_etag(conn: &mut DbConnection, id: &str) -> QueryResult<Option<String>> {
    locations::table
        .find(id)
        .select(locations::logo_etag)
        .first(conn)
}

pub fn logo_png(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Vec<u8>>> {
    locations::table
        .find(id)
        .select(locations::logo_png)
        .first(conn)
}

/// Sets or (with `None`) removes the logo; returns false when there is no such location.
pub fn set_logo(
    conn: &mut DbConnection,
    id: &str,
    logo: Option<(&[u8], &str)>,
) -> QueryResult<bool> {
    let (png, etag) = match logo {
        Some((png, etag)) => (Some(png.to_vec()), Some(etag.to_owned())),
        None => (None, None),
    };
    diesel::update(locations::table.find(id))
        .set((locations::logo_png.eq(png), locations::logo_etag.eq(etag)))
        .execute(conn)
        .map(|n| n == 1)
}

/// The root causes a location offers when resolving (comma-separated), if it chose any.
pub fn root_causes(conn: &mut DbConnection, id: &str) -> QueryResult<Option<String>> {
    locations::table
        .find(id)
        .select(locations::root_causes)
        .first::<Option<String>>(conn)
        .optional()
        .map(Option::flatten)
}

/// The comma-separated category keys a location chose before categories had labels.
pub fn categories(conn: &mut DbConnection, id: &str) -> QueryResult<Option<String>> {
    locations::table
        .find(id)
        .select(locations::categories)
        .first::<Option<String>>(conn)
        .optional()
        .map(Option::flatten)
}
