//! `gatehouse serve`: the whole API on `127.0.0.1`, as `template.yaml` declares it (its REST API, or
//! with `--api http` its HTTP API; the template's `PublicBaseUrl` parameter, when it declares one, is
//! serve's own URL, so the REST API's 401 challenges name serve's protected-resource metadata), with
//! every Lambda function running in this process through the same code as its Lambda binary: the route
//! table of `gatehouse::routes` behind `lambda_http`'s own adapter, and the authorizer's event parsing
//! and answer (the JSON event in, the JSON result out, exactly the runtime's path). The API's OpenAPI
//! document is served at `/openapi.json`.
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
use gatehouse::authorizer_event::AuthorizerEvent;
use gatehouse::clock::SystemClock;
use gatehouse::config::{AuthorizerConfig, Env};
use gatehouse::keys::KeyCacheOptions;
use gatehouse::resources::ResourceService;
use gatehouse::routes::{AUTHORIZER_BINARY, Route};
use gatehouse::self_service::KeyService;
use gatehouse::store::DirectoryStore;
use tokio::net::TcpListener;

use crate::cli::{Failure, ServeArgs};
use crate::devkey::{DevKey, ISSUER_FILE};
use crate::gateway::{self, FunctionError, Gateway, GatewayOptions, LambdaFunction};
use crate::home::Home;
use crate::store_target::StoreTarget;
use crate::template::{ParameterOverrides, Template};

