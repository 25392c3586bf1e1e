//! Prometheus metrics, through the `metrics` facade and its Prometheus
//! exporter: what each call was and how it ended, recorded by the admission
//! layer, which sees every call of both transports; and what the process,
//! the database and the outbox hold, read when `/metrics` is scraped.
//!
//! Every label value comes from a closed set: gRPC method names from the
//! compiled descriptors (`unknown` otherwise), REST route templates from the
//! router (`unmatched` for a path no route has, `unrouted` for a call refused
//! before routing), HTTP methods, status codes and refusal reasons. A caller
//! cannot add a series by calling odd paths.

use std::{
    collections::HashMap,
    sync::{LazyLock, OnceLock},
    time::{Duration, Instant},
};

use axum::http::{HeaderMap, Method, Request, Response};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::{pb, store::Store};

/// The upper bounds of the latency histograms, in seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// How long a scrape waits for the database's figures before leaving them out.
const SCRAPE_QUERY_TIMEOUT: Duration = Duration::from_secs(1);

/// The exporter, installed once per process as the `metrics` recorder.
static EXPORTER: OnceLock<Option<Exporter>> = OnceLock::new();

struct Exporter {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
}

/// Installs the exporter as the process's recorder (once: later calls find
/// it installed). Without it, metrics are recorded nowhere.
pub fn install() {
    EXPORTER.get_or_init(|| {
        let installed = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .and_then(PrometheusBuilder::install_recorder);
        match installed {
            Ok(handle) => {
                let process = metrics_process::Collector::default();
                process.describe();
                describe();
                Some(Exporter { handle, process })
            }
            Err(error) => {
                tracing::warn!(%error, "metrics: another recorder is installed; /metrics stays empty");
                None
            }
        }
    });
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!("grpc_server_handled_total", "gRPC calls answered, by method and code");
    describe_histogram!(
        "grpc_server_handling_seconds",
        Unit::Seconds,
        "gRPC unary calls, from admission to the last byte of the answer"
    );
    describe_counter!(
        "http_server_requests_total",
        "REST calls answered, by method, route template and status"
    );
    describe_histogram!(
        "http_server_request_duration_seconds",
        Unit::Seconds,
        "REST calls, from admission to the last byte of the answer"
    );
    describe_gauge!(
        "incidentd_calls_in_flight",
        "Calls admitted and not yet answered in full, by kind (call, stream)"
    );
    describe_counter!(
        "incidentd_refusals_total",
        "Calls refused before their use case ran, or by their tenant's rate, by reason"
    );
    describe_histogram!(
        "incidentd_db_transaction_seconds",
        Unit::Seconds,
        "Write transactions, from BEGIN to COMMIT"
    );
    describe_gauge!(
        "incidentd_db_connections",
        "Database connections of the pool, by state (in_use, idle)"
    );
    describe_gauge!(
        "incidentd_sqlite_wal_bytes",
        Unit::Bytes,
        "Size of the SQLite write-ahead log"
    );
    describe_gauge!(
        "incidentd_outbox_unpublished_events",
        "Change events waiting to be published to NATS"
    );
    describe_gauge!(
        "incidentd_outbox_oldest_unpublished_seconds",
        Unit::Seconds,
        "Age of the oldest event waiting to be published"
    );
}

/// The current figures in the Prometheus text format: those recorded, and
/// those read now from the process, the database and (when events are
/// published) the outbox.
pub async fn render(store: &Store, publishing: bool) -> String {
    let Some(Some(exporter)) = EXPORTER.get() else {
        return String::new();
    };
    exporter.process.collect();
    let (in_use, idle) = store.pool_connections();
    gauge!("incidentd_db_connections", "state" => "in_use").set(in_use as f64);
    gauge!("incidentd_db_connections", "state" => "idle").set(idle as f64);
    if let Some(bytes) = store.wal_bytes() {
        gauge!("incidentd_sqlite_wal_bytes").set(bytes as f64);
    }
    if publishing && let Ok(Ok(backlog)) = tokio::time::timeout(SCRAPE_QUERY_TIMEOUT, store.outbox_backlog()).await {
        let age = backlog
            .oldest
            .map(|at| (crate::store::now() - at).as_seconds_f64().max(0.0));
        gauge!("incidentd_outbox_unpublished_events").set(backlog.unpublished as f64);
        gauge!("incidentd_outbox_oldest_unpublished_seconds").set(age.unwrap_or(0.0));
    }
    exporter.handle.run_upkeep();
    exporter.handle.render()
}

/// Where the figures are scraped.
pub const PATH: &str = "/metrics";

/// `GET /metrics`: served on the service's port (taking no slot and no
/// token, like the probes) and, when configured, on a port of its own.
pub fn router(store: Store, publishing: bool) -> axum::Router {
    use axum::{http::header, routing::get};
    axum::Router::new().route(
        PATH,
        get(move || {
            let store = store.clone();
            async move {
                let body = render(&store, publishing).await;
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                    body,
                )
            }
        }),
    )
}

/// Records how long a write transaction took, once it has committed.
pub fn transaction(took: Duration) {
    histogram!("incidentd_db_transaction_seconds").record(took.as_secs_f64());
}

/// Counts a call refused before (or instead of) its use case, by reason.
pub fn refused(reason: &'static str) {
    counter!("incidentd_refusals_total", "reason" => reason).increment(1);
}

