//! Svix signatures, the scheme Clerk signs its webhooks with (README "Clerk webhooks").
//!
//! Svix signs `{svix-id}.{svix-timestamp}.{raw body}` with HMAC-SHA256 under the base64-decoded part
//! of the endpoint's secret after `whsec_`, and sends `v1,<base64 tag>` in `svix-signature`; during a
//! secret rotation the header holds several space-separated signatures, any of which may match, and
//! versions other than `v1` are ignored. A timestamp more than [`TOLERANCE_SECS`] away from now, in
//! either direction, is refused, so a captured delivery cannot be replayed later (a replay inside the
//! window is caught by the delivery record, see [`super`]). The tag is computed once and compared
//! with each candidate in constant time.
//!
//! The same [`sign`] backs `gatehouse webhooks send`; the official `svix` Python library checks both
//! directions in the tests (`cli/tests/clerk_webhooks.rs`).

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use subtle::ConstantTimeEq as _;

/// How far `svix-timestamp` may be from now, in seconds (Svix's own tolerance: 5 minutes).
pub const TOLERANCE_SECS: i64 = 300;

/// The prefix of a Svix endpoint secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// The shortest decoded secret accepted, in bytes (Svix and Clerk issue 24 bytes).
const MIN_SECRET_BYTES: usize = 16;
/// The longest decoded secret accepted, in bytes.
const MAX_SECRET_BYTES: usize = 128;
/// The longest `svix-timestamp` read (Unix seconds: 10 digits until the year 2286).
const MAX_TIMESTAMP_DIGITS: usize = 12;

/// Standard base64, padded or not (Svix pads; a hand-copied secret may have lost its `=`).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The refusal when a Svix header is missing.
pub const MISSING: &str = "missing webhook signature";
/// The refusal when no signature matches (or `svix-timestamp` is not a number).
pub const INVALID: &str = "invalid webhook signature";
/// The refusal when `svix-timestamp` is outside [`TOLERANCE_SECS`].
pub const STALE: &str = "webhook timestamp outside the tolerance";

/// An endpoint's signing secret: the HMAC key only, never printed (its `Debug` is redacted) and
/// never logged.
#[derive(Clone)]
pub struct WebhookSecret(hmac::Key);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl WebhookSecret {
    /// Parses `whsec_<base64>` (surrounding white space ignored). The error says what is wrong,
    /// never what the value is.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let encoded = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or("is not a Svix signing secret (whsec_ followed by base64)")?;
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| "is not a Svix signing secret (whsec_ followed by base64)")?;
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&bytes.len()) {
            return Err("must decode to 16 to 128 bytes after whsec_");
        }
        Ok(WebhookSecret(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
    }

    /// The HMAC-SHA256 tag of `{id}.{timestamp}.{body}`.
    fn tag(&self, id: &str, timestamp: &str, body: &[u8]) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(id.as_bytes());
        context.update(b".");
        context.update(timestamp.as_bytes());
        context.update(b".");
        context.update(body);
        context.sign()
    }
}

/// The `svix-signature` value Svix sends for this delivery: `v1,<base64 tag>`.
pub fn sign(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = secret.tag(id, &timestamp.to_string(), body);
    format!("v1,{}", BASE64.encode(tag.as_ref()))
}

/// The three Svix headers of a request, as received.
#[derive(Debug, Clone, Copy)]
pub struct SvixHeaders<'a> {
    /// `svix-id`.
    pub id: &'a str,
    /// `svix-timestamp`, Unix seconds.
    pub timestamp: &'a str,
    /// `svix-signature`: space-separated `version,base64` entries.
    pub signature: &'a str,
}

/// Why a delivery's signature was refused; [`SignatureError::message`] is what the caller is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `v1` signature matches, or `svix-timestamp` is not a whole number of seconds.
    Invalid,
    /// `svix-timestamp` is more than [`TOLERANCE_SECS`] away from now.
    Stale,
}

impl SignatureError {
    /// The refusal's message (README "Errors").
    pub const fn message(self) -> &'static str {
        match self {
            SignatureError::Invalid => INVALID,
            SignatureError::Stale => STALE,
        }
    }
}

/// Checks a delivery as Svix's libraries do: the timestamp first (a whole number of seconds within
/// [`TOLERANCE_SECS`] of `now`), then the signatures, any `v1` of which may match. Returns the
/// timestamp.
pub fn verify(
    secret: &WebhookSecret,
    headers: SvixHeaders<'_>,
    body: &[u8],
    now: i64,
) -> Result<i64, SignatureError> {
    let timestamp = parse_timestamp(headers.timestamp).ok_or(SignatureError::Invalid)?;
    if timestamp.abs_diff(now) > TOLERANCE_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let expected = secret.tag(headers.id, headers.timestamp, body);
    let mut matched = subtle::Choice::from(0);
    for entry in headers.signature.split(' ') {
        let Some(("v1", encoded)) = entry.split_once(',') else {
            continue;
        };
        if let Ok(candidate) = BASE64.decode(encoded) {
            matched |= expected.as_ref().ct_eq(&candidate);
        }
    }
    if bool::from(matched) {
        Ok(timestamp)
    } else {
        Err(SignatureError::Invalid)
    }
}

