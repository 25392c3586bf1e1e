//! Domain errors as gRPC statuses, with `google.rpc.BadRequest` field violations
//! and a `google.rpc.ErrorInfo` (domain `incidentd`) on every one.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, PreconditionViolation, StatusExt};

use crate::domain::{Error, RETRY_SHORTLY};

const DOMAIN: &str = "incidentd";

pub fn to_status(error: Error) -> Status {
    let message = error.to_string();
    let reason = error.reason();
    let mut details = ErrorDetails::new();
    let mut metadata = HashMap::new();
    let (code, message) = match error {
        Error::InvalidArgument(violations) => {
            let listed: Vec<String> = violations
                .iter()
                .map(|v| format!("{}: {}", v.field, v.description))
                .collect();
            details.set_bad_request(
                violations
                    .into_iter()
                    .map(|v| FieldViolation::new(v.field.to_string(), v.description))
                    .collect::<Vec<_>>(),
            );
            (Code::InvalidArgument, format!("{message}: {}", listed.join("; ")))
        }
        Error::RequestIdReused => {
            details.set_bad_request(vec![FieldViolation::new("requestId", crate::domain::request::REUSED)]);
            (Code::InvalidArgument, message)
        }
        Error::NotFound { id, .. } => {
            metadata.insert("id".to_owned(), id);
            (Code::NotFound, message)
        }
        Error::AlreadyExists(_) => (Code::AlreadyExists, message),
        Error::StaleEtag { current_revision } => {
            metadata.insert("currentRevision".to_owned(), current_revision.to_string());
            (Code::Aborted, message)
        }
        Error::Closed { id } => {
            metadata.insert("id".to_owned(), id.to_string());
            (Code::FailedPrecondition, message)
        }
        Error::ObligationsOpen(open) => {
            details.set_precondition_failure(
                open.into_iter()
                    .map(|p| PreconditionViolation::new(p.kind, p.subject, p.description))
                    .collect::<Vec<_>>(),
            );
            (Code::FailedPrecondition, message)
        }
        Error::Unauthenticated(_) => (Code::Unauthenticated, message),
        Error::MissingScope { allowed } => {
            metadata.insert("allowedScopes".to_owned(), allowed.join(" "));
            (Code::PermissionDenied, message)
        }
        Error::RateLimited { retry_after } => {
            details.set_retry_info(Some(retry_after));
            (Code::ResourceExhausted, message)
        }
        Error::TimedOut { .. } | Error::BodyTimedOut { .. } => (Code::DeadlineExceeded, message),
        Error::Malformed(_) => (Code::InvalidArgument, message),
        Error::EventsExpired { after, oldest } => {
            metadata.insert("afterSequence".to_owned(), after.to_string());
            if let Some(oldest) = oldest {
                metadata.insert("oldestSequence".to_owned(), oldest.to_string());
            }
            (Code::FailedPrecondition, message)
        }
        Error::WatchTooSlow { .. } => (Code::ResourceExhausted, message),
        // A quota of the caller's own: RESOURCE_EXHAUSTED, as for its rate.
        Error::TenantBusy { .. } | Error::TenantWatchesBusy { .. } => {
            details.set_retry_info(Some(RETRY_SHORTLY));
            (Code::ResourceExhausted, message)
        }
        // Nothing was done: safe to retry, as retry policies do for UNAVAILABLE.
        Error::Overloaded | Error::WatchesFull | Error::ShuttingDown | Error::Unavailable => {
            details.set_retry_info(Some(RETRY_SHORTLY));
            (Code::Unavailable, message)
        }
        Error::Internal => (Code::Internal, message),
    };
    details.set_error_info(reason, DOMAIN, metadata);
    Status::with_error_details(code, message, details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_travel_as_bad_request_details() {
        let status = to_status(Error::invalid("incident.name", "must not be blank"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("incident.name: must not be blank"));
        let details = status.get_error_details();
        let violations = &details.bad_request().unwrap().field_violations;
        assert_eq!(violations[0].field, "incident.name");
        assert_eq!(details.error_info().unwrap().domain, "incidentd");
    }

    #[test]
    fn missing_scope_names_the_allowed_scopes() {
        let status = to_status(Error::MissingScope {
            allowed: vec!["INCIDENT"],
        });
        assert_eq!(status.code(), Code::PermissionDenied);
        assert!(status.message().contains("INCIDENT"));
        assert_eq!(status.get_error_details().error_info().unwrap().reason, "MISSING_SCOPE");
    }
}
