//! The raw durable commit rate of this disk, for bench/: one insert per transaction, one
//! writer, SQLite in WAL mode with `synchronous=FULL` (Mend's settings, the same bundled
//! SQLite), for a few seconds. Mend's complaint intake must beat it through HTTP (issue
//! 10): group commit makes many complaints share one fsync.
//!
//! Usage: commit_rate FILE [SECONDS]
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: commit_rate FILE [SECONDS]")?;
    let seconds: f64 = args.next().map_or(Ok(5.0), |s| s.parse())?;
    let mut c = SqliteConnection::establish(&path)?;
    c.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE IF NOT EXISTS complaints (
             id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL);",
    )?;
    let body = "The restroom has no soap. ".repeat(8);
    let start = Instant::now();
    let (mut commits, mut worst) = (0u64, Duration::ZERO);
    while start.elapsed().as_secs_f64() < seconds {
        let t = Instant::now();
        c.transaction(|c| {
            diesel::sql_query("INSERT INTO complaints (id, body, created_at) VALUES (?, ?, ?)")
                .bind::<Text, _>(uuid::Uuid::now_v7().to_string())
                .bind::<Text, _>(&body)
                .bind::<Text, _>(chrono::Utc::now().to_rfc3339())
                .execute(c)
        })?;
        worst = worst.max(t.elapsed());
        commits += 1;
    }
    let rate = commits as f64 / start.elapsed().as_secs_f64();
    println!("raw commits/s: {rate:.0} ({commits} in {seconds} s, slowest {worst:?})");
    Ok(())
}
