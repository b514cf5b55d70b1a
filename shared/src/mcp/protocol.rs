//! The wire protocol of `POST /mcp`: one JSON-RPC message per POST (no batches), the protocol
//! version it speaks, and the Streamable HTTP request headers that must agree with its body.
//!
//! Two eras of MCP meet here (MCP 2026-07-28, "Versioning"):
//! - **legacy** (2025-03-26 to 2025-11-25): the client opens with `initialize`, then sends
//!   `MCP-Protocol-Version` on later requests; a server without sessions answers each POST alone;
//! - **modern** (2026-07-28): no handshake; every request carries its version, client info and
//!   capabilities in `params._meta`, mirrored in the `MCP-Protocol-Version`, `Mcp-Method` and
//!   `Mcp-Name` headers, which must agree with the body (HTTP 400, `-32020 HeaderMismatch`).
//!
//! Both are served statelessly, which is what a Lambda behind API Gateway can do: nothing is kept
//! between POSTs, no `Mcp-Session-Id` is minted or read, and every answer is one JSON document.

use std::borrow::Cow;

use base64::Engine as _;
use http::HeaderMap;
use rmcp::model::{
    ErrorCode, ErrorData, JsonObject, JsonRpcError, JsonRpcResponse, JsonRpcVersion2_0,
    ProtocolVersion, RequestId, RequestMetaObject, ServerResult,
};
use serde_json::Value;

/// `MCP-Protocol-Version`.
pub const PROTOCOL_VERSION_HEADER: &str = "mcp-protocol-version";
/// `Mcp-Method` (2026-07-28): the body's `method`.
pub const METHOD_HEADER: &str = "mcp-method";
/// `Mcp-Name` (2026-07-28): the body's `params.name` (`tools/call`, `prompts/get`) or `params.uri`
/// (`resources/read`).
pub const NAME_HEADER: &str = "mcp-name";

/// The first modern revision (per-request metadata, standard headers, no `initialize`).
pub const MODERN: ProtocolVersion = ProtocolVersion::V_2026_07_28;
/// The newest revision with an `initialize` handshake: what `initialize` answers when the client asks
/// for a version this server does not speak.
pub const LATEST_LEGACY: ProtocolVersion = ProtocolVersion::V_2025_11_25;
/// The version a request without `MCP-Protocol-Version` (nor `_meta`) is taken to speak (the
/// Streamable HTTP transport's first revision, which had no such header).
pub const DEFAULT_LEGACY: ProtocolVersion = ProtocolVersion::V_2025_03_26;

/// Every version served, newest first: the Streamable HTTP revisions.
pub const SUPPORTED: [ProtocolVersion; 4] = [
    ProtocolVersion::V_2026_07_28,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_03_26,
];

/// Whether `version` is one of [`SUPPORTED`].
pub fn is_supported(version: &str) -> bool {
    SUPPORTED.iter().any(|v| v.as_str() == version)
}

/// Whether `version` is a modern revision (dates compare as strings).
pub fn is_modern(version: &str) -> bool {
    version >= MODERN.as_str()
}

/// What `initialize` agrees to: the client's version when served (and legacy), otherwise
/// [`LATEST_LEGACY`] (the client then decides whether it can speak it).
pub fn negotiate(requested: &ProtocolVersion) -> ProtocolVersion {
    if is_supported(requested.as_str()) && !is_modern(requested.as_str()) {
        requested.clone()
    } else {
        LATEST_LEGACY
    }
}

/// One JSON-RPC message from the client.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The request id; `None` for a notification.
    pub id: Option<RequestId>,
    /// `method`.
    pub method: String,
    /// `params`, when present (always an object: see [`parse`]).
    pub params: Option<JsonObject>,
}

impl Message {
    /// `params.<field>` as text.
    fn param_str(&self, field: &str) -> Option<&str> {
        self.params.as_ref()?.get(field)?.as_str()
    }

    /// `params._meta`, when it is an object.
    fn meta(&self) -> Option<&JsonObject> {
        self.params.as_ref()?.get("_meta")?.as_object()
    }

