//! What the server tells those who run it: Prometheus metrics, the logs (text
//! or JSON) and the span each call's log lines carry, in the trace its caller
//! began or one of its own.

pub mod metrics;
pub mod trace;

use axum::http::Request;
use tracing_subscriber::EnvFilter;

use self::trace::Trace;

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// For people: one line per event, in colour on a terminal.
    #[default]
    Text,
    /// For log pipelines: one JSON object per line, with the call's span fields
    /// (its trace and span ids among them).
    Json,
}

/// Sends the logs to stderr in `format`, filtered by `RUST_LOG` (default `info`).
pub fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

/// The span of one call, which every line logged while it runs carries: the
/// method and path called, the trace and span ids, and over mutual TLS the
/// subject of the client's certificate. Never the request's contents or its
/// token.
pub fn call_span<B>(request: &Request<B>, trace: &Trace, client: Option<&str>) -> tracing::Span {
    let span = tracing::info_span!(
        "call",
        method = %request.method(),
        path = request.uri().path(),
        trace_id = %trace.trace_id(),
        span_id = %trace.span_id(),
        client = tracing::field::Empty,
    );
    if let Some(client) = client {
        span.record("client", client);
    }
    span
}
