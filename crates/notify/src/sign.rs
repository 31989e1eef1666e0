//! The three signatures the channels check, each exactly as its service computes it: Standard
//! Webhooks v1, DingTalk's 加签 and Feishu's 校验签名. The sandbox's fakes check them with code
//! of their own, written from each service's documentation, and both sides are tested against
//! the published vectors, so a mistake here cannot hide behind the same mistake there.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Why a webhook secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("a webhook secret is `whsec_` followed by 24 to 64 bytes in base64")]
    Malformed,
}

/// The key bytes of a Standard Webhooks secret (`whsec_` + base64; the prefix is optional).
pub fn webhook_key(secret: &str) -> Result<Vec<u8>, SecretError> {
    let text = secret.trim();
    let text = text.strip_prefix("whsec_").unwrap_or(text);
    let key = STANDARD.decode(text).map_err(|_| SecretError::Malformed)?;
    if (24..=64).contains(&key.len()) {
        Ok(key)
    } else {
        Err(SecretError::Malformed)
    }
}

/// A new random webhook secret, as shown to the seller once.
pub fn new_webhook_secret() -> String {
    let mut key = [0u8; 32];
    // The operating system's generator failing is not something to carry on from.
    getrandom::fill(&mut key).unwrap_or_else(|e| panic!("no randomness available: {e}"));
    format!("whsec_{}", STANDARD.encode(key))
}

/// The `webhook-signature` header value: `v1,` + base64(HMAC-SHA256(key, id.timestamp.body)).
pub fn webhook_signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    format!("v1,{}", STANDARD.encode(hmac(key, &message)))
}

/// Whether any `v1,` entry of a `webhook-signature` header matches, compared in constant time.
pub fn webhook_verify(key: &[u8], id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    header.split(' ').any(|entry| {
        let Some(sig) = entry.strip_prefix("v1,") else {
            return false;
        };
        let Ok(sig) = STANDARD.decode(sig) else {
            return false;
        };
        let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(key) else {
            return false;
        };
        mac.update(&message);
        mac.verify_slice(&sig).is_ok()
    })
}

/// DingTalk's `sign` before URL encoding: base64(HMAC-SHA256(key = secret,
/// message = timestamp_ms + "\n" + secret)). Hand it to a query builder, which encodes it
/// once; encoding it twice is the classic 310000 "sign not match".
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let message = format!("{timestamp_ms}\n{secret}");
    STANDARD.encode(hmac(secret.as_bytes(), message.as_bytes()))
}

/// Feishu's `sign`: base64(HMAC-SHA256(key = timestamp_s + "\n" + secret, message = "")) —
/// the string to sign is the key and the message is empty, unlike DingTalk.
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    STANDARD.encode(hmac(key.as_bytes(), b""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_signatures_match_the_published_vectors() {
        let key = webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let sig = webhook_signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let key = webhook_key("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let sig = webhook_signature(&key, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1_649_367_553, body);
        assert_eq!(sig, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
        let header = format!("v1,bm90IGl0 {sig}");
        assert!(webhook_verify(
            &key,
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            body,
            &header
        ));
        assert!(!webhook_verify(
            &key,
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_554,
            body,
            &header
        ));
    }

    #[test]
    fn webhook_secrets_are_refused_when_empty_or_short_and_new_ones_parse() {
        assert_eq!(webhook_key("whsec_"), Err(SecretError::Malformed));
        assert_eq!(webhook_key("whsec_c2hvcnQ="), Err(SecretError::Malformed));
        assert_eq!(webhook_key(&new_webhook_secret()).unwrap().len(), 32);
    }

    #[test]
    fn dingtalk_signatures_match_the_published_vector() {
        assert_eq!(
            dingtalk_sign("this is a secret", 1_601_187_240_000),
            "7gmCSzcAc2XzfB14K9+cRSM1hqBng7kT+N5k61qXXz0="
        );
    }

    #[test]
    fn feishu_signatures_match_the_published_vectors() {
        assert_eq!(
            feishu_sign("demo", 100),
            "jquNHnVOwmDRfw+vqTIrY5dooJAgi5EcRtLsQE4wfXg="
        );
        assert_eq!(
            feishu_sign("demo", 1_599_360_473),
            "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="
        );
        assert_eq!(
            feishu_sign("qlf8UXrJc7RYtJLx77jRVh", 1_763_023_432),
            "QHEIo55ZRHLWyEuYuZ+7Z1wXzNWOcameWshNHBMetrM="
        );
    }
}
