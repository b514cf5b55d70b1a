//! `gatehouse token mint`: a session JWT signed by the local dev key, for `gatehouse serve` in dev
//! mode. It refuses when `CLERK_ISSUER` is set (then only Clerk's tokens are accepted). The issuer is
//! `--issuer`, else the URL the running `serve` recorded in `<home>/dev-issuer`.

use gatehouse::clock::{Clock, SystemClock};
use gatehouse::config::Env;

use super::print;
use super::users::{check_id, quoted};
use crate::cli::{Failure, TokenCommand};
use crate::devkey::{DevKey, ISSUER_FILE, MintRequest};
use crate::home::Home;

/// Runs `token mint`.
pub fn run<F: Fn(&str) -> Option<String>>(
    command: TokenCommand,
    home: &Home,
    env: &Env<F>,
) -> Result<(), Failure> {
    let TokenCommand::Mint {
        sub,
        ttl_secs,
        azp,
        issuer,
    } = command;
    if env.get("CLERK_ISSUER").is_some() {
        return Err(Failure::new(
            "token mint works in dev mode only, and CLERK_ISSUER is set (sign in with Clerk instead)",
        ));
    }
    check_id("--sub", &sub)?;
    if let Some(azp) = &azp
        && (azp.is_empty()
            || azp.len() > 512
            || azp.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(Failure::new(format!("invalid --azp {}", quoted(azp))));
    }
    let issuer = match issuer {
        Some(issuer) => gatehouse::config::parse_url("--issuer", &issuer)
            .map_err(|e| Failure::new(format!("--issuer {}", e.problem)))?,
        None => home
            .read(ISSUER_FILE)?
            .filter(|issuer| !issuer.is_empty())
            .ok_or_else(|| {
                Failure::new(format!(
                    "no dev issuer in {}: start `gatehouse serve` first (or pass --issuer)",
                    home.dir().display()
                ))
            })?,
    };
    let key = DevKey::load_or_create(home)?;
    let token = key.mint(MintRequest {
        sub: &sub,
        ttl_secs,
        azp: azp.as_deref(),
        issuer: &issuer,
        now: SystemClock.now_unix(),
    })?;
    print(&token)
}
