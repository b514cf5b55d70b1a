//! `gatehouse serve`: the whole API on `127.0.0.1`, as `template.yaml` declares it, with every Lambda
//! function running in this process through the same handler code as its Lambda binary (the JSON
//! event is deserialized into the function's event type and the result serialized back, exactly the
//! runtime's path).
//!
//! With no `CLERK_ISSUER` it runs in dev mode: it is its own issuer (`http://127.0.0.1:<port>`),
//! publishes the dev signing key at `/.well-known/jwks.json`, and accepts the tokens `gatehouse token
//! mint` signs; the authorizer still fetches that JWKS over HTTP and verifies every token as it would
//! Clerk's. With `CLERK_ISSUER` set, the authorizer is configured from the environment exactly as in
//! Lambda. The store is the embedded engine unless DynamoDB is configured ([`crate::store_target`]).
//!
//! The first line on stdout is always `gatehouse listening on http://127.0.0.1:<port>`; a banner and
//! then the access log follow.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gatehouse::authorizer::Authorizer;
use gatehouse::clock::SystemClock;
use gatehouse::config::{AuthorizerConfig, Env};
use gatehouse::keys::KeyCacheOptions;
use gatehouse::resources::ResourceService;
use gatehouse::self_service::KeyService;
use gatehouse::store::ResourceStore;
use tokio::net::TcpListener;

use crate::cli::{Failure, ServeArgs};
use crate::devkey::{DevKey, ISSUER_FILE};
use crate::gateway::{self, Gateway, GatewayOptions, LambdaFunction, lambda_handler};
use crate::home::Home;
use crate::store_target::StoreTarget;
use crate::template::Template;

/// The template compiled into the binary, used when `./template.yaml` does not exist.
pub const BUILT_IN_TEMPLATE: &str = include_str!("../../template.yaml");
/// The dev JWKS path.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// Runs the local API until Ctrl-C or SIGTERM.
pub async fn run<F: Fn(&str) -> Option<String>>(
    args: ServeArgs,
    home: &Home,
    env: &Env<F>,
) -> Result<(), Failure> {
    let dev = env.get("CLERK_ISSUER").is_none();
    if dev && env.get("AWS_LAMBDA_RUNTIME_API").is_some() {
        return Err(Failure::new(
            "dev mode cannot run inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is set and CLERK_ISSUER is not)",
        ));
    }
    let listener = TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| Failure::new(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)))?;
    let port = listener
        .local_addr()
        .map_err(|e| Failure::new(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)))?
        .port();
    let (template, template_origin) = load_template(args.template.as_deref())?;
    let target = StoreTarget::open(home, env).await?;
    if let Err(refusal) = stays_local(&target, dev, args.demo) {
        target.close().await;
        return Err(refusal);
    }
    let local = Local {
        url: format!("http://127.0.0.1:{port}"),
        dev,
        home,
        target: &target,
    };
    let result = local
        .serve(listener, args, template, template_origin, env)
        .await;
    target.close().await;
    result
}

/// Dev mode and `--demo` only on a store that stays on this machine. Dev mode accepts any token signed
/// by the dev key in the state folder (anyone with that folder can mint a token for any user, and
/// through it real API keys); `--demo` writes demo users, admins among them. Neither may touch a table
/// outside this machine.
fn stays_local(target: &StoreTarget, dev: bool, demo: bool) -> Result<(), Failure> {
    if target.is_local() {
        return Ok(());
    }
    if dev {
        return Err(Failure::new(format!(
            "dev mode (no CLERK_ISSUER) runs only on the embedded store or a DynamoDB at a loopback \
             endpoint, not on {}: set CLERK_ISSUER to verify real Clerk tokens, or unset TABLE_NAME \
             (and AWS_ENDPOINT_URL) to use the embedded store",
            target.description()
        )));
    }
    if demo {
        return Err(Failure::new(format!(
            "--demo seeds demo users only into the embedded store or a DynamoDB at a loopback \
             endpoint, not into {}",
            target.description()
        )));
    }
    Ok(())
}

/// Reads `--template`, else `./template.yaml`, else the built-in copy; the template and a note on
/// where it came from.
pub fn load_template(path: Option<&Path>) -> Result<(Template, String), Failure> {
    let default = Path::new("template.yaml");
    let (path, explicit) = match path {
        Some(path) => (path, true),
        None => (default, false),
    };
    if explicit || path.exists() {
        let template = Template::load(path).map_err(|e| Failure::new(e.to_string()))?;
        return Ok((template, path.display().to_string()));
    }
    let template = Template::parse_named(BUILT_IN_TEMPLATE, "template.yaml (built in)")
        .map_err(|e| Failure::new(e.to_string()))?;
    Ok((
        template,
        "built-in copy (no ./template.yaml here)".to_owned(),
    ))
}

/// What one `serve` run is made of.
struct Local<'a> {
    url: String,
    dev: bool,
    home: &'a Home,
    target: &'a StoreTarget,
}