    /// The value `Mcp-Name` mirrors for this method, when the method has one and the body names it.
    pub fn mirrored_name(&self) -> Option<&str> {
        match self.method.as_str() {
            "tools/call" | "prompts/get" => self.param_str("name"),
            "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
                self.param_str("uri")
            }
            _ => None,
        }
    }
}

/// A refusal before (or instead of) dispatch: an HTTP status with a JSON-RPC error body.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The id of the request refused, when it could be read.
    pub id: Option<RequestId>,
    /// The JSON-RPC error.
    pub error: ErrorData,
}

impl Refusal {
    fn new(
        status: u16,
        id: Option<RequestId>,
        code: ErrorCode,
        message: impl Into<String>,
    ) -> Self {
        Refusal {
            status,
            id,
            error: ErrorData::new(code, Cow::Owned(message.into()), None),
        }
    }

    /// `-32020 HeaderMismatch`, HTTP 400.
    fn header_mismatch(id: Option<RequestId>, message: impl Into<String>) -> Self {
        Refusal::new(400, id, ErrorCode::HEADER_MISMATCH, message)
    }

    /// `-32022 UnsupportedProtocolVersion`, HTTP 400, naming the versions served.
    pub fn unsupported_version(id: Option<RequestId>, requested: &str) -> Self {
        let supported: Vec<&str> = SUPPORTED.iter().map(ProtocolVersion::as_str).collect();
        Refusal {
            status: 400,
            id,
            error: ErrorData::new(
                ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
                "Unsupported protocol version",
                Some(serde_json::json!({"supported": supported, "requested": shown(requested)})),
            ),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        error_body(self.id.clone(), self.error.clone())
    }
}

/// A JSON-RPC error response as text.
pub fn error_body(id: Option<RequestId>, error: ErrorData) -> String {
    serde_json::to_string(&JsonRpcError {
        jsonrpc: JsonRpcVersion2_0,
        id,
        error,
    })
    .unwrap_or_else(|_| {
        String::from(r#"{"jsonrpc":"2.0","error":{"code":-32603,"message":"internal error"}}"#)
    })
}

/// A JSON-RPC success response as text. A legacy peer gets results without the 2026-07-28
/// `resultType` discriminator; a modern one gets it on every result.
pub fn result_body(id: RequestId, mut result: ServerResult, modern: bool) -> String {
    if !modern {
        result.strip_result_type_for_legacy_peer();
    }
    let mut value =
        serde_json::to_value(&result).unwrap_or_else(|_| Value::Object(JsonObject::new()));
    if modern
        && let Value::Object(fields) = &mut value
        && !fields.contains_key("resultType")
    {
        fields.insert("resultType".to_owned(), Value::from("complete"));
    }
    serde_json::to_string(&JsonRpcResponse {
        jsonrpc: JsonRpcVersion2_0,
        id,
        result: value,
    })
    .unwrap_or_else(|_| {
        String::from(r#"{"jsonrpc":"2.0","error":{"code":-32603,"message":"internal error"}}"#)
    })
}

/// At most 64 characters of client input, for error messages.
fn shown(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Parses a POST body into one message. A batch, a non-object, a missing or wrong `jsonrpc`, a
/// `null` or fractional id, a missing `method` (a response: this server sends no requests, so it
/// expects none) and non-object `params` are refused with HTTP 400 and the JSON-RPC error for it.
pub fn parse(body: &str) -> Result<Message, Refusal> {
    let value: Value = serde_json::from_str(body).map_err(|_| {
        Refusal::new(
            400,
            None,
            ErrorCode::PARSE_ERROR,
            "Parse error: the body is not JSON",
        )
    })?;
    let fields = match value {
        Value::Object(fields) => fields,
        Value::Array(_) => {
            return Err(Refusal::new(
                400,
                None,
                ErrorCode::INVALID_REQUEST,
                "Invalid Request: batches are not supported; send one message per POST",
            ));
        }
        _ => {
            return Err(Refusal::new(
                400,
                None,
                ErrorCode::INVALID_REQUEST,
                "Invalid Request: a JSON-RPC message is an object",
            ));
        }
    };
    let id = match fields.get("id") {
        None => None,
        Some(id) => Some(
            serde_json::from_value::<RequestId>(id.clone()).map_err(|_| {
                Refusal::new(
                    400,
                    None,
                    ErrorCode::INVALID_REQUEST,
                    "Invalid Request: id must be a string or an integer",
                )
            })?,
        ),
    };
    let invalid = |message: &str| {
        Refusal::new(
            400,
            id.clone(),
            ErrorCode::INVALID_REQUEST,
            format!("Invalid Request: {message}"),
        )
    };
    if fields.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid("jsonrpc must be \"2.0\""));
    }
    let method = match fields.get("method") {
        Some(Value::String(method)) => method.clone(),
        Some(_) => return Err(invalid("method must be a string")),
        None if fields.contains_key("result") || fields.contains_key("error") => {
            return Err(invalid(
                "this server sends no requests, so it takes no responses",
            ));
        }
        None => return Err(invalid("method is required")),
    };
    let params = match fields.get("params") {
        None | Some(Value::Null) => None,
        Some(Value::Object(params)) => Some(params.clone()),
        Some(_) => {
            return Err(Refusal::new(
                400,
                id,
                ErrorCode::INVALID_PARAMS,
                "Invalid params: params must be an object",
            ));
        }
    };
    Ok(Message { id, method, params })
}

/// The protocol a message speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Era {
    /// The version it speaks (for `initialize`, the version the client asked for).
    pub version: ProtocolVersion,
    /// A 2026-07-28 (or later) message: standard headers required, `resultType` in results, an
    /// unknown method is a 404.
    pub modern: bool,
}

/// A header that must appear at most once, as text. `Ok(None)` when absent.
fn single_header<'a>(
    headers: &'a HeaderMap,
    name: &str,
    id: &Option<RequestId>,
) -> Result<Option<&'a str>, Refusal> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Refusal::header_mismatch(
            id.clone(),
            format!("Header mismatch: more than one {name} header"),
        ));
    }
    first.to_str().map(Some).map_err(|_| {
        Refusal::header_mismatch(
            id.clone(),
            format!("Header mismatch: the {name} header holds invalid characters"),
        )
    })
}

