//! Evaluates the IAM policy a Lambda authorizer returns against a request's method ARN, as API Gateway
//! does: because a cached result is re-evaluated for every later request with the same identity, a
//! policy that names only the first method would wrongly refuse the caller's next route. Evaluating
//! here (rather than trusting "Allow") is what catches such a policy locally.
//!
//! Rules: a statement applies when one of its actions matches `execute-api:Invoke` (case-insensitively;
//! `*` and `execute-api:*` work) and one of its resources matches the ARN (case-sensitively; `*` is any
//! run of characters including `/` and `:`, `?` is one character). An applicable `Deny` wins; otherwise
//! an applicable `Allow` allows; otherwise the request is implicitly denied.

use serde_json::Value;

/// The action API Gateway checks.
pub const INVOKE_ACTION: &str = "execute-api:Invoke";

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// One policy statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub effect: Effect,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

/// The outcome for one method ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyDecision {
    /// An Allow applies and no Deny does.
    Allow,
    /// A Deny applies.
    ExplicitDeny,
    /// Nothing applies.
    ImplicitDeny,
}

/// A policy document API Gateway would refuse (`AUTHORIZER_CONFIGURATION_ERROR`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid policy document: {0}")]
pub struct PolicyError(pub String);

fn string_or_list(value: Option<&Value>, field: &str) -> Result<Vec<String>, PolicyError> {
    match value {
        Some(Value::String(text)) => Ok(vec![text.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                _ => Err(PolicyError(format!("{field} holds a non-string"))),
            })
            .collect(),
        Some(_) => Err(PolicyError(format!("{field} is not a string or list"))),
        None => Err(PolicyError(format!("statement without {field}"))),
    }
}