/// The gRPC methods the server has, `/package.Service/Method` to their
/// service and method names: ours from the compiled descriptors, then
/// health's and reflection's.
static GRPC_METHODS: LazyLock<HashMap<String, (String, String)>> = LazyLock::new(|| {
    use prost::Message;
    let mut methods = HashMap::new();
    for set in [pb::FILE_DESCRIPTOR_SET, tonic_health::pb::FILE_DESCRIPTOR_SET] {
        let Ok(set) = prost_types::FileDescriptorSet::decode(set) else {
            continue;
        };
        for file in &set.file {
            for service in &file.service {
                let name = format!("{}.{}", file.package(), service.name());
                for method in &service.method {
                    let path = format!("/{name}/{}", method.name());
                    methods.insert(path, (name.clone(), method.name().to_owned()));
                }
            }
        }
    }
    for service in [
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ] {
        let path = format!("/{service}/ServerReflectionInfo");
        methods.insert(path, (service.to_owned(), "ServerReflectionInfo".to_owned()));
    }
    methods
});

/// Calls whose answer is a stream that may last for hours: counted, but
/// kept out of the latency histogram.
const STREAMS: [&str; 4] = [
    "/incident.v1.IncidentService/WatchIncidents",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The route template a REST answer came from, which the router puts on it.
#[derive(Debug, Clone)]
pub struct Route(pub String);

/// One call, from its admission until its answer has been handed on in full
/// (or dropped): recorded, and logged in its span, when dropped.
pub struct Call {
    started: Instant,
    span: tracing::Span,
    /// Answered with its `traceparent`.
    trace: super::trace::Trace,
    kind: Kind,
    /// Kept out of the latency histogram.
    streaming: bool,
}

enum Kind {
    Grpc {
        service: &'static str,
        method: &'static str,
        /// `grpc-status`, once seen in the answer's headers or trailers.
        code: Option<String>,
    },
    Rest {
        method: &'static str,
        route: String,
        status: Option<u16>,
    },
}

impl Call {
    /// A call starting now, by what its request says it is.
    pub fn start<B>(request: &Request<B>, grpc: bool, span: tracing::Span, trace: super::trace::Trace) -> Self {
        let path = request.uri().path();
        let kind = if grpc {
            let (service, method) = GRPC_METHODS
                .get(path)
                .map(|(service, method)| (service.as_str(), method.as_str()))
                .unwrap_or(("unknown", "unknown"));
            Kind::Grpc {
                service,
                method,
                code: None,
            }
        } else {
            Kind::Rest {
                method: http_method(request.method()),
                route: "unrouted".to_owned(),
                status: None,
            }
        };
        let streaming = STREAMS.contains(&path);
        gauge!("incidentd_calls_in_flight", "kind" => kind_label(streaming)).increment(1.0);
        Self {
            started: Instant::now(),
            span,
            trace,
            kind,
            streaming,
        }
    }

    /// Notes what the answer's head says: the status, the route (REST; a
    /// refusal by the admission layer has none) or a trailers-only
    /// `grpc-status`; and puts the call's `traceparent` on it.
    pub fn answered<B>(&mut self, response: &mut Response<B>, routed: bool) {
        self.trace.inject(response.headers_mut());
        match &mut self.kind {
            Kind::Grpc { code, .. } => {
                if let Some(status) = grpc_status(response.headers()) {
                    *code = Some(status);
                }
            }
            Kind::Rest { route, status, .. } => {
                *status = Some(response.status().as_u16());
                if routed {
                    *route = match response.extensions().get::<Route>() {
                        Some(Route(template)) => template.clone(),
                        None => "unmatched".to_owned(),
                    };
                }
            }
        }
    }

    /// Notes the `grpc-status` of the answer's trailers.
    pub fn trailers(&mut self, trailers: &HeaderMap) {
        if let Kind::Grpc { code, .. } = &mut self.kind
            && let Some(status) = grpc_status(trailers)
        {
            *code = Some(status);
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        let seconds = self.started.elapsed().as_secs_f64();
        let streaming = self.streaming;
        let span = &self.span;
        gauge!("incidentd_calls_in_flight", "kind" => kind_label(streaming)).decrement(1.0);
        match &mut self.kind {
            Kind::Grpc { service, method, code } => {
                // An answer that ended with no status was cut off: the client went.
                let code = code.take().map(grpc_code_name).unwrap_or("CANCELLED");
                let labels = [
                    ("grpc_service", *service),
                    ("grpc_method", *method),
                    ("grpc_code", code),
                ];
                counter!("grpc_server_handled_total", &labels).increment(1);
                if !streaming {
                    histogram!("grpc_server_handling_seconds", &labels[..2]).record(seconds);
                }
                tracing::info!(target: ACCESS, parent: span, code, ms = millis(seconds), "answered");
            }
            Kind::Rest { method, route, status } => {
                // An answer that never began was cut off: the client went (nginx's 499).
                let status = status.unwrap_or(499);
                let route = std::mem::take(route);
                tracing::info!(target: ACCESS, parent: span, route, status, ms = millis(seconds), "answered");
                let status = status.to_string();
                counter!("http_server_requests_total", "method" => *method, "route" => route.clone(), "status" => status)
                    .increment(1);
                histogram!("http_server_request_duration_seconds", "method" => *method, "route" => route)
                    .record(seconds);
            }
        }
    }
}

/// The target of the one line logged for each call as it ends (silenced by
/// `RUST_LOG=info,incidentd::access=warn`).
const ACCESS: &str = "incidentd::access";

/// Seconds as milliseconds to the microsecond, for the logs.
fn millis(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e3
}

/// The in-flight gauge's kind: a stream that may last for hours, or a call.
fn kind_label(streaming: bool) -> &'static str {
    if streaming { "stream" } else { "call" }
}

fn http_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

fn grpc_status(headers: &HeaderMap) -> Option<String> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The name of a gRPC status code (`NOT_FOUND`), from its number.
fn grpc_code_name(code: String) -> &'static str {
    let number: i32 = code.parse().unwrap_or(2);
    match tonic::Code::from_i32(number) {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
