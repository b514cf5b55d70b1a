//! `gatehouse webhooks send` (README "Clerk webhooks"): posts a Clerk-shaped user event to
//! `POST /v1/webhooks/clerk`, signed exactly as Svix signs Clerk's deliveries, so the webhook route
//! can be tried end to end without a Clerk instance: against `gatehouse serve`, or a deployment whose
//! signing secret is at hand.
//!
//! The secret is `CLERK_WEBHOOK_SECRET` when set, else the local state folder's
//! [`WEBHOOK_SECRET_FILE`], which `serve` also uses when neither `CLERK_WEBHOOK_SECRET` nor
//! `CLERK_WEBHOOK_SECRET_ID` is set ([`local_webhook_secret`] creates it on first use, as the dev
//! signing key is created: random, 0600, atomically). The secret is never printed.
//!
//! The answer's status and body are printed on stdout; a non-2xx exits with status 1.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Subcommand, ValueEnum};
use gatehouse::config::Env;
use gatehouse::webhooks::WebhookSecret;
use gatehouse::webhooks::signature::sign;
use serde_json::{Value, json};

use super::print;
use super::users::check_id;
use crate::cli::Failure;
use crate::home::Home;

/// The local signing secret's file in the state folder.
pub const WEBHOOK_SECRET_FILE: &str = "webhook-secret";
/// Random bytes in a new local secret (what Svix issues: `whsec_` and 32 base64 characters).
const SECRET_BYTES: usize = 24;
/// The webhook route, appended to `--url`.
pub const WEBHOOK_PATH: &str = "/v1/webhooks/clerk";
/// `--url` when not given: `gatehouse serve`'s default address.
pub const DEFAULT_URL: &str = "http://127.0.0.1:3000";
/// The bound of the whole request, connection to last byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read (the route's are a few hundred bytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// `gatehouse webhooks …`.
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Sign a Clerk-shaped user event as Svix does and post it to /v1/webhooks/clerk; print the
    /// answer. The secret is CLERK_WEBHOOK_SECRET, else the one `gatehouse serve` uses locally.
    #[command(after_help = "Examples (with `gatehouse serve --demo` running):\n  \
        gatehouse webhooks send user.updated --user user_demo_signer --banned\n  \
        gatehouse webhooks send user.updated --user user_demo_signer\n  \
        gatehouse webhooks send user.deleted --user user_demo_signer\n  \
        CLERK_WEBHOOK_SECRET=whsec_… gatehouse webhooks send user.created --user user_2abc \\\n    \
        --url https://abc123.execute-api.us-east-1.amazonaws.com/prod")]
    Send(SendArgs),
}

/// `gatehouse webhooks send`.
#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    /// The event type.
    #[arg(value_enum, value_name = "EVENT")]
    pub event: SampleEvent,
    /// The Clerk user id the event is about.
    #[arg(long, value_name = "ID")]
    pub user: String,
    /// The API's base URL; the event goes to <URL>/v1/webhooks/clerk.
    #[arg(long, value_name = "URL", default_value = DEFAULT_URL)]
    pub url: String,
    /// user.created / user.updated: the user is banned in Clerk.
    #[arg(long)]
    pub banned: bool,
    /// user.created / user.updated: the user is locked in Clerk.
    #[arg(long)]
    pub locked: bool,
}

/// The events `webhooks send` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SampleEvent {
    /// A new user (Clerk's User object).
    #[value(name = "user.created")]
    UserCreated,
    /// A changed user (Clerk's User object, with `banned` and `locked`).
    #[value(name = "user.updated")]
    UserUpdated,
    /// A deleted user (Clerk's deleted object).
    #[value(name = "user.deleted")]
    UserDeleted,
}

impl SampleEvent {
    /// Clerk's event type.
    pub const fn event_type(self) -> &'static str {
        match self {
            SampleEvent::UserCreated => "user.created",
            SampleEvent::UserUpdated => "user.updated",
            SampleEvent::UserDeleted => "user.deleted",
        }
    }
}

