//! Domain errors as HTTP answers: the status the original API gives, headers
//! where HTTP asks for them (`WWW-Authenticate`, `Retry-After`), and a JSON body
//! naming every field at fault. Causes of 500s stay in the log.

use axum::{
    Json,
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::dto::{ErrorBody, PreconditionFailure, Violation};
use crate::domain::{Error, FieldPath, FieldViolation, RETRY_SHORTLY, Segment, request::REUSED};

/// The realm named in `WWW-Authenticate`.
const REALM: &str = "incidentd";

/// An error answer, ready to send.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    /// Boxed: errors travel in `Result`s, which stay small.
    body: Box<ErrorBody>,
    headers: Vec<(HeaderName, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, reason: &str, error: impl Into<String>) -> Self {
        Self {
            status,
            body: Box::new(ErrorBody {
                error: error.into(),
                reason: reason.to_owned(),
                violations: Vec::new(),
                preconditions: Vec::new(),
            }),
            headers: Vec::new(),
        }
    }

    /// A 400 for one field: a parameter, a header or a place in the body, as
    /// the REST request names it.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::invalid_fields(vec![field.into()], description)
    }

    /// A 400 for several fields with the same fault.
    pub fn invalid_fields(fields: Vec<String>, description: impl Into<String>) -> Self {
        let description = description.into();
        let message = format!("the request has {} invalid field(s)", fields.len());
        let mut answer = Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message);
        answer.body.violations = fields
            .into_iter()
            .map(|field| Violation {
                field,
                description: description.clone(),
            })
            .collect();
        answer
    }

    /// The answer to a domain error, with each violation's path named by `path`
    /// as the REST request names it.
    pub fn from_domain(error: Error, path: impl Fn(&FieldPath) -> String) -> Self {
        let message = error.to_string();
        let reason = error.reason();
        match error {
            Error::InvalidArgument(violations) => {
                let mut answer = Self::new(StatusCode::BAD_REQUEST, reason, message);
                answer.body.violations = violations
                    .into_iter()
                    .map(|FieldViolation { field, description }| Violation {
                        field: path(&field),
                        description,
                    })
                    .collect();
                answer
            }
            Error::RequestIdReused => {
                let mut answer = Self::new(StatusCode::UNPROCESSABLE_ENTITY, reason, message);
                answer.body.violations = vec![Violation {
                    field: path(&FieldPath::from("requestId")),
                    description: REUSED.to_owned(),
                }];
                answer
            }
            Error::NotFound { .. } => Self::new(StatusCode::NOT_FOUND, reason, message),
            Error::AlreadyExists(_) => Self::new(StatusCode::CONFLICT, reason, message),
            Error::StaleEtag { .. } => Self::new(StatusCode::PRECONDITION_FAILED, reason, message),
            Error::Closed { .. } => Self::new(StatusCode::CONFLICT, reason, message),
            Error::ObligationsOpen(open) => {
                let mut answer = Self::new(StatusCode::CONFLICT, reason, message);
                answer.body.preconditions = open
                    .into_iter()
                    .map(|p| PreconditionFailure {
                        kind: p.kind.to_owned(),
                        subject: p.subject,
                        description: p.description,
                    })
                    .collect();
                answer
            }
            Error::Unauthenticated(_) => Self::new(StatusCode::UNAUTHORIZED, reason, message)
                .with_header(header::WWW_AUTHENTICATE, format!("Bearer realm=\"{REALM}\"")),
            Error::MissingScope { allowed } => Self::new(StatusCode::FORBIDDEN, reason, message).with_header(
                header::WWW_AUTHENTICATE,
                format!(
                    "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{}\"",
                    allowed.join(" ")
                ),
            ),
            Error::RateLimited { retry_after } => Self::new(StatusCode::TOO_MANY_REQUESTS, reason, message)
                .with_header(header::RETRY_AFTER, retry_after_seconds(retry_after).to_string()),
            Error::EventsExpired { .. } => Self::new(StatusCode::CONFLICT, reason, message),
            Error::WatchTooSlow { .. } => Self::new(StatusCode::TOO_MANY_REQUESTS, reason, message),
            Error::Overloaded | Error::WatchesFull | Error::ShuttingDown | Error::Unavailable => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, reason, message)
                    .with_header(header::RETRY_AFTER, retry_after_seconds(RETRY_SHORTLY).to_string())
            }
            Error::TenantBusy { .. } | Error::TenantWatchesBusy { .. } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, reason, message)
                    .with_header(header::RETRY_AFTER, retry_after_seconds(RETRY_SHORTLY).to_string())
            }
            Error::TimedOut { .. } => Self::new(StatusCode::GATEWAY_TIMEOUT, reason, message),
            Error::BodyTimedOut { .. } => Self::new(StatusCode::REQUEST_TIMEOUT, reason, message),
            Error::Malformed(_) => Self::new(StatusCode::BAD_REQUEST, reason, message),
            Error::Internal => Self::new(StatusCode::INTERNAL_SERVER_ERROR, reason, message),
        }
    }

    /// The answer to a token that was presented and refused: RFC 6750 names the
    /// error only then.
    pub fn invalid_token(error: Error) -> Self {
        Self::from(error).with_header(
            header::WWW_AUTHENTICATE,
            format!("Bearer realm=\"{REALM}\", error=\"invalid_token\""),
        )
    }

    /// Sets `name` (replacing a value set before).
    pub fn with_header(mut self, name: HeaderName, value: String) -> Self {
        self.headers.retain(|(set, _)| *set != name);
        self.headers.push((name, value));
        self
    }

    #[cfg(test)]
    pub fn status(&self) -> StatusCode {
        self.status
    }

    #[cfg(test)]
    pub fn into_body(self) -> ErrorBody {
        *self.body
    }
}

