//! Clerk's webhook payload, reduced to what Gatehouse acts on (README "Clerk webhooks").
//!
//! Every Clerk event is `{"data": {...}, "object": "event", "type": "...", "timestamp": <Unix ms>,
//! "instance_id": "...", "event_attributes": {...}}`. For `user.created` and `user.updated`, `data`
//! is Clerk's User object, whose `banned` and `locked` booleans say whether Clerk refuses the user;
//! for `user.deleted` it is a deleted object, `{"id", "object": "user", "deleted": true}`. Other event
//! types are accepted and recorded without effect. A signed payload that is not such an event (bad
//! JSON, no `type`, `data` or `timestamp`, a user event without a valid user id, a user without the
//! two booleans) is a 400: it was not sent by Clerk, and retrying it would not help.

use serde_json::{Map, Value};

use crate::principal::is_valid_id;
use crate::store::{ClerkChange, ClerkEvent};

/// A parsed delivery body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClerkPayload {
    /// Clerk's event type (`user.created`, `session.created`, ...).
    pub event_type: String,
    /// The user event Gatehouse applies, or `None` for a type it ignores.
    pub user_event: Option<ClerkEvent>,
}

/// The longest event type kept (Clerk's are short: `organizationInvitation.accepted`).
const MAX_TYPE_LEN: usize = 64;

/// Parses a delivery body. The error is the 400's message.
pub fn parse(body: &[u8]) -> Result<ClerkPayload, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| format!("webhook body is not JSON: {error}"))?;
    let Value::Object(event) = value else {
        return Err("webhook body must be a JSON object".into());
    };
    if event.get("object").is_some_and(|o| o != "event") {
        return Err("object must be \"event\"".into());
    }
    let event_type = match event.get("type") {
        Some(Value::String(t)) if is_event_type(t) => t.clone(),
        Some(_) => return Err("type must be a Clerk event type".into()),
        None => return Err("type is required".into()),
    };
    let at_ms = match event.get("timestamp") {
        Some(Value::Number(n)) => n
            .as_i64()
            .filter(|ms| *ms >= 0)
            .ok_or("timestamp must be a whole number of milliseconds")?,
        Some(_) => return Err("timestamp must be a whole number of milliseconds".into()),
        None => return Err("timestamp is required".into()),
    };
    let data = match event.get("data") {
        Some(Value::Object(data)) => data,
        Some(_) => return Err("data must be an object".into()),
        None => return Err("data is required".into()),
    };
    let change = match event_type.as_str() {
        "user.created" => ClerkChange::Created {
            suspended: refused_by_clerk(data)?,
        },
        "user.updated" => ClerkChange::Updated {
            suspended: refused_by_clerk(data)?,
        },
        "user.deleted" => ClerkChange::Deleted,
        _ => {
            return Ok(ClerkPayload {
                event_type,
                user_event: None,
            });
        }
    };
    let user_id = match data.get("id") {
        Some(Value::String(id)) if is_valid_id(id) => id.clone(),
        Some(_) => return Err("data.id is not a valid user id".into()),
        None => return Err("data.id is required".into()),
    };
    Ok(ClerkPayload {
        event_type,
        user_event: Some(ClerkEvent {
            user_id,
            at_ms,
            change,
        }),
    })
}

/// `banned || locked` of a User object; both must be booleans (a payload without them is not
/// Clerk's, and reading a missing one as `false` would lift a suspension).
fn refused_by_clerk(user: &Map<String, Value>) -> Result<bool, String> {
    let flag = |name: &str| match user.get(name) {
        Some(Value::Bool(value)) => Ok(*value),
        _ => Err(format!("data.{name} must be true or false")),
    };
    Ok(flag("banned")? || flag("locked")?)
}

