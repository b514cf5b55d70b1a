//! The JSON API Gateway exchanges with Lambda: for a REST API (payload 1.0) the REQUEST authorizer
//! event, the Lambda proxy event and the parsing of a proxy response; for an HTTP API (payload 2.0)
//! the Lambda authorizer event, the route event and the parsing of a route's response. Built by hand (not from the typed
//! `aws_lambda_events` structs) so the emulator emits what API Gateway emits — including `null`s and
//! casing the typed structs normalize away — and the functions' own deserialization is exercised.
//!
//! Known differences from API Gateway: header names arrive lower-cased (HTTP/1 parsing loses their
//! case), no `X-Forwarded-*` / `CloudFront-*` headers are added, and `Host` is whatever the client sent.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::routes::percent_decode;

/// The API a request reached, as the events describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiIdentity {
    pub region: String,
    pub account_id: String,
    pub api_id: String,
    pub stage: String,
}

impl ApiIdentity {
    /// `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}{path}`.
    pub fn method_arn(&self, method: &str, path: &str) -> String {
        format!(
            "arn:aws:execute-api:{}:{}:{}/{}/{}{}",
            self.region, self.account_id, self.api_id, self.stage, method, path
        )
    }
}

/// One incoming HTTP request, decomposed the way API Gateway sees it.
#[derive(Debug, Clone)]
pub struct IncomingRequest {
    /// Upper-case method.
    pub method: String,
    /// The raw path (percent-encoding kept, as REST APIs pass it).
    pub path: String,
    /// Query string pairs, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// The query string as sent (HTTP API's `rawQueryString`).
    pub raw_query: String,
    /// Headers, lower-case names, in order (repeats kept).
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub source_ip: String,
    pub request_id: String,
    pub extended_request_id: String,
    /// Milliseconds since the epoch.
    pub request_time_epoch: i64,
    /// `dd/Mon/yyyy:HH:mm:ss +0000`.
    pub request_time: String,
}

impl IncomingRequest {
    /// Decomposes a request.
    pub fn new(parts: &http::request::Parts, body: Bytes, source_ip: String) -> Self {
        let query = parts.uri.query().map(parse_query).unwrap_or_default();
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let millis = i64::try_from(now.as_millis()).unwrap_or(i64::MAX);
        Self {
            method: parts.method.as_str().to_ascii_uppercase(),
            path: parts.uri.path().to_owned(),
            query,
            raw_query: parts.uri.query().unwrap_or_default().to_owned(),
            headers,
            body,
            source_ip,
            request_id: random_request_id(),
            extended_request_id: random_extended_id(),
            request_time_epoch: millis,
            request_time: format_request_time(now.as_secs()),
        }
    }

    /// The last value of a header (case-insensitive), as API Gateway's `headers` holds it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The last value of a query parameter (case-sensitive).
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Headers, last value per name.
    pub fn last_headers(&self) -> BTreeMap<String, String> {
        self.headers.iter().cloned().collect()
    }

    /// Query parameters, last value per name.
    pub fn last_query(&self) -> BTreeMap<String, String> {
        self.query.iter().cloned().collect()
    }

    /// The `Host` header, or `localhost`.
    pub fn domain_name(&self) -> &str {
        self.header("host").unwrap_or("localhost")
    }

    fn single_and_multi(pairs: &[(String, String)]) -> (Value, Value) {
        if pairs.is_empty() {
            return (Value::Null, Value::Null);
        }
        let mut single = Map::new();
        let mut multi: Map<String, Value> = Map::new();
        for (name, value) in pairs {
            single.insert(name.clone(), Value::from(value.as_str()));
            match multi.get_mut(name) {
                Some(Value::Array(values)) => values.push(Value::from(value.as_str())),
                _ => {
                    multi.insert(name.clone(), json!([value]));
                }
            }
        }
        (Value::Object(single), Value::Object(multi))
    }

