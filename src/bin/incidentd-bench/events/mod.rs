//! `incidentd-bench events`: change events on their way out to NATS
//! JetStream, with the server in a process of its own (as `update` starts
//! it) publishing to a nats-server of the bench's own (`-js`, a free port,
//! its store in a temporary directory), each part on a fresh database:
//!
//! - **drain**: the server runs with the publisher pointed at a NATS that is
//!   not up yet while concurrent clients fill the outbox with `--events`
//!   events over gRPC (creates, then updates); then NATS starts, and the
//!   publisher's throughput is taken from JetStream's own timestamps of the
//!   first and the last event it stored;
//! - **latency**: UpdateIncident at saturation with the publisher live, then
//!   paced at half that rate (or `--rate`); for each event of the paced
//!   period, JetStream's timestamp of it minus the event's `time`, which an
//!   update stamps after reading the incident, before its writes and commit.
//!
//! Each part then reads the whole stream back and checks it against the
//! outbox: every event exactly once, each tenant's in sequence order.
//!
//! This file holds the flags and the run; the parts: `nats` (the server and
//! its stream), `delivery` (the check), `drain`, `latency` and `report`.

mod delivery;
mod drain;
mod latency;
mod nats;
mod report;

use std::{path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};

use self::{drain::drain, latency::latency, report::Report};

#[derive(Args)]
pub struct EventsArgs {
    /// A PostgreSQL server URL; the bench creates and drops a database of its own
    /// there for each part. Default: a SQLite file in a temporary directory.
    #[arg(long)]
    database_url: Option<String>,
    /// Events in the outbox when NATS starts (the drain).
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Incidents each client updates in turn.
    #[arg(long, default_value_t = 100)]
    incidents_per_client: usize,
    /// How long each measured run of updates lasts, after its warm-up.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Calls before each measured run that are not counted.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Updates per second of all clients together while latency is measured.
    /// Default: half the rate measured at saturation, publisher live, first.
    #[arg(long)]
    rate: Option<f64>,
    /// The parts to run.
    #[arg(long, value_delimiter = ',', default_value = "drain,latency")]
    parts: Vec<Part>,
    /// The nats-server binary.
    #[arg(long, env = "NATS_SERVER", default_value = "nats-server")]
    nats_server: PathBuf,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Part {
    Drain,
    Latency,
}

/// Runs the parts asked for, then reports.
pub async fn events(args: EventsArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.concurrency > 0 && args.incidents_per_client > 0);
    let drained = if args.parts.contains(&Part::Drain) {
        Some(drain(&args).await?)
    } else {
        None
    };
    let latency = if args.parts.contains(&Part::Latency) {
        Some(latency(&args).await?)
    } else {
        None
    };
    let backend = if args.database_url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    Report {
        args: &args,
        backend,
        drained: drained.as_ref(),
        latency: latency.as_ref(),
    }
    .print()
}
