//! AWS Signature Version 4, checked in full, for the embedded engine: a request is answered only if
//! it is signed with this state folder's credentials, for the expected region and service, within
//! fifteen minutes of now (as AWS allows), over exactly the headers and body it carries. The AWS SDK
//! signs every request it sends; this module recomputes the signature from the request as received
//! and compares the two in constant time. Nothing else (no DynamoDB Local-style "any signature will
//! do"): a caller without the folder's secret gets `UnrecognizedClientException` or
//! `InvalidSignatureException`, as DynamoDB answers.
//!
//! The algorithm is AWS's published one (canonical request, string to sign, derived signing key);
//! the unit tests pin it to AWS's own worked example.

use std::fmt::Write as _;

use aws_lc_rs::{digest, hmac};

use crate::devkey::hex;

/// The credentials the embedded engine accepts. The secret never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct EngineCredentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for EngineCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// What a signed request must be for: its region and service.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// E.g. `us-east-1`.
    pub region: &'a str,
    /// E.g. `dynamodb`.
    pub service: &'a str,
}

/// The parts of an HTTP request a signature covers.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `POST`, `GET`, …
    pub method: &'a str,
    /// The path, already in canonical form (the SDK sends `/`).
    pub path: &'a str,
    /// The query string, already in canonical form, or empty.
    pub query: &'a str,
    /// The `host` header the client signed (`host[:port]`, the port only when not the default).
    pub host: &'a str,
    /// Every header as received (names in any case).
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub body: &'a [u8],
}

/// Why a request is refused; the DynamoDB error type and a message for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No or unusable `Authorization` header.
    #[error(
        "MissingAuthenticationTokenException: request is missing a valid SigV4 Authorization header"
    )]
    Missing,
    /// Signed with another access key.
    #[error("UnrecognizedClientException: the security token included in the request is invalid")]
    UnknownAccessKey,
    /// For another region or service, or a date outside the window.
    #[error("InvalidSignatureException: credential scope or date does not match: {0}")]
    Scope(&'static str),
    /// The signature does not match the request.
    #[error(
        "InvalidSignatureException: the request signature we calculated does not match the signature you provided"
    )]
    Mismatch,
}

impl Refusal {
    /// The DynamoDB error type (`__type`).
    pub fn error_type(&self) -> &'static str {
        match self {
            Refusal::Missing => "MissingAuthenticationTokenException",
            Refusal::UnknownAccessKey => "UnrecognizedClientException",
            Refusal::Scope(_) | Refusal::Mismatch => "InvalidSignatureException",
        }
    }
}

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far `X-Amz-Date` may be from now, either way (AWS: 15 minutes).
const MAX_SKEW_SECS: i64 = 15 * 60;

