//! Entry point of the `gatehouse` command.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
