//! What the authorizer returns. For a REST API (and an HTTP API with payload 1.0), an IAM policy: the
//! method ARN is parsed into a [`MethodArn`] so the Allow can name the whole stage (`…/{stage}/*/*`):
//! API Gateway caches one authorizer result per identity source, and a policy naming only the first
//! method would wrongly Deny the same caller's next route. For an HTTP API with payload 2.0, a simple
//! response ([`allow_simple`], [`refuse_simple`]).

use std::borrow::Cow;
use std::collections::BTreeMap;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};

use crate::error::Rejection;
use crate::principal::Principal;

/// The authorizer's context: a flat map of strings. Keys and constant values are borrowed statics, so
/// building it costs an allocation per id, not per entry.
pub type Context = BTreeMap<Cow<'static, str>, Cow<'static, str>>;

/// The authorizer's response: policy plus a flat string context.
pub type AuthorizerResponse = ApiGatewayCustomAuthorizerResponse<Context>;

/// `arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{method}/{resource…}`, borrowed from
/// the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub api_id: &'a str,
    pub stage: &'a str,
    pub method: &'a str,
    pub resource: &'a str,
}

/// The method ARN is not in the shape API Gateway sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed methodArn")]
pub struct MethodArnError;

impl<'a> MethodArn<'a> {
    /// Parses the `methodArn` of a REQUEST authorizer event.
    pub fn parse(arn: &'a str) -> Result<Self, MethodArnError> {
        if arn.len() > 1600 {
            return Err(MethodArnError);
        }
        let mut fields = arn.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some("execute-api"),
            Some(region),
            Some(account),
            Some(path),
        ) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        )
        else {
            return Err(MethodArnError);
        };
        let mut parts = path.splitn(4, '/');
        let (Some(api_id), Some(stage), Some(method)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(MethodArnError);
        };
        let resource = parts.next().unwrap_or_default();
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !(plain(partition)
            && plain(region)
            && plain(account)
            && plain(api_id)
            && plain(stage)
            && plain(method))
        {
            return Err(MethodArnError);
        }
        Ok(MethodArn {
            partition,
            region,
            account,
            api_id,
            stage,
            method,
            resource,
        })
    }

    /// Every method and resource of this stage: the resource of every policy we return.
    pub fn stage_wildcard(&self) -> String {
        format!(
            "arn:{}:execute-api:{}:{}:{}/{}/*/*",
            self.partition, self.region, self.account, self.api_id, self.stage
        )
    }
}

fn response(
    principal_id: &str,
    effect: IamPolicyEffect,
    arn: &MethodArn,
    context: Context,
) -> AuthorizerResponse {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_owned()];
    statement.effect = effect;
    statement.resource = vec![arn.stage_wildcard()];
    let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some("2012-10-17".to_owned());
    policy.statement = vec![statement];
    let mut out = AuthorizerResponse::default();
    out.principal_id = Some(principal_id.to_owned());
    out.policy_document = policy;
    out.context = context;
    out
}

/// The context key that carries a refusal to the route on an HTTP API (value: the rejection's code).
///
/// An HTTP API has no gateway responses: an authorizer's `isAuthorized: false` always becomes API
/// Gateway's own `403 {"message":"Forbidden"}`. So that a refused caller gets the contract's 401 body
/// and `WWW-Authenticate: Bearer` on both API types, the authorizer (in [`HttpApiRefusals::Route`]
/// mode) lets the refusal through with only this key in the context, and the one extractor every
/// route starts with (`api::principal_of`, on the route side) answers the 401 before any
/// route logic runs. The context has no `userId`, so nothing can mistake it for a caller.
pub const REFUSAL_CONTEXT_KEY: &str = "refusal";

/// How an HTTP API payload 2.0 answer carries a refusal (`HTTP_API_REFUSALS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpApiRefusals {
    /// `route` (the default): `isAuthorized: true` with only [`REFUSAL_CONTEXT_KEY`] in the context;
    /// the route answers the contract's 401. For APIs whose every route is a Gatehouse route (or reads
    /// the caller with Gatehouse's extractor).
    #[default]
    Route,
    /// `gateway`: `isAuthorized: false`; API Gateway answers `403 {"message":"Forbidden"}`. For HTTP
    /// APIs with integrations that do not read the caller through Gatehouse (an HTTP proxy, say).
    Gateway,
}

/// The payload 2.0 answer for `principal`: authorized, with its context.
pub fn allow_simple(principal: &Principal) -> crate::authorizer_event::SimpleResponse {
    crate::authorizer_event::SimpleResponse {
        is_authorized: true,
        context: principal.to_context(),
    }
}

