//! Bearer tokens: verifying them into a `Principal`, minting them for `incidentd
//! token`, and the scope rules every use case checks.

use std::{fs, path::Path, time::Duration};

use axum::http::{HeaderMap, header::AUTHORIZATION};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{Error, text::Name};

/// The scopes of the original API, plus `INCIDENT_ADMIN` for reference data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Incident,
    IncidentRead,
    IncidentCreate,
    IncidentAdmin,
}

impl Scope {
    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Incident => "INCIDENT",
            Scope::IncidentRead => "INCIDENT_READ",
            Scope::IncidentCreate => "INCIDENT_CREATE",
            Scope::IncidentAdmin => "INCIDENT_ADMIN",
        }
    }

    /// Exact, case-sensitive match: `INCIDENT_READX` or `incident` grant nothing.
    pub fn parse(raw: &str) -> Option<Self> {
        [
            Scope::Incident,
            Scope::IncidentRead,
            Scope::IncidentCreate,
            Scope::IncidentAdmin,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }
}

/// Scopes that allow each kind of call.
pub mod allow {
    use super::Scope::{self, *};
    pub const CREATE_INCIDENT: &[Scope] = &[IncidentCreate, Incident];
    pub const READ_INCIDENT: &[Scope] = &[IncidentRead, Incident];
    pub const UPDATE_INCIDENT: &[Scope] = &[Incident];
    pub const WRITE_REFERENCE: &[Scope] = &[IncidentAdmin];
    pub const READ_REFERENCE: &[Scope] = &[Incident, IncidentRead, IncidentCreate, IncidentAdmin];
}

/// Who is calling: the verified claims of the bearer token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant_id: Uuid,
    /// The token's `sub`: the actor, recorded as `createdBy`.
    pub subject: Uuid,
    /// The token's `name`, recorded as `creator`.
    pub name: Option<String>,
    pub scopes: Vec<Scope>,
}

impl Principal {
    /// Refuses the call unless the principal holds one of `allowed`.
    pub fn require(&self, allowed: &[Scope]) -> Result<(), Error> {
        if allowed.iter().any(|s| self.scopes.contains(s)) {
            Ok(())
        } else {
            Err(Error::MissingScope {
                allowed: allowed.iter().map(|s| s.as_str()).collect(),
            })
        }
    }

    /// The display name recorded as `creator`: the token's `name`, else its `sub`.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.subject.to_string())
    }
}

/// The claims incidentd reads from a verified token. `iss`, `aud` (a string or a
/// list), `exp` and `nbf` are checked by jsonwebtoken from the raw claims.
#[derive(Debug, Deserialize)]
struct Received {
    sub: String,
    tenant_id: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    name: Option<String>,
}

