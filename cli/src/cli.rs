//! The command line of `gatehouse` (README "The `gatehouse` command"), declared with clap's derive API, and the one
//! error type every command returns. Exit status: 0 on success; 1 on a [`Failure`], printed as one
//! line `gatehouse: <message>` on stderr; 2 on a usage error, which clap reports itself.

use std::fmt;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Run the Gatehouse API locally and administer its users and API keys.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API on 127.0.0.1: routes, authorizer (with its cache) and gateway responses as
    /// template.yaml declares them, every function in-process.
    Serve(ServeArgs),
    /// Create the table (and, where configured, the pepper secret) if missing. Idempotent.
    Init,
    /// Create, replace and show user records.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Tokens: dev-mode session JWTs and OAuth access tokens, or a real Clerk session token (--clerk).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Send signed Clerk-shaped webhook events (to `gatehouse serve`, or a deployment).
    #[command(subcommand)]
    Webhooks(crate::commands::webhooks::WebhooksCommand),
    /// Load users (and, with the resource routes, resources) from a JSON file.
    Seed {
        /// The JSON file.
        #[arg(value_name = "FILE.json")]
        file: PathBuf,
    },
}

/// `gatehouse serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Seed a demo world (organizations, companies, locations, templates, packages, one user per
    /// role) and print a token command for each user.
    #[arg(long)]
    pub demo: bool,
    /// Authorizer cache TTL in seconds (default: ReauthorizeEvery from the template).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub authorizer_ttl: Option<u64>,
    /// The SAM template (default: ./template.yaml, else the copy built into gatehouse).
    #[arg(long, value_name = "PATH")]
    pub template: Option<PathBuf>,
    /// The API type to emulate: the template's REST API or its HTTP API.
    #[arg(long, value_enum, default_value_t = crate::gateway::ApiType::Rest)]
    pub api: crate::gateway::ApiType,
}

/// `gatehouse users …`.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create or replace a user record.
    Put {
        /// The Clerk user id.
        #[arg(value_name = "CLERK_USER_ID")]
        id: String,
        /// signer, manager or admin.
        #[arg(long)]
        role: String,
        /// An organization the user belongs to (repeatable).
        #[arg(long = "org", value_name = "ID")]
        organizations: Vec<String>,
        /// A company the user belongs to (repeatable).
        #[arg(long = "company", value_name = "ID")]
        companies: Vec<String>,
        /// A location the user belongs to (repeatable).
        #[arg(long = "location", value_name = "ID")]
        locations: Vec<String>,
        /// Refuse every request of this user.
        #[arg(long)]
        suspended: bool,
    },
    /// Print a user record as JSON.
    Get {
        /// The Clerk user id.
        #[arg(value_name = "CLERK_USER_ID")]
        id: String,
    },
}

/// `gatehouse keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create an API key for a user; the key is printed this once.
    Create {
        /// The owner's Clerk user id.
        #[arg(long, value_name = "ID")]
        user: String,
        /// A name for the key (1 to 64 printable characters).
        #[arg(long)]
        name: String,
        /// Comma-separated scopes: read, write (default both).
        #[arg(long, value_delimiter = ',', value_name = "read,write")]
        scopes: Option<Vec<String>>,
        /// Days until the key expires (default never).
        #[arg(long, value_name = "N")]
        expires_in_days: Option<u32>,
        /// Seconds until the key expires, for short-lived keys (CI jobs, tests).
        #[arg(long, value_name = "SECS", conflicts_with = "expires_in_days")]
        expires_in_secs: Option<u32>,
    },
    /// List a user's keys as JSON, newest first.
    List {
        /// The owner's Clerk user id.
        #[arg(long, value_name = "ID")]
        user: String,
    },
    /// Revoke a key.
    Revoke {
        /// The key id (k_…).
        #[arg(value_name = "KEY_ID")]
        key_id: String,
    },
}