    /// The `requestContext` both events share.
    fn request_context(&self, api: &ApiIdentity, resource: &str) -> Map<String, Value> {
        let domain = self.domain_name();
        let prefix = domain.split('.').next().unwrap_or(domain);
        let context = json!({
            "resourceId": resource_id(resource),
            "resourcePath": resource,
            "httpMethod": self.method,
            "extendedRequestId": self.extended_request_id,
            "requestTime": self.request_time,
            "path": format!("/{}{}", api.stage, self.path),
            "accountId": api.account_id,
            "protocol": "HTTP/1.1",
            "stage": api.stage,
            "domainPrefix": prefix,
            "requestTimeEpoch": self.request_time_epoch,
            "requestId": self.request_id,
            "identity": {
                "cognitoIdentityPoolId": null,
                "accountId": null,
                "cognitoIdentityId": null,
                "caller": null,
                "sourceIp": self.source_ip,
                "principalOrgId": null,
                "accessKey": null,
                "cognitoAuthenticationType": null,
                "cognitoAuthenticationProvider": null,
                "userArn": null,
                "userAgent": self.header("user-agent"),
                "user": null
            },
            "domainName": domain,
            "apiId": api.api_id
        });
        match context {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn common_fields(
        &self,
        resource: &str,
        path_parameters: &BTreeMap<String, String>,
    ) -> Map<String, Value> {
        let (headers, multi_headers) = Self::single_and_multi(&self.headers);
        let (query, multi_query) = Self::single_and_multi(&self.query);
        let path_parameters = if path_parameters.is_empty() {
            Value::Null
        } else {
            Value::Object(
                path_parameters
                    .iter()
                    .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
                    .collect(),
            )
        };
        let mut event = Map::new();
        event.insert("resource".into(), Value::from(resource));
        event.insert("path".into(), Value::from(self.path.as_str()));
        event.insert("httpMethod".into(), Value::from(self.method.as_str()));
        event.insert("headers".into(), headers);
        event.insert("multiValueHeaders".into(), multi_headers);
        event.insert("queryStringParameters".into(), query);
        event.insert("multiValueQueryStringParameters".into(), multi_query);
        event.insert("pathParameters".into(), path_parameters);
        event.insert("stageVariables".into(), Value::Null);
        event
    }

    /// The REQUEST authorizer event.
    pub fn authorizer_event(
        &self,
        api: &ApiIdentity,
        resource: &str,
        path_parameters: &BTreeMap<String, String>,
    ) -> Value {
        let mut event = Map::new();
        event.insert("type".into(), Value::from("REQUEST"));
        event.insert(
            "methodArn".into(),
            Value::from(api.method_arn(&self.method, &self.path)),
        );
        event.extend(self.common_fields(resource, path_parameters));
        event.insert(
            "requestContext".into(),
            Value::Object(self.request_context(api, resource)),
        );
        Value::Object(event)
    }

    /// The Lambda proxy integration event; `authorizer` is `requestContext.authorizer` (principal,
    /// latency and the stringified context), absent for routes without an authorizer.
    pub fn proxy_event(
        &self,
        api: &ApiIdentity,
        resource: &str,
        path_parameters: &BTreeMap<String, String>,
        authorizer: Option<Map<String, Value>>,
    ) -> Value {
        let mut event = self.common_fields(resource, path_parameters);
        let mut context = self.request_context(api, resource);
        if let Some(authorizer) = authorizer {
            context.insert("authorizer".into(), Value::Object(authorizer));
        }
        event.insert("requestContext".into(), Value::Object(context));
        let (body, encoded) = self.body_field();
        event.insert("body".into(), body);
        event.insert("isBase64Encoded".into(), Value::Bool(encoded));
        Value::Object(event)
    }
}

/// What an HTTP API route is called in its events: `routeKey` (`GET /v1/me/keys/{id}`).
pub fn route_key(method: &str, resource: &str) -> String {
    format!("{method} {resource}")
}

impl IncomingRequest {
    /// Pairs with repeated names joined by commas, as HTTP API payload 2.0 carries headers and query
    /// parameters; `null` when there are none.
    fn comma_joined(pairs: impl Iterator<Item = (String, String)>) -> Value {
        let mut joined: Map<String, Value> = Map::new();
        for (name, value) in pairs {
            match joined.get_mut(&name) {
                Some(Value::String(existing)) => {
                    existing.push(',');
                    existing.push_str(&value);
                }
                _ => {
                    joined.insert(name, Value::from(value));
                }
            }
        }
        if joined.is_empty() {
            Value::Null
        } else {
            Value::Object(joined)
        }
    }

    /// The fields an HTTP API payload 2.0 authorizer event and route event share. Header names are
    /// lower case; `Cookie` headers become `cookies`.
    fn v2_fields(
        &self,
        api: &ApiIdentity,
        route_key: &str,
        path_parameters: &BTreeMap<String, String>,
    ) -> Map<String, Value> {
        let cookies: Vec<Value> = self
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, value)| value.split(';'))
            .map(str::trim)
            .filter(|cookie| !cookie.is_empty())
            .map(Value::from)
            .collect();
        let headers = Self::comma_joined(
            self.headers
                .iter()
                .filter(|(name, _)| !name.eq_ignore_ascii_case("cookie"))
                .map(|(name, value)| (name.to_ascii_lowercase(), value.clone())),
        );
        let domain = self.domain_name();
        let prefix = domain.split('.').next().unwrap_or(domain);
        let context = json!({
            "accountId": api.account_id,
            "apiId": api.api_id,
            "domainName": domain,
            "domainPrefix": prefix,
            "http": {
                "method": self.method,
                "path": self.path,
                "protocol": "HTTP/1.1",
                "sourceIp": self.source_ip,
                "userAgent": self.header("user-agent").unwrap_or_default(),
            },
            "requestId": self.request_id,
            "routeKey": route_key,
            "stage": api.stage,
            "time": self.request_time,
            "timeEpoch": self.request_time_epoch,
        });
        let mut event = Map::new();
        event.insert("version".into(), Value::from("2.0"));
        event.insert("routeKey".into(), Value::from(route_key));
        event.insert("rawPath".into(), Value::from(self.path.as_str()));
        event.insert(
            "rawQueryString".into(),
            Value::from(self.raw_query.as_str()),
        );
        if !cookies.is_empty() {
            event.insert("cookies".into(), Value::Array(cookies));
        }
        event.insert("headers".into(), headers);
        let query = Self::comma_joined(self.query.iter().cloned());
        if !query.is_null() {
            event.insert("queryStringParameters".into(), query);
        }
        if !path_parameters.is_empty() {
            event.insert(
                "pathParameters".into(),
                Value::Object(
                    path_parameters
                        .iter()
                        .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
                        .collect(),
                ),
            );
        }
        event.insert("requestContext".into(), context);
        event
    }

