//! Latency from commit to JetStream: UpdateIncident at a paced rate with the
//! publisher live, and for each event of the measured period, JetStream's
//! timestamp of it minus the event's `time`.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use incidentd::pb::incident_service_client::IncidentServiceClient;
use tonic::transport::Channel;

use super::{
    EventsArgs,
    delivery::{Delivery, delivered},
    nats::Nats,
};
use crate::{
    BenchDb,
    update::{Client, Operation, Pace, Run, clients, drive, one_call, start_server, tenant},
};

/// How long the publisher has to catch up with the outbox.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(300);

/// What the paced run found.
pub(super) struct Latency {
    /// Every client calling at once, the publisher live: measured to set the
    /// rate when none is given.
    pub(super) saturation: Option<Run>,
    pub(super) rate: f64,
    /// The paced updates' own calls.
    pub(super) updates: Run,
    /// Commit to JetStream, in milliseconds, for each event of the measured
    /// period.
    pub(super) millis: Vec<f64>,
    pub(super) delivery: Delivery,
}

/// Updates at saturation (unless `--rate`), then at the rate, publisher live;
/// reads the stream back once it holds every event.
pub(super) async fn latency(args: &EventsArgs) -> anyhow::Result<Latency> {
    let db = BenchDb::new(args.database_url.as_deref()).await?;
    let mut nats = Nats::new(args.nats_server.clone())?;
    nats.start().await?;
    let (server, channel) = start_server(&db, Some(&nats.url())).await?;
    let context = nats.context().await?;
    let saturation = match args.rate {
        Some(_) => None,
        None => {
            eprintln!(
                "measuring updates at saturation, publisher live, for {:?}",
                args.duration
            );
            Some(updates(args, &channel, None).await?.0)
        }
    };
    let rate = args
        .rate
        .or(saturation.as_ref().map(|run| run.throughput() / 2.0))
        .context("a rate")?;
    // The backlog of the saturated run is not to be timed.
    delivered(&db.url, &context, CATCH_UP_TIMEOUT).await?;
    eprintln!(
        "measuring updates at {rate:.0}/s, publisher live, for {:?}",
        args.duration
    );
    let (updates, from) = updates(args, &channel, Some(rate)).await?;
    let to = from + TimeDelta::from_std(args.duration)?;
    let (delivery, messages) = delivered(&db.url, &context, CATCH_UP_TIMEOUT).await?;
    drop(server);
    db.drop_it().await?;
    let millis = messages
        .iter()
        .filter(|m| m.time >= from && m.time < to)
        .map(|m| (m.stored - m.time).as_seconds_f64() * 1000.0)
        .collect();
    Ok(Latency {
        saturation,
        rate,
        updates,
        millis,
        delivery,
    })
}

/// UpdateIncident from new clients of a new tenant, every answer checked, at
/// `rate` or at once; returns the run and when its measured period began.
async fn updates(args: &EventsArgs, channel: &Channel, rate: Option<f64>) -> anyhow::Result<(Run, DateTime<Utc>)> {
    let tenants = [tenant(channel).await?];
    let clients = clients(channel, &tenants, args.concurrency, args.incidents_per_client).await?;
    let incidents = IncidentServiceClient::new(channel.clone());
    let pace = Pace {
        warmup: args.warmup,
        duration: args.duration,
        rate,
    };
    let from = Utc::now() + TimeDelta::from_std(args.warmup)?;
    let run = drive(clients, pace, move |mut client: Client| {
        let mut incidents = incidents.clone();
        async move {
            client.n += 1;
            let result = one_call(&mut incidents, &mut client, Operation::Update).await;
            (client, Operation::Update, result)
        }
    })
    .await;
    Ok((run, from))
}