/// Runs `webhooks …`.
pub async fn run<F: Fn(&str) -> Option<String>>(
    command: WebhooksCommand,
    home: &Home,
    env: &Env<F>,
) -> Result<(), Failure> {
    let WebhooksCommand::Send(args) = command;
    // Milliseconds, as Clerk stamps its events: two sends within one second must still apply in order.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        });
    let request = prepare(&args, home, env, now_ms)?;
    let (status, body) = post(&request).await?;
    let status_line = match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    };
    print(&status_line)?;
    print(&body)?;
    if status.is_success() {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "the webhook was not accepted ({status_line})"
        )))
    }
}

/// The local secret `serve` signs with when no `CLERK_WEBHOOK_SECRET(_ID)` is set: the state
/// folder's [`WEBHOOK_SECRET_FILE`], created on first use (`whsec_` and the base64 of 24 bytes from
/// the OS CSPRNG; 0600; atomic, so concurrent first users agree). A file that holds anything else is
/// an error naming the file, never its contents.
pub fn local_webhook_secret(home: &Home) -> Result<String, Failure> {
    let secret = home.secret_or_create(WEBHOOK_SECRET_FILE, new_secret)?;
    WebhookSecret::parse(&secret).map_err(|problem| {
        Failure::new(format!(
            "{} {problem}; delete it to make a new one",
            home.file(WEBHOOK_SECRET_FILE).display()
        ))
    })?;
    Ok(secret)
}

/// A fresh secret as Svix issues them.
fn new_secret() -> Result<String, Failure> {
    let mut bytes = [0u8; SECRET_BYTES];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| Failure::new("the random generator failed"))?;
    Ok(format!("whsec_{}", STANDARD.encode(bytes)))
}

/// A signed delivery, ready to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The full endpoint URL.
    pub url: String,
    /// `svix-id`.
    pub id: String,
    /// `svix-timestamp`, Unix seconds.
    pub timestamp: i64,
    /// `svix-signature`.
    pub signature: String,
    /// The JSON body, byte for byte what was signed.
    pub body: String,
}

/// Checks the arguments, finds the secret, builds and signs the event at `now_ms` (Unix
/// milliseconds: the event's `timestamp`; `svix-timestamp` is its second).
pub fn prepare<F: Fn(&str) -> Option<String>>(
    args: &SendArgs,
    home: &Home,
    env: &Env<F>,
    now_ms: i64,
) -> Result<Delivery, Failure> {
    let now = now_ms.div_euclid(1000);
    check_id("user id", &args.user)?;
    if args.event == SampleEvent::UserDeleted && (args.banned || args.locked) {
        return Err(Failure::new(
            "--banned and --locked describe a user.created or user.updated event, not user.deleted",
        ));
    }
    let base = gatehouse::config::parse_url("--url", &args.url)?;
    let secret_text = match env.get("CLERK_WEBHOOK_SECRET") {
        Some(secret) => secret,
        None => local_webhook_secret(home)?,
    };
    let secret = WebhookSecret::parse(&secret_text)
        .map_err(|problem| Failure::new(format!("CLERK_WEBHOOK_SECRET {problem}")))?;
    let id = format!("msg_{}", crate::devkey::random_hex(12)?);
    let body = sample_event(args, now_ms).to_string();
    let signature = sign(&secret, &id, now, body.as_bytes());
    Ok(Delivery {
        url: format!("{base}{WEBHOOK_PATH}"),
        id,
        timestamp: now,
        signature,
        body,
    })
}

