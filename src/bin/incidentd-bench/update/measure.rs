//! The service measured: the mix of calls each client makes, every answer
//! checked, with the server's CPU and memory beside.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use anyhow::Context;
use incidentd::pb::{self, incident_service_client::IncidentServiceClient};
use tokio::process::Child;
use tonic::transport::Channel;

use super::{
    Operation, UpdateArgs,
    body::{body, create_body},
    clients::Client,
    drive::{Run, drive},
    process::{cpu_seconds, memory_mib, sample_memory},
    tenant::{authorized, status_text},
};

/// The service measured: throughput, latency, errors, CPU and memory.
pub(super) struct Measured {
    pub(super) run: Run,
    pub(super) cpu_seconds: f64,
    pub(super) rss_samples: Vec<f64>,
    pub(super) peak_mib: f64,
}

pub(super) async fn measure_service(
    args: &UpdateArgs,
    channel: &Channel,
    server: &Child,
    clients: Vec<Client>,
) -> anyhow::Result<Measured> {
    let pid = server.id().context("the server runs")?;
    let operations = args.operations.clone();
    let incidents = IncidentServiceClient::new(channel.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_memory(pid, stop.clone());
    let cpu_before = cpu_seconds(pid);
    let cpu_started = Instant::now();
    let run = drive(clients, args.pace(), move |mut client: Client| {
        let (mut incidents, operations) = (incidents.clone(), operations.clone());
        async move {
            let operation = operations[client.n as usize % operations.len()];
            client.n += 1;
            let result = one_call(&mut incidents, &mut client, operation).await;
            (client, operation, result)
        }
    })
    .await;
    // The CPU of the warm-up and the measurement, over the same wall time.
    let cpu = (cpu_seconds(pid) - cpu_before) / cpu_started.elapsed().as_secs_f64() * run.seconds;
    stop.store(true, Ordering::Relaxed);
    let rss_samples = sampler.await?;
    Ok(Measured {
        run,
        cpu_seconds: cpu,
        rss_samples,
        peak_mib: memory_mib(pid, "VmHWM:"),
    })
}

/// One call, its answer checked: an update must advance the revision by one.
pub(crate) async fn one_call(
    incidents: &mut IncidentServiceClient<Channel>,
    client: &mut Client,
    operation: Operation,
) -> Result<(), String> {
    let slot = client.next % client.incidents.len();
    client.next += 1;
    match operation {
        Operation::Update => client.incidents[slot].1 = update(incidents, client, slot).await?,
        Operation::Get => get(incidents, client, slot).await?,
        Operation::Create => create(incidents, client).await?,
    }
    Ok(())
}

/// Updates the client's incident in `slot`: the revision it wrote, which must
/// be one past the last one the client saw.
async fn update(incidents: &mut IncidentServiceClient<Channel>, client: &Client, slot: usize) -> Result<i64, String> {
    let (id, revision) = client.incidents[slot].clone();
    let request = pb::UpdateIncidentRequest {
        incident_id: id,
        incident: Some(body(&client.tenant, client.n)),
        ..Default::default()
    };
    let answer = incidents
        .update_incident(authorized(&client.tenant.token, request))
        .await
        .map_err(status_text)?
        .into_inner();
    if answer.revision != revision + 1 {
        return Err(format!("revision {} after {revision}", answer.revision));
    }
    Ok(answer.revision)
}

/// Reads the client's incident in `slot`, which must be at the revision the
/// client last saw.
async fn get(incidents: &mut IncidentServiceClient<Channel>, client: &Client, slot: usize) -> Result<(), String> {
    let (id, revision) = client.incidents[slot].clone();
    let request = pb::GetIncidentRequest { incident_id: id };
    let answer = incidents
        .get_incident(authorized(&client.tenant.token, request))
        .await
        .map_err(status_text)?
        .into_inner();
    if answer.revision != revision {
        return Err(format!("read revision {} of {revision}", answer.revision));
    }
    Ok(())
}

/// Creates an incident, which must come back at revision 1 with an id.
async fn create(incidents: &mut IncidentServiceClient<Channel>, client: &Client) -> Result<(), String> {
    let request = pb::CreateIncidentRequest {
        incident: Some(create_body(&client.tenant, client.n)),
        ..Default::default()
    };
    let answer = incidents
        .create_incident(authorized(&client.tenant.token, request))
        .await
        .map_err(status_text)?
        .into_inner();
    if answer.revision != 1 || answer.id.is_empty() {
        return Err(format!("created at revision {}", answer.revision));
    }
    Ok(())
}
