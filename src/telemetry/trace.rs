//! W3C Trace Context: each call continues the trace of the caller's
//! `traceparent` (gRPC metadata or HTTP header) or starts one, takes a span id
//! of its own, and answers with its `traceparent`, so the caller can find the
//! call's log lines by the trace id they all carry. Parsing and writing the
//! headers is the `opentelemetry` crates' propagator's, ids come from their
//! random generator.

use std::sync::LazyLock;

use axum::http::HeaderMap;
use opentelemetry::{
    Context,
    propagation::TextMapPropagator,
    trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState},
};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::{
    propagation::TraceContextPropagator,
    trace::{IdGenerator, RandomIdGenerator},
};

static PROPAGATOR: LazyLock<TraceContextPropagator> = LazyLock::new(TraceContextPropagator::new);

/// Where a call stands in its trace.
#[derive(Debug, Clone)]
pub struct Trace {
    context: SpanContext,
    /// The caller's span, when the call continues a trace.
    parent: Option<SpanId>,
}

impl Trace {
    /// The trace of `headers`' valid `traceparent` (and its `tracestate`),
    /// continued; without one, a new trace, sampled.
    pub fn of(headers: &HeaderMap) -> Self {
        let ids = RandomIdGenerator::default();
        let caller = PROPAGATOR.extract(&HeaderExtractor(headers));
        let caller = caller.span().span_context().clone();
        let (trace_id, flags, state, parent) = if caller.is_valid() {
            (
                caller.trace_id(),
                caller.trace_flags(),
                caller.trace_state().clone(),
                Some(caller.span_id()),
            )
        } else {
            (ids.new_trace_id(), TraceFlags::SAMPLED, TraceState::default(), None)
        };
        Self {
            context: SpanContext::new(trace_id, ids.new_span_id(), flags, false, state),
            parent,
        }
    }

    pub fn trace_id(&self) -> TraceId {
        self.context.trace_id()
    }

    pub fn span_id(&self) -> SpanId {
        self.context.span_id()
    }

    pub fn parent(&self) -> Option<SpanId> {
        self.parent
    }

    pub fn sampled(&self) -> bool {
        self.context.is_sampled()
    }

    /// Puts this call's `traceparent` (and the caller's `tracestate`) on an answer.
    pub fn inject(&self, headers: &mut HeaderMap) {
        let context = Context::new().with_remote_span_context(self.context.clone());
        PROPAGATOR.inject_context(&context, &mut HeaderInjector(headers));
    }
}
