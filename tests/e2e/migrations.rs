//! Both migration trees carry the same versions, and each migration's down undoes its up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use diesel_migrations::MigrationHarness;
use mend_server::db::migrations::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use mend_server::db::DbConnection;
use mend_testing::{on_both_backends, TestDb};

#[derive(QueryableByName, Debug, PartialEq)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[test]
fn both_trees_have_the_same_versions_in_the_same_order() {
    let sqlite: Vec<String> = MigrationSource::<Sqlite>::migrations(&SQLITE_MIGRATIONS)
        .unwrap()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    let postgres: Vec<String> = MigrationSource::<Pg>::migrations(&POSTGRES_MIGRATIONS)
        .unwrap()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);

    // And the folders on disk agree with what was embedded (nothing left out of a tree).
    let on_disk = |tree: &str| {
        let mut names: Vec<String> =
            std::fs::read_dir(format!("{}/migrations/{tree}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect();
        names.sort();
        names
    };
    assert_eq!(on_disk("sqlite"), sqlite);
    assert_eq!(on_disk("postgres"), postgres);
}

/// Tables, columns, indexes and constraints of the application's own schema.
fn schema_of(conn: &mut DbConnection) -> Vec<String> {
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT type || ' ' || name || ' ' || coalesce(sql, '') AS line FROM sqlite_master
             WHERE name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations' ORDER BY 1"
        }
        DbConnection::Postgres(_) => {
            "SELECT line FROM (
               SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' '
                      || is_nullable || ' ' || coalesce(column_default, '') AS line
                 FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name <> '__diesel_schema_migrations'
               UNION ALL
               SELECT 'index ' || indexdef FROM pg_indexes
                WHERE schemaname = current_schema() AND tablename <> '__diesel_schema_migrations'
               UNION ALL
               SELECT 'constraint ' || conrelid::regclass::text || ' ' || pg_get_constraintdef(oid)
                 FROM pg_constraint
                WHERE connamespace = current_schema()::regnamespace
                  AND conrelid::regclass::text NOT LIKE '%__diesel_schema_migrations'
             ) s ORDER BY 1"
        }
    };
    diesel::sql_query(sql)
        .load::<Line>(conn)
        .unwrap()
        .into_iter()
        .map(|l| l.line)
        .collect()
}

/// Applies the next pending migration, or reverts the last one, on either backend.
fn step(conn: &mut DbConnection, forward: bool) {
    match (conn, forward) {
        (DbConnection::Sqlite(c), true) => c.run_next_migration(SQLITE_MIGRATIONS).map(|_| ()),
        (DbConnection::Sqlite(c), false) => c.revert_last_migration(SQLITE_MIGRATIONS).map(|_| ()),
        (DbConnection::Postgres(c), true) => c.run_next_migration(POSTGRES_MIGRATIONS).map(|_| ()),
        (DbConnection::Postgres(c), false) => {
            c.revert_last_migration(POSTGRES_MIGRATIONS).map(|_| ())
        }
    }
    .unwrap();
}

fn each_down_undoes_its_up(t: &TestDb) {
    let mut conn = t.raw_connection();
    let count = MigrationSource::<Sqlite>::migrations(&SQLITE_MIGRATIONS)
        .unwrap()
        .len();
    for n in 0..count {
        let before = schema_of(&mut conn);
        step(&mut conn, true);
        assert_ne!(
            schema_of(&mut conn),
            before,
            "migration {n} changed nothing"
        );
        step(&mut conn, false);
        assert_eq!(
            schema_of(&mut conn),
            before,
            "down of migration {n} did not undo its up"
        );
        step(&mut conn, true);
    }
}

fn migrating_twice_applies_nothing_the_second_time(t: &TestDb) {
    let mut conn = t.raw_connection();
    assert!(!mend_server::db::migrations::run_pending(&mut conn)
        .unwrap()
        .is_empty());
    assert!(mend_server::db::migrations::run_pending(&mut conn)
        .unwrap()
        .is_empty());
}

/// The plan a backend picks for `query`, one line per step.
fn plan_of(conn: &mut DbConnection, query: &str) -> String {
    #[derive(QueryableByName)]
    struct Step {
        #[diesel(sql_type = Text)]
        detail: String,
    }
    let steps = match conn {
        DbConnection::Sqlite(_) => diesel::sql_query(format!("EXPLAIN QUERY PLAN {query}"))
            .load::<Step>(conn)
            .unwrap(),
        DbConnection::Postgres(_) => {
            // On a near-empty table a scan is cheapest; forbid it to see whether an index
            // can serve the query at all (an unusable partial index still is not picked).
            diesel::sql_query("SET enable_seqscan = off")
                .execute(conn)
                .unwrap();
            diesel::sql_query(
                "CREATE OR REPLACE FUNCTION pg_temp.plan_of(q text) RETURNS SETOF text
                 LANGUAGE plpgsql AS $$ DECLARE r text; BEGIN
                   FOR r IN EXECUTE 'EXPLAIN ' || q LOOP RETURN NEXT r; END LOOP;
                 END $$",
            )
            .execute(conn)
            .unwrap();
            diesel::sql_query("SELECT pg_temp.plan_of($1) AS detail")
                .bind::<Text, _>(query)
                .load::<Step>(conn)
                .unwrap()
        }
    };
    steps
        .into_iter()
        .map(|s| s.detail)
        .collect::<Vec<_>>()
        .join("\n")
}

const INTAKE_LOOKUP: &str = "SELECT render_nonce, reference FROM cases
     WHERE reference IN ('AAA-BBB', 'CCC-DDD') OR render_nonce IN ('r1', 'r2')";

/// The indexes that hold only non-NULL values (so a new case costs them nothing) still
/// serve the lookups that use them: each asks for one value, which implies NOT NULL.
fn sparse_indexes_serve_their_lookups(t: &TestDb) {
    let mut conn = t.raw_connection();
    mend_server::db::migrations::run_pending(&mut conn).unwrap();
    for (query, index) in [
        (
            "SELECT id FROM cases WHERE contact_email = 'ana@example.com'",
            &["cases_contact"][..],
        ),
        (
            "SELECT id FROM cases WHERE photo_path = 'photos/ab/abc.jpg'",
            &["cases_photo_path"][..],
        ),
        (
            "SELECT id FROM cases WHERE merged_into = 'x'",
            &["cases_merged_into"][..],
        ),
        (
            "SELECT id FROM cases WHERE assignee_id = 'x'",
            &["cases_assignee"][..],
        ),
        (
            "SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL",
            &["outbox_failed"][..],
        ),
        // The intake's one lookup per batch uses both unique indexes, not a scan.
        // (SQLite names the index of a UNIQUE column itself: sqlite_autoindex_cases_N.)
        (INTAKE_LOOKUP, &["cases_reference_key", "(reference=?)"][..]),
        (INTAKE_LOOKUP, &["cases_render_nonce"][..]),
    ] {
        let plan = plan_of(&mut conn, query);
        assert!(index.iter().any(|i| plan.contains(i)), "{query}: {plan}");
    }
}

on_both_backends!(
    each_down_undoes_its_up,
    migrating_twice_applies_nothing_the_second_time,
    sparse_indexes_serve_their_lookups
);
