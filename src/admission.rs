//! What the server takes on before a call reaches either transport, in order:
//!
//! 1. the caller, verified from the headers alone, so that a call without a
//!    valid token is refused before it takes a slot or its body is read;
//! 2. a slot: at most so many calls at once, and at most a share of them for
//!    one tenant (the rest are refused at once, not queued);
//! 3. limits in time: the body must arrive within the body timeout (unless
//!    the answer has begun, as a stream's does), and the answer must begin
//!    within the request timeout (or the caller's shorter `grpc-timeout`).
//!
//! A slot is held until the answer has been handed on, so callers that do not
//! read what they asked for use up their own tenant's share, not the server.
//! Health probes take no slot, so that an overloaded server is not taken for a
//! dead one; the services that need no token (reflection, the OpenAPI
//! document) share one tenant's worth of slots.
//!
//! tower's `LoadShed` and `GlobalConcurrencyLimit` shed the same way, but
//! their refusal is an error value that tonic turns into a gRPC status for
//! every caller, REST included; here each refusal is answered in its caller's
//! own protocol, from the domain's error like every other answer.

use std::{
    collections::HashMap,
    future::Future,
    num::NonZeroUsize,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    http::{Extensions, HeaderMap, Request, Response},
    response::IntoResponse,
};
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::oneshot;
use tonic::body::Body;
use tower::{Layer, Service};
use tracing::Instrument;
use uuid::Uuid;

use crate::{
    auth::{Principal, Refusal, Verifier},
    conn::{Activity, CallGuard, ConnectionLimits},
    domain::Error,
    grpc,
    rest::{self, ApiError},
    telemetry::{
        self,
        metrics::{self, Call},
        trace::Trace,
    },
};

/// Calls served at once unless configured otherwise (`--max-concurrent-calls`).
pub(crate) const DEFAULT_MAX_CONCURRENT_CALLS: NonZeroUsize = NonZeroUsize::new(256).unwrap();
/// Watches open at once unless configured otherwise (`--max-watches`).
pub(crate) const DEFAULT_MAX_WATCHES: NonZeroUsize = NonZeroUsize::new(128).unwrap();
/// The share of them one tenant may hold unless configured otherwise (`--tenant-share`).
pub(crate) const DEFAULT_TENANT_SHARE_PERCENT: u8 = 25;
/// The longest a call may run unless configured otherwise (`--request-timeout`).
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a request's body may take to arrive unless configured otherwise (`--body-timeout`).
pub(crate) const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long calls in flight at shutdown may go on finishing unless configured
/// otherwise (`--shutdown-grace`).
pub(crate) const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// An answer is handed on in chunks of at most this size, so that the slot it
/// holds is freed when it has been taken, not when it was produced.
const CHUNK_BYTES: usize = 64 * 1024;

/// How much the server takes on, and how long it gives calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls served at once, gRPC and REST together; more are refused with
    /// UNAVAILABLE (REST: 503), reason OVERLOADED.
    pub max_concurrent_calls: usize,
    /// Watches (WatchIncidents streams) open at once, counted apart from
    /// calls; more are refused with UNAVAILABLE, reason TOO_MANY_WATCHES.
    /// A tenant may hold its share of them; more are refused with
    /// RESOURCE_EXHAUSTED, reason TOO_MANY_CONCURRENT_WATCHES.
    pub max_watches: usize,
    /// The percentage of those one tenant may hold at once (at least one
    /// call); more are refused with RESOURCE_EXHAUSTED (REST: 429), reason
    /// TOO_MANY_CONCURRENT_CALLS.
    pub tenant_share_percent: u8,
    /// The longest a call may run before it is stopped with DEADLINE_EXCEEDED
    /// (REST: 504). A gRPC caller's shorter `grpc-timeout` applies as well.
    pub request_timeout: Duration,
    /// The longest a request's body may take to arrive, from the call's
    /// admission; a later one ends the call with DEADLINE_EXCEEDED (REST: 408),
    /// reason BODY_TIMEOUT, and frees its slot.
    pub body_timeout: Duration,
    /// How long calls in flight at shutdown may go on finishing.
    pub shutdown_grace: Duration,
    /// What each connection is allowed.
    pub connections: ConnectionLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_concurrent_calls: DEFAULT_MAX_CONCURRENT_CALLS.get(),
            max_watches: DEFAULT_MAX_WATCHES.get(),
            tenant_share_percent: DEFAULT_TENANT_SHARE_PERCENT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            connections: ConnectionLimits::default(),
        }
    }
}

