//! Page tokens that callers cannot forge: what a token carries travels in the
//! clear, sealed with an HMAC-SHA256 under a key of the service and bound to
//! the tenant and to what it pages (a search, an incident's history). An edited
//! or made-up token does not open.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

/// Bytes of the tag a token carries.
const TAG_BYTES: usize = 16;

/// Seals and opens the page tokens of one tenant.
#[derive(Clone)]
pub struct PageTokens {
    key: std::sync::Arc<[u8]>,
    tenant_id: Uuid,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageTokens")
            .field("tenant_id", &self.tenant_id)
            .finish()
    }
}

impl PageTokens {
    pub fn new(key: std::sync::Arc<[u8]>, tenant_id: Uuid) -> Self {
        Self { key, tenant_id }
    }

    /// `payload`, readable and sealed for `purpose` (`search`, `revisions`).
    pub fn seal(&self, purpose: &str, payload: &[u8]) -> String {
        format!("{}.{}", hex::encode(payload), hex::encode(self.tag(purpose, payload)))
    }

    /// The payload of a token sealed here for `purpose` and this tenant.
    pub fn open(&self, purpose: &str, token: &str) -> Option<Vec<u8>> {
        let (payload, tag) = token.split_once('.')?;
        let payload = hex::decode(payload).ok()?;
        let tag = hex::decode(tag).ok().filter(|tag| tag.len() == TAG_BYTES)?;
        // Compares in constant time.
        self.mac(purpose, &payload).verify_truncated_left(&tag).ok()?;
        Some(payload)
    }

    fn tag(&self, purpose: &str, payload: &[u8]) -> Vec<u8> {
        self.mac(purpose, payload).finalize().into_bytes()[..TAG_BYTES].to_vec()
    }

    fn mac(&self, purpose: &str, payload: &[u8]) -> Hmac<Sha256> {
        // Cannot fail: HMAC takes keys of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(self.tenant_id.as_bytes());
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(payload);
        mac
    }
}

#[cfg(test)]
pub fn for_tests(tenant_id: Uuid) -> PageTokens {
    PageTokens::new(
        std::sync::Arc::from(&b"a key of the tests, 32 bytes long"[..]),
        tenant_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_only_unchanged_for_its_tenant_and_purpose() {
        let tenant = Uuid::now_v7();
        let tokens = for_tests(tenant);
        let token = tokens.seal("search", b"{\"page\":1}");
        assert_eq!(tokens.open("search", &token).as_deref(), Some(&b"{\"page\":1}"[..]));
        assert_eq!(tokens.open("revisions", &token), None, "another purpose");
        assert_eq!(for_tests(Uuid::now_v7()).open("search", &token), None, "another tenant");
        let (_, tag) = token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", hex::encode(b"{\"page\":9}"));
        assert_eq!(tokens.open("search", &forged), None, "an edited payload");
        assert_eq!(tokens.open("search", &token[..token.len() - 2]), None, "a cut tag");
        assert_eq!(tokens.open("search", "zz.zz"), None);
    }
}
