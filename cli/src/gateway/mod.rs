//! The API Gateway emulator behind `gatehouse serve`, for a REST API or an HTTP API ([`ApiType`]):
//! routes, the Lambda REQUEST authorizer with API Gateway's result cache (and, for a REST API, policy
//! evaluation and gateway responses), and the Lambda proxy integration (payload 1.0 for REST, 2.0 for
//! HTTP), all read from `template.yaml` and run against in-process functions. Its point is
//! fidelity: a request that works (or fails) locally works (or fails) the same way deployed, so the
//! emulator reproduces API Gateway's observable behaviour rather than shortcuts (a cached Deny, a
//! policy that names the wrong resource, a malformed proxy response all behave as they would in AWS).
//!
//! Requests are served under the resource paths themselves (`/health`, not `/{stage}/health`), like
//! `sam local start-api`; the stage still appears in method ARNs and `requestContext`.

pub mod authorization_server;
pub mod authorizer_cache;
pub mod events;
pub mod function;
pub mod policy_eval;
pub mod responses;
pub mod routes;
mod server;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use serde_json::{Map, Value};

pub use authorizer_cache::{InstantClock, ManualClock, MonotonicClock};
pub use function::{FunctionError, InvokeFuture, LambdaFunction, lambda_handler};
pub use server::{DRAIN_LIMIT, MAX_BODY_BYTES, router};

use crate::template::{IdentitySource, Template};
use authorizer_cache::{AuthorizerCache, CacheKey, DEFAULT_CAPACITY};
use events::{ApiIdentity, IncomingRequest, MalformedResponse};
use policy_eval::{Policy, PolicyDecision};
use responses::{GatewayResponses, ResponseContext, ResponseType};
use routes::{RouteError, RouteTable};

/// API Gateway's integration timeout: a function still running after it gets a 504.
pub const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);

/// The API type the gateway emulates: which of the template's APIs it serves and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ApiType {
    /// The `AWS::Serverless::Api` (REST API, payload 1.0, IAM policies, gateway responses).
    #[default]
    Rest,
    /// The `AWS::Serverless::HttpApi` (HTTP API, payload 2.0, simple responses, API Gateway's own
    /// `{"message":...}` answers).
    Http,
}

impl ApiType {
    /// `rest` or `http`.
    pub fn name(self) -> &'static str {
        match self {
            ApiType::Rest => "rest",
            ApiType::Http => "http",
        }
    }
}

/// The stage every HTTP API route is served on.
pub const HTTP_API_STAGE: &str = "$default";

/// How the emulated API identifies itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayOptions {
    /// The API type to emulate.
    pub api: ApiType,
    /// Authorizer result TTL overriding every authorizer's `ReauthorizeEvery` (zero disables caching).
    pub authorizer_ttl: Option<Duration>,
    /// Stage name; `None` uses the template's `StageName`.
    pub stage: Option<String>,
    /// Region in method ARNs.
    pub region: String,
    /// Account id in method ARNs and `requestContext`.
    pub account_id: String,
    /// API id in method ARNs and `requestContext`.
    pub api_id: String,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        Self {
            api: ApiType::Rest,
            authorizer_ttl: None,
            stage: None,
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
            api_id: "local".to_owned(),
        }
    }
}

/// A template function the gateway has no implementation for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingFunction {
    pub logical_id: String,
    /// What implements it ([`crate::template::Function::implementation`]).
    pub implementation: String,
}

/// Why a [`Gateway`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// Functions used by a route or an authorizer that `functions` does not provide.
    #[error("no in-process implementation for template function(s): {}", describe_missing(.0))]
    MissingFunctions(Vec<MissingFunction>),
    /// The routes do not form a valid resource tree.
    #[error("invalid route {}: {source}", source.route())]
    Routes {
        #[from]
        source: RouteError,
    },
    /// A route names an authorizer the template does not define.
    #[error("route {route} uses authorizer {authorizer}, which the template does not define")]
    UnknownAuthorizer { route: String, authorizer: String },
    /// `--api http` on a template without an `AWS::Serverless::HttpApi`.
    #[error("the template has no AWS::Serverless::HttpApi to serve")]
    NoHttpApi,
}

