use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    mend_server::memory::return_large_blocks_to_the_system();
    mend_server::telemetry::init();
    mend_server::cli::run(mend_server::cli::Cli::parse())
}
