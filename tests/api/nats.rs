//! A NATS server with JetStream of the test's own (`nats-server -js` on a
//! free port, its store in a temp dir), which the test can stop and start
//! again, and what its stream holds.

use std::{net::SocketAddr, process::Stdio, time::Duration};

use async_nats::jetstream;
use tokio::process::{Child, Command};

use crate::process::free_address;

pub const STREAM: &str = "TEST_EVENTS";
pub const PREFIX: &str = "test";

pub struct Nats {
    pub address: SocketAddr,
    store: tempfile::TempDir,
    process: Option<Child>,
}

impl Nats {
    pub async fn start() -> Self {
        let mut nats = Nats {
            address: free_address(),
            store: tempfile::tempdir().expect("temp dir"),
            process: None,
        };
        nats.resume().await;
        nats
    }

    pub fn url(&self) -> String {
        format!("nats://{}", self.address)
    }

    /// The server's configuration for a publisher to this server.
    pub fn config(&self) -> incidentd::publisher::NatsConfig {
        incidentd::publisher::NatsConfig {
            url: incidentd::config::Redacted(self.url()),
            subject_prefix: PREFIX.into(),
            stream: STREAM.into(),
        }
    }

    /// The flags of `incidentd serve` for a publisher to this server.
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--nats-url".into(),
            self.url(),
            "--nats-subject-prefix".into(),
            PREFIX.into(),
            "--nats-stream".into(),
            STREAM.into(),
        ]
    }

    /// Starts the server (again), on the same port and store.
    pub async fn resume(&mut self) {
        let binary = std::env::var("NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
        let child = Command::new(&binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &self.address.port().to_string()])
            .arg("-sd")
            .arg(self.store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{binary} must be installed (NATS_SERVER names another): {e}"));
        self.process = Some(child);
        for _ in 0..200 {
            // JetStream answers its API once it has started.
            if let Ok(client) = async_nats::connect(self.url()).await
                && client.request("$JS.API.INFO", "".into()).await.is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nats-server did not serve JetStream within 10 s");
    }

    /// Stops the server; its store stays for `resume`.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.process.take() {
            child.kill().await.expect("stop nats-server");
        }
    }

    /// Every message the stream holds, in its order, waiting until it holds
    /// `at_least` (and then a little longer, for any extra one).
    pub async fn messages(&self, at_least: u64) -> Vec<Published> {
        let client = async_nats::connect(self.url()).await.expect("connect to NATS");
        let context = jetstream::new(client);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut stream = loop {
            if let Ok(mut stream) = context.get_stream(STREAM).await
                && stream.info().await.expect("stream info").state.messages >= at_least
            {
                break stream;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the stream did not hold {at_least} messages within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        // Anything sent twice would arrive meanwhile.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let state = stream.info().await.expect("stream info").state.clone();
        let mut messages = Vec::new();
        for sequence in state.first_sequence..=state.last_sequence {
            let message = stream.get_raw_message(sequence).await.expect("a stored message");
            messages.push(Published {
                subject: message.subject.to_string(),
                message_id: message
                    .headers
                    .get(async_nats::header::NATS_MESSAGE_ID)
                    .map(|v| v.to_string()),
                content_type: message.headers.get("Content-Type").map(|v| v.to_string()),
                event: serde_json::from_slice(&message.payload).expect("JSON"),
            });
        }
        messages
    }
}

/// One message of the stream.
#[derive(Debug, Clone)]
pub struct Published {
    pub subject: String,
    pub message_id: Option<String>,
    pub content_type: Option<String>,
    pub event: serde_json::Value,
}

impl Published {
    pub fn tenant(&self) -> &str {
        self.event["source"]
            .as_str()
            .expect("source")
            .trim_start_matches("/incidentd/tenants/")
    }

    pub fn sequence(&self) -> i64 {
        self.event["data"]["sequence"].as_i64().expect("sequence")
    }
}

/// Asserts each event was published once, and each tenant's in sequence
/// order from 1: returns how many each tenant has.
pub fn assert_once_each_in_order(messages: &[Published]) -> std::collections::BTreeMap<String, i64> {
    let mut ids = std::collections::BTreeSet::new();
    let mut last = std::collections::BTreeMap::<String, i64>::new();
    for message in messages {
        let id = message.event["id"].as_str().expect("id").to_owned();
        assert_eq!(
            message.message_id.as_deref(),
            Some(id.as_str()),
            "Nats-Msg-Id is the event id"
        );
        assert!(ids.insert(id.clone()), "event {id} published twice");
        let next = last.entry(message.tenant().to_owned()).or_insert(0);
        assert_eq!(message.sequence(), *next + 1, "{} out of order", message.tenant());
        *next += 1;
    }
    last
}