fn describe_missing(missing: &[MissingFunction]) -> String {
    missing
        .iter()
        .map(|m| format!("{} ({})", m.logical_id, m.implementation))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an authorizer decided, as cached: principal, policy and context (values as strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerResult {
    pub principal_id: String,
    pub policy: Policy,
    pub context: BTreeMap<String, String>,
}

impl AuthorizerResult {
    /// Parses an authorizer's response as API Gateway does; an error is an
    /// `AUTHORIZER_CONFIGURATION_ERROR`.
    pub fn from_response(response: &Value) -> Result<Self, String> {
        let Value::Object(response) = response else {
            return Err("response is not a JSON object".to_owned());
        };
        let principal_id = match response.get("principalId") {
            Some(Value::String(principal)) => principal.clone(),
            _ => return Err("principalId missing or not a string".to_owned()),
        };
        let policy = response
            .get("policyDocument")
            .ok_or_else(|| "policyDocument missing".to_owned())
            .and_then(|document| Policy::from_document(document).map_err(|e| e.to_string()))?;
        let mut context = BTreeMap::new();
        match response.get("context") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (key, value) in map {
                    let text = match value {
                        Value::String(text) => text.clone(),
                        Value::Number(number) => number.to_string(),
                        Value::Bool(flag) => flag.to_string(),
                        _ => {
                            return Err(format!(
                                "context.{key} is not a string, number or boolean"
                            ));
                        }
                    };
                    context.insert(key.clone(), text);
                }
            }
            Some(_) => return Err("context is not an object".to_owned()),
        }
        Ok(Self {
            principal_id,
            policy,
            context,
        })
    }
}

/// What an HTTP API Lambda authorizer answered (a simple response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleResult {
    /// `isAuthorized`.
    pub authorized: bool,
    /// `context`, as the route finds it in `requestContext.authorizer.lambda`.
    pub context: Map<String, Value>,
}

impl SimpleResult {
    /// Parses a simple response as an HTTP API does; an error is a 500.
    pub fn from_response(response: &Value) -> Result<Self, String> {
        let Value::Object(response) = response else {
            return Err("response is not a JSON object".to_owned());
        };
        let authorized = match response.get("isAuthorized") {
            Some(Value::Bool(flag)) => *flag,
            _ => return Err("isAuthorized missing or not a boolean".to_owned()),
        };
        let context = match response.get("context") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => return Err("context is not an object".to_owned()),
        };
        Ok(Self {
            authorized,
            context,
        })
    }
}

/// An authorizer's answer as the cache keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedAnswer {
    /// A REST API authorizer's policy.
    Policy(AuthorizerResult),
    /// An HTTP API authorizer's simple response.
    Simple(SimpleResult),
}

struct Target {
    label: String,
    /// The template's method (`ANY` included): the method part of an HTTP API `routeKey`.
    method: String,
    function: Arc<dyn LambdaFunction>,
    timeout: Duration,
    authorizer: Option<String>,
}

struct AuthorizerRuntime {
    name: String,
    function: Arc<dyn LambdaFunction>,
    timeout: Duration,
    identity_sources: Vec<IdentitySource>,
    cache: AuthorizerCache<CachedAnswer>,
}

