//! The figures of a run: as JSON, or as a table with a few lines beside.

use std::collections::BTreeMap;

use super::{UpdateArgs, drive::Run, measure::Measured};
use crate::percentile;

pub(super) fn report(
    args: &UpdateArgs,
    backend: &str,
    request_bytes: usize,
    response_bytes: usize,
    service: &Measured,
    floors: Option<&(Run, Run, usize)>,
) -> anyhow::Result<()> {
    let summary = |run: &Run| {
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
    };
    let by_operation: BTreeMap<_, _> = service
        .run
        .millis
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
        .collect();
    let settled: Vec<f64> = service
        .rss_samples
        .iter()
        .skip(args.warmup.as_secs() as usize)
        .copied()
        .collect();
    let (low, high) = settled
        .iter()
        .fold((f64::MAX, 0.0f64), |(low, high), &m| (low.min(m), high.max(m)));
    let mut figures = serde_json::json!({
        "backend": backend,
        "concurrency": args.concurrency,
        "tenants": args.tenants,
        "operations": args.operations,
        "seconds": service.run.seconds,
        "request_bytes": request_bytes,
        "response_bytes": response_bytes,
        "service": summary(&service.run),
        "service_by_operation": by_operation,
        "server_cpu_cores": service.cpu_seconds / service.run.seconds,
        "server_rss_mib": {"min": low, "max": high, "peak": service.peak_mib, "each_second": service.rss_samples},
        "first_errors": service.run.errors.iter().take(5).collect::<Vec<_>>(),
    });
    if let Some((grpc, storage, statements)) = floors {
        let ratio = |floor: &Run| service.run.throughput() / floor.throughput();
        figures["grpc_floor"] = summary(grpc);
        figures["storage_floor"] = summary(storage);
        figures["storage_statements_per_update"] = (*statements).into();
        figures["service_over_grpc_floor"] = ratio(grpc).into();
        figures["service_over_storage_floor"] = ratio(storage).into();
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
        return Ok(());
    }
    println!(
        "{backend}: {} clients, {} tenant(s), {:?}, {:.0} s measured; request {request_bytes} B, response {response_bytes} B",
        args.concurrency, args.tenants, args.operations, service.run.seconds
    );
    println!("| | calls/s | p50 ms | p90 ms | p99 ms | max ms | errors |");
    println!("|---|---|---|---|---|---|---|");
    let row = |name: &str, f: &serde_json::Value| {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            f["per_second"].as_f64().unwrap_or(0.0),
            f["p50_ms"].as_f64().unwrap_or(0.0),
            f["p90_ms"].as_f64().unwrap_or(0.0),
            f["p99_ms"].as_f64().unwrap_or(0.0),
            f["max_ms"].as_f64().unwrap_or(0.0),
            f["errors"]
        );
    };
    row("service", &figures["service"]);
    if floors.is_some() {
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
    Ok(())
}