/// The payload 2.0 answer for a refusal, as `mode` says.
pub fn refuse_simple(
    rejection: Rejection,
    mode: HttpApiRefusals,
) -> crate::authorizer_event::SimpleResponse {
    let mut context = Context::new();
    match mode {
        HttpApiRefusals::Route => {
            context.insert(
                Cow::Borrowed(REFUSAL_CONTEXT_KEY),
                Cow::Borrowed(rejection.code()),
            );
            crate::authorizer_event::SimpleResponse {
                is_authorized: true,
                context,
            }
        }
        HttpApiRefusals::Gateway => crate::authorizer_event::SimpleResponse {
            is_authorized: false,
            context,
        },
    }
}

/// Allow the whole stage for `principal`, with its context.
pub fn allow(principal: &Principal, arn: &MethodArn) -> AuthorizerResponse {
    response(
        &principal.user_id,
        IamPolicyEffect::Allow,
        arn,
        principal.to_context(),
    )
}

/// Deny, with the rejection's `error` and `code` in the context for the `ACCESS_DENIED` response.
pub fn deny(rejection: Rejection, arn: &MethodArn) -> AuthorizerResponse {
    let mut context = Context::new();
    context.insert(Cow::Borrowed("error"), Cow::Borrowed(rejection.message()));
    context.insert(Cow::Borrowed("code"), Cow::Borrowed(rejection.code()));
    response("anonymous", IamPolicyEffect::Deny, arn, context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::{AuthType, Memberships, Role, Scopes};

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/GET/v1/me/keys";

    #[test]
    fn parses_method_arns() {
        let arn = MethodArn::parse(ARN).unwrap();
        assert_eq!(arn.region, "us-east-1");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.api_id, "abcdef1234");
        assert_eq!(arn.stage, "prod");
        assert_eq!(arn.method, "GET");
        assert_eq!(arn.resource, "v1/me/keys");
        assert_eq!(
            arn.stage_wildcard(),
            "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/prod/*/*"
        );
        let root = MethodArn::parse("arn:aws-cn:execute-api:cn-north-1:1:api/dev/GET/").unwrap();
        assert_eq!(
            root.stage_wildcard(),
            "arn:aws-cn:execute-api:cn-north-1:1:api/dev/*/*"
        );
    }

    #[test]
    fn rejects_other_arns() {
        for bad in [
            "",
            "arn:aws:lambda:us-east-1:1:function:x",
            "arn:aws:execute-api:us-east-1:1:api",
            "arn:aws:execute-api:us-east-1:1:api/prod",
            "arn:aws:execute-api:us-east-1:1:api/*/GET/x",
            "arn:aws:execute-api:us-east-1:1:api/prod/*/x",
        ] {
            assert!(MethodArn::parse(bad).is_err(), "{bad}");
        }
        assert!(MethodArn::parse(&format!("{ARN}{}", "/x".repeat(900))).is_err());
    }

    #[test]
    fn allow_and_deny_serialize_as_api_gateway_expects() {
        let arn = MethodArn::parse(ARN).unwrap();
        let principal = Principal {
            user_id: "user_1".into(),
            auth_type: AuthType::Session,
            role: Role::Admin,
            key_id: None,
            scopes: Scopes::ALL,
            session_id: Some("sess_1".into()),
            client_id: None,
            memberships: Memberships::default(),
            clerk_org_id: None,
            clerk_org_role: None,
            memberships_omitted: false,
            expires_at: None,
        };
        let allow = serde_json::to_value(allow(&principal, &arn)).unwrap();
        assert_eq!(allow["principalId"], "user_1");
        assert_eq!(allow["policyDocument"]["Version"], "2012-10-17");
        let statement = &allow["policyDocument"]["Statement"][0];
        assert_eq!(statement["Effect"], "Allow");
        assert_eq!(statement["Action"][0], "execute-api:Invoke");
        assert_eq!(statement["Resource"][0], arn.stage_wildcard());
        assert_eq!(allow["context"]["role"], "admin");
        assert!(
            allow["context"]
                .as_object()
                .unwrap()
                .values()
                .all(|v| v.is_string())
        );

        let deny = serde_json::to_value(deny(Rejection::TokenExpired, &arn)).unwrap();
        assert_eq!(deny["principalId"], "anonymous");
        assert_eq!(deny["policyDocument"]["Statement"][0]["Effect"], "Deny");
        assert_eq!(deny["context"]["code"], "token_expired");
        assert_eq!(deny["context"]["error"], "invalid token: expired");
    }
}