/// Checks `request`'s signature against `credentials` and `scope` at `now` (Unix seconds).
pub fn verify(
    request: &SignedRequest<'_>,
    credentials: &EngineCredentials,
    scope: Scope<'_>,
    now: i64,
) -> Result<(), Refusal> {
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let authorization = header("authorization").ok_or(Refusal::Missing)?;
    let parsed = parse_authorization(authorization).ok_or(Refusal::Missing)?;
    if parsed.access_key_id != credentials.access_key_id {
        return Err(Refusal::UnknownAccessKey);
    }
    let amz_date = header("x-amz-date").ok_or(Refusal::Scope("no X-Amz-Date"))?;
    if !is_amz_date(amz_date) {
        return Err(Refusal::Scope("malformed X-Amz-Date"));
    }
    let (earliest, latest) = (
        amz_date_of(now.saturating_sub(MAX_SKEW_SECS)),
        amz_date_of(now.saturating_add(MAX_SKEW_SECS)),
    );
    // Fixed-width `YYYYMMDDTHHMMSSZ`: text order is time order.
    if amz_date < earliest.as_str() || amz_date > latest.as_str() {
        return Err(Refusal::Scope("X-Amz-Date is too far from now"));
    }
    let date = amz_date.get(..8).unwrap_or_default();
    if parsed.date != date || parsed.region != scope.region || parsed.service != scope.service {
        return Err(Refusal::Scope("credential scope"));
    }
    let signed_names: Vec<&str> = parsed.signed_headers.split(';').collect();
    if signed_names.iter().any(|name| name.is_empty())
        || !signed_names
            .windows(2)
            .all(|w| matches!(w, [a, b] if a < b))
        || !signed_names.contains(&"host")
        || !signed_names.contains(&"x-amz-date")
    {
        return Err(Refusal::Mismatch);
    }
    let mut canonical_headers = String::new();
    for name in &signed_names {
        let mut values: Vec<String> = request
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| collapse_spaces(v))
            .collect();
        if values.is_empty() && *name == "host" {
            // HTTP clients add `Host` when they send; the SDK signed the endpoint's authority.
            values.push(request.host.to_owned());
        }
        if values.is_empty() {
            return Err(Refusal::Mismatch);
        }
        let _infallible = writeln!(canonical_headers, "{name}:{}", values.join(","));
    }
    let body_hash = hex(digest::digest(&digest::SHA256, request.body).as_ref());
    if header("x-amz-content-sha256").is_some_and(|claimed| claimed != body_hash) {
        return Err(Refusal::Mismatch);
    }
    let canonical_request = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{}\n{body_hash}",
        request.method, request.path, request.query, parsed.signed_headers
    );
    let credential_scope = format!("{date}/{}/{}/aws4_request", scope.region, scope.service);
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{credential_scope}\n{}",
        hex(digest::digest(&digest::SHA256, canonical_request.as_bytes()).as_ref())
    );
    let key = signing_key(&credentials.secret_access_key, date, scope);
    let given = unhex(parsed.signature).ok_or(Refusal::Mismatch)?;
    // Constant time: the comparison does not stop at the first differing byte.
    hmac::verify(&key, string_to_sign.as_bytes(), &given).map_err(|_| Refusal::Mismatch)
}

/// `AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b,
/// Signature=hex`.
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.strip_prefix(ALGORITHM)?.strip_prefix(' ')?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=')?;
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return None,
        };
        if slot.replace(value).is_some() {
            return None;
        }
    }
    let mut scope = credential?.split('/');
    let parsed = Authorization {
        access_key_id: scope.next()?,
        date: scope.next()?,
        region: scope.next()?,
        service: scope.next()?,
        signed_headers: signed_headers?,
        signature: signature?,
    };
    (scope.next() == Some("aws4_request") && scope.next().is_none()).then_some(parsed)
}

fn signing_key(secret: &str, date: &str, scope: Scope<'_>) -> hmac::Key {
    let step = |key: &[u8], data: &str| {
        hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
    };
    let k_date = step(format!("AWS4{secret}").as_bytes(), date);
    let k_region = step(k_date.as_ref(), scope.region);
    let k_service = step(k_region.as_ref(), scope.service);
    let k_signing = step(k_service.as_ref(), "aws4_request");
    hmac::Key::new(hmac::HMAC_SHA256, k_signing.as_ref())
}

/// A header value as SigV4 canonicalizes it: surrounding spaces trimmed, runs of spaces made one.
fn collapse_spaces(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for word in value.split(' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// `YYYYMMDDTHHMMSSZ`.
fn is_amz_date(text: &str) -> bool {
    text.len() == 16
        && text.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            15 => b == b'Z',
            _ => b.is_ascii_digit(),
        })
}