/// `gatehouse token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a session JWT, or with --oauth an OAuth access token, signed by the local dev key (dev
    /// mode only); or with --clerk a real session token from Clerk's Backend API, for scripts.
    #[command(after_help = "Examples:\n  \
        gatehouse token mint --sub user_demo_manager\n  \
        gatehouse token mint --oauth --client-id my-client --scope \"read write\" \\\n    \
        --sub user_demo_manager --aud http://127.0.0.1:3000/mcp\n  \
        gatehouse token mint --clerk --sub user_2abc --ttl-secs 300      # key in CLERK_SECRET_KEY\n  \
        gatehouse token mint --clerk --sub user_2abc --secret-id gatehouse/clerk-secret-key")]
    Mint {
        /// The Clerk user id the token is for (`sub`).
        #[arg(long, value_name = "USER")]
        sub: String,
        /// Lifetime in seconds: up to a year for a dev token (default 3600); with --clerk, 30 to
        /// 315360000 (default: the instance's session token lifetime, 60 s unless changed).
        #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=315_360_000))]
        ttl_secs: Option<u64>,
        /// The authorized party (origin) claim of a session token.
        #[arg(long, value_name = "ORIGIN", conflicts_with = "oauth")]
        azp: Option<String>,
        /// The issuer (default: the URL of the running `gatehouse serve`).
        #[arg(long, value_name = "URL")]
        issuer: Option<String>,
        /// Mint an OAuth access token (header typ at+jwt; claims iss, sub, client_id, jti, iat, nbf,
        /// exp, scope, aud) as Clerk issues them, instead of a session token.
        #[arg(long, requires = "client_id")]
        oauth: bool,
        /// With --oauth: the OAuth client the token was issued to (`client_id`).
        #[arg(long, value_name = "ID", requires = "oauth")]
        client_id: Option<String>,
        /// With --oauth: the granted OAuth scopes, space-separated (`scope`; default: every scope
        /// OAUTH_SCOPE_MAP knows, "read write" by default).
        #[arg(long, value_name = "SCOPES", requires = "oauth")]
        scope: Option<String>,
        /// With --oauth: the resource the token is meant for (`aud`), e.g. the API's URL or its
        /// /mcp URL. Without it the token has no aud, which the authorizer refuses unless
        /// OAUTH_ALLOW_MISSING_AUDIENCE=true.
        #[arg(long, value_name = "URL", requires = "oauth")]
        aud: Option<String>,
        /// Get a real session token for --sub from Clerk's Backend API (CLERK_API_URL, default
        /// https://api.clerk.com) with the instance's secret key (CLERK_SECRET_KEY, or --secret-id):
        /// it creates a session for the user, then a token for it. Works outside dev mode; Clerk
        /// creates sessions this way on development instances only.
        #[arg(
            long,
            conflicts_with_all = ["oauth", "client_id", "scope", "aud", "azp", "issuer"]
        )]
        clerk: bool,
        /// With --clerk: the AWS Secrets Manager secret (name or ARN) holding the Clerk secret key,
        /// instead of CLERK_SECRET_KEY.
        #[arg(long, value_name = "ID", requires = "clerk")]
        secret_id: Option<String>,
    },
}

/// A user error: exit status 1, one line on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(String);

impl Failure {
    /// A failure with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The message on one line (line breaks become spaces).
    pub fn one_line(&self) -> String {
        self.0.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.one_line())
    }
}

impl std::error::Error for Failure {}

impl From<gatehouse::store::StoreError> for Failure {
    fn from(error: gatehouse::store::StoreError) -> Self {
        Self(error.to_string())
    }
}

impl From<gatehouse::config::ConfigError> for Failure {
    fn from(error: gatehouse::config::ConfigError) -> Self {
        Self(error.to_string())
    }
}

