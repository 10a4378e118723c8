//! The full-text index of cases (migration 16): its rows are put with the words
//! `domain::case::search` made of a case, and found by FTS5's MATCH on SQLite and a tsquery
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
/// oldest first, after `after` (the last one the previous batch looked at): each batch
/// starts where the last stopped instead of stepping over every case indexed so far.
pub fn unindexed(
    conn: &mut DbConnection,
    after: Option<&(NaiveDateTime, String)>,
    limit: i64,
) -> QueryResult<Vec<(NaiveDateTime, String)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = Timestamp)]
        created_at: NaiveDateTime,
    }
    let (at, id) = after.cloned().unwrap_or_default();
    let rows: Vec<Row> = match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(
            "SELECT c.id, c.created_at FROM cases c
              WHERE (c.created_at > ? OR (c.created_at = ? AND c.id > ?))
                AND NOT EXISTS (SELECT 1 FROM case_search_rows r WHERE r.case_id = c.id)
              ORDER BY c.created_at, c.id LIMIT ?",
        )
        .bind::<Timestamp, _>(at)
        .bind::<Timestamp, _>(at)
        .bind::<Text, _>(id)
        .bind::<BigInt, _>(limit)
        .load(c)?,
        DbConnection::Postgres(c) => diesel::sql_query(
            "SELECT c.id, c.created_at FROM cases c
              WHERE (c.created_at > $1 OR (c.created_at = $1 AND c.id > $2))
                AND NOT EXISTS (SELECT 1 FROM case_search s WHERE s.case_id = c.id)
              ORDER BY c.created_at, c.id LIMIT $3",
        )
        .bind::<Timestamp, _>(at)
        .bind::<Text, _>(id)
        .bind::<BigInt, _>(limit)
        .load(c)?,
    };
    Ok(rows.into_iter().map(|r| (r.created_at, r.id)).collect())
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

/// Cases whose words match, newest first in the index, `limit` of them after `after`:
/// (case id, where the next batch starts). SQLite's FTS5 walks its matches by row number
/// (the order cases were indexed in, which is the order they came in) and stops at the
/// limit; PostgreSQL's by the case's time, through the index on it or the GIN index,
/// whichever its planner finds cheaper for the word.
pub fn newest(
    conn: &mut DbConnection,
    fts5: &str,
    tsquery: &str,
    after: Option<&Cursor>,
    limit: i64,
) -> QueryResult<Vec<(String, Cursor)>> {
    #[derive(QueryableByName)]
    struct Hit {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = BigInt)]
        pos: i64,
    }
    #[derive(QueryableByName)]
    struct TimedHit {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = Timestamp)]
        at: NaiveDateTime,
    }
    match conn {
        DbConnection::Sqlite(c) => {
            let before = match after {
                Some(Cursor::Position(pos, _)) => *pos,
                _ => i64::MAX,
            };
            let hits: Vec<Hit> = diesel::sql_query(
                // The match in a subquery of its own, so FTS5 drives and stops at the
                // limit, whatever the planner thinks of the join.
                "SELECT r.case_id AS id, s.pos FROM
                   (SELECT rowid AS pos FROM case_search
                     WHERE case_search MATCH ? AND rowid < ?
                     ORDER BY rowid DESC LIMIT ?) s
                   JOIN case_search_rows r ON r.id = s.pos
                  ORDER BY s.pos DESC",
            )
            .bind::<Text, _>(fts5)
            .bind::<BigInt, _>(before)
            .bind::<BigInt, _>(limit)
            .load(c)?;
            Ok(hits
                .into_iter()
                .map(|h| {
                    let cursor = Cursor::Position(h.pos, h.id.clone());
                    (h.id, cursor)
                })
                .collect())
        }
        DbConnection::Postgres(c) => {
            let (at, id) = match after {
                Some(Cursor::Time(at, id)) => (*at, id.clone()),
                _ => (
                    chrono::NaiveDate::from_ymd_opt(9999, 1, 1)
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .unwrap_or_default(),
                    String::new(),
                ),
            };
            let hits: Vec<TimedHit> = diesel::sql_query(
                "SELECT case_id AS id, created_at AS at FROM case_search
                  WHERE terms @@ to_tsquery('simple', $1)
                    AND (created_at < $2 OR (created_at = $2 AND case_id < $3))
                  ORDER BY created_at DESC, case_id DESC LIMIT $4",
            )
            .bind::<Text, _>(tsquery)
            .bind::<Timestamp, _>(at)
            .bind::<Text, _>(id)
            .bind::<BigInt, _>(limit)
            .load(c)?;
            Ok(hits
                .into_iter()
                .map(|h| {
                    let cursor = Cursor::Time(h.at, h.id.clone());
                    (h.id, cursor)
                })
                .collect())
        }
    }
}

/// Where a page of results starts: after the last case of the page before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// By time and id (lists without words).
    Time(chrono::NaiveDateTime, String),
    /// By place in the search index (word searches).
    Position(i64, String),
}

impl Cursor {
    /// As a link carries it: `t{unix microseconds}.{id}` or `p{position}.{id}`.
    pub fn to_param(&self) -> String {
        match self {
            Cursor::Time(at, id) => format!("t{}.{id}", at.and_utc().timestamp_micros()),
            Cursor::Position(pos, id) => format!("p{pos}.{id}"),
        }
    }

    pub fn parse(s: &str) -> Option<Cursor> {
        let (head, id) = s.split_once('.')?;
        if id.is_empty() || id.len() > 64 {
            return None;
        }
        let number: i64 = head.get(1..)?.parse().ok()?;
        match head.as_bytes().first()? {
            b't' => Some(Cursor::Time(
                chrono::DateTime::from_timestamp_micros(number)?.naive_utc(),
                id.to_owned(),
            )),
            b'p' => Some(Cursor::Position(number, id.to_owned())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cursor;

    #[test]
    fn a_cursor_reads_back_and_nonsense_is_ignored() {
        let at = chrono::DateTime::from_timestamp_micros(1_764_300_000_123_456)
            .unwrap()
            .naive_utc();
        for cursor in [
            Cursor::Time(at, "01ABC".into()),
            Cursor::Position(42, "01ABC".into()),
        ] {
            assert_eq!(Cursor::parse(&cursor.to_param()), Some(cursor));
        }
        for nonsense in ["x.y", "t123.", "p.1", "q1.a", "", "t1"] {
            assert_eq!(Cursor::parse(nonsense), None, "{nonsense}");
        }
    }
}
