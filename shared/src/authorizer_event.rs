//! What the authorizer is invoked with, and what it answers, for each API Gateway that can call it
//! (README, "REST API or HTTP API"):
//!
//! - a REST API REQUEST authorizer event, and an HTTP API REQUEST event with payload format 1.0: a
//!   `methodArn`, answered with an IAM policy;
//! - an HTTP API REQUEST event with payload format 2.0: a `routeArn`, answered with a simple response
//!   (`isAuthorized` and the context).
//!
//! Every other shape (a TOKEN authorizer's event, a WebSocket API's, an unknown payload version,
//! something that is not an object at all) is named in an explicit error rather than failing somewhere
//! inside a decision. The event is read in one pass that keeps only what a decision needs: the shape,
//! the ARN, and the `Authorization` values (every other header is skipped unread).

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::Rejection;
use crate::policy::{AuthorizerResponse, Context};

/// The shapes the authorizer accepts, as one line for error messages and logs.
pub const SUPPORTED_SHAPES: &str = "REST API REQUEST authorizer events and HTTP API REQUEST \
                                    authorizer events with payload format 1.0 or 2.0";

/// An authorizer invocation, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizerEvent {
    /// A REST API REQUEST event, or an HTTP API payload 1.0 event: answered with an IAM policy.
    Policy {
        /// `methodArn`, `None` when the event has none.
        method_arn: Option<String>,
        /// The `Authorization` header.
        authorization: AuthorizationHeader,
        /// Where the request was sent.
        gateway: GatewayFacts,
    },
    /// An HTTP API payload 2.0 event: answered with a simple response.
    Simple {
        /// `routeArn`, `None` when the event has none.
        route_arn: Option<String>,
        /// The `Authorization` header.
        authorization: AuthorizationHeader,
        /// Where the request was sent.
        gateway: GatewayFacts,
    },
    /// Anything else; the text names what it is.
    Unsupported(&'static str),
}

/// Where a request was sent, from the event's `requestContext`: what an OAuth access token's
/// audience is checked against when `OAUTH_RESOURCES` is unset (see [`crate::oauth::public_base_url`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayFacts {
    /// `requestContext.domainName`.
    pub domain_name: Option<String>,
    /// `requestContext.stage`.
    pub stage: Option<String>,
}

/// The `Authorization` values an event carries (names compared case-insensitively, in `headers` and
/// `multiValueHeaders` alike).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationHeader {
    first: Option<String>,
    values: usize,
    unreadable: bool,
}

impl AuthorizationHeader {
    /// The header's one value, `None` when absent; more than one value, or one that is not visible
    /// ASCII, is malformed.
    pub fn value(&self) -> Result<Option<&str>, Rejection> {
        if self.unreadable || self.values > 1 {
            return Err(Rejection::MalformedAuthorization);
        }
        match self.first.as_deref() {
            Some(value)
                if !value
                    .bytes()
                    .all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) =>
            {
                Err(Rejection::MalformedAuthorization)
            }
            other => Ok(other),
        }
    }

    /// One header as REST events carry it: the value in `headers` and the same value again in
    /// `multiValueHeaders` count once.
    fn merge(mut self, multi: AuthorizationHeader) -> Self {
        let same_value = self.values == 1 && multi.values == 1 && self.first == multi.first;
        if self.values == 0 {
            return multi;
        }
        if !same_value {
            self.values += multi.values;
        }
        self.unreadable |= multi.unreadable;
        self
    }

    fn push(&mut self, value: Option<String>) {
        self.values += 1;
        match value {
            Some(value) if self.first.is_none() => self.first = Some(value),
            Some(_) => {}
            None => self.unreadable = true,
        }
    }
}

/// An HTTP API payload 2.0 simple response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimpleResponse {
    /// Whether API Gateway lets the request through to the route.
    pub is_authorized: bool,
    /// What the route finds in `requestContext.authorizer.lambda`.
    pub context: Context,
}

/// What the authorizer answers: the format follows the event's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AuthorizerAnswer {
    /// An IAM policy (REST API, HTTP API payload 1.0).
    Policy(AuthorizerResponse),
    /// A simple response (HTTP API payload 2.0).
    Simple(SimpleResponse),
}

impl<'de> Deserialize<'de> for AuthorizerEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EventVisitor)
    }
}

struct EventVisitor;

/// The fields of `requestContext` that tell a WebSocket event apart, and where the request went.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestContextProbe {
    #[serde(default)]
    event_type: Option<IgnoredAny>,
    #[serde(default)]
    connection_id: Option<IgnoredAny>,
    #[serde(default)]
    domain_name: Option<String>,
    #[serde(default)]
    stage: Option<String>,
}