/// The claims of a token incidentd mints (`incidentd token`, the demo token, tests).
#[derive(Debug, Clone, Serialize)]
pub struct Claims {
    pub sub: String,
    pub tenant_id: String,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// How tokens are verified: one key, one family of algorithms, optional iss/aud.
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

/// Where the verification key comes from.
pub enum KeySource<'a> {
    Hs256Secret(&'a [u8]),
    PublicKeyPem(&'a Path),
}

impl Verifier {
    pub fn new(source: KeySource<'_>, issuer: Option<&str>, audience: Option<&str>) -> anyhow::Result<Self> {
        let (key, algorithm) = match source {
            KeySource::Hs256Secret(secret) => {
                anyhow::ensure!(secret.len() >= 32, "the HS256 secret must be at least 32 bytes");
                (DecodingKey::from_secret(secret), Algorithm::HS256)
            }
            KeySource::PublicKeyPem(path) => {
                let pem = fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
                match DecodingKey::from_rsa_pem(&pem) {
                    Ok(key) => (key, Algorithm::RS256),
                    Err(_) => (
                        DecodingKey::from_ec_pem(&pem).map_err(|e| {
                            anyhow::anyhow!("{} is neither an RSA nor a P-256 public key: {e}", path.display())
                        })?,
                        Algorithm::ES256,
                    ),
                }
            }
        };
        // Exactly one algorithm: `none`, and HS/RS confusion, are refused by construction.
        let mut validation = Validation::new(algorithm);
        validation.validate_nbf = true;
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "sub"]);
        if let Some(issuer) = issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".into());
        }
        match audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                validation.required_spec_claims.insert("aud".into());
            }
            None => validation.validate_aud = false,
        }
        Ok(Self { key, validation })
    }

    /// The caller of a request, from its one `authorization` header (gRPC
    /// metadata is headers too): `Bearer <jwt>`, the scheme case-insensitive
    /// (RFC 7235). Only the headers are read, so a refused call costs nothing.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, Refusal> {
        let mut values = headers.get_all(AUTHORIZATION).iter();
        let value = match (values.next(), values.next()) {
            (None, _) => return Err(Refusal::NoToken),
            (Some(_), Some(_)) => return Err(Refusal::SeveralTokens),
            (Some(value), None) => value,
        };
        let presented = |why: &str| Refusal::BadToken(unauthenticated(why));
        let value = value
            .to_str()
            .map_err(|_| presented("the authorization metadata must be `Bearer <token>`"))?;
        match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                self.verify(token.trim()).map_err(Refusal::BadToken)
            }
            _ => Err(presented("the authorization metadata must be `Bearer <token>`")),
        }
    }

    pub fn verify(&self, token: &str) -> Result<Principal, Error> {
        refuse_critical_extensions(token)?;
        let data = jsonwebtoken::decode::<Received>(token, &self.key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind::*;
            let why = match e.kind() {
                ExpiredSignature => "the token has expired",
                ImmatureSignature => "the token is not valid yet",
                InvalidIssuer => "the token has the wrong issuer",
                InvalidAudience => "the token has the wrong audience",
                InvalidAlgorithm => "the token is signed with an algorithm this server does not accept",
                InvalidSignature => "the token signature does not verify",
                MissingRequiredClaim(_) => "the token lacks a required claim (exp, sub, iss or aud)",
                _ => "the token is malformed",
            };
            unauthenticated(why)
        })?;
        let claims = data.claims;
        let tenant_id =
            Uuid::try_parse(&claims.tenant_id).map_err(|_| unauthenticated("the token's tenant_id must be a UUID"))?;
        let subject = Uuid::try_parse(&claims.sub).map_err(|_| unauthenticated("the token's sub must be a UUID"))?;
        // The name becomes `creator`, so it follows the rules of every stored name.
        let name = match claims.name.filter(|n| !n.is_empty()) {
            None => None,
            Some(raw) => Some(Name::parse(raw).map_err(|e| Error::Unauthenticated(format!("the token's name {e}")))?),
        };
        Ok(Principal {
            tenant_id,
            subject,
            name: name.map(Name::into_inner),
            scopes: claims.scope.split(' ').filter_map(Scope::parse).collect(),
        })
    }
}

/// RFC 7515 §4.1.11: a token whose header lists extensions in `crit` must be
/// refused unless each is understood, and this server understands none. (A
/// header that does not decode is left to the verification, which refuses it.)
fn refuse_critical_extensions(token: &str) -> Result<(), Error> {
    use base64::Engine;
    let header = token.split('.').next().unwrap_or_default();
    let Ok(json) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header) else {
        return Ok(());
    };
    match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&json) {
        Ok(fields) if fields.contains_key("crit") => Err(unauthenticated(
            "the token's header lists critical extensions (crit), which this server does not understand",
        )),
        _ => Ok(()),
    }
}

/// Why a call was refused before it was admitted: each transport answers the
/// three differently (REST names the header at fault, or the token).
#[derive(Debug)]
pub enum Refusal {
    NoToken,
    /// Several `authorization` values: refused rather than served by the first.
    SeveralTokens,
    /// A token was presented and does not verify.
    BadToken(Error),
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NoToken => unauthenticated("missing bearer token in the authorization metadata"),
            Refusal::SeveralTokens => unauthenticated("send one authorization header, not several"),
            Refusal::BadToken(error) => error,
        }
    }
}

fn unauthenticated(why: &str) -> Error {
    Error::Unauthenticated(why.to_owned())
}

/// Signs tokens: for `incidentd token`, the demo token and tests.
pub struct Signer {
    key: EncodingKey,
    algorithm: Algorithm,
    /// Stamped on tokens that name none, as the server requires them.
    issuer: Option<String>,
    audience: Option<String>,
}

impl Signer {
    fn new(key: EncodingKey, algorithm: Algorithm) -> Self {
        Self {
            key,
            algorithm,
            issuer: None,
            audience: None,
        }
    }