/// The emulated API.
pub struct Gateway {
    kind: ApiType,
    api: ApiIdentity,
    routes: RouteTable<Target>,
    authorizers: HashMap<String, AuthorizerRuntime>,
    responses: GatewayResponses,
    clock: Arc<dyn MonotonicClock>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("api", &self.api)
            .field("authorizers", &self.authorizers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Whether a request body was read whole.
enum Body {
    Complete(Bytes),
    TooLarge,
    Unreadable,
}

/// What the access log line reports about the authorizer.
#[derive(Default)]
struct Trace {
    auth_type: Option<String>,
    user: Option<String>,
    cache: Option<&'static str>,
}

impl Gateway {
    /// Builds the gateway for `template`'s API of type `options.api`. `functions` maps an
    /// implementation name (a function's `BuildProperties.Binary`, e.g. `me`) to its implementation;
    /// every function the template declares must be there.
    pub fn new(
        template: Template,
        functions: HashMap<String, Arc<dyn LambdaFunction>>,
        options: GatewayOptions,
    ) -> Result<Self, GatewayError> {
        let template = &template;
        let (template_authorizers, routes, stage) = match options.api {
            ApiType::Rest => (
                &template.api.authorizers,
                template.routes().collect::<Vec<_>>(),
                template.api.stage_name.clone(),
            ),
            ApiType::Http => {
                let http = template.http_api.as_ref().ok_or(GatewayError::NoHttpApi)?;
                (
                    &http.authorizers,
                    template.http_routes().collect::<Vec<_>>(),
                    HTTP_API_STAGE.to_owned(),
                )
            }
        };
        let mut missing = Vec::new();
        let mut implementation = |logical_id: &str| -> Option<(Arc<dyn LambdaFunction>, Duration)> {
            let function = template.function(logical_id)?;
            match functions.get(function.implementation()) {
                Some(found) => Some((Arc::clone(found), function.timeout)),
                None => {
                    let entry = MissingFunction {
                        logical_id: function.logical_id.clone(),
                        implementation: function.implementation().to_owned(),
                    };
                    if !missing.contains(&entry) {
                        missing.push(entry);
                    }
                    None
                }
            }
        };

        let mut authorizers = HashMap::new();
        for (name, authorizer) in template_authorizers {
            // API Gateway caches only by identity source: an authorizer without one is never cached,
            // whatever the TTL (otherwise every caller would share the first caller's answer).
            let ttl = if authorizer.identity_sources.is_empty() {
                Duration::ZERO
            } else {
                options
                    .authorizer_ttl
                    .unwrap_or(authorizer.reauthorize_every)
            };
            if let Some((function, timeout)) = implementation(&authorizer.function) {
                authorizers.insert(
                    name.clone(),
                    AuthorizerRuntime {
                        name: name.clone(),
                        function,
                        timeout,
                        identity_sources: authorizer.identity_sources.clone(),
                        cache: AuthorizerCache::new(ttl, DEFAULT_CAPACITY),
                    },
                );
            }
        }
        let mut targets = Vec::new();
        for (function, route) in routes {
            let label = format!("{}.{}", function.logical_id, route.event);
            if let Some(authorizer) = &route.authorizer
                && !template_authorizers.contains_key(authorizer)
            {
                return Err(GatewayError::UnknownAuthorizer {
                    route: label,
                    authorizer: authorizer.clone(),
                });
            }
            if let Some((implementation, timeout)) = implementation(&function.logical_id) {
                targets.push((
                    route.path.clone(),
                    route.method.clone(),
                    label.clone(),
                    Target {
                        label,
                        method: route.method.clone(),
                        function: implementation,
                        timeout,
                        authorizer: route.authorizer.clone(),
                    },
                ));
            }
        }
        // Every function the template declares must be known, not only those behind a route: a template
        // that deploys code `serve` cannot run is not the API `serve` would be emulating.
        for function in template.functions.values() {
            if !functions.contains_key(function.implementation()) {
                let entry = MissingFunction {
                    logical_id: function.logical_id.clone(),
                    implementation: function.implementation().to_owned(),
                };
                if !missing.contains(&entry) {
                    missing.push(entry);
                }
            }
        }
        if !missing.is_empty() {
            return Err(GatewayError::MissingFunctions(missing));
        }
        let routes = RouteTable::build_with(targets)?;
        Ok(Self {
            kind: options.api,
            api: ApiIdentity {
                region: options.region,
                account_id: options.account_id,
                api_id: options.api_id,
                stage: options.stage.unwrap_or(stage),
            },
            routes,
            authorizers,
            responses: GatewayResponses::new(template.api.gateway_responses.clone()),
            clock: Arc::new(InstantClock::default()),
        })
    }

    /// Replaces the clock the authorizer cache's TTL is measured with (tests move a [`ManualClock`]).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn MonotonicClock>) -> Self {
        self.clock = clock;
        self
    }

    /// The API type it emulates.
    pub fn kind(&self) -> ApiType {
        self.kind
    }

    /// The stage, region, account and API id the gateway reports.
    pub fn api(&self) -> &ApiIdentity {
        &self.api
    }

    /// The authorizer result TTL in effect for `authorizer`, if it exists.
    pub fn authorizer_ttl(&self, authorizer: &str) -> Option<Duration> {
        self.authorizers
            .get(authorizer)
            .map(|runtime| runtime.cache.ttl())
    }

    /// Serves one request and writes its access log line. The source IP is taken from an
    /// [`axum::extract::ConnectInfo<SocketAddr>`] extension when present, else `127.0.0.1`.
    pub async fn handle(&self, request: http::Request<Bytes>) -> Response<Bytes> {
        let (parts, body) = request.into_parts();
        self.respond(parts, Body::Complete(body)).await
    }

    async fn respond(&self, parts: http::request::Parts, body: Body) -> Response<Bytes> {
        let started = Instant::now();
        let source_ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map_or_else(|| "127.0.0.1".to_owned(), |info| info.0.ip().to_string());
        let (body, body_problem) = match body {
            Body::Complete(bytes) if bytes.len() > MAX_BODY_BYTES => {
                (Bytes::new(), Some(ResponseType::RequestTooLarge))
            }
            Body::Complete(bytes) => (bytes, None),
            Body::TooLarge => (Bytes::new(), Some(ResponseType::RequestTooLarge)),
            Body::Unreadable => (Bytes::new(), Some(ResponseType::Default4xx)),
        };
        let incoming = IncomingRequest::new(&parts, body, source_ip);
        let mut trace = Trace::default();
        let mut response = match (body_problem, self.kind) {
            (Some(ResponseType::RequestTooLarge), ApiType::Http) => {
                http_api_message(413, "Request Entity Too Large")
            }
            (Some(_), ApiType::Http) => http_api_message(400, "Bad Request"),
            (Some(kind), ApiType::Rest) => {
                self.gateway_response(kind, None, kind.default_message(), &incoming, None, None)
            }
            (None, ApiType::Rest) => self.process(&incoming, &mut trace).await,
            (None, ApiType::Http) => self.process_http(&incoming, &mut trace).await,
        };
        let request_id_header = match self.kind {
            ApiType::Rest => "x-amzn-requestid",
            ApiType::Http => "apigw-requestid",
        };
        if let Ok(value) = HeaderValue::from_str(&incoming.request_id) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(request_id_header), value);
        }
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        // Never the query string, headers, body or token: the path and the decision only.
        tracing::info!(
            target: "gatehouse::access",
            method = %incoming.method,
            path = %incoming.path,
            status = response.status().as_u16(),
            auth_type = trace.auth_type.as_deref().unwrap_or("-"),
            user = trace.user.as_deref().unwrap_or("-"),
            duration_ms,
            cache = trace.cache.unwrap_or("-"),
            "request"
        );
        response
    }

    async fn process(&self, incoming: &IncomingRequest, trace: &mut Trace) -> Response<Bytes> {
        let Some(matched) = self.routes.lookup(&incoming.method, &incoming.path) else {
            let kind = ResponseType::MissingAuthenticationToken;
            return self.gateway_response(kind, None, kind.default_message(), incoming, None, None);
        };
        let route = Some((matched.resource, &matched.path_parameters));
        let target = matched.target;

        let mut authorizer_fields = None;
        if let Some(name) = &target.authorizer {
            let Some(runtime) = self.authorizers.get(name) else {
                let kind = ResponseType::AuthorizerConfigurationError;
                return self.gateway_response(kind, None, None, incoming, route, None);
            };
            let (answer, latency_ms) = match self
                .authorize(
                    runtime,
                    incoming,
                    (&target.method, matched.resource),
                    &matched.path_parameters,
                    trace,
                )
                .await
            {
                Ok(decided) => decided,
                Err(kind) => {
                    return self.gateway_response(
                        kind,
                        None,
                        kind.default_message(),
                        incoming,
                        route,
                        None,
                    );
                }
            };
            let CachedAnswer::Policy(result) = answer.as_ref() else {
                let kind = ResponseType::AuthorizerConfigurationError;
                return self.gateway_response(kind, None, None, incoming, route, None);
            };
            trace.user = Some(result.principal_id.clone());
            trace.auth_type = result.context.get("authType").cloned();
            let arn = self.api.method_arn(&incoming.method, &incoming.path);
            let message = match result.policy.evaluate(&arn) {
                PolicyDecision::Allow => None,
                PolicyDecision::ExplicitDeny => {
                    Some("User is not authorized to access this resource with an explicit deny")
                }
                PolicyDecision::ImplicitDeny => ResponseType::AccessDenied.default_message(),
            };
            if let Some(message) = message {
                return self.gateway_response(
                    ResponseType::AccessDenied,
                    None,
                    Some(message),
                    incoming,
                    route,
                    Some(result),
                );
            }
            let mut fields: Map<String, Value> = result
                .context
                .iter()
                .map(|(key, value)| (key.clone(), Value::from(value.as_str())))
                .collect();
            fields.insert(
                "principalId".into(),
                Value::from(result.principal_id.as_str()),
            );
            fields.insert("integrationLatency".into(), Value::from(latency_ms));
            authorizer_fields = Some(fields);
        }

        let event = incoming.proxy_event(
            &self.api,
            matched.resource,
            &matched.path_parameters,
            authorizer_fields,
        );
        let limit = target.timeout.min(INTEGRATION_TIMEOUT);
        let outcome = match tokio::time::timeout(limit, target.function.invoke(event)).await {
            Ok(outcome) => outcome,
            Err(_) if target.timeout > INTEGRATION_TIMEOUT => {
                let kind = ResponseType::IntegrationTimeout;
                tracing::warn!(target: "gatehouse::gateway", route = %target.label, "integration timed out");
                return self.gateway_response(
                    kind,
                    None,
                    kind.default_message(),
                    incoming,
                    route,
                    None,
                );
            }
            Err(_) => Err(FunctionError::new(
                "Sandbox.Timedout",
                format!(
                    "Task timed out after {}.00 seconds",
                    target.timeout.as_secs()
                ),
            )),
        };
        let parsed = match outcome {
            Ok(value) => events::parse_proxy_response(&value),
            Err(error) => {
                // The error type only: a message could quote the event it failed on.
                tracing::warn!(target: "gatehouse::gateway", route = %target.label, error_type = %error.error_type, "function error");
                Err(MalformedResponse("function error".to_owned()))
            }
        };
        match parsed {
            Ok(proxy) => proxy_response(proxy),
            Err(MalformedResponse(reason)) => {
                if reason != "function error" {
                    tracing::warn!(target: "gatehouse::gateway", route = %target.label, %reason, "malformed Lambda proxy response");
                }
                // What API Gateway REST answers for a failed Lambda proxy integration.
                let kind = ResponseType::Default5xx;
                self.gateway_response(
                    kind,
                    Some(502),
                    kind.default_message(),
                    incoming,
                    route,
                    None,
                )
            }
        }
    }

    /// Runs (or reuses) the authorizer; an error is the gateway response type to answer with.
    async fn authorize(
        &self,
        runtime: &AuthorizerRuntime,
        incoming: &IncomingRequest,
        (route_method, resource): (&str, &str),
        path_parameters: &BTreeMap<String, String>,
        trace: &mut Trace,
    ) -> Result<(Arc<CachedAnswer>, u64), ResponseType> {
        let mut values = Vec::with_capacity(runtime.identity_sources.len());
        for source in &runtime.identity_sources {
            let value = match source {
                IdentitySource::Header(name) => incoming.header(name),
                IdentitySource::QueryString(name) => incoming.query_value(name),
            };
            match value {
                Some(value) if !value.is_empty() => values.push(value),
                // A missing identity source: 401 without invoking the authorizer.
                _ => return Err(ResponseType::Unauthorized),
            }
        }
        let key = CacheKey::new(&runtime.name, values.iter().copied());
        if let Some(cached) = runtime.cache.get(&key, self.clock.now()) {
            trace.cache = Some("hit");
            return Ok((cached, 0));
        }
        trace.cache = Some("miss");
        let event = match self.kind {
            ApiType::Rest => incoming.authorizer_event(&self.api, resource, path_parameters),
            ApiType::Http => incoming.http_authorizer_event(
                &self.api,
                &events::route_key(route_method, resource),
                path_parameters,
                &values,
            ),
        };
        let started = Instant::now();
        let outcome =
            match tokio::time::timeout(runtime.timeout, runtime.function.invoke(event)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(FunctionError::new(
                    "Sandbox.Timedout",
                    format!(
                        "Task timed out after {}.00 seconds",
                        runtime.timeout.as_secs()
                    ),
                )),
            };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let response = match outcome {
            Ok(response) => response,
            // API Gateway's special case: an authorizer failing with exactly "Unauthorized" is a 401.
            Err(error) if error.message == "Unauthorized" => {
                return Err(ResponseType::Unauthorized);
            }
            Err(error) => {
                tracing::warn!(target: "gatehouse::gateway", authorizer = %runtime.name, error_type = %error.error_type, "authorizer function error");
                return Err(ResponseType::AuthorizerFailure);
            }
        };
        let parsed = match self.kind {
            ApiType::Rest => AuthorizerResult::from_response(&response).map(CachedAnswer::Policy),
            ApiType::Http => SimpleResult::from_response(&response).map(CachedAnswer::Simple),
        };
        let result = match parsed {
            Ok(result) => Arc::new(result),
            Err(reason) => {
                tracing::warn!(target: "gatehouse::gateway", authorizer = %runtime.name, %reason, "invalid authorizer response");
                return Err(ResponseType::AuthorizerConfigurationError);
            }
        };
        runtime
            .cache
            .insert(key, Arc::clone(&result), self.clock.now());
        Ok((result, latency_ms))
    }

    fn gateway_response(
        &self,
        kind: ResponseType,
        status: Option<u16>,
        message: Option<&str>,
        incoming: &IncomingRequest,
        route: Option<(&str, &BTreeMap<String, String>)>,
        authorizer: Option<&AuthorizerResult>,
    ) -> Response<Bytes> {
        let headers = incoming.last_headers();
        let query = incoming.last_query();
        let path = format!("/{}{}", self.api.stage, incoming.path);
        let context = ResponseContext {
            request_id: &incoming.request_id,
            extended_request_id: &incoming.extended_request_id,
            message,
            principal_id: authorizer.map(|result| result.principal_id.as_str()),
            authorizer: authorizer.map(|result| &result.context),
            stage: &self.api.stage,
            api_id: &self.api.api_id,
            account_id: &self.api.account_id,
            domain_name: incoming.domain_name(),
            http_method: &incoming.method,
            resource_path: route.map_or("", |(resource, _)| resource),
            path: &path,
            source_ip: &incoming.source_ip,
            user_agent: incoming.header("user-agent").unwrap_or_default(),
            request_time_epoch: incoming.request_time_epoch,
            request_time: &incoming.request_time,
            request_headers: Some(&headers),
            query: Some(&query),
            path_parameters: route.map(|(_, parameters)| parameters),
        };
        let status = status.unwrap_or_else(|| self.responses.status(kind));
        self.responses.render_with_status(kind, status, &context)
    }
}