/// Which protocol `message` speaks, from `_meta` (modern) or `MCP-Protocol-Version` (legacy), and
/// whether the two agree: a version the server does not serve is `-32022` (HTTP 400), a header that
/// disagrees with `_meta` or is missing beside it is `-32020` (HTTP 400), a modern request without
/// the required `_meta` (protocol version, client capabilities) is `-32602` (HTTP 400).
pub fn era(headers: &HeaderMap, message: &Message) -> Result<Era, Refusal> {
    let id = &message.id;
    let header = single_header(headers, PROTOCOL_VERSION_HEADER, id)?;
    if let Some(header) = header
        && !is_supported(header)
    {
        return Err(Refusal::unsupported_version(id.clone(), header));
    }
    if message.method == "initialize" && message.id.is_some() {
        // The legacy handshake, whatever version it names; a header beside it must name the same.
        let requested = message.param_str("protocolVersion");
        if let (Some(header), Some(requested)) = (header, requested)
            && header != requested
        {
            return Err(Refusal::new(
                400,
                id.clone(),
                ErrorCode::INVALID_REQUEST,
                format!(
                    "Invalid Request: MCP-Protocol-Version header ({header}) does not match \
                     params.protocolVersion ({})",
                    shown(requested)
                ),
            ));
        }
        return Ok(Era {
            version: requested.map(version_of).unwrap_or(DEFAULT_LEGACY),
            modern: false,
        });
    }
    let meta = message
        .meta()
        .map(|meta| RequestMetaObject::from(meta.clone()));
    let meta_version = match message
        .meta()
        .and_then(|meta| meta.get(META_PROTOCOL_VERSION))
    {
        None => None,
        Some(Value::String(version)) => Some(version.as_str()),
        Some(_) => {
            return Err(Refusal::new(
                400,
                id.clone(),
                ErrorCode::INVALID_PARAMS,
                format!("Invalid params: _meta {META_PROTOCOL_VERSION} must be a string"),
            ));
        }
    };
    let version = match (meta_version, header) {
        (Some(_), None) => {
            return Err(Refusal::header_mismatch(
                id.clone(),
                "Header mismatch: the MCP-Protocol-Version header is required",
            ));
        }
        (Some(meta_version), Some(header)) if meta_version != header => {
            return Err(Refusal::header_mismatch(
                id.clone(),
                format!(
                    "Header mismatch: MCP-Protocol-Version header ({header}) does not match \
                     _meta protocolVersion ({})",
                    shown(meta_version)
                ),
            ));
        }
        (_, Some(header)) => header,
        (None, None) => DEFAULT_LEGACY.as_str(),
    };
    let modern = is_modern(version);
    if modern && message.id.is_some() {
        let missing = meta
            .unwrap_or_default()
            .missing_required_keys(&version_of(version));
        if !missing.is_empty() {
            return Err(Refusal::new(
                400,
                id.clone(),
                ErrorCode::INVALID_PARAMS,
                format!(
                    "Invalid params: request _meta is missing or has malformed required fields: {}",
                    missing.join(", ")
                ),
            ));
        }
    }
    Ok(Era {
        version: version_of(version),
        modern,
    })
}

