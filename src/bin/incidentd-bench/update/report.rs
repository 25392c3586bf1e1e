//! The figures of a run: as JSON, or as a table with a few lines beside.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{UpdateArgs, drive::Run, measure::Measured};
use crate::percentile;

/// What a run found, to be printed.
pub(super) struct Report<'a> {
    pub(super) args: &'a UpdateArgs,
    pub(super) backend: &'a str,
    pub(super) request_bytes: usize,
    pub(super) response_bytes: usize,
    pub(super) service: &'a Measured,
    /// The gRPC floor, the storage floor and its statements per update.
    pub(super) floors: Option<&'a (Run, Run, usize)>,
}

impl Report<'_> {
    /// Prints the figures: as JSON with `--json`, else as a table.
    pub(super) fn print(&self) -> anyhow::Result<()> {
        let figures = self.figures();
        if self.args.json {
            println!("{}", serde_json::to_string_pretty(&figures)?);
            return Ok(());
        }
        self.print_table(&figures);
        self.print_details(&figures);
        Ok(())
    }

    fn figures(&self) -> Value {
        let Self { args, service, .. } = self;
        let (low, high) = self.settled_rss();
        let mut figures = serde_json::json!({
            "backend": self.backend,
            "concurrency": args.concurrency,
            "tenants": args.tenants,
            "operations": args.operations,
            "seconds": service.run.seconds,
            "request_bytes": self.request_bytes,
            "response_bytes": self.response_bytes,
            "service": summary(&service.run),
            "service_by_operation": by_operation(&service.run),
            "server_cpu_cores": service.cpu_seconds / service.run.seconds,
            "server_rss_mib": {"min": low, "max": high, "peak": service.peak_mib, "each_second": service.rss_samples},
            "first_errors": service.run.errors.iter().take(5).collect::<Vec<_>>(),
        });
        if let Some((grpc, storage, statements)) = self.floors {
            let ratio = |floor: &Run| service.run.throughput() / floor.throughput();
            figures["grpc_floor"] = summary(grpc);
            figures["storage_floor"] = summary(storage);
            figures["storage_statements_per_update"] = (*statements).into();
            figures["service_over_grpc_floor"] = ratio(grpc).into();
            figures["service_over_storage_floor"] = ratio(storage).into();
        }
        figures
    }

    /// The lowest and highest resident memory of the server after the warm-up.
    fn settled_rss(&self) -> (f64, f64) {
        self.service
            .rss_samples
            .iter()
            .skip(self.args.warmup.as_secs() as usize)
            .fold((f64::MAX, 0.0f64), |(low, high), &m| (low.min(m), high.max(m)))
    }

    /// The run in a line, then a row for the service and each floor.
    fn print_table(&self, figures: &Value) {
        let Self {
            args,
            backend,
            request_bytes,
            response_bytes,
            service,
            ..
        } = self;
        println!(
            "{backend}: {} clients, {} tenant(s), {:?}, {:.0} s measured; request {request_bytes} B, response {response_bytes} B",
            args.concurrency, args.tenants, args.operations, service.run.seconds
        );
        println!("| | calls/s | p50 ms | p90 ms | p99 ms | max ms | errors |");
        println!("|---|---|---|---|---|---|---|");
        row("service", &figures["service"]);
        if self.floors.is_some() {
            row("gRPC floor", &figures["grpc_floor"]);
            row(
                &format!(
                    "storage floor ({} statements)",
                    figures["storage_statements_per_update"]
                ),
                &figures["storage_floor"],
            );
            println!(
                "service / gRPC floor: {:.0}%; service / storage floor: {:.0}%",
                figures["service_over_grpc_floor"].as_f64().unwrap_or(0.0) * 100.0,
                figures["service_over_storage_floor"].as_f64().unwrap_or(0.0) * 100.0
            );
        }
    }

    /// Each operation of a mix, the server's CPU and memory, the first errors.
    fn print_details(&self, figures: &Value) {
        let service = self.service;
        if service.run.millis.len() > 1 {
            for (operation, f) in figures["service_by_operation"].as_object().into_iter().flatten() {
                println!(
                    "  {operation}: {} calls, p50 {:.2} ms, p99 {:.2} ms",
                    f["calls"],
                    f["p50_ms"].as_f64().unwrap_or(0.0),
                    f["p99_ms"].as_f64().unwrap_or(0.0)
                );
            }
        }
        let (low, high) = self.settled_rss();
        println!(
            "server: {:.2} cores busy; resident memory {:.1}–{:.1} MiB after the warm-up (peak {:.1} MiB)",
            figures["server_cpu_cores"].as_f64().unwrap_or(0.0),
            low,
            high,
            service.peak_mib
        );
        for error in service.run.errors.iter().take(5) {
            println!("error: {error}");
        }
    }
}

/// Throughput, latency percentiles and errors of a run.
pub(crate) fn summary(run: &Run) -> Value {
    let mut all = run.all_millis();
    serde_json::json!({
        "calls": run.calls(),
        "per_second": run.throughput(),
        "p50_ms": percentile(&mut all, 50.0),
        "p90_ms": percentile(&mut all, 90.0),
        "p99_ms": percentile(&mut all, 99.0),
        "max_ms": percentile(&mut all, 100.0),
        "errors": run.errors.len(),
    })
}

/// Calls and latency of each operation of a run, by name.
fn by_operation(run: &Run) -> BTreeMap<String, Value> {
    run.millis
        .iter()
        .map(|(operation, millis)| {
            let mut millis = millis.clone();
            (
                format!("{operation:?}").to_lowercase(),
                serde_json::json!({
                    "calls": millis.len(),
                    "p50_ms": percentile(&mut millis, 50.0),
                    "p99_ms": percentile(&mut millis, 99.0),
                }),
            )
        })
        .collect()
}

/// One row of the table.
pub(crate) fn row(name: &str, f: &Value) {
    println!(
        "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
        f["per_second"].as_f64().unwrap_or(0.0),
        f["p50_ms"].as_f64().unwrap_or(0.0),
        f["p90_ms"].as_f64().unwrap_or(0.0),
        f["p99_ms"].as_f64().unwrap_or(0.0),
        f["max_ms"].as_f64().unwrap_or(0.0),
        f["errors"]
    );
}