impl Local<'_> {
    async fn serve<F: Fn(&str) -> Option<String>>(
        &self,
        listener: TcpListener,
        args: ServeArgs,
        template: Template,
        template_origin: String,
        env: &Env<F>,
    ) -> Result<(), Failure> {
        if !self.target.is_embedded() {
            let store = self.target.store();
            let described = store
                .client()
                .describe_table()
                .table_name(store.table())
                .send()
                .await;
            if let Err(error) = described {
                let missing = error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception());
                return Err(Failure::new(if missing {
                    format!(
                        "DynamoDB table {} does not exist; run `gatehouse init` first",
                        store.table()
                    )
                } else {
                    format!(
                        "cannot reach DynamoDB table {}: {}",
                        store.table(),
                        aws_sdk_dynamodb::error::DisplayErrorContext(&error)
                    )
                }));
            }
        }
        let pepper = self.target.pepper(self.home, env).await?;
        let jwks_url = format!("{}{JWKS_PATH}", self.url);
        let dev_key = if self.dev {
            let key = DevKey::load_or_create(self.home)?;
            self.home.write(ISSUER_FILE, &self.url)?;
            Some(key)
        } else {
            if self.target.is_embedded() && env.get("CLERK_SECRET_KEY_SECRET_ID").is_some() {
                return Err(Failure::new(
                    "CLERK_SECRET_KEY_SECRET_ID needs Secrets Manager, which the embedded store does \
                     not provide; use CLERK_JWT_KEY or CLERK_JWKS_URL, or DynamoDB (TABLE_NAME)",
                ));
            }
            None
        };

        // The authorizer reads its configuration exactly as in Lambda, from an environment in which
        // the local values are laid over the process environment.
        let table = self.target.store().table().to_owned();
        let pepper_text = pepper.expose().to_owned();
        let (dev, issuer) = (self.dev, self.url.clone());
        let overlay = Env::new(|var: &str| match var {
            "TABLE_NAME" => Some(table.clone()),
            "API_KEY_PEPPER" => Some(pepper_text.clone()),
            "API_KEY_PEPPER_SECRET_ID" => None,
            "CLERK_ISSUER" if dev => Some(issuer.clone()),
            "CLERK_JWKS_URL" if dev => Some(jwks_url.clone()),
            "CLERK_JWT_KEY" | "CLERK_SECRET_KEY_SECRET_ID" if dev => None,
            _ => env.get(var),
        });
        let config = AuthorizerConfig::from_env(&overlay)?;
        let prefix = config.api_key_prefix.clone();
        let clerk_issuer = config.clerk.issuer.clone();
        let authorizer =
            Authorizer::from_config(config, self.target.sdk(), KeyCacheOptions::default())
                .await
                .map_err(|e| Failure::new(e.to_string()))?;
        let service = KeyService::from_parts(
            self.target.store().clone(),
            prefix.clone(),
            Some(pepper.pepper()?),
            Arc::new(SystemClock),
        );
        // The resource routes need no pepper, as in Lambda (`ResourceService::from_env`).
        let resources = ResourceService::new(
            KeyService::from_parts(
                self.target.store().clone(),
                prefix,
                None,
                Arc::new(SystemClock),
            ),
            Arc::new(SystemClock),
        );
        let functions = functions(Arc::new(authorizer), Arc::new(service), Arc::new(resources));

        let template_ttl = template
            .api
            .default_authorizer
            .as_ref()
            .and_then(|name| template.api.authorizers.get(name))
            .map(|authorizer| authorizer.reauthorize_every);
        let authorizer_ttl = args.authorizer_ttl.map(Duration::from_secs);
        let gateway = Gateway::new(
            template,
            functions,
            GatewayOptions {
                authorizer_ttl,
                ..GatewayOptions::default()
            },
        )
        .map_err(|e| Failure::new(e.to_string()))?;

        let mut extra = axum::Router::new();
        if let Some(key) = &dev_key {
            let body = key.jwks().to_string();
            extra = extra.route(
                JWKS_PATH,
                axum::routing::get(move || {
                    let body = body.clone();
                    async move {
                        (
                            [
                                (http::header::CONTENT_TYPE, "application/json"),
                                (http::header::CACHE_CONTROL, "no-store"),
                            ],
                            body,
                        )
                    }
                }),
            );
        }
        let router = gateway::router(Arc::new(gateway), extra);

        let demo = if args.demo {
            crate::demo::seed(self.target.store()).await?
        } else {
            Vec::new()
        };

        let mut banner = vec![format!("gatehouse listening on {}", self.url)];
        match &dev_key {
            Some(key) => banner.push(format!(
                "  mode: dev (issuer {}, JWKS {}{JWKS_PATH}, kid {}; tokens from `gatehouse token mint`)",
                self.url,
                self.url,
                key.kid()
            )),
            None => banner.push(format!("  mode: Clerk (issuer {clerk_issuer})")),
        }
        banner.push(format!("  store: {}", self.target.description()));
        banner.push(format!("  pepper: {}", pepper.origin()));
        banner.push(format!(
            "  authorizer cache: {}",
            match (authorizer_ttl, template_ttl) {
                (Some(ttl), _) => format!("{} s (--authorizer-ttl)", ttl.as_secs()),
                (None, Some(ttl)) => format!("{} s (template ReauthorizeEvery)", ttl.as_secs()),
                (None, None) => "none (no default authorizer)".to_owned(),
            }
        ));
        banner.push(format!("  template: {template_origin}"));
        banner.extend(demo);
        if self.dev {
            banner.push(format!(
                "  try: curl -H \"Authorization: Bearer $(gatehouse token mint --sub user_demo_admin)\" {}/v1/me",
                self.url
            ));
        } else {
            banner.push(format!(
                "  try: curl -H \"Authorization: Bearer <Clerk session token>\" {}/v1/me",
                self.url
            ));
        }
        print_banner(&banner)?;
        init_logging(env);

        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| Failure::new(format!("the server failed: {e}")))?;
        tracing::info!("gatehouse stopped");
        Ok(())
    }
}