    /// The HTTP API Lambda authorizer event (payload format 2.0). `identitySource` holds the values of
    /// the authorizer's identity sources, in order.
    pub fn http_authorizer_event(
        &self,
        api: &ApiIdentity,
        route_key: &str,
        path_parameters: &BTreeMap<String, String>,
        identity_source: &[&str],
    ) -> Value {
        let mut event = self.v2_fields(api, route_key, path_parameters);
        event.insert("type".into(), Value::from("REQUEST"));
        event.insert(
            "routeArn".into(),
            Value::from(api.method_arn(&self.method, &self.path)),
        );
        event.insert("identitySource".into(), json!(identity_source));
        Value::Object(event)
    }

    /// The HTTP API route event (payload format 2.0); `authorizer` is the Lambda authorizer's context,
    /// found at `requestContext.authorizer.lambda`.
    pub fn http_route_event(
        &self,
        api: &ApiIdentity,
        route_key: &str,
        path_parameters: &BTreeMap<String, String>,
        authorizer: Option<Map<String, Value>>,
    ) -> Value {
        let mut event = self.v2_fields(api, route_key, path_parameters);
        if let (Some(authorizer), Some(Value::Object(context))) =
            (authorizer, event.get_mut("requestContext"))
        {
            context.insert("authorizer".into(), json!({ "lambda": authorizer }));
        }
        let (body, encoded) = self.body_field();
        if !body.is_null() {
            event.insert("body".into(), body);
        }
        event.insert("isBase64Encoded".into(), Value::Bool(encoded));
        Value::Object(event)
    }

    /// The body as events carry it: text, base64 for bytes that are not UTF-8, `null` when empty.
    fn body_field(&self) -> (Value, bool) {
        if self.body.is_empty() {
            return (Value::Null, false);
        }
        match std::str::from_utf8(&self.body) {
            Ok(text) => (Value::from(text), false),
            Err(_) => (Value::from(BASE64.encode(&self.body)), true),
        }
    }
}

