//! Publishing the outbox to NATS JetStream: one replica at a time (the one
//! holding the publisher lease) drains the outbox in order, one event at a
//! time, each a CloudEvent with `Nats-Msg-Id` set to its id, and marks what
//! JetStream acknowledged as published.
//!
//! An event is published after the one before it is acknowledged, so the
//! stream holds each tenant's events in sequence order even when a
//! connection drops mid-publish. An event acknowledged but not yet marked
//! (a crash in between) is sent again, and JetStream drops the copy within
//! its de-duplication window. While NATS is down, events wait in the outbox.

mod cloud_event;

pub use cloud_event::{cloud_event, subject};

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::{
    config::Redacted,
    domain::{Error, event::Event},
    store::{Backlog, OUTBOX_BATCH, Store, now},
};

/// The subjects' first token unless configured otherwise (`--nats-subject-prefix`).
pub const DEFAULT_SUBJECT_PREFIX: &str = "incidentd";
/// The stream's name unless configured otherwise (`--nats-stream`).
pub const DEFAULT_STREAM: &str = "INCIDENTD_EVENTS";
/// The publisher lease's name.
const LEASE: &str = "nats";
/// How long a lease lasts unless renewed: how soon another replica takes
/// over from one that died.
const LEASE_TTL: Duration = Duration::from_secs(15);
/// How often the holder renews it.
const LEASE_RENEWAL: Duration = Duration::from_secs(3);
/// How often a replica without the lease tries to take it.
const LEASE_RETRY: Duration = Duration::from_secs(2);
/// Events read from the outbox at once, and marked published at once.
const BATCH: u64 = OUTBOX_BATCH as u64;
/// How often the outbox is looked at for events another replica committed.
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How long JetStream has to acknowledge a publish.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest wait between attempts while NATS fails.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How often the backlog is logged while there is one.
const REPORT_INTERVAL: Duration = Duration::from_secs(60);
/// JetStream's de-duplication window (its default, stated here on purpose).
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// Where and how events are published.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// `nats://HOST:PORT`, credentials included if any.
    pub url: Redacted,
    pub subject_prefix: String,
    pub stream: String,
}

/// Publishes until `stopping` is set, then gives up the lease.
pub async fn run(store: Store, config: NatsConfig, mut stopping: watch::Receiver<bool>) {
    let client = match async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connect(config.url.0.as_str())
        .await
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "NATS: the URL is not usable; events are kept but not published");
            return;
        }
    };
    let mut context = jetstream::new(client);
    context.set_timeout(ACK_TIMEOUT);
    let mut publisher = Publisher {
        commits: store.commits(),
        store,
        context,
        config,
        holder: Uuid::now_v7(),
        stream_ready: false,
        backoff: Duration::ZERO,
        holding: false,
    };
    tracing::info!(holder = %publisher.holder, "NATS publisher started");
    tokio::select! {
        () = publisher.publish_forever() => {}
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    if publisher.holding
        && let Err(error) = publisher.store.release_lease(LEASE, publisher.holder).await
    {
        tracing::warn!(%error, "NATS publisher: releasing the lease");
    }
}

struct Publisher {
    store: Store,
    commits: broadcast::Receiver<Uuid>,
    context: jetstream::Context,
    config: NatsConfig,
    /// This replica, as the lease knows it.
    holder: Uuid,
    stream_ready: bool,
    /// How long to wait before the next attempt, after failures.
    backoff: Duration,
    holding: bool,
}

/// Why a round of publishing stopped short.
enum Failure {
    /// The database: the events stay where they are.
    Store(Error),
    /// NATS or JetStream: the event and those after it wait.
    Nats(String),
}

impl Publisher {
    async fn publish_forever(&mut self) {
        let mut reported = tokio::time::Instant::now();
        let mut renewed = None::<tokio::time::Instant>;
        loop {
            if renewed.is_none_or(|at| at.elapsed() >= LEASE_RENEWAL) {
                self.renew_lease().await;
                renewed = self.holding.then(tokio::time::Instant::now);
                if !self.holding {
                    tokio::time::sleep(LEASE_RETRY).await;
                    continue;
                }
            }
            if reported.elapsed() >= REPORT_INTERVAL {
                self.report().await;
                reported = tokio::time::Instant::now();
            }
            match self.publish_batch(renewed).await {
                Ok(0) => self.wait_for_commits().await,
                Ok(_) => self.backoff = Duration::ZERO,
                Err(failure) => self.fail(failure).await,
            }
        }
    }

