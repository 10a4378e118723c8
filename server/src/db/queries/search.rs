//! The full-text index of cases (migration 16): its rows are put with the words
//! `domain::search` made of a case, and found by FTS5's MATCH on SQLite and a tsquery
//! over a GIN index on PostgreSQL.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Timestamp};

use crate::db::DbConnection;

/// A case's words as the index keeps them.
pub struct Entry {
    pub case_id: String,
    pub created_at: NaiveDateTime,
    pub terms: String,
}

#[derive(QueryableByName)]
struct RowId {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct CaseId {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Puts each case's words in the index, replacing what it had.
pub fn put(conn: &mut DbConnection, entries: &[Entry]) -> QueryResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    match conn {
        DbConnection::Sqlite(c) => {
            for e in entries {
                diesel::sql_query(
                    "INSERT INTO case_search_rows (case_id) VALUES (?)
                     ON CONFLICT (case_id) DO NOTHING",
                )
                .bind::<Text, _>(&e.case_id)
                .execute(c)?;
                let row: RowId =
                    diesel::sql_query("SELECT id FROM case_search_rows WHERE case_id = ?")
                        .bind::<Text, _>(&e.case_id)
                        .get_result(c)?;
                diesel::sql_query("DELETE FROM case_search WHERE rowid = ?")
                    .bind::<BigInt, _>(row.id)
                    .execute(c)?;
                diesel::sql_query("INSERT INTO case_search (rowid, terms) VALUES (?, ?)")
                    .bind::<BigInt, _>(row.id)
                    .bind::<Text, _>(&e.terms)
                    .execute(c)?;
            }
            Ok(())
        }
        DbConnection::Postgres(c) => {
            let ids: Vec<&str> = entries.iter().map(|e| e.case_id.as_str()).collect();
            let at: Vec<NaiveDateTime> = entries.iter().map(|e| e.created_at).collect();
            let terms: Vec<&str> = entries.iter().map(|e| e.terms.as_str()).collect();
            diesel::sql_query(
                "INSERT INTO case_search (case_id, created_at, terms)
                 SELECT id, at, to_tsvector('simple', t)
                   FROM unnest($1::text[], $2::timestamp[], $3::text[]) AS u (id, at, t)
                 ON CONFLICT (case_id) DO UPDATE SET terms = EXCLUDED.terms",
            )
            .bind::<Array<Text>, _>(ids)
            .bind::<Array<Timestamp>, _>(at)
            .bind::<Array<Text>, _>(terms)
            .execute(c)
            .map(|_| ())
        }
    }
}

/// Cases the index does not have yet (those of an installation from before the index),
/// oldest first.
pub fn unindexed(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<String>> {
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT c.id FROM cases c
              WHERE NOT EXISTS (SELECT 1 FROM case_search_rows r WHERE r.case_id = c.id)
              ORDER BY c.created_at LIMIT "
        }
        DbConnection::Postgres(_) => {
            "SELECT c.id FROM cases c
              WHERE NOT EXISTS (SELECT 1 FROM case_search s WHERE s.case_id = c.id)
              ORDER BY c.created_at LIMIT "
        }
    };
    let rows: Vec<CaseId> = diesel::sql_query(format!("{sql}{}", limit.max(0))).load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// How many cases the index lacks: a quick count, so a start with everything indexed
/// costs two counts rather than a look at every case.
pub fn missing(conn: &mut DbConnection) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT (SELECT COUNT(*) FROM cases) - (SELECT COUNT(*) FROM case_search_rows) AS n"
        }
        DbConnection::Postgres(_) => {
            "SELECT (SELECT COUNT(*) FROM cases) - (SELECT COUNT(*) FROM case_search) AS n"
        }
    };
    Ok(diesel::sql_query(sql).get_result::<N>(conn)?.n)
}

/// The condition "the case's words match", for a query on `cases`.
pub type Matches = diesel::expression::SqlLiteral<
    diesel::sql_types::Bool,
    diesel::expression::UncheckedBind<
        diesel::expression::SqlLiteral<diesel::sql_types::Bool>,
        <String as diesel::expression::AsExpression<Text>>::Expression,
    >,
>;

/// [`Matches`] with the match expression bound: an FTS5 expression on SQLite, a tsquery
/// on PostgreSQL.
pub fn matches(conn: &DbConnection, fts5: String, tsquery: String) -> Matches {
    let (sql, bound, close) = match conn {
        DbConnection::Sqlite(_) => (
            "cases.id IN (SELECT r.case_id FROM case_search s
               JOIN case_search_rows r ON r.id = s.rowid WHERE case_search MATCH ",
            fts5,
            ")",
        ),
        DbConnection::Postgres(_) => (
            "cases.id IN (SELECT s.case_id FROM case_search s
               WHERE s.terms @@ to_tsquery('simple', ",
            tsquery,
            "))",
        ),
    };
    diesel::dsl::sql::<diesel::sql_types::Bool>(sql)
        .bind::<Text, _>(bound)
        .sql(close)
}