/// Parses what an HTTP API route returned (payload format 2.0), as API Gateway does: an object with a
/// `statusCode` is a response (`headers`, `cookies`, `body`, `isBase64Encoded`); anything else valid
/// JSON is a 200 `application/json` body.
pub fn parse_http_response(value: &Value) -> Result<ProxyResponse, MalformedResponse> {
    let object = match value {
        Value::Object(object) if object.contains_key("statusCode") => object,
        Value::String(text) => {
            return Ok(ProxyResponse {
                status: 200,
                headers: vec![("content-type".to_owned(), "application/json".to_owned())],
                body: Bytes::from(text.clone()),
            });
        }
        other => {
            return Ok(ProxyResponse {
                status: 200,
                headers: vec![("content-type".to_owned(), "application/json".to_owned())],
                body: Bytes::from(other.to_string()),
            });
        }
    };
    let status = match object.get("statusCode") {
        Some(Value::Number(number)) => number.as_u64(),
        _ => None,
    }
    .and_then(|status| u16::try_from(status).ok())
    .filter(|status| (100..=599).contains(status))
    .ok_or_else(|| MalformedResponse("statusCode is not a status".to_owned()))?;
    let mut headers = Vec::new();
    match object.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                if let Some(text) = header_text(value, "headers")? {
                    headers.push((name.clone(), text));
                }
            }
        }
        Some(_) => return Err(MalformedResponse("headers is not an object".to_owned())),
    }
    match object.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(cookies)) => {
            for cookie in cookies {
                if let Some(text) = header_text(cookie, "cookies")? {
                    headers.push(("set-cookie".to_owned(), text));
                }
            }
        }
        Some(_) => return Err(MalformedResponse("cookies is not a list".to_owned())),
    }
    for (name, value) in &headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || http::HeaderValue::from_str(value).is_err()
        {
            return Err(MalformedResponse(format!("invalid header {name:?}")));
        }
    }
    headers.retain(|(name, _)| !name.eq_ignore_ascii_case("content-length"));
    let body = decode_body(object)?;
    Ok(ProxyResponse {
        status,
        headers,
        body,
    })
}

/// `body`, base64-decoded when `isBase64Encoded` is true.
fn decode_body(object: &Map<String, Value>) -> Result<Bytes, MalformedResponse> {
    let encoded = match object.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => {
            return Err(MalformedResponse(
                "isBase64Encoded is not a boolean".to_owned(),
            ));
        }
    };
    match object.get("body") {
        None | Some(Value::Null) => Ok(Bytes::new()),
        Some(Value::String(text)) if encoded => BASE64
            .decode(text)
            .map(Bytes::from)
            .map_err(|_| MalformedResponse("body is not valid base64".to_owned())),
        Some(Value::String(text)) => Ok(Bytes::from(text.clone())),
        Some(_) => Err(MalformedResponse("body is not a string".to_owned())),
    }
}

/// Parses a raw query string into decoded pairs (`a` alone is `a=""`; empty pieces are skipped).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

/// A proxy response API Gateway would refuse (502 `Internal server error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Lambda proxy response: {0}")]
pub struct MalformedResponse(pub String);

/// A parsed proxy response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyResponse {
    pub status: u16,
    /// Header name (as returned) and value, merged from `headers` and `multiValueHeaders`.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// The response headers API Gateway REST renames to `x-amzn-Remapped-<name>` on a Lambda proxy
/// response (so a function cannot set them directly).
const REMAPPED_HEADERS: [&str; 17] = [
    "authorization",
    "connection",
    "content-md5",
    "date",
    "expect",
    "host",
    "max-forwards",
    "proxy-authenticate",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "via",
    "warn",
    "www-authenticate",
];

fn header_text(value: &Value, field: &str) -> Result<Option<String>, MalformedResponse> {
    match value {
        Value::String(text) => Ok(Some(text.clone())),
        Value::Number(number) => Ok(Some(number.to_string())),
        Value::Bool(flag) => Ok(Some(flag.to_string())),
        Value::Null => Ok(None),
        _ => Err(MalformedResponse(format!("{field} holds a non-scalar"))),
    }
}