/// The template compiled into the binary, used when `./template.yaml` does not exist.
pub const BUILT_IN_TEMPLATE: &str = include_str!("../../template.yaml");
/// The dev JWKS path.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// Where `serve` publishes the API's OpenAPI document (as JSON; no token needed).
pub const OPENAPI_PATH: &str = "/openapi.json";
/// The API's OpenAPI 3.1 document (the repository's `openapi.yaml`).
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

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
    let url = format!("http://127.0.0.1:{port}");
    let (template, template_origin) =
        load_template(args.template.as_deref(), &template_overrides(&url))?;
    let target = StoreTarget::open(home, env).await?;
    if let Err(refusal) = stays_local(&target, dev, args.demo) {
        target.close().await;
        return Err(refusal);
    }
    let local = Local {
        url,
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

/// The template parameter a deployment sets to its public base URL (custom domain) and `serve` to its
/// own URL, so the REST API's 401 challenges name serve's protected-resource metadata (RFC 9728).
pub const PUBLIC_BASE_URL_PARAMETER: &str = "PublicBaseUrl";

/// The parameter overrides `serve` at `url` (`http://127.0.0.1:<port>`) loads the template with:
/// [`PUBLIC_BASE_URL_PARAMETER`] is `url`, when the template declares it.
pub fn template_overrides(url: &str) -> ParameterOverrides {
    ParameterOverrides::new().set_if_declared(PUBLIC_BASE_URL_PARAMETER, url)
}

/// Reads `--template`, else `./template.yaml`, else the built-in copy, with `overrides`; the template
/// and a note on where it came from.
pub fn load_template(
    path: Option<&Path>,
    overrides: &ParameterOverrides,
) -> Result<(Template, String), Failure> {
    let default = Path::new("template.yaml");
    let (path, explicit) = match path {
        Some(path) => (path, true),
        None => (default, false),
    };
    if explicit || path.exists() {
        let template =
            Template::load_with(path, overrides).map_err(|e| Failure::new(e.to_string()))?;
        return Ok((template, path.display().to_string()));
    }
    let template =
        Template::parse_named_with(BUILT_IN_TEMPLATE, "template.yaml (built in)", overrides)
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

        // The webhook route's signing secret: the environment's, or one kept in the state folder
        // (`gatehouse webhooks send` signs with the same).
        let webhook_secret = match (
            env.get("CLERK_WEBHOOK_SECRET"),
            env.get("CLERK_WEBHOOK_SECRET_ID"),
        ) {
            (Some(secret), _) => Some(secret),
            (None, Some(_)) if self.target.is_embedded() => {
                return Err(Failure::new(
                    "CLERK_WEBHOOK_SECRET_ID needs Secrets Manager, which the embedded store does \
                     not provide; use CLERK_WEBHOOK_SECRET, or DynamoDB (TABLE_NAME)",
                ));
            }
            (None, Some(_)) => None,
            (None, None) => Some(crate::commands::webhooks::local_webhook_secret(self.home)?),
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
            "CLERK_WEBHOOK_SECRET" => webhook_secret.clone(),
            _ => env.get(var),
        });
        let config = AuthorizerConfig::from_env(&overlay)?;
        // What /mcp and the protected-resource metadata say about the API (in dev mode, that serve
        // is the authorization server), read as those functions read it in Lambda.
        let resource_server = Arc::new(gatehouse::oauth::ResourceServerConfig::from_env(&overlay)?);
        let prefix = config.api_key_prefix.clone();
        let clerk_issuer = config.clerk.issuer.clone();
        let authorizer =
            Authorizer::from_config(config, self.target.sdk(), KeyCacheOptions::default())
                .await
                .map_err(|e| Failure::new(e.to_string()))?;
        // Only the route that creates keys holds the pepper, as in Lambda (`Route::needs`).
        let with_pepper = ResourceService::new(
            KeyService::from_parts(
                self.target.store().clone(),
                prefix.clone(),
                Some(pepper.pepper()?),
                Arc::new(SystemClock),
            ),
            Arc::new(SystemClock),
        );
        let resources = ResourceService::new(
            KeyService::from_parts(
                self.target.store().clone(),
                prefix,
                None,
                Arc::new(SystemClock),
            ),
            Arc::new(SystemClock),
        )
        .with_resource_server(resource_server)
        .with_webhooks(Arc::new(
            gatehouse::webhooks::WebhookConfig::from_env(&overlay, self.target.sdk())
                .await
                .map_err(|e| Failure::new(e.to_string()))?,
        ));
        let functions = functions(
            Arc::new(authorizer),
            Arc::new(with_pepper),
            Arc::new(resources),
        );

        let template_ttl = match args.api {
            gateway::ApiType::Rest => template
                .api
                .default_authorizer
                .as_ref()
                .and_then(|name| template.api.authorizers.get(name)),
            gateway::ApiType::Http => template.http_api.as_ref().and_then(|http| {
                http.default_authorizer
                    .as_ref()
                    .and_then(|name| http.authorizers.get(name))
            }),
        }
        .map(|authorizer| authorizer.reauthorize_every);
        let route_lines = route_lines(&template, args.api);
        let authorizer_ttl = args.authorizer_ttl.map(Duration::from_secs);
        let gateway = Gateway::new(
            template,
            functions,
            GatewayOptions {
                api: args.api,
                authorizer_ttl,
                ..GatewayOptions::default()
            },
        )
        .map_err(|e| Failure::new(e.to_string()))?;

        let openapi = openapi_json()?;
        let mut extra = axum::Router::new().route(
            OPENAPI_PATH,
            axum::routing::get(move || {
                let body = openapi.clone();
                async move { ([(http::header::CONTENT_TYPE, "application/json")], body) }
            }),
        );
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
            // Dev mode is its own OAuth authorization server (metadata, registration, code + PKCE).
            let authorization_server = gateway::authorization_server::AuthorizationServer::new(
                self.url.clone(),
                key.clone(),
                gatehouse::oauth::scope_map_from_env(env)?,
                self.target.store().clone(),
            );
            extra = extra.merge(gateway::authorization_server::router(Arc::new(
                authorization_server,
            )));
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
        if dev_key.is_some() {
            banner.push(format!(
                "  oauth: dev authorization server, metadata at {}{} (login_hint=<user id> approves at once)",
                self.url,
                gateway::authorization_server::METADATA_PATH
            ));
        }
        banner.push(format!(
            "  api: {} ({} routes; OpenAPI at {}{OPENAPI_PATH})",
            match args.api {
                gateway::ApiType::Rest => "REST API (--api rest)",
                gateway::ApiType::Http => "HTTP API (--api http)",
            },
            route_lines.len(),
            self.url
        ));
        banner.extend(route_lines);
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

/// The in-process functions by binary name (`BuildProperties.Binary` in the template): the authorizer,
/// and every route of [`Route::ALL`] through [`gatehouse::routes::invoke`], the same `lambda_http`
/// adapter its Lambda binary runs. `with_pepper` serves the one route that creates keys; `resources`
/// (no pepper) every other.
pub fn functions<S: DirectoryStore + 'static>(
    authorizer: Arc<Authorizer<S>>,
    with_pepper: Arc<ResourceService<S>>,
    resources: Arc<ResourceService<S>>,
) -> HashMap<String, Arc<dyn LambdaFunction>> {
    let mut functions: HashMap<String, Arc<dyn LambdaFunction>> = HashMap::new();
    let authorizer_function = move |event: serde_json::Value| {
        let authorizer = Arc::clone(&authorizer);
        async move { invoke_authorizer(&authorizer, event).await }
    };
    functions.insert(AUTHORIZER_BINARY.to_owned(), Arc::new(authorizer_function));
    for route in Route::ALL {
        let service = match route.needs() {
            gatehouse::routes::Needs::StoreAndPepper => Arc::clone(&with_pepper),
            _ => Arc::clone(&resources),
        };
        let function = move |event: serde_json::Value| {
            let service = Arc::clone(&service);
            async move {
                let bytes = serde_json::to_vec(&event).map_err(|error| {
                    FunctionError::new("Runtime.SerializationError", error.to_string())
                })?;
                let mut context = lambda_runtime::Context::default();
                context.request_id = gateway::events::random_request_id();
                gatehouse::routes::invoke(route, &service, &bytes, context)
                    .await
                    .map_err(FunctionError::from)
            }
        };
        functions.insert(route.binary().to_owned(), Arc::new(function));
    }
    functions
}