impl<'de> Visitor<'de> for EventVisitor {
    type Value = AuthorizerEvent;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an API Gateway authorizer event")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AuthorizerEvent, A::Error> {
        let mut version: Option<String> = None;
        let mut kind: Option<String> = None;
        let mut method_arn: Option<String> = None;
        let mut route_arn: Option<String> = None;
        let mut headers = AuthorizationHeader::default();
        let mut multi = AuthorizationHeader::default();
        let mut websocket = false;
        let mut gateway = GatewayFacts::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "version" => version = map.next_value()?,
                "type" => kind = map.next_value()?,
                "methodArn" => method_arn = map.next_value()?,
                "routeArn" => route_arn = map.next_value()?,
                "headers" => headers = map.next_value::<SingleValues>()?.0,
                "multiValueHeaders" => multi = map.next_value::<MultiValues>()?.0,
                "requestContext" => {
                    if let Some(probe) = map.next_value::<Option<RequestContextProbe>>()? {
                        websocket = probe.event_type.is_some() || probe.connection_id.is_some();
                        gateway = GatewayFacts {
                            domain_name: probe.domain_name,
                            stage: probe.stage,
                        };
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let authorization = headers.merge(multi);
        Ok(match (kind.as_deref(), version.as_deref()) {
            (Some("TOKEN"), _) => AuthorizerEvent::Unsupported("a TOKEN authorizer event"),
            _ if websocket => AuthorizerEvent::Unsupported("a WebSocket API event"),
            (Some("REQUEST"), None | Some("1.0")) => AuthorizerEvent::Policy {
                method_arn,
                authorization,
                gateway,
            },
            (Some("REQUEST"), Some("2.0")) => AuthorizerEvent::Simple {
                route_arn,
                authorization,
                gateway,
            },
            (Some("REQUEST"), Some(_)) => {
                AuthorizerEvent::Unsupported("an event with an unknown payload format version")
            }
            (None, _) => AuthorizerEvent::Unsupported("an event without a type"),
            (Some(_), _) => AuthorizerEvent::Unsupported("an event of an unknown type"),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AuthorizerEvent, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(AuthorizerEvent::Unsupported("a JSON array"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<AuthorizerEvent, E> {
        Ok(AuthorizerEvent::Unsupported("a JSON string"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<AuthorizerEvent, E> {
        Ok(AuthorizerEvent::Unsupported("a JSON boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<AuthorizerEvent, E> {
        Ok(AuthorizerEvent::Unsupported("a JSON number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<AuthorizerEvent, E> {
        Ok(AuthorizerEvent::Unsupported("a JSON number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<AuthorizerEvent, E> {
        Ok(AuthorizerEvent::Unsupported("a JSON number"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<AuthorizerEvent, E> {
        Ok(AuthorizerEvent::Unsupported("JSON null"))
    }
}

/// `headers`: `{name: value}` (or null); only `Authorization` values are kept.
struct SingleValues(AuthorizationHeader);
/// `multiValueHeaders`: `{name: [values]}` (or null).
struct MultiValues(AuthorizationHeader);

fn is_authorization(name: &str) -> bool {
    name.eq_ignore_ascii_case("authorization")
}

impl<'de> Deserialize<'de> for SingleValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SingleValues;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of header values")
            }
            fn visit_unit<E: de::Error>(self) -> Result<SingleValues, E> {
                Ok(SingleValues(AuthorizationHeader::default()))
            }
            fn visit_none<E: de::Error>(self) -> Result<SingleValues, E> {
                self.visit_unit()
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SingleValues, A::Error> {
                let mut found = AuthorizationHeader::default();
                while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if is_authorization(&name) {
                        found.push(map.next_value::<Option<String>>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(SingleValues(found))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for MultiValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MultiValues;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of header value lists")
            }
            fn visit_unit<E: de::Error>(self) -> Result<MultiValues, E> {
                Ok(MultiValues(AuthorizationHeader::default()))
            }
            fn visit_none<E: de::Error>(self) -> Result<MultiValues, E> {
                self.visit_unit()
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MultiValues, A::Error> {
                let mut found = AuthorizationHeader::default();
                while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if is_authorization(&name) {
                        let values = map.next_value::<Option<Vec<Option<String>>>>()?;
                        values.into_iter().flatten().for_each(|v| found.push(v));
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(MultiValues(found))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(event: serde_json::Value) -> AuthorizerEvent {
        serde_json::from_value(event).unwrap()
    }

    fn header(value: Option<&str>, values: usize) -> AuthorizationHeader {
        AuthorizationHeader {
            first: value.map(str::to_owned),
            values,
            unreadable: false,
        }
    }

    #[test]
    fn rest_and_http_payload_1_events_get_a_policy() {
        let rest = parse(json!({
            "type": "REQUEST", "methodArn": "arn:m",
            "headers": {"Authorization": "Bearer a", "Host": "x"},
            "multiValueHeaders": {"Authorization": ["Bearer a"]},
            "requestContext": {"stage": "prod", "domainName": "api.example.com"}
        }));
        assert_eq!(
            rest,
            AuthorizerEvent::Policy {
                method_arn: Some("arn:m".into()),
                authorization: header(Some("Bearer a"), 1),
                gateway: GatewayFacts {
                    domain_name: Some("api.example.com".into()),
                    stage: Some("prod".into()),
                },
            }
        );
        let http_v1 = parse(json!({
            "version": "1.0", "type": "REQUEST", "methodArn": "arn:m",
            "headers": {"authorization": "Bearer b"}, "identitySource": "Bearer b"
        }));
        assert_eq!(
            http_v1,
            AuthorizerEvent::Policy {
                method_arn: Some("arn:m".into()),
                authorization: header(Some("Bearer b"), 1),
                gateway: GatewayFacts::default(),
            }
        );
    }

    #[test]
    fn http_payload_2_events_get_a_simple_response() {
        let event = parse(json!({
            "version": "2.0", "type": "REQUEST", "routeArn": "arn:r",
            "identitySource": ["Bearer c"], "routeKey": "GET /v1/me",
            "headers": {"authorization": "Bearer c"}, "requestContext": {"http": {"method": "GET"}}
        }));
        assert_eq!(
            event,
            AuthorizerEvent::Simple {
                route_arn: Some("arn:r".into()),
                authorization: header(Some("Bearer c"), 1),
                gateway: GatewayFacts::default(),
            }
        );
    }

    #[test]
    fn other_shapes_are_named() {
        let cases = [
            (
                json!({"type": "TOKEN", "authorizationToken": "x", "methodArn": "arn:m"}),
                "a TOKEN authorizer event",
            ),
            (
                json!({"type": "REQUEST", "methodArn": "arn:m",
                       "requestContext": {"eventType": "CONNECT", "connectionId": "c"}}),
                "a WebSocket API event",
            ),
            (
                json!({"version": "3.0", "type": "REQUEST"}),
                "an event with an unknown payload format version",
            ),
            (json!({"hello": "world"}), "an event without a type"),
            (json!({"type": "EVENT"}), "an event of an unknown type"),
            (json!([1, 2]), "a JSON array"),
            (json!("x"), "a JSON string"),
            (json!(7), "a JSON number"),
            (json!(null), "JSON null"),
            (json!(true), "a JSON boolean"),
        ];
        for (event, named) in cases {
            assert_eq!(parse(event), AuthorizerEvent::Unsupported(named));
        }
    }

    #[test]
    fn authorization_values_are_counted_across_both_maps() {
        let value = |event: serde_json::Value| match parse(event) {
            AuthorizerEvent::Policy { authorization, .. } => {
                authorization.value().map(|v| v.map(str::to_owned))
            }
            other => panic!("{other:?}"),
        };
        let base = |headers: serde_json::Value, multi: serde_json::Value| json!({"type": "REQUEST", "methodArn": "m", "headers": headers, "multiValueHeaders": multi});
        assert_eq!(value(base(json!(null), json!(null))), Ok(None));
        assert_eq!(value(base(json!({}), json!({}))), Ok(None));
        assert_eq!(
            value(base(json!({"authorization": "Bearer x"}), json!(null))),
            Ok(Some("Bearer x".into()))
        );
        assert_eq!(
            value(base(json!(null), json!({"AUTHORIZATION": ["Bearer x"]}))),
            Ok(Some("Bearer x".into()))
        );
        for malformed in [
            base(
                json!({"Authorization": "a", "authorization": "b"}),
                json!(null),
            ),
            base(json!(null), json!({"Authorization": ["a", "b"]})),
            base(
                json!({"Authorization": "a"}),
                json!({"Authorization": ["b"]}),
            ),
            base(json!({"Authorization": "caf\u{e9}"}), json!(null)),
            base(json!({"Authorization": null}), json!(null)),
        ] {
            assert_eq!(value(malformed), Err(Rejection::MalformedAuthorization));
        }
    }

    #[test]
    fn answers_serialize_in_their_gateways_format() {
        let mut context = Context::new();
        context.insert("userId".into(), "user_1".into());
        let simple = AuthorizerAnswer::Simple(SimpleResponse {
            is_authorized: true,
            context,
        });
        assert_eq!(
            serde_json::to_value(simple).unwrap(),
            json!({"isAuthorized": true, "context": {"userId": "user_1"}})
        );
    }
}