/// The event Clerk would send, at `at_ms` (Unix milliseconds): the envelope (`data`, `object`,
/// `type`, `timestamp`, `instance_id`, `event_attributes`) around a User object (created, updated)
/// or a deleted object.
pub fn sample_event(args: &SendArgs, at_ms: i64) -> Value {
    let data = match args.event {
        SampleEvent::UserDeleted => json!({"id": args.user, "object": "user", "deleted": true}),
        SampleEvent::UserCreated | SampleEvent::UserUpdated => json!({
            "id": args.user,
            "object": "user",
            "banned": args.banned,
            "locked": args.locked,
            "first_name": null,
            "last_name": null,
            "username": null,
            "email_addresses": [],
            "primary_email_address_id": null,
            "external_id": null,
            "public_metadata": {},
            "private_metadata": {},
            "unsafe_metadata": {},
            "created_at": at_ms,
            "updated_at": at_ms,
        }),
    };
    json!({
        "data": data,
        "event_attributes": {
            "http_request": {
                "client_ip": "127.0.0.1",
                "user_agent": concat!("gatehouse/", env!("CARGO_PKG_VERSION"), " (webhooks send)")
            }
        },
        "instance_id": "ins_gatehouse_local",
        "object": "event",
        "timestamp": at_ms,
        "type": args.event.event_type(),
    })
}