/// `svix-timestamp`: 1 to [`MAX_TIMESTAMP_DIGITS`] ASCII digits.
fn parse_timestamp(text: &str) -> Option<i64> {
    if text.is_empty()
        || text.len() > MAX_TIMESTAMP_DIGITS
        || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// Svix's documented example ("Verifying Webhooks Manually" and its libraries' tests): this
    /// secret, id, timestamp and body sign to this `v1` value.
    const SVIX_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SVIX_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SVIX_TIMESTAMP: i64 = 1_614_265_330;
    const SVIX_BODY: &str = r#"{"test": 2432232314}"#;
    const SVIX_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers<'a>(timestamp: &'a str, signature: &'a str) -> SvixHeaders<'a> {
        SvixHeaders {
            id: SVIX_ID,
            timestamp,
            signature,
        }
    }

    #[test]
    fn signs_and_verifies_svix_documented_example() {
        let secret = WebhookSecret::parse(SVIX_SECRET).unwrap();
        assert_eq!(
            sign(&secret, SVIX_ID, SVIX_TIMESTAMP, SVIX_BODY.as_bytes()),
            SVIX_SIGNATURE
        );
        let ts = SVIX_TIMESTAMP.to_string();
        assert_eq!(
            verify(
                &secret,
                headers(&ts, SVIX_SIGNATURE),
                SVIX_BODY.as_bytes(),
                SVIX_TIMESTAMP
            ),
            Ok(SVIX_TIMESTAMP)
        );
    }

    #[test]
    fn any_v1_signature_may_match_and_other_versions_are_ignored() {
        let secret = WebhookSecret::parse(SVIX_SECRET).unwrap();
        let ts = SVIX_TIMESTAMP.to_string();
        let tag = SVIX_SIGNATURE.trim_start_matches("v1,");
        let body = SVIX_BODY.as_bytes();
        let rotated = format!("v1,AAAA v1a,xyz {SVIX_SIGNATURE} v1,not-base64!");
        assert!(verify(&secret, headers(&ts, &rotated), body, SVIX_TIMESTAMP).is_ok());
        // The right tag under another version is not a match.
        let other_version = format!("v2,{tag} v1a,{tag} {tag}");
        assert_eq!(
            verify(&secret, headers(&ts, &other_version), body, SVIX_TIMESTAMP),
            Err(SignatureError::Invalid)
        );
        for signature in ["", " ", "v1,", "v1", ",", "v1,====", "v1, "] {
            assert_eq!(
                verify(&secret, headers(&ts, signature), body, SVIX_TIMESTAMP),
                Err(SignatureError::Invalid),
                "{signature:?}"
            );
        }
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let secret = WebhookSecret::parse(SVIX_SECRET).unwrap();
        let ts = SVIX_TIMESTAMP.to_string();
        let body = SVIX_BODY.as_bytes();
        let tampered = br#"{"test": 2432232315}"#;
        assert_eq!(
            verify(
                &secret,
                headers(&ts, SVIX_SIGNATURE),
                tampered,
                SVIX_TIMESTAMP
            ),
            Err(SignatureError::Invalid)
        );
        let other_id = SvixHeaders {
            id: "msg_other",
            ..headers(&ts, SVIX_SIGNATURE)
        };
        assert_eq!(
            verify(&secret, other_id, body, SVIX_TIMESTAMP),
            Err(SignatureError::Invalid)
        );
        let later = (SVIX_TIMESTAMP + 1).to_string();
        assert_eq!(
            verify(
                &secret,
                headers(&later, SVIX_SIGNATURE),
                body,
                SVIX_TIMESTAMP
            ),
            Err(SignatureError::Invalid)
        );
        let other_secret = WebhookSecret::parse("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(
            verify(
                &other_secret,
                headers(&ts, SVIX_SIGNATURE),
                body,
                SVIX_TIMESTAMP
            ),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn timestamps_outside_five_minutes_either_way_are_refused() {
        let secret = WebhookSecret::parse(SVIX_SECRET).unwrap();
        let body = SVIX_BODY.as_bytes();
        let ts = SVIX_TIMESTAMP.to_string();
        for now in [SVIX_TIMESTAMP - 300, SVIX_TIMESTAMP + 300] {
            assert!(verify(&secret, headers(&ts, SVIX_SIGNATURE), body, now).is_ok());
        }
        for now in [SVIX_TIMESTAMP - 301, SVIX_TIMESTAMP + 301, 0, i64::MAX] {
            assert_eq!(
                verify(&secret, headers(&ts, SVIX_SIGNATURE), body, now),
                Err(SignatureError::Stale)
            );
        }
        for timestamp in [
            "",
            "-1",
            "1614265330.0",
            " 1614265330",
            "0x10",
            "9999999999999",
        ] {
            assert_eq!(
                verify(
                    &secret,
                    headers(timestamp, SVIX_SIGNATURE),
                    body,
                    SVIX_TIMESTAMP
                ),
                Err(SignatureError::Invalid),
                "{timestamp:?}"
            );
        }
    }

    #[test]
    fn secrets_are_parsed_strictly_and_never_shown() {
        for bad in [
            "",
            "set-me",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_",
            "whsec_!!!!",
            "whsec_c2hvcnQ=",
            "sk_live_abc",
        ] {
            assert!(WebhookSecret::parse(bad).is_err(), "{bad:?}");
        }
        let secret = WebhookSecret::parse(&format!(" {SVIX_SECRET}\n")).unwrap();
        let shown = format!("{secret:?}");
        assert!(!shown.contains("MfKQ"), "{shown}");
        // Unpadded base64 is accepted too.
        assert!(WebhookSecret::parse("whsec_AAAAAAAAAAAAAAAAAAAAAA").is_ok());
    }
}