/// Parses what a proxy-integrated function returned, as API Gateway REST does.
pub fn parse_proxy_response(value: &Value) -> Result<ProxyResponse, MalformedResponse> {
    let Value::Object(object) = value else {
        return Err(MalformedResponse("not a JSON object".to_owned()));
    };
    if let Some(unknown) = object.keys().find(|key| {
        !matches!(
            key.as_str(),
            "statusCode" | "headers" | "multiValueHeaders" | "body" | "isBase64Encoded"
        )
    }) {
        return Err(MalformedResponse(format!("unexpected field {unknown}")));
    }
    let status = match object.get("statusCode") {
        Some(Value::Number(number)) => number.as_u64(),
        Some(Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    }
    .and_then(|status| u16::try_from(status).ok())
    .filter(|status| (100..=599).contains(status))
    .ok_or_else(|| MalformedResponse("statusCode missing or not a status".to_owned()))?;

    let mut headers: Vec<(String, String)> = Vec::new();
    let mut multi: Vec<(String, String)> = Vec::new();
    match object.get("multiValueHeaders") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, values) in map {
                match values {
                    Value::Array(values) => {
                        for value in values {
                            if let Some(text) = header_text(value, "multiValueHeaders")? {
                                multi.push((name.clone(), text));
                            }
                        }
                    }
                    Value::Null => {}
                    _ => {
                        return Err(MalformedResponse(
                            "multiValueHeaders holds a non-list".to_owned(),
                        ));
                    }
                }
            }
        }
        Some(_) => {
            return Err(MalformedResponse(
                "multiValueHeaders is not an object".to_owned(),
            ));
        }
    }
    match object.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                // A name present in multiValueHeaders takes only those values.
                if multi
                    .iter()
                    .any(|(other, _)| other.eq_ignore_ascii_case(name))
                {
                    continue;
                }
                if let Some(text) = header_text(value, "headers")? {
                    headers.push((name.clone(), text));
                }
            }
        }
        Some(_) => return Err(MalformedResponse("headers is not an object".to_owned())),
    }
    headers.extend(multi);
    for (name, value) in &headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || http::HeaderValue::from_str(value).is_err()
        {
            return Err(MalformedResponse(format!("invalid header {name:?}")));
        }
    }
    let headers = headers
        .into_iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
        .map(|(name, value)| {
            if REMAPPED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                (format!("x-amzn-Remapped-{name}"), value)
            } else {
                (name, value)
            }
        })
        .collect();

    let body = decode_body(object)?;
    Ok(ProxyResponse {
        status,
        headers,
        body,
    })
}

/// A request id shaped like API Gateway's (a random UUID v4).
pub fn random_request_id() -> String {
    let mut bytes = random_bytes::<16>();
    if let Some(byte) = bytes.get_mut(6) {
        *byte = (*byte & 0x0f) | 0x40;
    }
    if let Some(byte) = bytes.get_mut(8) {
        *byte = (*byte & 0x3f) | 0x80;
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default().to_owned();
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

fn random_extended_id() -> String {
    BASE64.encode(random_bytes::<11>())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    static FALLBACK: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; N];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // Uniqueness, not secrecy, is what matters for request ids.
        let counter = FALLBACK.fetch_add(1, Ordering::Relaxed).to_be_bytes();
        for (slot, byte) in bytes.iter_mut().zip(counter.iter().cycle()) {
            *slot = *byte;
        }
    }
    bytes
}

/// A stable 6-character id per resource path (API Gateway's `resourceId` is random but fixed).
fn resource_id(resource: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in resource.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..6)
        .map(|_| {
            let index = usize::try_from(hash % 36).unwrap_or(0);
            hash /= 36;
            char::from(*ALPHABET.get(index).unwrap_or(&b'a'))
        })
        .collect()
}