/// API Gateway's own answer on an HTTP API (which has no gateway responses): `{"message":...}`.
fn http_api_message(status: u16, message: &str) -> Response<Bytes> {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

impl Gateway {
    /// One request on an HTTP API: route, Lambda authorizer (simple response), payload 2.0 route.
    async fn process_http(&self, incoming: &IncomingRequest, trace: &mut Trace) -> Response<Bytes> {
        let Some(matched) = self.routes.lookup(&incoming.method, &incoming.path) else {
            return http_api_message(404, "Not Found");
        };
        let target = matched.target;
        let route_key = events::route_key(&target.method, matched.resource);
        let mut lambda_context = None;
        if let Some(name) = &target.authorizer {
            let Some(runtime) = self.authorizers.get(name) else {
                return http_api_message(500, "Internal Server Error");
            };
            let answer = match self
                .authorize(
                    runtime,
                    incoming,
                    (&target.method, matched.resource),
                    &matched.path_parameters,
                    trace,
                )
                .await
            {
                Ok((answer, _latency_ms)) => answer,
                Err(ResponseType::Unauthorized) => return http_api_message(401, "Unauthorized"),
                Err(_) => return http_api_message(500, "Internal Server Error"),
            };
            let CachedAnswer::Simple(result) = answer.as_ref() else {
                return http_api_message(500, "Internal Server Error");
            };
            trace.auth_type = result
                .context
                .get("authType")
                .and_then(Value::as_str)
                .map(str::to_owned);
            trace.user = result
                .context
                .get("userId")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if !result.authorized {
                return http_api_message(403, "Forbidden");
            }
            lambda_context = Some(result.context.clone());
        }
        let event = incoming.http_route_event(
            &self.api,
            &route_key,
            &matched.path_parameters,
            lambda_context,
        );
        let limit = target.timeout.min(HTTP_API_INTEGRATION_TIMEOUT);
        let outcome = match tokio::time::timeout(limit, target.function.invoke(event)).await {
            Ok(outcome) => outcome,
            Err(_) if target.timeout > HTTP_API_INTEGRATION_TIMEOUT => {
                tracing::warn!(target: "gatehouse::gateway", route = %target.label, "integration timed out");
                return http_api_message(503, "Service Unavailable");
            }
            Err(_) => Err(FunctionError::new("Sandbox.Timedout", "Task timed out")),
        };
        let parsed = match outcome {
            Ok(value) => events::parse_http_response(&value),
            Err(error) => {
                tracing::warn!(target: "gatehouse::gateway", route = %target.label, error_type = %error.error_type, "function error");
                return http_api_message(500, "Internal Server Error");
            }
        };
        match parsed {
            Ok(proxy) => proxy_response(proxy),
            Err(MalformedResponse(reason)) => {
                tracing::warn!(target: "gatehouse::gateway", route = %target.label, %reason, "malformed Lambda response");
                http_api_message(500, "Internal Server Error")
            }
        }
    }
}

/// An HTTP API's integration timeout (30 s): a function still running after it gets a 503.
pub const HTTP_API_INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);

fn proxy_response(proxy: events::ProxyResponse) -> Response<Bytes> {
    let mut response = Response::new(proxy.body);
    *response.status_mut() = StatusCode::from_u16(proxy.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = response.headers_mut();
    for (name, value) in proxy.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.append(name, value);
        }
    }
    // API Gateway REST's default when the function sets none.
    if !headers.contains_key(http::header::CONTENT_TYPE) {
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    response
}
