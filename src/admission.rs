//! What the server takes on before a call reaches either transport: at most so
//! many calls at once (the rest are refused at once, not queued), each for at
//! most so long. Health probes are exempt, so that an overloaded server is not
//! taken for a dead one.
//!
//! tower's `LoadShed` and `GlobalConcurrencyLimit` shed the same way, but
//! their refusal is an error value that tonic turns into a gRPC status for
//! every caller, REST included; here each refusal is answered in its caller's
//! own protocol, from the domain's error like every other answer.

use std::{
    future::Future,
    num::NonZeroUsize,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    http::{Request, Response},
    response::IntoResponse,
};
use tokio::sync::Semaphore;
use tower::{Layer, Service};

use crate::{domain::Error, grpc, rest::ApiError};

/// Calls served at once unless configured otherwise (`--max-concurrent-calls`).
pub(crate) const DEFAULT_MAX_CONCURRENT_CALLS: NonZeroUsize = NonZeroUsize::new(256).unwrap();
/// The longest a call may run unless configured otherwise (`--request-timeout`).
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long calls in flight at shutdown may go on finishing unless configured
/// otherwise (`--shutdown-grace`).
pub(crate) const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How much the server takes on, and how long it gives calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls served at once, gRPC and REST together; more are refused with
    /// UNAVAILABLE (REST: 503), reason OVERLOADED.
    pub max_concurrent_calls: usize,
    /// The longest a call may run before it is stopped with DEADLINE_EXCEEDED
    /// (REST: 504). A gRPC caller's shorter `grpc-timeout` applies as well.
    pub request_timeout: Duration,
    /// How long calls in flight at shutdown may go on finishing.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_concurrent_calls: DEFAULT_MAX_CONCURRENT_CALLS.get(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Paths that are answered whatever the load: the probes of an orchestrator.
const PROBES: [&str; 3] = ["/grpc.health.v1.Health/Check", "/healthz", "/readyz"];

#[derive(Clone)]
pub struct AdmissionLayer {
    permits: Arc<Semaphore>,
    timeout: Duration,
}

impl AdmissionLayer {
    pub fn new(limits: Limits) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limits.max_concurrent_calls)),
            timeout: limits.request_timeout,
        }
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Admission {
            inner,
            permits: self.permits.clone(),
            timeout: self.timeout,
        }
    }
}

#[derive(Clone)]
pub struct Admission<S> {
    inner: S,
    permits: Arc<Semaphore>,
    timeout: Duration,
}

impl<S, B> Service<Request<B>> for Admission<S>
where
    S: Service<Request<B>, Response = Response<tonic::body::Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if PROBES.contains(&request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        let grpc = grpc::is_grpc_call(request.headers());
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            return Box::pin(std::future::ready(Ok(refusal(grpc, Error::Overloaded))));
        };
        let call = self.inner.call(request);
        let limit = self.timeout;
        Box::pin(async move {
            let answer = tokio::time::timeout(limit, call).await;
            drop(permit);
            answer.unwrap_or_else(|_| {
                tracing::warn!(
                    limit_ms = limit.as_millis(),
                    "a call ran past the time limit and was stopped"
                );
                Ok(refusal(grpc, Error::TimedOut { limit }))
            })
        })
    }
}

/// `error` in the caller's protocol.
fn refusal(grpc: bool, error: Error) -> Response<tonic::body::Body> {
    if grpc {
        grpc::to_status(error).into_http()
    } else {
        ApiError::from(error).into_response().map(tonic::body::Body::new)
    }
}
