//! What the server tells those who run it: Prometheus metrics.

pub mod metrics;
