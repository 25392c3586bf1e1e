//! The one error type of every use case, and the collector of field violations.
//!
//! Transports map `Error` exhaustively to their own status codes; nothing here
//! knows about gRPC or HTTP.

use std::fmt;

use super::path::FieldPath;

/// One problem with one field of a request, `field` being its path inside the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: FieldPath,
    pub description: String,
}

/// Collects every violation of a request, so that all are reported at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<FieldPath>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Keeps the value of a fallible parse, recording its violation under `field`.
    pub fn check<T>(&mut self, field: impl Into<FieldPath>, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(description) => {
                self.add(field, description);
                None
            }
        }
    }

    /// Moves every violation of `other` here, with `prefix` before its path.
    pub fn absorb(&mut self, prefix: impl Into<FieldPath>, other: Violations) {
        let prefix = prefix.into();
        for violation in other.0 {
            self.add(violation.field.within(&prefix), violation.description);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The refusal carrying every recorded violation.
    pub fn into_error(self) -> Error {
        Error::InvalidArgument(self.0)
    }

    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.0
    }
}

/// How long a caller should wait before retrying a passing refusal (the
/// database unavailable, the server overloaded).
pub const RETRY_SHORTLY: std::time::Duration = std::time::Duration::from_secs(1);

/// What kind of thing was not found, for the message and the error reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Incident,
    InventoryLink,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::Incident => f.write_str("incident"),
            Resource::InventoryLink => f.write_str("inventory link"),
        }
    }
}

/// A condition a change waits for that the incident does not meet
/// (`google.rpc.PreconditionFailure`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precondition {
    /// What kind of condition: `NOTIFICATION_REQUIRED`.
    pub kind: &'static str,
    /// What it is about: `DEU/AUTHORITY`.
    pub subject: String,
    pub description: String,
}

/// Why a use case refused or failed. Messages are safe to show to callers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the request has {} invalid field(s)", .0.len())]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{resource} {id} not found")]
    NotFound { resource: Resource, id: String },
    #[error("{0}")]
    AlreadyExists(String),
    /// The caller's etag is not the incident's: someone else changed it first.
    #[error(
        "the incident has changed since the etag given was read: it is now at revision {current_revision}; \
         read it again and reapply the change"
    )]
    StaleEtag { current_revision: i64 },
    /// A write to a closed incident: it is read-only until it is reopened.
    #[error("incident {id} is closed: reopen it (UpdateIncidentStage) to change it")]
    Closed { id: uuid::Uuid },
    /// Closing while notifications the law requires have not been recorded.
    #[error(
        "the incident cannot be closed while {} required notification(s) are not recorded: record them, \
         or close with skipValidation and a justification",
        .0.len()
    )]
    ObligationsOpen(Vec<Precondition>),
    /// A request id sent again with a request that differs from its first one.
    #[error("requestId {}", super::request::REUSED)]
    RequestIdReused,
    #[error("{0}")]
    Unauthenticated(String),
    #[error("this call needs one of the scopes {}", .allowed.join(", "))]
    MissingScope { allowed: Vec<&'static str> },
    /// The caller's tenant has used up its rate of calls for now.
    #[error("this tenant is over its rate of calls; retry in {} ms", .retry_after.as_millis().max(1))]
    RateLimited { retry_after: std::time::Duration },
    /// The server is serving as many calls at once as it takes: refused at once
    /// rather than queued, before anything was done.
    #[error("the server is serving as many calls as it takes at once; retry shortly")]
    Overloaded,
    /// The caller's tenant already makes its share of the server's calls at
    /// once: refused at once, before anything was done, so that one tenant
    /// cannot take the server from the others.
    #[error("this tenant is already making {calls} calls at once, its share of the server; retry shortly")]
    TenantBusy { calls: usize },
    /// The request's body did not arrive in time; nothing was done.
    #[error("the request's body did not arrive within {} ms; nothing was done", .limit.as_millis())]
    BodyTimedOut { limit: std::time::Duration },
    /// Bytes that are not a request of the call's type (a gRPC message that
    /// does not decode); nothing was done.
    #[error("the request is malformed: {0}")]
    Malformed(String),
    /// The call ran past the server's time limit and was stopped. A write may
    /// have committed just before: a retry with the same request id is safe.
    #[error(
        "the call did not finish within its time limit of {} ms and was stopped; \
         a write may or may not have been applied: retry it with the same requestId",
        .limit.as_millis()
    )]
    TimedOut { limit: std::time::Duration },
    /// The server serves as many watches at once as it takes.
    #[error("the server is serving as many watches as it takes at once; retry shortly")]
    WatchesFull,
    /// The caller's tenant already has its share of the server's watches open.
    #[error("this tenant already has {watches} watches open, its share of the server; close one or retry later")]
    TenantWatchesBusy { watches: usize },
    /// A watch from a cursor whose next events are no longer kept.
    #[error(
        "the events after sequence {after} are no longer kept{}: read the incidents' current state, \
         then watch from the latest sequence (leave afterSequence out)",
        .oldest.map(|o| format!(" (the oldest kept is {o})")).unwrap_or_default()
    )]
    EventsExpired { after: i64, oldest: Option<i64> },
    /// A watch whose reader left the server's buffer for it full too long.
    #[error(
        "this watch's reader left the server's buffer for it full for {} s, so the watch was ended: \
         watch again from the last sequence received",
        .waited.as_secs_f64()
    )]
    WatchTooSlow { waited: std::time::Duration },
    /// The server is shutting down; the call can be made again on another replica.
    #[error("the server is shutting down; call again (a watch: from the last sequence it received)")]
    ShuttingDown,
    #[error("the database is unavailable or overloaded; retry later")]
    Unavailable,
    /// The cause is logged where it happens and never shown to callers.
    #[error("internal error")]
    Internal,
}