/// Unix seconds as `YYYYMMDDTHHMMSSZ`.
pub fn amz_date_of(unix_seconds: i64) -> String {
    gatehouse::time::rfc3339(unix_seconds).replace(['-', ':'], "")
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |c: u8| (c as char).to_digit(16);
            match pair {
                [high, low] => Some(u8::try_from(digit(*high)? * 16 + digit(*low)?).ok()?),
                _ => None,
            }
        })
        .collect()
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

    /// AWS's worked example ("Create a signed AWS API request", IAM ListUsers, 2015-08-30).
    const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const EXAMPLE_SIGNATURE: &str =
        "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";
    const EXAMPLE_NOW: i64 = 1_440_938_160; // 2015-08-30T12:36:00Z

    fn example_credentials() -> EngineCredentials {
        EngineCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: EXAMPLE_SECRET.into(),
        }
    }

    const IAM: Scope<'static> = Scope {
        region: "us-east-1",
        service: "iam",
    };

    fn example_authorization(signature: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
        )
    }

    fn check(headers: &[(&str, &str)], query: &str, body: &[u8], now: i64) -> Result<(), Refusal> {
        verify(
            &SignedRequest {
                method: "GET",
                path: "/",
                query,
                host: "iam.amazonaws.com",
                headers,
                body,
            },
            &example_credentials(),
            IAM,
            now,
        )
    }

    #[test]
    fn accepts_aws_worked_example() {
        let authorization = example_authorization(EXAMPLE_SIGNATURE);
        let headers = [
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", authorization.as_str()),
        ];
        let query = "Action=ListUsers&Version=2010-05-08";
        assert_eq!(check(&headers, query, b"", EXAMPLE_NOW), Ok(()));
        // Within the window either side, and not beyond it.
        assert_eq!(check(&headers, query, b"", EXAMPLE_NOW + 900), Ok(()));
        assert!(matches!(
            check(&headers, query, b"", EXAMPLE_NOW + 901),
            Err(Refusal::Scope(_))
        ));
        assert!(matches!(
            check(&headers, query, b"", EXAMPLE_NOW - 901),
            Err(Refusal::Scope(_))
        ));
        // Anything changed is a mismatch: the body, a signed header, the query.
        assert_eq!(
            check(&headers, query, b"{}", EXAMPLE_NOW),
            Err(Refusal::Mismatch)
        );
        let mut changed = headers;
        changed[0].1 = "application/json";
        assert_eq!(
            check(&changed, query, b"", EXAMPLE_NOW),
            Err(Refusal::Mismatch)
        );
        assert_eq!(
            check(
                &headers,
                "Action=DeleteUser&Version=2010-05-08",
                b"",
                EXAMPLE_NOW
            ),
            Err(Refusal::Mismatch)
        );
    }

    #[test]
    fn refuses_other_credentials_scopes_and_garbage() {
        let query = "Action=ListUsers&Version=2010-05-08";
        let with = |authorization: &str| {
            let headers = [
                (
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                ),
                ("x-amz-date", "20150830T123600Z"),
                ("authorization", authorization),
            ];
            check(&headers, query, b"", EXAMPLE_NOW)
        };
        assert_eq!(
            with(&example_authorization(EXAMPLE_SIGNATURE).replace("AKIDEXAMPLE", "AKIDOTHER")),
            Err(Refusal::UnknownAccessKey)
        );
        assert!(matches!(
            with(&example_authorization(EXAMPLE_SIGNATURE).replace("/iam/", "/dynamodb/")),
            Err(Refusal::Scope(_))
        ));
        assert_eq!(
            with(&example_authorization(&"0".repeat(64))),
            Err(Refusal::Mismatch)
        );
        assert_eq!(with(&example_authorization("zz")), Err(Refusal::Mismatch));
        for garbage in [
            "",
            "Bearer x",
            "AWS4-HMAC-SHA256",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request",
            "AWS4-HMAC-SHA256 Credential=a, Credential=b, SignedHeaders=host, Signature=00",
        ] {
            assert_eq!(with(garbage), Err(Refusal::Missing), "{garbage}");
        }
        let unsigned = [("x-amz-date", "20150830T123600Z")];
        assert_eq!(
            check(&unsigned, query, b"", EXAMPLE_NOW),
            Err(Refusal::Missing)
        );
    }

    #[test]
    fn amz_dates_are_fixed_width_utc() {
        assert_eq!(amz_date_of(EXAMPLE_NOW), "20150830T123600Z");
        assert!(is_amz_date("20150830T123600Z"));
        assert!(!is_amz_date("2015-08-30T12:36:00Z"));
        assert_eq!(collapse_spaces("  a   b c "), "a b c");
        assert_eq!(unhex("0aFf"), Some(vec![10, 255]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("0g"), None);
    }
}
