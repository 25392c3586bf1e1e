//! `incidentd-bench update`: UpdateIncident from concurrent clients over real
//! gRPC against the server in a process of its own, side by side with the two
//! floors that bound it, measured in the same run:
//!
//! - the **gRPC floor**: a bare tonic unary service that answers a request of
//!   the same bytes with a response of the same size, driven by the same loop;
//! - the **storage floor**: the very statements one UpdateIncident issues
//!   (recorded from the store), replayed as one transaction per update through
//!   the same driver, pool and writer discipline, with no gRPC, parsing or
//!   validation.
//!
//! `--operations update,get,create` mixes calls; `--tenants N` spreads the
//! incidents and the clients over N tenants.
//!
//! This file holds the flags and the run from start to report. The parts:
//! `children` (the server's process), `tenant` and `clients` (what is seeded),
//! `body` (what is sent), `drive` (the load loop), `measure` (the service under
//! it, with `process` for its CPU and memory), `grpc_floor`, `storage_floor` and
//! `report`.

mod body;
mod children;
mod clients;
mod drive;
mod grpc_floor;
mod measure;
mod process;
mod report;
mod storage_floor;
mod tenant;

use std::time::Duration;

use clap::Args;
use incidentd::pb::{self, incident_service_client::IncidentServiceClient};
use tonic::transport::Channel;

use self::{
    body::body, grpc_floor::grpc_floor, measure::measure_service, report::Report, storage_floor::storage_floor,
    tenant::authorized,
};
pub use self::{
    children::{ChildArgs, serve_child},
    grpc_floor::{EchoArgs, echo_child},
};
// What the `events` bench drives its load with.
pub(crate) use self::{
    children::{free_address, start_server},
    clients::{Client, clients},
    drive::{Pace, Run, drive},
    measure::one_call,
    report::{row, summary},
    tenant::tenant,
};
use crate::BenchDb;

#[derive(Args)]
pub struct UpdateArgs {
    /// A PostgreSQL server URL; the bench creates and drops a database of its own
    /// there. Default: a SQLite file in a temporary directory.
    #[arg(long)]
    database_url: Option<String>,
    /// Incidents each client updates in turn (the floor gets as many of its own).
    #[arg(long, default_value_t = 100)]
    incidents_per_client: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// How long each measurement runs, after its warm-up.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Calls before each measurement that are not counted.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// The calls each client makes in turn: update, get, create. The floors are
    /// measured for `update` alone.
    #[arg(long, value_delimiter = ',', default_value = "update")]
    operations: Vec<Operation>,
    /// Calls per second of all clients together, evenly paced (an open load, for
    /// latency below saturation). Default: each client calls again at once.
    #[arg(long)]
    rate: Option<f64>,
    /// Tenants the incidents and clients are spread over.
    #[arg(long, default_value_t = 1)]
    tenants: usize,
    /// Skip the two floors.
    #[arg(long)]
    no_floors: bool,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Update,
    Get,
    Create,
}

impl UpdateArgs {
    fn pace(&self) -> Pace {
        Pace {
            warmup: self.warmup,
            duration: self.duration,
            rate: self.rate,
        }
    }
}

/// Seeds, measures the service and, for updates alone, its two floors, then
/// reports.
pub async fn update(args: UpdateArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.concurrency > 0 && args.tenants > 0 && args.incidents_per_client > 0);
    let db = BenchDb::new(args.database_url.as_deref()).await?;
    let (server, channel) = start_server(&db, None).await?;
    let mut tenants = Vec::new();
    for _ in 0..args.tenants {
        tenants.push(tenant(&channel).await?);
    }
    eprintln!("seeding {} incidents", 2 * args.concurrency * args.incidents_per_client);
    let service_clients = clients(&channel, &tenants, args.concurrency, args.incidents_per_client).await?;
    let floor_clients = if args.no_floors {
        Vec::new()
    } else {
        clients(&channel, &tenants, args.concurrency, args.incidents_per_client).await?
    };
    let sample = sample(&channel, floor_clients.first().unwrap_or(&service_clients[0])).await?;

    eprintln!("measuring the service for {:?}", args.duration);
    let service = measure_service(&args, &channel, &server, service_clients).await?;
    let mut floors = None;
    if !args.no_floors && args.operations == [Operation::Update] {
        eprintln!("measuring the gRPC floor");
        let grpc = grpc_floor(&args, floor_clients.clone(), &sample.1).await?;
        eprintln!("measuring the storage floor");
        let (storage, statements) = storage_floor(&args, &db.url, floor_clients).await?;
        floors = Some((grpc, storage, statements));
    }
    drop(server);
    let backend = if db.postgres.is_some() { "PostgreSQL" } else { "SQLite" };
    db.drop_it().await?;
    Report {
        args: &args,
        backend,
        request_bytes: sample.0,
        response_bytes: prost::Message::encoded_len(&sample.1),
        service: &service,
        floors: floors.as_ref(),
    }
    .print()
}

/// A real answer, for the gRPC floor to send back, and the size of a request.
async fn sample(channel: &Channel, client: &Client) -> anyhow::Result<(usize, pb::Incident)> {
    let request = pb::UpdateIncidentRequest {
        incident_id: client.incidents[0].0.clone(),
        incident: Some(body(&client.tenant, 1)),
        ..Default::default()
    };
    let mut incidents = IncidentServiceClient::new(channel.clone());
    let answer = incidents.get_incident(authorized(
        &client.tenant.token,
        pb::GetIncidentRequest {
            incident_id: client.incidents[0].0.clone(),
        },
    ));
    Ok((prost::Message::encoded_len(&request), answer.await?.into_inner()))
}
