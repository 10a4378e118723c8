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

on_both_backends!(
    each_down_undoes_its_up,
    migrating_twice_applies_nothing_the_second_time
);
