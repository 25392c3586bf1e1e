//! A nats-server with JetStream of the bench's own (on a free port, its store
//! in a temporary directory), and what the server's stream holds: how many
//! messages, and each with JetStream's timestamp.

use std::{net::SocketAddr, path::PathBuf, process::Stdio, time::Duration};

use anyhow::Context;
use async_nats::jetstream;
use chrono::{DateTime, Utc};
use incidentd::publisher::DEFAULT_STREAM;
use serde::Deserialize;
use tokio::process::Child;
use uuid::Uuid;

use crate::update::free_address;

/// A nats-server process (once started), killed and its store removed when
/// dropped.
pub(super) struct Nats {
    binary: PathBuf,
    address: SocketAddr,
    dir: PathBuf,
    process: Option<Child>,
}

/// One message of the stream: the CloudEvent's fields the bench checks, and
/// when JetStream stored it.
pub(super) struct Stored {
    pub(super) id: Uuid,
    pub(super) tenant: Uuid,
    pub(super) sequence: i64,
    /// The event's `time`: when the update stamped it, before its writes and
    /// its commit.
    pub(super) time: DateTime<Utc>,
    pub(super) stored: DateTime<Utc>,
}

#[derive(Deserialize)]
struct CloudEvent {
    id: Uuid,
    time: DateTime<Utc>,
    data: EventData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventData {
    tenant_id: Uuid,
    sequence: i64,
}

impl Nats {
    /// A server to be, on a port free now; nothing listens there until `start`.
    pub(super) fn new(binary: PathBuf) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("incidentd-bench-nats-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            binary,
            address: free_address()?,
            dir,
            process: None,
        })
    }

    pub(super) fn url(&self) -> String {
        format!("nats://{}", self.address)
    }

    /// Starts the server and waits until JetStream answers.
    pub(super) async fn start(&mut self) -> anyhow::Result<()> {
        let process = tokio::process::Command::new(&self.binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &self.address.port().to_string()])
            .arg("-sd")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} (--nats-server)", self.binary.display()))?;
        self.process = Some(process);
        for _ in 0..200 {
            if let Ok(client) = async_nats::connect(self.url()).await
                && client.request("$JS.API.INFO", "".into()).await.is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("nats-server did not serve JetStream within 10 s")
    }

    pub(super) async fn context(&self) -> anyhow::Result<jetstream::Context> {
        Ok(jetstream::new(async_nats::connect(self.url()).await?))
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        if let Some(process) = self.process.as_mut() {
            let _ = process.start_kill();
        }
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// How many messages the events' stream holds; 0 until the publisher has
/// made it.
async fn count(context: &jetstream::Context) -> u64 {
    let Ok(mut stream) = context.get_stream(DEFAULT_STREAM).await else {
        return 0;
    };
    stream.info().await.map_or(0, |info| info.state.messages)
}

/// Waits until the stream holds `expected` messages, at most `within`.
pub(super) async fn wait_for(context: &jetstream::Context, expected: u64, within: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let held = count(context).await;
        if held >= expected {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the stream held {held} of {expected} events after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every message of the stream, in its order.
pub(super) async fn messages(context: &jetstream::Context) -> anyhow::Result<Vec<Stored>> {
    let mut stream = context.get_stream(DEFAULT_STREAM).await?;
    let state = stream.info().await?.state.clone();
    let mut messages = Vec::with_capacity(state.messages as usize);
    for sequence in state.first_sequence..=state.last_sequence {
        let message = stream.get_raw_message(sequence).await?;
        let event: CloudEvent = serde_json::from_slice(&message.payload).context("a CloudEvent in JSON")?;
        messages.push(Stored {
            id: event.id,
            tenant: event.data.tenant_id,
            sequence: event.data.sequence,
            time: event.time,
            stored: utc(message.time),
        });
    }
    Ok(messages)
}

/// A JetStream timestamp as chrono's.
fn utc(at: async_nats::datetime::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(at.unix_timestamp_nanos() as i64)
}