impl From<gatehouse::api::ApiError> for Failure {
    fn from(error: gatehouse::api::ApiError) -> Self {
        use gatehouse::api::ApiError;
        match error {
            ApiError::Store(store) => Self(store.to_string()),
            ApiError::NoPrincipal(context) => Self(context.to_string()),
            ApiError::Random => Self("the random generator failed".into()),
            ApiError::NoPepper => Self("no API key pepper is configured".into()),
            other => Self(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_the_contract_forms() {
        let cli = Cli::try_parse_from([
            "gatehouse",
            "users",
            "put",
            "user_1",
            "--role",
            "manager",
            "--org",
            "o1",
            "--org",
            "o2",
            "--location",
            "l1",
            "--suspended",
        ])
        .unwrap();
        let Command::Users(UsersCommand::Put {
            id,
            role,
            organizations,
            companies,
            locations,
            suspended,
        }) = cli.command
        else {
            panic!("wrong command");
        };
        assert_eq!(id, "user_1");
        assert_eq!(role, "manager");
        assert_eq!(organizations, ["o1", "o2"]);
        assert!(companies.is_empty());
        assert_eq!(locations, ["l1"]);
        assert!(suspended);

        let cli = Cli::try_parse_from([
            "gatehouse",
            "keys",
            "create",
            "--user",
            "u",
            "--name",
            "ci",
            "--scopes",
            "read,write",
            "--expires-in-days",
            "30",
        ])
        .unwrap();
        let Command::Keys(KeysCommand::Create {
            scopes,
            expires_in_days,
            ..
        }) = cli.command
        else {
            panic!("wrong command");
        };
        assert_eq!(scopes.unwrap(), ["read", "write"]);
        assert_eq!(expires_in_days, Some(30));

        let cli = Cli::try_parse_from(["gatehouse", "serve"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("wrong command");
        };
        assert_eq!(args.port, 3000);
        assert!(!args.demo);
        assert_eq!(args.authorizer_ttl, None);

        let cli = Cli::try_parse_from(["gatehouse", "token", "mint", "--sub", "u"]).unwrap();
        let Command::Token(TokenCommand::Mint {
            ttl_secs,
            oauth,
            clerk,
            secret_id,
            ..
        }) = cli.command
        else {
            panic!("wrong command");
        };
        assert_eq!(ttl_secs, None, "each mode has its own default");
        assert!(!oauth);
        assert!(!clerk);
        assert_eq!(secret_id, None);

        let cli = Cli::try_parse_from([
            "gatehouse",
            "token",
            "mint",
            "--clerk",
            "--sub",
            "user_x",
            "--ttl-secs",
            "315360000",
            "--secret-id",
            "gatehouse/clerk",
        ])
        .unwrap();
        let Command::Token(TokenCommand::Mint {
            sub,
            ttl_secs,
            clerk,
            secret_id,
            ..
        }) = cli.command
        else {
            panic!("wrong command");
        };
        assert_eq!(sub, "user_x");
        assert_eq!(ttl_secs, Some(315_360_000));
        assert!(clerk);
        assert_eq!(secret_id.as_deref(), Some("gatehouse/clerk"));

        let cli = Cli::try_parse_from([
            "gatehouse",
            "token",
            "mint",
            "--oauth",
            "--client-id",
            "c1",
            "--scope",
            "read write",
            "--sub",
            "u",
            "--aud",
            "http://127.0.0.1:3000/mcp",
        ])
        .unwrap();
        let Command::Token(TokenCommand::Mint {
            oauth,
            client_id,
            scope,
            aud,
            ..
        }) = cli.command
        else {
            panic!("wrong command");
        };
        assert!(oauth);
        assert_eq!(client_id.as_deref(), Some("c1"));
        assert_eq!(scope.as_deref(), Some("read write"));
        assert_eq!(aud.as_deref(), Some("http://127.0.0.1:3000/mcp"));
    }

    #[test]
    fn usage_errors_are_clap_errors() {
        assert!(Cli::try_parse_from(["gatehouse", "serve", "--bogus"]).is_err());
        assert!(Cli::try_parse_from(["gatehouse", "serve", "--authorizer-ttl", "9999"]).is_err());
        assert!(Cli::try_parse_from(["gatehouse", "users", "put", "u"]).is_err());
        assert!(Cli::try_parse_from(["gatehouse", "token", "mint", "--ttl-secs", "0"]).is_err());
        // --oauth needs a client id; the OAuth claims need --oauth; azp is a session claim.
        let mint = |extra: &[&str]| {
            let mut args = vec!["gatehouse", "token", "mint", "--sub", "u"];
            args.extend_from_slice(extra);
            Cli::try_parse_from(args)
        };
        assert!(mint(&["--oauth"]).is_err());
        assert!(mint(&["--client-id", "c"]).is_err());
        assert!(mint(&["--scope", "read"]).is_err());
        assert!(mint(&["--aud", "http://127.0.0.1:1"]).is_err());
        assert!(mint(&["--oauth", "--client-id", "c", "--azp", "http://x"]).is_err());
        assert!(mint(&["--oauth", "--client-id", "c"]).is_ok());
        // --clerk asks Clerk for the token: none of the dev-mode claims applies; --secret-id is
        // where its key comes from; no lifetime beyond Clerk's maximum.
        for extra in [
            &["--oauth", "--client-id", "c"][..],
            &["--client-id", "c"],
            &["--scope", "read"],
            &["--aud", "http://127.0.0.1:1"],
            &["--azp", "http://x"],
            &["--issuer", "http://127.0.0.1:1"],
            &["--ttl-secs", "315360001"],
        ] {
            let mut args = vec!["--clerk"];
            args.extend_from_slice(extra);
            assert!(mint(&args).is_err(), "{args:?}");
        }
        assert!(mint(&["--secret-id", "s"]).is_err());
        assert!(mint(&["--clerk"]).is_ok());
        assert!(mint(&["--clerk", "--secret-id", "s", "--ttl-secs", "30"]).is_ok());
        assert!(Cli::try_parse_from(["gatehouse", "token", "mint", "--clerk"]).is_err());
    }

    #[test]
    fn failures_are_one_line() {
        let failure = Failure::new("first line\nsecond  line\n");
        assert_eq!(failure.to_string(), "first line second line");
    }
}