/// `_meta` key of the protocol version (2026-07-28).
const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

/// Checks `Mcp-Method` and `Mcp-Name` against the body (MCP 2026-07-28, Streamable HTTP, "Server
/// Validation"): present headers must match on every message, whatever its era (a gateway may route
/// on them); a modern request must carry them (`Mcp-Name` when the body names a tool, prompt or
/// resource). `Mcp-Name` may use the `=?base64?…?=` form, decoded before comparing.
pub fn check_standard_headers(
    headers: &HeaderMap,
    message: &Message,
    era: &Era,
) -> Result<(), Refusal> {
    let id = &message.id;
    let required = era.modern && message.id.is_some();
    match single_header(headers, METHOD_HEADER, id)? {
        Some(value) if value != message.method => {
            return Err(Refusal::header_mismatch(
                id.clone(),
                format!(
                    "Header mismatch: Mcp-Method header value '{}' does not match body value '{}'",
                    shown(value),
                    shown(&message.method)
                ),
            ));
        }
        None if required => {
            return Err(Refusal::header_mismatch(
                id.clone(),
                "Header mismatch: the Mcp-Method header is required",
            ));
        }
        _ => {}
    }
    if let Some(expected) = message.mirrored_name() {
        match single_header(headers, NAME_HEADER, id)? {
            Some(raw) => {
                let decoded = decode_header_value(raw).ok_or_else(|| {
                    Refusal::header_mismatch(
                        id.clone(),
                        "Header mismatch: the Mcp-Name header is not valid Base64",
                    )
                })?;
                if decoded != expected {
                    return Err(Refusal::header_mismatch(
                        id.clone(),
                        format!(
                            "Header mismatch: Mcp-Name header value '{}' does not match body \
                             value '{}'",
                            shown(&decoded),
                            shown(expected)
                        ),
                    ));
                }
            }
            None if required => {
                return Err(Refusal::header_mismatch(
                    id.clone(),
                    format!(
                        "Header mismatch: the Mcp-Name header is required for {}",
                        shown(&message.method)
                    ),
                ));
            }
            None => {}
        }
    }
    Ok(())
}

/// A header value as sent: plain, or `=?base64?<standard Base64 of UTF-8>?=`. `None` when the
/// sentinel wraps something that is not Base64 of UTF-8.
fn decode_header_value(raw: &str) -> Option<String> {
    match raw
        .strip_prefix("=?base64?")
        .and_then(|inner| inner.strip_suffix("?="))
    {
        Some(inner) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(inner)
                .ok()?;
            String::from_utf8(bytes).ok()
        }
        None => Some(raw.to_owned()),
    }
}