/// `resource.action`: 1 to [`MAX_TYPE_LEN`] of `[A-Za-z0-9_.]`, so it is safe to log and store.
fn is_event_type(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_TYPE_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    fn parsed(value: Value) -> Result<ClerkPayload, String> {
        parse(value.to_string().as_bytes())
    }

    #[test]
    fn user_events_become_changes() {
        let user = |banned: bool, locked: bool| {
            json!({"id": "user_2x", "object": "user", "banned": banned, "locked": locked,
                   "email_addresses": [], "created_at": 1, "updated_at": 2})
        };
        for (banned, locked) in [(false, false), (true, false), (false, true), (true, true)] {
            let created = parsed(json!({"data": user(banned, locked), "object": "event",
                "type": "user.created", "timestamp": 1_700_000_000_123_i64, "instance_id": "ins_1"}))
            .unwrap();
            assert_eq!(created.event_type, "user.created");
            assert_eq!(
                created.user_event,
                Some(ClerkEvent {
                    user_id: "user_2x".into(),
                    at_ms: 1_700_000_000_123,
                    change: ClerkChange::Created {
                        suspended: banned || locked
                    }
                })
            );
            let updated = parsed(json!({"data": user(banned, locked), "object": "event",
                "type": "user.updated", "timestamp": 5}))
            .unwrap();
            assert_eq!(
                updated.user_event.unwrap().change,
                ClerkChange::Updated {
                    suspended: banned || locked
                }
            );
        }
        let deleted = parsed(
            json!({"data": {"id": "user_2x", "object": "user", "deleted": true},
            "object": "event", "type": "user.deleted", "timestamp": 7}),
        )
        .unwrap();
        assert_eq!(deleted.user_event.unwrap().change, ClerkChange::Deleted);
    }

    #[test]
    fn other_types_are_ignored() {
        let session = parsed(json!({"data": {"id": "sess_1", "object": "session"},
            "object": "event", "type": "session.created", "timestamp": 7}))
        .unwrap();
        assert_eq!(session.event_type, "session.created");
        assert_eq!(session.user_event, None);
        // A deleted organization may carry no id at all.
        assert!(
            parsed(
                json!({"data": {"object": "organization", "deleted": true, "slug": "x"},
            "type": "organization.deleted", "timestamp": 7})
            )
            .is_ok()
        );
    }

    #[test]
    fn what_is_not_a_clerk_event_is_refused() {
        let user = json!({"id": "user_1", "banned": false, "locked": false});
        let cases = [
            (json!([]), "webhook body must be a JSON object"),
            (json!({"data": user, "timestamp": 1}), "type is required"),
            (
                json!({"type": 3, "data": user, "timestamp": 1}),
                "type must be a Clerk event type",
            ),
            (
                json!({"type": "user created", "data": user, "timestamp": 1}),
                "type must be a Clerk event type",
            ),
            (
                json!({"type": "user.created", "data": user}),
                "timestamp is required",
            ),
            (
                json!({"type": "user.created", "data": user, "timestamp": "1"}),
                "timestamp must be a whole number of milliseconds",
            ),
            (
                json!({"type": "user.created", "data": user, "timestamp": 1.5}),
                "timestamp must be a whole number of milliseconds",
            ),
            (
                json!({"type": "user.created", "data": user, "timestamp": -1}),
                "timestamp must be a whole number of milliseconds",
            ),
            (
                json!({"type": "user.created", "timestamp": 1}),
                "data is required",
            ),
            (
                json!({"type": "user.created", "data": "x", "timestamp": 1}),
                "data must be an object",
            ),
            (
                json!({"type": "user.deleted", "data": {"deleted": true}, "timestamp": 1}),
                "data.id is required",
            ),
            (
                json!({"type": "user.deleted", "data": {"id": "user/../x"}, "timestamp": 1}),
                "data.id is not a valid user id",
            ),
            (
                json!({"type": "user.deleted", "data": {"id": 5}, "timestamp": 1}),
                "data.id is not a valid user id",
            ),
            (
                json!({"type": "user.updated", "data": {"id": "user_1", "locked": false}, "timestamp": 1}),
                "data.banned must be true or false",
            ),
            (
                json!({"type": "user.updated", "data": {"id": "user_1", "banned": false, "locked": null}, "timestamp": 1}),
                "data.locked must be true or false",
            ),
            (
                json!({"object": "user", "type": "user.created", "data": user, "timestamp": 1}),
                "object must be \"event\"",
            ),
        ];
        for (body, message) in cases {
            assert_eq!(parsed(body.clone()), Err(message.to_owned()), "{body}");
        }
        assert!(
            parse(b"{")
                .unwrap_err()
                .starts_with("webhook body is not JSON")
        );
        assert!(parse(b"").is_err());
    }
}