impl Error {
    /// The stable, UPPER_SNAKE reason every transport shows with this error
    /// (gRPC `ErrorInfo.reason`, the REST body's `reason`).
    pub fn reason(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "INVALID_ARGUMENT",
            Error::RequestIdReused => "REQUEST_ID_REUSED",
            Error::NotFound { resource, .. } => match resource {
                Resource::Incident => "INCIDENT_NOT_FOUND",
                Resource::InventoryLink => "INVENTORY_LINK_NOT_FOUND",
            },
            Error::AlreadyExists(_) => "ALREADY_EXISTS",
            Error::StaleEtag { .. } => "STALE_ETAG",
            Error::Closed { .. } => "INCIDENT_CLOSED",
            Error::ObligationsOpen(_) => "NOTIFICATIONS_REQUIRED",
            Error::Unauthenticated(_) => "INVALID_TOKEN",
            Error::MissingScope { .. } => "MISSING_SCOPE",
            Error::RateLimited { .. } => "RATE_LIMITED",
            Error::Overloaded => "OVERLOADED",
            Error::TenantBusy { .. } => "TOO_MANY_CONCURRENT_CALLS",
            Error::BodyTimedOut { .. } => "BODY_TIMEOUT",
            Error::Malformed(_) => "MALFORMED_REQUEST",
            Error::TimedOut { .. } => "DEADLINE_EXCEEDED",
            Error::WatchesFull => "TOO_MANY_WATCHES",
            Error::TenantWatchesBusy { .. } => "TOO_MANY_CONCURRENT_WATCHES",
            Error::EventsExpired { .. } => "EVENTS_EXPIRED",
            Error::WatchTooSlow { .. } => "WATCH_TOO_SLOW",
            Error::ShuttingDown => "SHUTTING_DOWN",
            Error::Unavailable => "DATABASE_UNAVAILABLE",
            Error::Internal => "INTERNAL",
        }
    }

    /// No incident `id` in the caller's tenant.
    pub fn incident_not_found(id: uuid::Uuid) -> Self {
        Error::NotFound {
            resource: Resource::Incident,
            id: id.to_string(),
        }
    }

    /// A request that is refused because of a single field.
    pub fn invalid(field: impl Into<FieldPath>, description: impl Into<String>) -> Self {
        let mut violations = Violations::new();
        violations.add(field, description);
        Error::InvalidArgument(violations.into_vec())
    }

    /// Prefixes the field paths of an `InvalidArgument` (e.g. with `incident`).
    pub fn within(self, prefix: impl Into<FieldPath>) -> Self {
        match self {
            Error::InvalidArgument(list) => {
                let mut violations = Violations::new();
                violations.absorb(prefix, Violations(list));
                Error::InvalidArgument(violations.into_vec())
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absorb_prefixes_paths() {
        let mut inner = Violations::new();
        inner.add("name", "required");
        inner.add("", "whole body");
        let mut outer = Violations::new();
        outer.absorb("incident", inner);
        let fields: Vec<_> = outer.into_vec().into_iter().map(|v| v.field.to_string()).collect();
        assert_eq!(fields, ["incident.name", "incident"]);
    }

    #[test]
    fn into_error_reports_every_violation() {
        let mut violations = Violations::new();
        violations.add("a", "x");
        violations.add("b", "y");
        match violations.into_error() {
            Error::InvalidArgument(list) => assert_eq!(list.len(), 2),
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }
}