impl Policy {
    /// Parses `policyDocument` (`Statement` may be one object or a list).
    pub fn from_document(document: &Value) -> Result<Self, PolicyError> {
        let Value::Object(document) = document else {
            return Err(PolicyError("not an object".to_owned()));
        };
        let statements = match document.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
            Some(item @ Value::Object(_)) => vec![item],
            Some(_) => return Err(PolicyError("Statement is not a list".to_owned())),
            None => return Err(PolicyError("no Statement".to_owned())),
        };
        let statements = statements
            .into_iter()
            .map(|statement| {
                let Value::Object(statement) = statement else {
                    return Err(PolicyError("a statement is not an object".to_owned()));
                };
                for unsupported in ["NotAction", "NotResource", "Condition"] {
                    if statement.contains_key(unsupported) {
                        return Err(PolicyError(format!(
                            "{unsupported} is not supported by the gateway emulator"
                        )));
                    }
                }
                let effect = match statement.get("Effect") {
                    Some(Value::String(effect)) if effect == "Allow" => Effect::Allow,
                    Some(Value::String(effect)) if effect == "Deny" => Effect::Deny,
                    _ => return Err(PolicyError("Effect is not Allow or Deny".to_owned())),
                };
                Ok(Statement {
                    effect,
                    actions: string_or_list(statement.get("Action"), "Action")?,
                    resources: string_or_list(statement.get("Resource"), "Resource")?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { statements })
    }

    /// Decides for `method_arn` (`arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}{path}`).
    pub fn evaluate(&self, method_arn: &str) -> PolicyDecision {
        let mut allowed = false;
        for statement in &self.statements {
            let action_applies = statement
                .actions
                .iter()
                .any(|action| wildcard_match_ignore_case(action, INVOKE_ACTION));
            let resource_applies = statement
                .resources
                .iter()
                .any(|resource| wildcard_match(resource, method_arn));
            if !(action_applies && resource_applies) {
                continue;
            }
            match statement.effect {
                Effect::Deny => return PolicyDecision::ExplicitDeny,
                Effect::Allow => allowed = true,
            }
        }
        if allowed {
            PolicyDecision::Allow
        } else {
            PolicyDecision::ImplicitDeny
        }
    }
}

/// IAM wildcard matching: `*` matches any run of characters (including none), `?` exactly one.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    matches_chars(&pattern, &text, |a, b| a == b)
}

fn wildcard_match_ignore_case(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    matches_chars(&pattern, &text, |a, b| {
        a.to_lowercase().eq(b.to_lowercase())
    })
}

/// Greedy matching with one backtrack point (the last `*`): linear in practice, never exponential.
fn matches_chars(pattern: &[char], text: &[char], same: impl Fn(char, char) -> bool) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match (pattern.get(p), text.get(t)) {
            (Some('*'), _) => {
                star = Some((p, t));
                p += 1;
            }
            (Some('?'), Some(_)) => {
                p += 1;
                t += 1;
            }
            (Some(&expected), Some(&actual)) if same(expected, actual) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .unwrap_or_default()
        .iter()
        .all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use serde_json::json;

    use super::*;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:local/prod/GET/v1/me/keys";

    fn policy(statements: Value) -> Policy {
        Policy::from_document(&json!({"Version": "2012-10-17", "Statement": statements})).unwrap()
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("*", "a/b:c"));
        assert!(wildcard_match(
            "arn:aws:execute-api:*:*:local/prod/*/*",
            ARN
        ));
        assert!(wildcard_match(
            "arn:aws:execute-api:us-east-1:123456789012:local/prod/*",
            ARN
        ));
        assert!(!wildcard_match(
            "arn:aws:execute-api:us-east-1:123456789012:local/dev/*",
            ARN
        ));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(wildcard_match("a?c", "aéc"));
        assert!(wildcard_match("*/GET/v1/me/keys", ARN));
        assert!(!wildcard_match("*/GET/v1/me", ARN));
        assert!(wildcard_match("a*b*c", "aXXbYYbZc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
        assert!(
            !wildcard_match("ARN:*", ARN),
            "resources are case-sensitive"
        );
        assert!(wildcard_match_ignore_case(
            "execute-api:invoke",
            INVOKE_ACTION
        ));
        assert!(wildcard_match_ignore_case("execute-api:*", INVOKE_ACTION));
        assert!(wildcard_match_ignore_case(
            "Execute-API:Inv?ke",
            INVOKE_ACTION
        ));
        assert!(!wildcard_match_ignore_case(
            "execute-api:ManageConnections",
            INVOKE_ACTION
        ));
        // Pathological patterns stay fast.
        let long = "a".repeat(2000);
        assert!(!wildcard_match(&format!("{}b", "*a".repeat(50)), &long));
    }

    #[test]
    fn explicit_deny_wins_over_allow() {
        let p = policy(json!([
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
            {"Effect": "Deny", "Action": ["execute-api:Invoke"], "Resource": ["arn:*/DELETE/*"]},
        ]));
        assert_eq!(p.evaluate(ARN), PolicyDecision::Allow);
        assert_eq!(
            p.evaluate("arn:aws:execute-api:us-east-1:1:local/prod/DELETE/v1/me/keys/k_1"),
            PolicyDecision::ExplicitDeny
        );
    }

    #[test]
    fn only_matching_statements_apply() {
        let get_elsewhere = policy(json!({
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": "arn:aws:execute-api:us-east-1:123456789012:local/prod/GET/health"
        }));
        assert_eq!(get_elsewhere.evaluate(ARN), PolicyDecision::ImplicitDeny);

        let list = policy(json!([{
            "Effect": "Allow",
            "Action": "*",
            "Resource": ["arn:aws:execute-api:*:*:other/*", "arn:aws:execute-api:*:*:local/prod/GET/v1/me/*"]
        }]));
        assert_eq!(list.evaluate(ARN), PolicyDecision::Allow);

        let other_action = policy(json!([{
            "Effect": "Deny", "Action": "execute-api:ManageConnections", "Resource": "*"
        }]));
        assert_eq!(other_action.evaluate(ARN), PolicyDecision::ImplicitDeny);
        assert_eq!(
            policy(json!([])).evaluate(ARN),
            PolicyDecision::ImplicitDeny
        );
    }

    #[test]
    fn malformed_documents_are_errors() {
        for bad in [
            json!(null),
            json!({}),
            json!({"Statement": "x"}),
            json!({"Statement": [1]}),
            json!({"Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Action": "*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Action": [1], "Resource": "*"}]}),
            json!({"Statement": [{"Effect": "Allow", "Action": "*", "NotResource": "*", "Resource": "*"}]}),
        ] {
            assert!(Policy::from_document(&bad).is_err(), "{bad}");
        }
    }
}