/// `dd/Mon/yyyy:HH:mm:ss +0000` for seconds since the epoch.
pub fn format_request_time(epoch_seconds: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = i64::try_from(epoch_seconds / 86_400).unwrap_or(0);
    let seconds = epoch_seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let month_name = usize::try_from(month - 1)
        .ok()
        .and_then(|index| MONTHS.get(index))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{day:02}/{month_name}/{year}:{:02}:{:02}:{:02} +0000",
        seconds / 3600,
        (seconds % 3600) / 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use aws_lambda_events::apigw::{
        ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayProxyRequest,
    };

    use super::*;

    fn api() -> ApiIdentity {
        ApiIdentity {
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            api_id: "local".into(),
            stage: "prod".into(),
        }
    }

    fn request(uri: &str, headers: &[(&str, &str)], body: &'static [u8]) -> IncomingRequest {
        let mut builder = http::Request::builder().method("POST").uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        IncomingRequest::new(&parts, Bytes::from_static(body), "127.0.0.1".into())
    }

    #[test]
    fn authorizer_event_has_api_gateway_shape_and_deserializes() {
        let incoming = request(
            "/v1/me/keys/k%201?a=1&a=2&b",
            &[
                ("authorization", "Bearer x"),
                ("x-multi", "1"),
                ("x-multi", "2"),
                ("host", "localhost:3000"),
                ("user-agent", "test"),
            ],
            b"",
        );
        let params: BTreeMap<String, String> = [("id".to_owned(), "k 1".to_owned())].into();
        let event = incoming.authorizer_event(&api(), "/v1/me/keys/{id}", &params);
        assert_eq!(event["type"], "REQUEST");
        assert_eq!(
            event["methodArn"],
            "arn:aws:execute-api:us-east-1:123456789012:local/prod/POST/v1/me/keys/k%201"
        );
        assert_eq!(event["resource"], "/v1/me/keys/{id}");
        assert_eq!(event["path"], "/v1/me/keys/k%201");
        assert_eq!(event["headers"]["x-multi"], "2");
        assert_eq!(event["multiValueHeaders"]["x-multi"], json!(["1", "2"]));
        assert_eq!(event["queryStringParameters"], json!({"a": "2", "b": ""}));
        assert_eq!(
            event["multiValueQueryStringParameters"],
            json!({"a": ["1", "2"], "b": [""]})
        );
        assert_eq!(event["pathParameters"], json!({"id": "k 1"}));
        assert_eq!(event["stageVariables"], Value::Null);
        assert_eq!(event["requestContext"]["path"], "/prod/v1/me/keys/k%201");
        assert_eq!(event["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
        assert_eq!(event["requestContext"]["identity"]["userAgent"], "test");
        assert_eq!(event["requestContext"]["domainName"], "localhost:3000");
        assert!(event.get("body").is_none());

        let typed: ApiGatewayCustomAuthorizerRequestTypeRequest =
            serde_json::from_value(event).unwrap();
        assert_eq!(
            typed.method_arn.as_deref(),
            Some("arn:aws:execute-api:us-east-1:123456789012:local/prod/POST/v1/me/keys/k%201")
        );
        assert_eq!(typed.headers["authorization"], "Bearer x");
        assert_eq!(
            typed.multi_value_headers.get_all("x-multi").iter().count(),
            2
        );
        assert_eq!(typed.path_parameters["id"], "k 1");
        assert_eq!(typed.request_context.stage.as_deref(), Some("prod"));
        assert_eq!(typed.request_context.apiid.as_deref(), Some("local"));
        assert_eq!(
            typed.request_context.resource_path.as_deref(),
            Some("/v1/me/keys/{id}")
        );
        // The shared crate's parser accepts the ARN we build.
        let arn = typed.method_arn.unwrap();
        let parsed = gatehouse::policy::MethodArn::parse(&arn).unwrap();
        assert_eq!(parsed.resource, "v1/me/keys/k%201");
        assert_eq!(
            parsed.stage_wildcard(),
            "arn:aws:execute-api:us-east-1:123456789012:local/prod/*/*"
        );
    }

    #[test]
    fn proxy_event_has_api_gateway_shape_and_deserializes() {
        let incoming = request(
            "/health",
            &[("content-type", "application/json")],
            b"{\"a\":1}",
        );
        let mut authorizer = Map::new();
        authorizer.insert("principalId".into(), json!("user_1"));
        authorizer.insert("integrationLatency".into(), json!(3));
        authorizer.insert("role".into(), json!("admin"));
        let event = incoming.proxy_event(&api(), "/health", &BTreeMap::new(), Some(authorizer));
        assert_eq!(event["body"], "{\"a\":1}");
        assert_eq!(event["isBase64Encoded"], false);
        assert_eq!(event["pathParameters"], Value::Null);
        assert_eq!(event["queryStringParameters"], Value::Null);
        assert_eq!(event["requestContext"]["authorizer"]["role"], "admin");
        assert_eq!(event["requestContext"]["protocol"], "HTTP/1.1");
        let id = event["requestContext"]["requestId"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");

        let typed: ApiGatewayProxyRequest = serde_json::from_value(event).unwrap();
        assert_eq!(typed.http_method, http::Method::POST);
        assert_eq!(typed.body.as_deref(), Some("{\"a\":1}"));
        assert_eq!(
            typed.request_context.authorizer.fields["principalId"],
            "user_1"
        );
        assert_eq!(
            typed.request_context.request_id.as_deref(),
            Some(id.as_str())
        );
        assert_eq!(typed.request_context.path.as_deref(), Some("/prod/health"));
        assert!(typed.request_context.request_time_epoch > 0);

        let binary = request("/x", &[], &[0xff, 0x00]);
        let event = binary.proxy_event(&api(), "/x", &BTreeMap::new(), None);
        assert_eq!(event["body"], "/wA=");
        assert_eq!(event["isBase64Encoded"], true);
        assert!(event["requestContext"].get("authorizer").is_none());
        let typed: ApiGatewayProxyRequest = serde_json::from_value(event).unwrap();
        assert!(typed.is_base64_encoded);
    }

    #[test]
    fn parses_proxy_responses_like_api_gateway() {
        let parsed = parse_proxy_response(&json!({
            "statusCode": 201,
            "headers": {"content-type": "application/json", "x-one": "a", "x-both": "h", "WWW-Authenticate": "Bearer"},
            "multiValueHeaders": {"X-Both": ["m1", "m2"], "set-cookie": ["a=1", "b=2"]},
            "body": "{}",
            "isBase64Encoded": false
        }))
        .unwrap();
        assert_eq!(parsed.status, 201);
        assert_eq!(parsed.body, Bytes::from_static(b"{}"));
        let headers: Vec<(&str, &str)> = parsed
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert!(headers.contains(&("x-one", "a")));
        assert!(headers.contains(&("X-Both", "m1")) && headers.contains(&("X-Both", "m2")));
        assert!(!headers.contains(&("x-both", "h")));
        assert!(headers.contains(&("set-cookie", "b=2")));
        assert!(headers.contains(&("x-amzn-Remapped-WWW-Authenticate", "Bearer")));

        let binary = parse_proxy_response(
            &json!({"statusCode": "200", "body": "/wA=", "isBase64Encoded": true}),
        )
        .unwrap();
        assert_eq!(binary.body.as_ref(), &[0xff, 0x00]);
        assert_eq!(
            parse_proxy_response(&json!({"statusCode": 204}))
                .unwrap()
                .body,
            Bytes::new()
        );

        for bad in [
            json!("text"),
            json!({}),
            json!({"statusCode": 99}),
            json!({"statusCode": 200, "body": {"a": 1}}),
            json!({"statusCode": 200, "headers": {"a": {"b": 1}}}),
            json!({"statusCode": 200, "headers": "x"}),
            json!({"statusCode": 200, "extra": 1}),
            json!({"statusCode": 200, "body": "!!", "isBase64Encoded": true}),
            json!({"statusCode": 200, "headers": {"bad name": "x"}}),
        ] {
            assert!(parse_proxy_response(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_request_times() {
        assert_eq!(format_request_time(0), "01/Jan/1970:00:00:00 +0000");
        assert_eq!(
            format_request_time(1_709_251_199),
            "29/Feb/2024:23:59:59 +0000"
        );
        assert_eq!(
            parse_query("a=%20b&&c=d%3De&e"),
            vec![
                ("a".to_owned(), " b".to_owned()),
                ("c".to_owned(), "d=e".to_owned()),
                ("e".to_owned(), String::new()),
            ]
        );
    }
}
