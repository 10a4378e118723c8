use diesel::prelude::*;

use crate::db::models::Touchpoint;
use crate::db::schema::touchpoints;
use crate::db::DbConnection;

pub fn insert(conn: &mut DbConnection, touchpoint: &Touchpoint) -> QueryResult<()> {
    diesel::insert_into(touchpoints::table)
        .values(touchpoint)
        .execute(conn)
        .map(|_| ())
}

/// A location's touchpoints in the order they were created (the order of a sticker sheet).
pub fn for_location(conn: &mut DbConnection, location_id: &str) -> QueryResult<Vec<Touchpoint>> {
    touchpoints::table
        .filter(touchpoints::location_id.eq(location_id))
        .order(touchpoints::id.asc())
        .select(Touchpoint::as_select())
        .load(conn)
}

pub fn find_by_code(conn: &mut DbConnection, code: &str) -> QueryResult<Option<Touchpoint>> {
    touchpoints::table
        .filter(touchpoints::code.eq(code))
        .select(Touchpoint::as_select())
        .first(conn)
        .optional()
}

/// A touchpoint with its location's logo fingerprint: what a sticker image needs.
#[derive(Debug, Clone, Queryable)]
pub struct StickerSubject {
    pub touchpoint: Touchpoint,
    pub logo_etag: Option<String>,
}

pub fn find_sticker_subject(
    conn: &mut DbConnection,
    code: &str,
) -> QueryResult<Option<StickerSubject>> {
    use crate::db::schema::locations;
    touchpoints::table
        .inner_join(locations::table)
        .filter(touchpoints::code.eq(code))
        .select((Touchpoint::as_select(), locations::logo_etag))
        .first(conn)
        .optional()
}

/// What the complaint form needs of a sticker's code: the touchpoint, its whole location,
/// the location's categories, and whether it still takes complaints.
#[derive(Debug, Clone, Queryable)]
pub struct FormPlace {
    pub touchpoint: Touchpoint,
    pub location: crate::db::models::Location,
    pub categories: Option<String>,
    pub retired_at: Option<chrono::NaiveDateTime>,
    pub archived_at: Option<chrono::NaiveDateTime>,
    pub severe_categories: Option<String>,
    pub severe_keywords: Option<String>,
}

/// By the touchpoint's current code.
pub fn find_with_location(conn: &mut DbConnection, code: &str) -> QueryResult<Option<FormPlace>> {
    use crate::db::models::Location;
    use crate::db::schema::locations;
    touchpoints::table
        .inner_join(locations::table)
        .filter(touchpoints::code.eq(code))
        .select((
            Touchpoint::as_select(),
            Location::as_select(),
            locations::categories,
            touchpoints::retired_at,
            locations::archived_at,
            locations::severe_categories,
            locations::severe_keywords,
        ))
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Touchpoint>> {
    touchpoints::table
        .find(id)
        .select(Touchpoint::as_select())
        .first(conn)
        .optional()
}

/// (id, label) of these spots.
pub fn labels(conn: &mut DbConnection, ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    touchpoints::table
        .filter(touchpoints::id.eq_any(ids))
        .select((touchpoints::id, touchpoints::label))
        .load(conn)
}
