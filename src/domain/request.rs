//! Idempotent retries: a caller names a create or an update with a request id,
//! and a retry of the same request within a day gets the first answer again
//! instead of applying it twice.

use chrono::TimeDelta;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{error::Violations, text::parse_uuid};

/// How long a request id is remembered.
pub const REQUEST_ID_TTL: TimeDelta = TimeDelta::hours(24);

/// A request id with the fingerprint of the request it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    pub id: Uuid,
    /// SHA-256 of the request without its id, hex: a retry must match it.
    pub fingerprint: String,
}

impl RequestKey {
    /// The key of a request, if it has an id (empty: none). `request` is every
    /// other part of the request, in a form whose JSON is the same whenever the
    /// request means the same.
    pub fn parse(v: &mut Violations, request_id: &str, request: &impl serde::Serialize) -> Option<Self> {
        if request_id.is_empty() {
            return None;
        }
        let id = v.check("requestId", parse_uuid(request_id))?;
        let json = serde_json::to_vec(request).unwrap_or_default();
        Some(Self {
            id,
            fingerprint: hex::encode(Sha256::digest(&json)),
        })
    }
}

/// The description of a request id used again for another request.
pub const REUSED: &str =
    "was already used in the last 24 hours for a different request; a new request needs a new requestId";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_request_has_the_same_fingerprint() {
        let id = Uuid::new_v4().to_string();
        let mut v = Violations::new();
        let a = RequestKey::parse(&mut v, &id, &("update", "x", 1));
        let b = RequestKey::parse(&mut v, &id, &("update", "x", 1));
        let c = RequestKey::parse(&mut v, &id, &("update", "x", 2));
        assert_eq!(a, b);
        assert_ne!(a.map(|k| k.fingerprint), c.map(|k| k.fingerprint));
        assert!(v.is_empty());
    }

    #[test]
    fn no_id_is_no_key_and_a_bad_id_is_named() {
        let mut v = Violations::new();
        assert_eq!(RequestKey::parse(&mut v, "", &()), None);
        assert_eq!(RequestKey::parse(&mut v, "42", &()), None);
        let fields: Vec<_> = v.into_vec().into_iter().map(|v| v.field.to_string()).collect();
        assert_eq!(fields, ["requestId"]);
    }
}
