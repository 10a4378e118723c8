//! Tests that could not run here (no PostgreSQL, no browser, no SMTP server) pass with a
//! note; the note is captured with the test's output, so the run also ends with one line
//! that says which were skipped and why (printed when the test binary exits).

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Mutex, Once};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Needs {
    Postgres,
    Browser,
    Smtp,
    WebhookReceiver,
    S3,
}

impl Needs {
    fn name(self) -> &'static str {
        match self {
            Needs::Postgres => "PostgreSQL",
            Needs::Browser => "browser",
            Needs::Smtp => "SMTP",
            Needs::WebhookReceiver => "the webhook receiver",
            Needs::S3 => "an S3-compatible server",
        }
    }
}

static SKIPPED: Mutex<BTreeMap<Needs, (usize, String)>> = Mutex::new(BTreeMap::new());
static AT_EXIT: Once = Once::new();

/// Counts a test that skipped for want of `what`, and says why in its own output.
pub fn skipped(what: Needs, why: &str) {
    eprintln!("skipped: {why}");
    AT_EXIT.call_once(|| {
        // SAFETY: `summary` is a plain function that only reads a static and writes to
        // stderr; registering it has no other effect.
        unsafe {
            libc::atexit(summary);
        }
    });
    if let Ok(mut skipped) = SKIPPED.lock() {
        skipped.entry(what).or_insert_with(|| (0, why.to_owned())).0 += 1;
    }
}

extern "C" fn summary() {
    let Ok(skipped) = SKIPPED.lock() else {
        return;
    };
    if skipped.is_empty() {
        return;
    }
    let parts: Vec<String> = skipped
        .iter()
        .map(|(what, (count, why))| format!("{count} needing {} ({why})", what.name()))
        .collect();
    let _ = writeln!(std::io::stderr(), "\nskipped tests: {}", parts.join("; "));
}