/// The authorizer as its runtime loop runs it: the event parsed into an [`AuthorizerEvent`] (a parse
/// failure is the runtime's deserialization error), the answer serialized, an outage a function error.
async fn invoke_authorizer<S: DirectoryStore + 'static>(
    authorizer: &Authorizer<S>,
    event: serde_json::Value,
) -> Result<serde_json::Value, FunctionError> {
    let event: AuthorizerEvent = serde_json::from_value(event).map_err(|error| {
        FunctionError::new(
            "&lambda_runtime::deserializer::DeserializeError",
            format!("failed to deserialize the incoming data into the function's payload type: {error}\n"),
        )
    })?;
    let answer = authorizer
        .handle(&event)
        .await
        .map_err(|error| FunctionError::from(lambda_runtime::Diagnostic::from(error)))?;
    serde_json::to_value(answer)
        .map_err(|error| FunctionError::new("Runtime.SerializationError", error.to_string()))
}

/// The OpenAPI document as JSON.
pub fn openapi_json() -> Result<String, Failure> {
    let document: serde_json::Value = serde_norway::from_str(OPENAPI_YAML)
        .map_err(|e| Failure::new(format!("openapi.yaml: {e}")))?;
    Ok(document.to_string())
}

/// One banner line per route of the API being served: method, path, and whether it needs a token.
fn route_lines(template: &Template, api: gateway::ApiType) -> Vec<String> {
    let routes: Vec<_> = match api {
        gateway::ApiType::Rest => template.routes().collect(),
        gateway::ApiType::Http => template.http_routes().collect(),
    };
    let mut lines: Vec<(String, String, bool)> = routes
        .into_iter()
        .map(|(_, route)| {
            (
                route.path.clone(),
                route.method.clone(),
                route.authorizer.is_some(),
            )
        })
        .collect();
    lines.sort();
    lines
        .into_iter()
        .map(|(path, method, secured)| {
            format!(
                "    {method:<6} {path}{}",
                if secured { "" } else { "  (no token)" }
            )
        })
        .collect()
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
        let mut known: Vec<&str> = Route::ALL.iter().map(|route| route.binary()).collect();
        known.push(AUTHORIZER_BINARY);
        for name in template.required_implementations() {
            assert!(known.contains(&name.as_str()), "{name}");
        }
        assert_eq!(template.required_implementations().len(), known.len());
    }

    #[test]
    fn the_openapi_document_is_json() {
        let json: serde_json::Value = serde_json::from_str(&openapi_json().unwrap()).unwrap();
        assert_eq!(json["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    }
}
