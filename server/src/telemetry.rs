//! Logs go to stderr through `tracing`, so stdout stays for what commands print
//! (for example the `touchpoint` and `login` lines of `seed-demo`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// `RUST_LOG` overrides the default level. Safe to call more than once.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// For tests: logs go through the test harness's capture, so only failing tests show them.
pub fn init_for_tests() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