impl Limits {
    /// The calls one tenant may make at once: its share, rounded up.
    pub fn calls_per_tenant(&self) -> usize {
        self.share_of(self.max_concurrent_calls)
    }

    /// The watches one tenant may hold at once: its share, rounded up.
    pub fn watches_per_tenant(&self) -> usize {
        self.share_of(self.max_watches)
    }

    fn share_of(&self, total: usize) -> usize {
        (total * usize::from(self.tenant_share_percent))
            .div_ceil(100)
            .clamp(1, total.max(1))
    }
}

/// The caller the admission layer verified, for the transports' handlers.
pub fn caller(extensions: &Extensions) -> Result<Principal, Error> {
    extensions.get::<Principal>().cloned().ok_or_else(|| {
        tracing::error!("a call reached its handler without a verified caller");
        Error::Internal
    })
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Paths that are answered whatever the load: the probes of an orchestrator.
const PROBES: [&str; 5] = [
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/healthz",
    "/readyz",
    metrics::PATH,
];

/// The one streaming call of the API, which holds a watch slot, not a call's.
const WATCH_PATH: &str = "/incident.v1.IncidentService/WatchIncidents";

/// Whether a path is served without a token: reflection and the OpenAPI document.
fn is_public(path: &str) -> bool {
    path.starts_with("/grpc.reflection.") || path == rest::OPENAPI_PATH
}

#[derive(Clone)]
pub struct AdmissionLayer {
    slots: Arc<Slots>,
    watches: Arc<Slots>,
    verifier: Arc<Verifier>,
    limits: Limits,
}

impl AdmissionLayer {
    pub fn new(limits: Limits, verifier: Arc<Verifier>) -> Self {
        Self {
            slots: Arc::new(Slots {
                kind: SlotKind::Call,
                total: limits.max_concurrent_calls,
                per_tenant: limits.calls_per_tenant(),
                taken: Mutex::default(),
            }),
            watches: Arc::new(Slots {
                kind: SlotKind::Watch,
                total: limits.max_watches,
                per_tenant: limits.watches_per_tenant(),
                taken: Mutex::default(),
            }),
            verifier,
            limits,
        }
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Admission {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Admission<S> {
    inner: S,
    layer: AdmissionLayer,
}

impl<S> Service<Request<Body>> for Admission<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let activity = request.extensions().get::<Arc<Activity>>().cloned();
        let call = activity.as_ref().map(|activity| activity.call());
        let path = request.uri().path();
        if PROBES.contains(&path) {
            return answered(self.inner.call(request), Held::new(call, None, None));
        }
        let grpc = grpc::is_grpc_call(request.headers());
        let trace = Trace::of(request.headers());
        let span = telemetry::call_span(&request, &trace, activity.as_deref().and_then(Activity::client));
        let measured = Call::start(&request, grpc, span.clone(), trace);
        let watch = path == WATCH_PATH;
        let tenant = if is_public(path) {
            None
        } else {
            match self.layer.verifier.authenticate(request.headers()) {
                Ok(principal) => {
                    let tenant = principal.tenant_id;
                    request.extensions_mut().insert(principal);
                    Some(tenant)
                }
                Err(refusal) => {
                    metrics::refused("UNAUTHENTICATED");
                    return refused(refused_credentials(grpc, refusal), call, measured);
                }
            }
        };
        let slots = if watch { &self.layer.watches } else { &self.layer.slots };
        let slot = match slots.take(tenant) {
            Ok(slot) => slot,
            Err(error) => {
                metrics::refused(error.reason());
                return refused(refusal(grpc, error), call, measured);
            }
        };
        // Started before tonic's own grpc-timeout timer, so that this one,
        // which answers DEADLINE_EXCEEDED, expires first.
        let limit = match grpc.then(|| grpc_timeout(request.headers())).flatten() {
            Some(asked) => asked.min(self.layer.limits.request_timeout),
            None => self.layer.limits.request_timeout,
        };
        let deadline = tokio::time::sleep(limit);
        let (request, arrived) = watch_body(request);
        let answer = span.in_scope(|| self.inner.call(request));
        let body_timeout = self.layer.limits.body_timeout;
        let held = Held::new(call, Some(slot), Some(measured));
        Box::pin(
            async move {
                // Until the answer begins: a streaming call (reflection's) answers
                // before its client has sent all it will, and is not cut off.
                let late = async {
                    if tokio::time::timeout(body_timeout, arrived).await.is_ok() {
                        std::future::pending::<()>().await;
                    }
                };
                tokio::select! {
                    biased;
                    answer = answer => answer.map(|response| held.hold(response)),
                    () = late => Ok(held.refuse(grpc, Error::BodyTimedOut { limit: body_timeout })),
                    () = deadline => {
                        tracing::warn!(limit_ms = limit.as_millis(), "a call ran past its time limit and was stopped");
                        Ok(held.refuse(grpc, Error::TimedOut { limit }))
                    }
                }
            }
            .instrument(span),
        )
    }
}

fn answered<F, E>(answer: F, held: Held) -> BoxFuture<Result<Response<Body>, E>>
where
    F: Future<Output = Result<Response<Body>, E>> + Send + 'static,
{
    Box::pin(async move { answer.await.map(|response| held.hold(response)) })
}

fn refused<E: Send + 'static>(
    answer: Response<Body>,
    call: Option<CallGuard>,
    measured: Call,
) -> BoxFuture<Result<Response<Body>, E>> {
    let held = Held::new(call, None, Some(measured));
    Box::pin(std::future::ready(Ok(held.hold_refusal(answer))))
}

/// `error` in the caller's protocol.
fn refusal(grpc: bool, error: Error) -> Response<Body> {
    if grpc {
        grpc::to_status(error).into_http()
    } else {
        ApiError::from(error).into_response().map(Body::new)
    }
}

fn refused_credentials(grpc: bool, refusal: Refusal) -> Response<Body> {
    if grpc {
        grpc::to_status(refusal.into()).into_http()
    } else {
        rest::refused(refusal).into_response().map(Body::new)
    }
}

/// The `grpc-timeout` a gRPC caller asks for: at most eight digits and a unit
/// (gRPC over HTTP/2, "Timeout"). One that does not parse is ignored, as
/// tonic does.
fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at_checked(value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// What a slot is for: a call, or a watch, which may last for hours.
#[derive(Debug, Clone, Copy)]
enum SlotKind {
    Call,
    Watch,
}

/// The slots taken, in all and by tenant (`None`: calls that need no token).
struct Slots {
    kind: SlotKind,
    total: usize,
    per_tenant: usize,
    taken: Mutex<Taken>,
}

#[derive(Default)]
struct Taken {
    total: usize,
    by_tenant: HashMap<Option<Uuid>, usize>,
}

impl Slots {
    fn take(self: &Arc<Self>, tenant: Option<Uuid>) -> Result<Slot, Error> {
        let mut taken = self.taken.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if taken.total >= self.total {
            return Err(match self.kind {
                SlotKind::Call => Error::Overloaded,
                SlotKind::Watch => Error::WatchesFull,
            });
        }
        let by_tenant = taken.by_tenant.entry(tenant).or_default();
        if *by_tenant >= self.per_tenant {
            return Err(match self.kind {
                SlotKind::Call => Error::TenantBusy { calls: *by_tenant },
                SlotKind::Watch => Error::TenantWatchesBusy { watches: *by_tenant },
            });
        }
        *by_tenant += 1;
        taken.total += 1;
        Ok(Slot {
            slots: self.clone(),
            tenant,
        })
    }
}

/// One call's slot, freed when dropped.
struct Slot {
    slots: Arc<Slots>,
    tenant: Option<Uuid>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut taken = self.slots.taken.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        taken.total -= 1;
        if let Some(count) = taken.by_tenant.get_mut(&self.tenant) {
            *count -= 1;
            if *count == 0 {
                taken.by_tenant.remove(&self.tenant);
            }
        }
    }
}

/// The request with its body watched: the receiver resolves once the body has
/// arrived whole (or is dropped unread).
fn watch_body(request: Request<Body>) -> (Request<Body>, oneshot::Receiver<()>) {
    let (sender, arrived) = oneshot::channel();
    let request = request.map(|body| {
        let sender = if body.is_end_stream() {
            let _ = sender.send(());
            None
        } else {
            Some(sender)
        };
        Body::new(Arriving { body, sender })
    });
    (request, arrived)
}

/// A request body that tells when it has arrived.
struct Arriving {
    body: Body,
    sender: Option<oneshot::Sender<()>>,
}

impl HttpBody for Arriving {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        // Arrived: the last frame, or an end or error that no frame follows.
        let arrived = polled.is_ready() && (self.body.is_end_stream() || !matches!(polled, Poll::Ready(Some(Ok(_)))));
        if arrived && let Some(sender) = self.sender.take() {
            let _ = sender.send(());
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// What an answer holds until it has been handed on: the call's slot, its
/// place in its connection's count, and its metrics, recorded then.
struct Held {
    call: Option<CallGuard>,
    /// Freed when the answer has been handed on (or dropped).
    _slot: Option<Slot>,
    measured: Option<Call>,
}

impl Held {
    fn new(call: Option<CallGuard>, slot: Option<Slot>, measured: Option<Call>) -> Self {
        Self {
            call,
            _slot: slot,
            measured,
        }
    }

    /// `error` in place of the answer, counted as a refusal by its reason.
    fn refuse(self, grpc: bool, error: Error) -> Response<Body> {
        metrics::refused(error.reason());
        self.hold_refusal(refusal(grpc, error))
    }

    /// Holds a refusal of this layer's own, which no route answered.
    fn hold_refusal(self, response: Response<Body>) -> Response<Body> {
        self.hold_answered(response, false)
    }

    fn hold(self, response: Response<Body>) -> Response<Body> {
        self.hold_answered(response, true)
    }

    fn hold_answered(mut self, mut response: Response<Body>, routed: bool) -> Response<Body> {
        if let Some(measured) = self.measured.as_mut() {
            measured.answered(&mut response, routed);
        }
        response.map(|body| {
            Body::new(Handing {
                body,
                rest: Bytes::new(),
                held: Some(self),
            })
        })
    }
}

/// An answer's body, handed on in chunks of at most `CHUNK_BYTES`, holding
/// what it holds until the last one is taken.
struct Handing {
    body: Body,
    /// What is left of a frame larger than a chunk.
    rest: Bytes,
    held: Option<Held>,
}

impl Handing {
    fn done(&self) -> bool {
        self.rest.is_empty() && self.body.is_end_stream()
    }

    fn chunk(&mut self) -> Frame<Bytes> {
        let size = self.rest.len().min(CHUNK_BYTES);
        Frame::data(self.rest.split_to(size))
    }
}

impl HttpBody for Handing {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Some(call) = this.held.as_mut().and_then(|held| held.call.as_mut()) {
            call.asked();
        }
        let frame = if this.rest.is_empty() {
            match std::task::ready!(Pin::new(&mut this.body).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        this.rest = data;
                        Some(Ok(this.chunk()))
                    }
                    Err(trailers) => {
                        if let (Some(measured), Some(map)) = (
                            this.held.as_mut().and_then(|held| held.measured.as_mut()),
                            trailers.trailers_ref(),
                        ) {
                            measured.trailers(map);
                        }
                        Some(Ok(trailers))
                    }
                },
                other => other,
            }
        } else {
            Some(Ok(this.chunk()))
        };
        match (&frame, this.done()) {
            (Some(Ok(_)), false) => {
                if let Some(call) = this.held.as_mut().and_then(|held| held.call.as_mut()) {
                    call.handed_on();
                }
            }
            _ => this.held = None,
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.done()
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = self.body.size_hint();
        let rest = self.rest.len() as u64;
        hint.set_lower(hint.lower() + rest);
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper + rest);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_as_the_protocol_writes_them() {
        let parse = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("grpc-timeout", value.parse().unwrap());
            grpc_timeout(&headers)
        };
        assert_eq!(parse("200m"), Some(Duration::from_millis(200)));
        assert_eq!(parse("3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse("99999999n"), Some(Duration::from_nanos(99_999_999)));
        for bad in ["", "m", "123456789m", "12x", "-1S", "1.5S"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_tenants_share_is_rounded_up_and_never_nothing() {
        let share = |max_concurrent_calls, tenant_share_percent| {
            Limits {
                max_concurrent_calls,
                tenant_share_percent,
                ..Limits::default()
            }
            .calls_per_tenant()
        };
        assert_eq!(share(256, 25), 64);
        assert_eq!(share(10, 25), 3);
        assert_eq!(share(4, 1), 1);
        assert_eq!(share(4, 100), 4);
    }
}