/// `ProtocolVersion` from any text (known versions borrow their constant).
fn version_of(text: &str) -> ProtocolVersion {
    serde_json::from_value(Value::from(text)).unwrap_or(DEFAULT_LEGACY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn message(json: Value) -> Message {
        parse(&json.to_string()).unwrap()
    }

    fn modern_call(name: &str) -> Message {
        message(serde_json::json!({
            "jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": name, "arguments": {}, "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}
            }}
        }))
    }

    #[test]
    fn parse_refuses_what_is_not_one_message() {
        let code = |body: &str| {
            let refusal = parse(body).unwrap_err();
            (refusal.status, refusal.error.code.0, refusal.id)
        };
        assert_eq!(code("{"), (400, -32700, None));
        assert_eq!(code(""), (400, -32700, None));
        assert_eq!(
            code(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#),
            (400, -32600, None)
        );
        assert_eq!(code("3"), (400, -32600, None));
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#),
            (400, -32600, None)
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#),
            (400, -32600, None)
        );
        assert_eq!(
            code(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#),
            (400, -32600, Some(RequestId::Number(1)))
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":"a","result":{}}"#),
            (400, -32600, Some(RequestId::String("a".into())))
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[1]}"#),
            (400, -32602, Some(RequestId::Number(1)))
        );
        let ok = parse(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert_eq!(ok.id, None);
        assert_eq!(ok.method, "notifications/initialized");
        let body = parse("{").unwrap_err().body();
        let json: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["jsonrpc"], "2.0");
        assert_eq!(json["error"]["code"], -32700);
    }

    #[test]
    fn versions_come_from_meta_or_the_header() {
        let legacy =
            message(serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
        assert_eq!(
            era(&HeaderMap::new(), &legacy).unwrap(),
            Era {
                version: DEFAULT_LEGACY,
                modern: false
            }
        );
        let with_header =
            era(&headers(&[("MCP-Protocol-Version", "2025-06-18")]), &legacy).unwrap();
        assert_eq!(with_header.version, ProtocolVersion::V_2025_06_18);
        for bad in ["1900-01-01", "2024-11-05", "not-a-version"] {
            let refusal = era(&headers(&[("mcp-protocol-version", bad)]), &legacy).unwrap_err();
            assert_eq!(
                (refusal.status, refusal.error.code.0),
                (400, -32022),
                "{bad}"
            );
            let data = refusal.error.data.unwrap();
            assert_eq!(data["requested"], bad);
            assert_eq!(data["supported"][0], "2026-07-28");
        }
        // Modern: the header must be there and agree with _meta.
        let call = modern_call("whoami");
        let modern = era(&headers(&[("mcp-protocol-version", "2026-07-28")]), &call).unwrap();
        assert!(modern.modern);
        let missing = era(&HeaderMap::new(), &call).unwrap_err();
        assert_eq!((missing.status, missing.error.code.0), (400, -32020));
        let mismatch = era(&headers(&[("mcp-protocol-version", "2025-11-25")]), &call).unwrap_err();
        assert_eq!((mismatch.status, mismatch.error.code.0), (400, -32020));
        // A modern header on a request without _meta.
        let bare = era(&headers(&[("mcp-protocol-version", "2026-07-28")]), &legacy).unwrap_err();
        assert_eq!((bare.status, bare.error.code.0), (400, -32602));
        // Duplicates are refused.
        let twice = era(
            &headers(&[
                ("mcp-protocol-version", "2025-06-18"),
                ("mcp-protocol-version", "2025-06-18"),
            ]),
            &legacy,
        )
        .unwrap_err();
        assert_eq!(twice.error.code.0, -32020);
    }

    #[test]
    fn initialize_is_legacy_and_negotiates() {
        let init = |version: &str| {
            message(
                serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": version, "capabilities": {},
                           "clientInfo": {"name": "t", "version": "1"}}}),
            )
        };
        let asked = era(&HeaderMap::new(), &init("2025-06-18")).unwrap();
        assert!(!asked.modern);
        assert_eq!(negotiate(&asked.version), ProtocolVersion::V_2025_06_18);
        assert_eq!(
            negotiate(&ProtocolVersion::V_2025_03_26),
            ProtocolVersion::V_2025_03_26
        );
        assert_eq!(negotiate(&ProtocolVersion::V_2026_07_28), LATEST_LEGACY);
        assert_eq!(negotiate(&ProtocolVersion::V_2024_11_05), LATEST_LEGACY);
        let future = era(&HeaderMap::new(), &init("2099-01-01")).unwrap();
        assert_eq!(negotiate(&future.version), LATEST_LEGACY);
        let disagree = era(
            &headers(&[("mcp-protocol-version", "2025-11-25")]),
            &init("2025-06-18"),
        )
        .unwrap_err();
        assert_eq!((disagree.status, disagree.error.code.0), (400, -32600));
    }

    #[test]
    fn standard_headers_must_agree_with_the_body() {
        let call = modern_call("whoami");
        let modern = Era {
            version: MODERN,
            modern: true,
        };
        let legacy = Era {
            version: LATEST_LEGACY,
            modern: false,
        };
        let good = headers(&[("Mcp-Method", "tools/call"), ("Mcp-Name", "whoami")]);
        assert!(check_standard_headers(&good, &call, &modern).is_ok());
        assert!(check_standard_headers(&good, &call, &legacy).is_ok());
        let encoded = headers(&[
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "=?base64?d2hvYW1p?="),
        ]);
        assert!(check_standard_headers(&encoded, &call, &modern).is_ok());
        let cases: [&[(&str, &str)]; 6] = [
            &[("Mcp-Method", "tools/list"), ("Mcp-Name", "whoami")],
            &[("Mcp-Method", "tools/call"), ("Mcp-Name", "get_package")],
            &[("Mcp-Method", "tools/call"), ("Mcp-Name", "=?base64?!!?=")],
            &[
                ("Mcp-Method", "tools/call"),
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "whoami"),
            ],
            &[("Mcp-Name", "whoami")],
            &[("Mcp-Method", "tools/call")],
        ];
        for (index, pairs) in cases.iter().enumerate() {
            let refusal = check_standard_headers(&headers(pairs), &call, &modern).unwrap_err();
            assert_eq!(
                (refusal.status, refusal.error.code.0),
                (400, -32020),
                "{pairs:?}"
            );
            assert_eq!(refusal.id, Some(RequestId::Number(7)));
            // Legacy: missing headers are fine, wrong ones are not.
            let legacy_answer = check_standard_headers(&headers(pairs), &call, &legacy);
            assert_eq!(legacy_answer.is_ok(), index >= 4, "{pairs:?}");
        }
        // Methods without a mirrored name ignore Mcp-Name.
        let list = message(serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}));
        assert!(
            check_standard_headers(
                &headers(&[("Mcp-Method", "tools/list"), ("Mcp-Name", "x")]),
                &list,
                &legacy
            )
            .is_ok()
        );
    }

    #[test]
    fn results_carry_result_type_for_modern_peers_only() {
        let modern: Value = serde_json::from_str(&result_body(
            RequestId::Number(1),
            ServerResult::empty(()),
            true,
        ))
        .unwrap();
        assert_eq!(modern["result"]["resultType"], "complete");
        assert_eq!(modern["id"], 1);
        let legacy: Value = serde_json::from_str(&result_body(
            RequestId::String("x".into()),
            ServerResult::ListToolsResult(rmcp::model::ListToolsResult::with_all_items(vec![])),
            false,
        ))
        .unwrap();
        assert_eq!(
            legacy,
            serde_json::json!({"jsonrpc": "2.0", "id": "x", "result": {"tools": []}})
        );
    }
}