/// `Retry-After` counts whole seconds: the wait rounded up, at least one.
fn retry_after_seconds(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// Domain errors whose paths need no translation but their syntax: those of
/// parameters and of bodies that are the same in both transports.
impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        Self::from_domain(error, rest_path)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    }
}

/// A path as a REST body names it, in the syntax serde reports type errors in
/// (`attributeValues.Ticket[0].id`): map keys after a dot, and an attribute's
/// values are the map's value itself, with no wrapper.
pub fn rest_path(path: &FieldPath) -> String {
    let mut written = String::new();
    for segment in path.segments() {
        match segment {
            Segment::Field(name) | Segment::Key(name) => {
                if !written.is_empty() {
                    written.push('.');
                }
                written.push_str(name);
            }
            Segment::Index(index) => written.push_str(&format!("[{index}]")),
            Segment::Values => {}
        }
    }
    written
}

/// Paths of the incident body: the gRPC request nests it under `incident`, the
/// REST request is the body itself; the request id comes from a header.
pub fn body_path(field: &FieldPath) -> String {
    match field.strip_field("incident") {
        Some(inner) if inner.is_root() => "body".to_owned(),
        Some(inner) => rest_path(&inner),
        None if *field == FieldPath::from("requestId") => super::IDEMPOTENCY_KEY.to_owned(),
        None => rest_path(field),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_paths_lose_the_grpc_envelope() {
        let path = |written: &str| body_path(&FieldPath::from(written));
        assert_eq!(
            path("incident.jurisdictions[0].countryCode"),
            "jurisdictions[0].countryCode"
        );
        assert_eq!(path("incidentId"), "incidentId");
        assert_eq!(path("incident"), "body");
        assert_eq!(path("requestId"), "Idempotency-Key");
    }

    #[test]
    fn attribute_value_paths_are_those_of_the_rest_body() {
        let value = FieldPath::from("incident")
            .field("attributeValues")
            .key("Data Category")
            .values()
            .index(0)
            .field("id");
        assert_eq!(body_path(&value), "attributeValues.Data Category[0].id");
        let list = FieldPath::root().field("attributeValues").key("Ticket").values();
        assert_eq!(rest_path(&list), "attributeValues.Ticket");
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        use std::time::Duration;
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_seconds(Duration::from_millis(2001)), 3);
    }

    #[test]
    fn errors_get_their_status() {
        let cases = [
            (Error::invalid("name", "is required"), StatusCode::BAD_REQUEST),
            (
                Error::StaleEtag { current_revision: 2 },
                StatusCode::PRECONDITION_FAILED,
            ),
            (
                Error::MissingScope {
                    allowed: vec!["INCIDENT"],
                },
                StatusCode::FORBIDDEN,
            ),
            (Error::Unavailable, StatusCode::SERVICE_UNAVAILABLE),
            (Error::Overloaded, StatusCode::SERVICE_UNAVAILABLE),
            (Error::TenantBusy { calls: 4 }, StatusCode::TOO_MANY_REQUESTS),
            (
                Error::BodyTimedOut {
                    limit: std::time::Duration::from_secs(5),
                },
                StatusCode::REQUEST_TIMEOUT,
            ),
            (Error::Malformed("bad".into()), StatusCode::BAD_REQUEST),
            (
                Error::TimedOut {
                    limit: std::time::Duration::from_secs(1),
                },
                StatusCode::GATEWAY_TIMEOUT,
            ),
            (
                Error::RateLimited {
                    retry_after: std::time::Duration::from_millis(1500),
                },
                StatusCode::TOO_MANY_REQUESTS,
            ),
            (Error::Internal, StatusCode::INTERNAL_SERVER_ERROR),
        ];
        for (error, status) in cases {
            assert_eq!(ApiError::from(error).status(), status);
        }
    }
}