    pub fn hs256(secret: &[u8]) -> Self {
        Self::new(EncodingKey::from_secret(secret), Algorithm::HS256)
    }

    /// An RS256 or ES256 signer from a PEM private key.
    pub fn from_private_pem(pem: &[u8]) -> anyhow::Result<Self> {
        if let Ok(key) = EncodingKey::from_rsa_pem(pem) {
            return Ok(Self::new(key, Algorithm::RS256));
        }
        let key = EncodingKey::from_ec_pem(pem).map_err(|e| anyhow::anyhow!("not an RSA or P-256 private key: {e}"))?;
        Ok(Self::new(key, Algorithm::ES256))
    }

    /// Signs with the `iss` and `aud` the server requires.
    pub fn for_server(self, issuer: Option<String>, audience: Option<String>) -> Self {
        Self {
            issuer,
            audience,
            ..self
        }
    }

    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        let stamped = Claims {
            iss: claims.iss.clone().or_else(|| self.issuer.clone()),
            aud: claims.aud.clone().or_else(|| self.audience.clone()),
            ..claims.clone()
        };
        Ok(jsonwebtoken::encode(&Header::new(self.algorithm), &stamped, &self.key)?)
    }
}

/// The claims of a new token valid for `ttl` from now.
pub fn claims_for(tenant_id: Uuid, subject: Uuid, scope: &str, name: Option<String>, ttl: Duration) -> Claims {
    let now = jsonwebtoken::get_current_timestamp();
    Claims {
        sub: subject.to_string(),
        tenant_id: tenant_id.to_string(),
        scope: scope.to_owned(),
        name,
        exp: now + ttl.as_secs(),
        nbf: None,
        iat: Some(now),
        iss: None,
        aud: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn token(scope: &str, ttl: Duration) -> String {
        let claims = claims_for(Uuid::now_v7(), Uuid::now_v7(), scope, None, ttl);
        Signer::hs256(SECRET).sign(&claims).unwrap()
    }

    fn verifier() -> Verifier {
        Verifier::new(KeySource::Hs256Secret(SECRET), None, None).unwrap()
    }

    #[test]
    fn scopes_match_exactly() {
        let principal = verifier()
            .verify(&token(
                "INCIDENT_READX incident,INCIDENT INCIDENT_READ",
                Duration::from_secs(60),
            ))
            .unwrap();
        assert_eq!(principal.scopes, [Scope::IncidentRead]);
        assert!(principal.require(allow::UPDATE_INCIDENT).is_err());
        assert!(principal.require(allow::READ_INCIDENT).is_ok());
    }

    #[test]
    fn unsigned_tokens_are_refused() {
        let signed = token("INCIDENT", Duration::from_secs(60));
        let payload = signed.split('.').nth(1).unwrap();
        // {"alg":"none","typ":"JWT"}
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(matches!(verifier().verify(&unsigned), Err(Error::Unauthenticated(_))));
    }

    #[test]
    fn an_audience_list_is_accepted_and_checked() {
        #[derive(Serialize)]
        struct WithAudiences {
            #[serde(flatten)]
            claims: Claims,
            aud: Vec<&'static str>,
        }
        let claims = claims_for(
            Uuid::now_v7(),
            Uuid::now_v7(),
            "INCIDENT",
            None,
            Duration::from_secs(60),
        );
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &WithAudiences {
                claims,
                aud: vec!["other", "incidentd"],
            },
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(verifier().verify(&token).is_ok(), "no audience configured");
        let strict = Verifier::new(KeySource::Hs256Secret(SECRET), None, Some("incidentd")).unwrap();
        assert!(strict.verify(&token).is_ok());
        let elsewhere = Verifier::new(KeySource::Hs256Secret(SECRET), None, Some("billing")).unwrap();
        assert!(elsewhere.verify(&token).is_err());
    }

    #[test]
    fn an_overlong_name_is_refused() {
        let claims = claims_for(
            Uuid::now_v7(),
            Uuid::now_v7(),
            "INCIDENT",
            Some("n".repeat(256)),
            Duration::from_secs(60),
        );
        let token = Signer::hs256(SECRET).sign(&claims).unwrap();
        assert!(matches!(verifier().verify(&token), Err(Error::Unauthenticated(_))));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Verifier::new(KeySource::Hs256Secret(b"short"), None, None).is_err());
    }
}