    async fn renew_lease(&mut self) {
        let now = now();
        let until = now + LEASE_TTL;
        let holding = match self.store.take_lease(LEASE, self.holder, now, until).await {
            Ok(holding) => holding,
            Err(error) => {
                tracing::warn!(%error, "NATS publisher: the lease could not be renewed");
                false
            }
        };
        if holding != self.holding {
            tracing::info!(holder = %self.holder, holding, "NATS publisher lease");
            self.holding = holding;
        }
    }

    /// Publishes the next events in order, each once the one before it is
    /// acknowledged, and marks those acknowledged. Returns how many.
    async fn publish_batch(&mut self, renewed: Option<tokio::time::Instant>) -> Result<usize, Failure> {
        let events = self.store.unpublished_events(BATCH).await.map_err(Failure::Store)?;
        if events.is_empty() {
            return Ok(0);
        }
        self.ensure_stream().await?;
        let mut acknowledged = Vec::with_capacity(events.len());
        let mut failure = None;
        for (id, event) in &events {
            // Stop before the lease could have run out; the next round renews it.
            if renewed.is_some_and(|at| at.elapsed() >= LEASE_TTL - LEASE_RENEWAL) {
                break;
            }
            match self.publish(event).await {
                Ok(()) => acknowledged.push(*id),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        self.store
            .mark_published(&acknowledged, now())
            .await
            .map_err(Failure::Store)?;
        match failure {
            Some(failure) => Err(failure),
            None => Ok(acknowledged.len()),
        }
    }

    /// Publishes one event and waits for JetStream to acknowledge it.
    async fn publish(&mut self, event: &Event) -> Result<(), Failure> {
        let subject = subject(&self.config.subject_prefix, event);
        let payload = serde_json::to_vec(&cloud_event(event)).map_err(|e| Failure::Nats(e.to_string()))?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, event.event_id.to_string().as_str());
        headers.insert("Content-Type", "application/cloudevents+json; charset=utf-8");
        let ack = self
            .context
            .publish_with_headers(subject, headers, payload.into())
            .await
            .map_err(|e| Failure::Nats(e.to_string()))?
            .await;
        match ack {
            Ok(_) => Ok(()),
            Err(error) => {
                // No stream took it (deleted, say): make it again next time.
                if error.kind() == jetstream::context::PublishErrorKind::StreamNotFound {
                    self.stream_ready = false;
                }
                Err(Failure::Nats(error.to_string()))
            }
        }
    }

    /// Makes the stream if it is missing, once per connection to it.
    async fn ensure_stream(&mut self) -> Result<(), Failure> {
        if self.stream_ready {
            return Ok(());
        }
        let config = stream::Config {
            name: self.config.stream.clone(),
            subjects: vec![format!("{}.>", self.config.subject_prefix)],
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        };
        self.context
            .get_or_create_stream(config)
            .await
            .map_err(|e| Failure::Nats(format!("making stream {}: {e}", self.config.stream)))?;
        self.stream_ready = true;
        Ok(())
    }

    /// Waits for a commit of this process, or for the poll interval.
    async fn wait_for_commits(&mut self) {
        tokio::select! {
            _ = self.commits.recv() => {}
            () = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }

    async fn fail(&mut self, failure: Failure) {
        self.backoff = (self.backoff * 2).clamp(Duration::from_millis(250), MAX_BACKOFF);
        match failure {
            Failure::Store(error) => {
                tracing::warn!(%error, retry_in_ms = self.backoff.as_millis(), "NATS publisher: the outbox could not be read or marked")
            }
            Failure::Nats(error) => {
                tracing::warn!(%error, retry_in_ms = self.backoff.as_millis(), "NATS publisher: publishing failed; events wait in the outbox")
            }
        }
        tokio::time::sleep(self.backoff).await;
    }

    /// Logs how many events wait, and for how long.
    async fn report(&self) {
        match self.store.outbox_backlog().await {
            Ok(Backlog { unpublished: 0, .. }) => {}
            Ok(Backlog { unpublished, oldest }) => {
                let age_s = oldest.map(|at| (now() - at).num_seconds()).unwrap_or_default();
                tracing::info!(unpublished, oldest_age_s = age_s, "outbox backlog");
            }
            Err(error) => tracing::warn!(%error, "reading the outbox backlog"),
        }
    }
}