/// Every `CodeUri` [`functions`] registers: the function crates `serve` runs in-process.
pub const CODE_URIS: [&str; 15] = [
    "functions/authorizer",
    "functions/health",
    "functions/me",
    "functions/create-key",
    "functions/list-keys",
    "functions/revoke-key",
    "functions/list-organizations",
    "functions/get-organization",
    "functions/list-companies",
    "functions/list-locations",
    "functions/list-templates",
    "functions/list-location-packages",
    "functions/signing-session",
    "functions/get-package",
    "functions/create-package",
];

/// The in-process functions by `CodeUri`. Each goes through [`lambda_handler`]: the gateway's JSON
/// event is deserialized into the function's event type and its result serialized, as the Lambda
/// runtime does, and the handler is the function crate's own `function_handler`.
pub fn functions<S: ResourceStore + 'static>(
    authorizer: Arc<Authorizer<S>>,
    service: Arc<KeyService<S>>,
    resources: Arc<ResourceService<S>>,
) -> HashMap<String, Arc<dyn LambdaFunction>> {
    let mut functions: HashMap<String, Arc<dyn LambdaFunction>> = HashMap::new();
    functions.insert(
        "functions/authorizer".into(),
        lambda_handler(move |event| {
            let authorizer = Arc::clone(&authorizer);
            async move { ::authorizer::function_handler(&authorizer, event).await }
        }),
    );
    functions.insert(
        "functions/health".into(),
        lambda_handler(health::function_handler),
    );
    macro_rules! route {
        ($uri:literal, $krate:ident) => {
            route!($uri, $krate, service)
        };
        ($uri:literal, $krate:ident, $service:ident) => {{
            let service = Arc::clone(&$service);
            functions.insert(
                $uri.into(),
                lambda_handler(move |event| {
                    let service = Arc::clone(&service);
                    async move { $krate::function_handler(&service, event).await }
                }),
            );
        }};
    }
    route!("functions/me", me);
    route!("functions/create-key", create_key);
    route!("functions/list-keys", list_keys);
    route!("functions/revoke-key", revoke_key);
    route!(
        "functions/list-organizations",
        list_organizations,
        resources
    );
    route!("functions/get-organization", get_organization, resources);
    route!("functions/list-companies", list_companies, resources);
    route!("functions/list-locations", list_locations, resources);
    route!("functions/list-templates", list_templates, resources);
    route!(
        "functions/list-location-packages",
        list_location_packages,
        resources
    );
    route!("functions/signing-session", signing_session, resources);
    route!("functions/get-package", get_package, resources);
    route!("functions/create-package", create_package, resources);
    functions
}

/// Prints the banner and flushes, so a parent process reading stdout sees the first line at once.
fn print_banner(lines: &[String]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    lines
        .iter()
        .try_for_each(|line| writeln!(stdout, "{line}"))
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::new(format!("cannot write to stdout: {e}")))
}

/// Compact log lines on stdout (the access log among them); `RUST_LOG` as `level` or
/// `target=level,…`, default `info`.
fn init_logging<F: Fn(&str) -> Option<String>>(env: &Env<F>) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;
    let filter = env
        .get("RUST_LOG")
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let subscriber = tracing_subscriber::fmt()
        .compact()
        .with_writer(std::io::stdout)
        .finish()
        .with(filter);
    let _already_set = tracing::subscriber::set_global_default(subscriber);
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
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

    #[test]
    fn the_built_in_template_declares_every_function() {
        let template = Template::parse(BUILT_IN_TEMPLATE).unwrap();
        for uri in template.required_code_uris() {
            assert!(CODE_URIS.contains(&uri.as_str()), "{uri}");
        }
    }
}
