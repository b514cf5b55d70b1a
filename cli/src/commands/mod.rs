//! The subcommands other than `serve`: each module turns parsed arguments into calls on the same
//! library code the Lambda functions run ([`gatehouse::store`], [`gatehouse::self_service`]) and
//! prints the result. Machine-readable results (records, key lists) go to stdout as JSON.

pub mod init;
pub mod keys;
pub mod seed;
pub mod token;
pub mod users;
pub mod webhooks;

use std::io::Write as _;

use gatehouse::config::Env;
use serde::Serialize;

use crate::cli::{Cli, Command, Failure};
use crate::home::Home;
use crate::store_target::StoreTarget;

/// Runs one command line.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let home = Home::locate();
    let env = gatehouse::config::process_env();
    match cli.command {
        Command::Serve(args) => crate::serve::run(args, &home, &env).await,
        Command::Init => init::run(&home, &env).await,
        Command::Users(command) => users::run(command, &home, &env).await,
        Command::Keys(command) => keys::run(command, &home, &env).await,
        Command::Token(command) => token::run(command, &home, &env).await,
        Command::Webhooks(command) => webhooks::run(command, &home, &env).await,
        Command::Seed { file } => seed::run(&file, &home, &env).await,
    }
}

/// Opens the store the environment names, runs `work` on it, and closes it (stopping the embedded
/// engine cleanly) whatever the outcome.
pub async fn with_store<F, T>(
    home: &Home,
    env: &Env<F>,
    work: impl AsyncFnOnce(&StoreTarget) -> Result<T, Failure>,
) -> Result<T, Failure>
where
    F: Fn(&str) -> Option<String>,
{
    let target = StoreTarget::open(home, env).await?;
    let result = work(&target).await;
    target.close().await;
    result
}

/// Prints a line on stdout. A closed pipe (`gatehouse keys list | head`) is not an error.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::new(format!("cannot write to stdout: {e}"))),
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(value: &impl Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new(format!("cannot encode the output: {e}")))?;
    print(&text)
}
