//! Entry point of the `gatehouse` command: parse the command line (clap exits with status 2 on a usage
//! error), run the command on a Tokio runtime, and turn a failure into exit status 1 with one line on
//! stderr.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use gatehouse_cli::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("gatehouse: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(gatehouse_cli::commands::run(cli));
    runtime.shutdown_timeout(Duration::from_secs(5));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("gatehouse: {failure}");
            ExitCode::FAILURE
        }
    }
}