/// Posts the delivery; the answer's status and body (at most [`MAX_ANSWER_BYTES`], lossy UTF-8).
async fn post(delivery: &Delivery) -> Result<(reqwest::StatusCode, String), Failure> {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("gatehouse/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|_| Failure::new("cannot build the HTTP client"))?;
    let unreachable =
        |e: reqwest::Error| Failure::new(format!("cannot post to {}: {e}", delivery.url));
    let mut response = client
        .post(&delivery.url)
        .header("content-type", "application/json")
        .header("svix-id", &delivery.id)
        .header("svix-timestamp", delivery.timestamp.to_string())
        .header("svix-signature", &delivery.signature)
        .body(delivery.body.clone())
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        let room = MAX_ANSWER_BYTES.saturating_sub(body.len());
        body.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
        if body.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
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
    use gatehouse::webhooks::SvixHeaders;
    use gatehouse::webhooks::signature::verify;

    fn temp_home(tag: &str) -> Home {
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-webhooks-{tag}-{}-{}",
            std::process::id(),
            crate::devkey::random_hex(6).unwrap()
        ));
        Home::at(dir.join("state"))
    }

    fn args(event: SampleEvent) -> SendArgs {
        SendArgs {
            event,
            user: "user_demo_signer".into(),
            url: DEFAULT_URL.into(),
            banned: false,
            locked: false,
        }
    }

    fn no_env() -> Env<impl Fn(&str) -> Option<String>> {
        Env::new(|_: &str| None)
    }

    #[test]
    fn the_local_secret_is_created_once_private_and_valid() {
        let home = temp_home("secret");
        let first = local_webhook_secret(&home).unwrap();
        assert!(
            first.starts_with("whsec_") && first.len() == 6 + 32,
            "{first}"
        );
        assert!(WebhookSecret::parse(&first).is_ok());
        assert_eq!(local_webhook_secret(&home).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(home.file(WEBHOOK_SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Garbage in the file is reported by file name, never echoed.
        home.write(WEBHOOK_SECRET_FILE, "not-a-secret-value")
            .unwrap();
        let failure = local_webhook_secret(&home).unwrap_err().to_string();
        assert!(failure.contains(WEBHOOK_SECRET_FILE), "{failure}");
        assert!(!failure.contains("not-a-secret-value"), "{failure}");
        std::fs::remove_dir_all(home.dir().parent().unwrap()).unwrap();
    }

    #[test]
    fn deliveries_are_signed_as_svix_signs_them() {
        let home = temp_home("sign");
        let now = 1_800_000_000;
        let now_ms = now * 1000 + 123;
        let delivery = prepare(&args(SampleEvent::UserUpdated), &home, &no_env(), now_ms).unwrap();
        assert_eq!(delivery.url, "http://127.0.0.1:3000/v1/webhooks/clerk");
        assert!(delivery.id.starts_with("msg_"));
        let secret = WebhookSecret::parse(&local_webhook_secret(&home).unwrap()).unwrap();
        let headers = SvixHeaders {
            id: &delivery.id,
            timestamp: &delivery.timestamp.to_string(),
            signature: &delivery.signature,
        };
        assert_eq!(
            verify(&secret, headers, delivery.body.as_bytes(), now),
            Ok(now)
        );
        // The event is the one the route parses.
        let payload = gatehouse::webhooks::event::parse(delivery.body.as_bytes()).unwrap();
        assert_eq!(payload.event_type, "user.updated");
        let event = payload.user_event.unwrap();
        assert_eq!(event.user_id, "user_demo_signer");
        assert_eq!(event.at_ms, now_ms);
        assert_eq!(
            event.change,
            gatehouse::store::ClerkChange::Updated { suspended: false }
        );

        // CLERK_WEBHOOK_SECRET wins over the state folder.
        let inline = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let env = Env::new(move |var: &str| (var == "CLERK_WEBHOOK_SECRET").then(|| inline.into()));
        let delivery = prepare(&args(SampleEvent::UserDeleted), &home, &env, now_ms).unwrap();
        let secret = WebhookSecret::parse(inline).unwrap();
        let headers = SvixHeaders {
            id: &delivery.id,
            timestamp: &delivery.timestamp.to_string(),
            signature: &delivery.signature,
        };
        assert!(verify(&secret, headers, delivery.body.as_bytes(), now).is_ok());
        let body: Value = serde_json::from_str(&delivery.body).unwrap();
        assert_eq!(
            body["data"],
            json!({"id": "user_demo_signer", "object": "user", "deleted": true})
        );
        assert_eq!(body["object"], "event");
        std::fs::remove_dir_all(home.dir().parent().unwrap()).unwrap();
    }

    #[test]
    fn sample_events_carry_the_flags() {
        let mut banned = args(SampleEvent::UserCreated);
        banned.banned = true;
        let event = sample_event(&banned, 5);
        assert_eq!(event["type"], "user.created");
        assert_eq!(event["timestamp"], 5);
        assert_eq!(event["data"]["banned"], true);
        assert_eq!(event["data"]["locked"], false);
        assert_eq!(event["instance_id"], "ins_gatehouse_local");
    }

    #[test]
    fn bad_arguments_are_refused_before_anything_is_read() {
        let home = temp_home("bad");
        let mut deleted = args(SampleEvent::UserDeleted);
        deleted.locked = true;
        assert!(prepare(&deleted, &home, &no_env(), 0).is_err());
        let mut bad_user = args(SampleEvent::UserCreated);
        bad_user.user = "user 1".into();
        assert!(prepare(&bad_user, &home, &no_env(), 0).is_err());
        let mut remote_http = args(SampleEvent::UserCreated);
        remote_http.url = "http://example.com".into();
        assert!(prepare(&remote_http, &home, &no_env(), 0).is_err());
        let bad_secret = Env::new(|var: &str| {
            (var == "CLERK_WEBHOOK_SECRET").then(|| "sk_test_secretvalue".to_owned())
        });
        let failure = prepare(&args(SampleEvent::UserCreated), &home, &bad_secret, 0)
            .unwrap_err()
            .to_string();
        assert!(failure.starts_with("CLERK_WEBHOOK_SECRET"), "{failure}");
        assert!(!failure.contains("secretvalue"), "{failure}");
        // Nothing was created for arguments refused before the secret was needed.
        assert!(!home.file(WEBHOOK_SECRET_FILE).exists());
    }

    #[test]
    fn clap_accepts_the_documented_command_lines() {
        #[derive(Debug, clap::Parser)]
        struct Top {
            #[command(subcommand)]
            command: WebhooksCommand,
        }
        use clap::Parser as _;
        let parsed = Top::try_parse_from([
            "webhooks",
            "send",
            "user.updated",
            "--user",
            "user_1",
            "--banned",
            "--url",
            "http://127.0.0.1:4000",
        ])
        .unwrap();
        let WebhooksCommand::Send(send) = parsed.command;
        assert_eq!(send.event, SampleEvent::UserUpdated);
        assert!(send.banned && !send.locked);
        assert_eq!(send.url, "http://127.0.0.1:4000");
        assert!(Top::try_parse_from(["webhooks", "send", "user.banned", "--user", "u"]).is_err());
        assert!(Top::try_parse_from(["webhooks", "send", "user.created"]).is_err());
    }
}
