use diesel::prelude::*;

use crate::db::schema::locations;
use crate::db::DbConnection;

/// Touches one of our tables, not just `SELECT 1`: a database that lost its schema is not healthy.
pub fn probe(conn: &mut DbConnection) -> QueryResult<()> {
    locations::table
        .select(locations::id)
        .first::<String>(conn)
        .optional()
        .map(|_| ())
}
