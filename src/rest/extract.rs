//! What handlers take from a request, each refusal an `ApiError`: the caller (the
//! bearer token), a JSON body, a query string. A body that is not JSON, is too
//! large, or does not fit the expected shape is refused with the place at fault.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderMap, StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;

use super::{
    dto::KnownKeys,
    error::{ApiError, rest_path},
};
use crate::{
    auth::{Principal, Refusal},
    domain::{Error, FieldPath},
};

/// The caller, verified from the request's headers before it was admitted.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        crate::admission::caller(&parts.extensions)
            .map(Caller)
            .map_err(ApiError::from)
    }
}

/// The answer to a call refused for its credentials: RFC 6750 names the
/// token's error only when one was presented; several are a bad header.
pub fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::NoToken => ApiError::from(Error::from(refusal)),
        Refusal::SeveralTokens => ApiError::invalid("Authorization", Error::from(refusal).to_string()),
        Refusal::BadToken(error) => ApiError::invalid_token(error),
    }
}

/// A JSON body of type `T`, with no key that `T` does not know.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + KnownKeys> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(request, state).await?;
        let body = parse_json(&bytes)?;
        known_keys(&body)?;
        Ok(Body(body))
    }
}

/// One JSON body read as two types, each ignoring the other's fields: a create
/// is the update body and the create-only fields. (With `#[serde(flatten)]`,
/// serde would lose the paths of wrongly typed fields.) A key neither knows is
/// refused.
pub struct Bodies<A, B>(pub A, pub B);

impl<S, A, B> FromRequest<S> for Bodies<A, B>
where
    S: Send + Sync,
    A: DeserializeOwned,
    B: DeserializeOwned,
    (A, B): KnownKeys,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = json_bytes(request, state).await?;
        let bodies = (parse_json(&bytes)?, parse_json(&bytes)?);
        known_keys(&bodies)?;
        Ok(Bodies(bodies.0, bodies.1))
    }
}

/// Refuses a body with keys it does not know, naming each.
pub fn known_keys(body: &impl KnownKeys) -> Result<(), ApiError> {
    let mut unknown = Vec::new();
    body.unknown_keys(&FieldPath::root(), &mut unknown);
    if unknown.is_empty() {
        return Ok(());
    }
    let fields = unknown.iter().map(rest_path).collect();
    Err(ApiError::invalid_fields(fields, "is not a field of this object"))
}

/// The bytes of a JSON body: refused unless its media type is JSON, or when it
/// is larger than the limit.
async fn json_bytes<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    if !is_json(request.headers()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "the body must be JSON, sent with Content-Type: application/json",
        ));
    }
    // The rejection's own text would show hyper's error (`hyper::Error(Body, …)`):
    // the caller is told what happened, in words of its own request.
    Bytes::from_request(request, state).await.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(status, "BODY_TOO_LARGE", "the body is larger than the server accepts")
        } else {
            tracing::debug!(error = %rejection.body_text(), "a request body could not be read");
            ApiError::new(
                status,
                "UNREADABLE_BODY",
                "the body could not be read: it was cut short or is not valid HTTP framing",
            )
        }
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence
            .rsplit_once('+')
            .is_some_and(|(kind, suffix)| kind.starts_with("application/") && suffix.eq_ignore_ascii_case("json"))
}

/// Parses JSON, naming the place of the first problem: its line and column, and
/// its JSON path when the JSON is well formed but of the wrong shape.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde reads a struct from a JSON array too; every body here is an object.
    if bytes.trim_ascii_start().starts_with(b"[") {
        return Err(ApiError::invalid("body", "must be a JSON object, not an array"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(refusal)?;
    deserializer.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

/// Reads an already parsed JSON value (a merge patch's body) as `T`, naming the
/// path of a value of the wrong type.
pub fn parse_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(refusal)
}

fn refusal(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if inner.is_data() {
        let field = if path == "." { "body".to_owned() } else { path };
        ApiError::invalid(field, inner.to_string())
    } else {
        malformed(&inner)
    }
}

fn malformed(error: &serde_json::Error) -> ApiError {
    ApiError::invalid("body", format!("is not well-formed JSON: {error}"))
}

/// A query string of type `T`; a parameter of the wrong type is named.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Query)
            .map_err(|error| {
                let field = error.path().to_string();
                let field = if field == "." { "query".to_owned() } else { field };
                ApiError::invalid(field, error.into_inner().to_string())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Shape {
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        count: u32,
    }

    fn refusal(json: &str) -> super::super::dto::ErrorBody {
        let error = parse_json::<Shape>(json.as_bytes()).unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        error.into_body()
    }

    #[test]
    fn wrong_types_are_named_by_path() {
        let body = refusal(r#"{"items": [{"count": 1}, {"count": "two"}]}"#);
        assert_eq!(body.violations[0].field, "items[1].count");
        assert!(body.violations[0].description.contains("line 1"), "{body:?}");
    }

    #[test]
    fn malformed_json_gives_its_position() {
        let body = refusal("{\"items\": [\n  {\"count\": 1,}]}");
        assert_eq!(body.violations[0].field, "body");
        assert!(body.violations[0].description.contains("line 2 column"), "{body:?}");
        assert_eq!(refusal(r#"{"items": []} trailing"#).violations[0].field, "body");
        assert_eq!(
            refusal(r#"[[]]"#).violations[0].description,
            "must be a JSON object, not an array"
        );
    }

    #[test]
    fn json_media_types() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("application/json; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
    }
}
