//! `gatehouse token mint`: a token signed by the local dev key, for `gatehouse serve` in dev mode: a
//! Clerk-shaped session JWT, or with `--oauth` a Clerk-shaped OAuth access token (`typ` `at+jwt`),
//! the kind the dev authorization server of `serve` issues, for a client that does not run the
//! authorization code flow. It refuses when `CLERK_ISSUER` is set (then only Clerk's tokens are
//! accepted). The issuer is `--issuer`, else the URL the running `serve` recorded in
//! `<home>/dev-issuer`.

use gatehouse::clock::{Clock, SystemClock};
use gatehouse::config::Env;

use super::print;
use super::users::{check_id, quoted};
use crate::cli::{Failure, TokenCommand};
use crate::devkey::{AccessTokenRequest, DevKey, ISSUER_FILE, MintRequest};
use crate::home::Home;

/// The longest `--client-id` and `--scope` accepted.
const MAX_CLAIM_LEN: usize = 512;

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
        oauth,
        client_id,
        scope,
        aud,
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
    let oauth = if oauth {
        Some(OAuthClaims::check(client_id, scope, aud, env)?)
    } else {
        None
    };
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
    let now = SystemClock.now_unix();
    let token = match &oauth {
        Some(claims) => key.mint_access_token(AccessTokenRequest {
            issuer: &issuer,
            sub: &sub,
            client_id: &claims.client_id,
            scope: &claims.scope,
            aud: claims.aud.as_deref(),
            ttl_secs,
            now,
        })?,
        None => key.mint(MintRequest {
            sub: &sub,
            ttl_secs,
            azp: azp.as_deref(),
            issuer: &issuer,
            now,
        })?,
    };
    print(&token)
}

/// The checked `--oauth` claims.
struct OAuthClaims {
    client_id: String,
    scope: String,
    aud: Option<String>,
}

impl OAuthClaims {
    fn check<F: Fn(&str) -> Option<String>>(
        client_id: Option<String>,
        scope: Option<String>,
        aud: Option<String>,
        env: &Env<F>,
    ) -> Result<Self, Failure> {
        let client_id = client_id.ok_or_else(|| Failure::new("--oauth needs --client-id"))?;
        if client_id.is_empty()
            || client_id.len() > MAX_CLAIM_LEN
            || !client_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Failure::new(format!(
                "invalid --client-id {}: use printable characters, no spaces",
                quoted(&client_id)
            )));
        }
        let scope = match scope {
            Some(scope) => {
                let tokens: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
                let valid = !tokens.is_empty()
                    && scope.len() <= MAX_CLAIM_LEN
                    && tokens.iter().all(|token| {
                        token
                            .bytes()
                            .all(|b| (0x21..0x7f).contains(&b) && b != b'"' && b != b'\\')
                    });
                if !valid {
                    return Err(Failure::new(format!(
                        "invalid --scope {}: OAuth scopes separated by spaces, e.g. \"read write\"",
                        quoted(&scope)
                    )));
                }
                tokens.join(" ")
            }
            None => gatehouse::oauth::scope_map_from_env(env)?
                .supported()
                .join(" "),
        };
        let aud = aud
            .map(|aud| {
                gatehouse::config::parse_url("--aud", &aud)
                    .map(|_| aud.clone())
                    .map_err(|e| Failure::new(format!("--aud {}", e.problem)))
            })
            .transpose()?;
        Ok(OAuthClaims {
            client_id,
            scope,
            aud,
        })
    }
}
