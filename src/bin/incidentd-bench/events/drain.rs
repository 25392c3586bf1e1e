//! The publisher's throughput: the outbox filled while NATS is down, then
//! NATS started and the publisher timed as it drains the outbox into the
//! stream, by JetStream's own timestamps of the first and the last event.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;
use tokio::task::JoinSet;
use tonic::transport::Channel;

use super::{
    EventsArgs,
    delivery::{Delivery, delivered},
    nats::Nats,
};
use crate::{
    BenchDb,
    update::{Client, Operation, clients, one_call, start_server, tenant},
};

/// How long the publisher has to drain the outbox once NATS is up.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(600);

/// What draining the outbox took.
#[derive(Serialize)]
pub(super) struct Drained {
    /// Events in the outbox when NATS started.
    pub(super) events: usize,
    /// How fast the outbox was filled (every call made at once, NATS down).
    pub(super) filled_per_second: f64,
    /// JetStream's timestamp of the last event minus that of the first.
    pub(super) seconds: f64,
    pub(super) per_second: f64,
    /// From starting nats-server to the last event stored: the publisher's
    /// reconnection and back-off included.
    pub(super) seconds_from_nats_start: f64,
    pub(super) delivery: Delivery,
}

/// Fills the outbox with `args.events` events while NATS is down, then times
/// the drain.
pub(super) async fn drain(args: &EventsArgs) -> anyhow::Result<Drained> {
    let db = BenchDb::new(args.database_url.as_deref()).await?;
    let mut nats = Nats::new(args.nats_server.clone())?;
    let (server, channel) = start_server(&db, Some(&nats.url())).await?;
    eprintln!("filling the outbox with {} events, NATS down", args.events);
    let filling = Instant::now();
    fill(args, &channel).await?;
    let filled_seconds = filling.elapsed().as_secs_f64();
    eprintln!("starting NATS: the publisher drains the outbox");
    let started = Utc::now();
    nats.start().await?;
    let (delivery, messages) = delivered(&db.url, &nats.context().await?, DRAIN_TIMEOUT).await?;
    drop(server);
    db.drop_it().await?;
    let (Some(first), Some(last)) = (messages.first(), messages.last()) else {
        anyhow::bail!("the stream holds nothing");
    };
    let seconds = (last.stored - first.stored).as_seconds_f64();
    Ok(Drained {
        events: delivery.outbox,
        filled_per_second: delivery.outbox as f64 / filled_seconds,
        seconds,
        per_second: (messages.len() as f64 - 1.0) / seconds,
        seconds_from_nats_start: (last.stored - started).as_seconds_f64(),
        delivery,
    })
}

/// Seeds the clients' incidents (an event each), then updates them from
/// every client at once until the outbox holds `args.events` events.
async fn fill(args: &EventsArgs, channel: &Channel) -> anyhow::Result<()> {
    let tenants = [tenant(channel).await?];
    let clients = clients(channel, &tenants, args.concurrency, args.incidents_per_client).await?;
    let seeded = args.concurrency * args.incidents_per_client;
    let updates = args.events.saturating_sub(seeded);
    let mut tasks = JoinSet::new();
    for (c, client) in clients.into_iter().enumerate() {
        // The first clients take one more when the updates do not divide evenly.
        let count = updates / args.concurrency + usize::from(c < updates % args.concurrency);
        tasks.spawn(updates_of(client, channel.clone(), count));
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// `count` updates of the client's incidents in turn, one after the other.
async fn updates_of(mut client: Client, channel: Channel, count: usize) -> anyhow::Result<()> {
    let mut incidents = incidentd::pb::incident_service_client::IncidentServiceClient::new(channel);
    for _ in 0..count {
        client.n += 1;
        one_call(&mut incidents, &mut client, Operation::Update)
            .await
            .map_err(anyhow::Error::msg)?;
    }
    Ok(())
}
