use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    mend_server::telemetry::init();
    mend_server::cli::run(mend_server::cli::Cli::parse())
}
