//! The server as its own process (`incidentd serve`), for the tests that
//! kill it, restart it or measure its memory.

use std::{net::SocketAddr, process::Stdio, time::Duration};

use tokio::process::{Child, Command};
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::helpers::{SECRET, TestDb};

/// A port no one listens on now, kept across restarts so clients reconnect.
pub fn free_address() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    probe.local_addr().expect("address")
}

/// Starts `incidentd serve` on `db` at `address`, and waits until it serves.
pub async fn start(db: &TestDb, address: SocketAddr, extra: &[&str]) -> Child {
    let mut child = launch(db, address, extra);
    for _ in 0..600 {
        if let Some(status) = child.try_wait().expect("status") {
            panic!("the server exited at start: {status}");
        }
        if serving(address).await {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not serve within 30 s");
}

/// Starts `incidentd serve` on `db` at `address`, without waiting.
pub fn launch(db: &TestDb, address: SocketAddr, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_incidentd"))
        .arg("serve")
        .args(["--listen", &address.to_string(), "--database-url", db.url()])
        .arg("--data-dir")
        .arg(db.dir())
        .args(extra)
        .env(
            "INCIDENTD_AUTH_HS256_SECRET",
            std::str::from_utf8(SECRET).expect("text"),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the server starts")
}

async fn serving(address: SocketAddr) -> bool {
    let Ok(channel) = Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect()
        .await
    else {
        return false;
    };
    let request = HealthCheckRequest {
        service: "incident.v1.IncidentService".into(),
    };
    let answer = HealthClient::new(channel).check(request).await;
    answer.is_ok_and(|a| a.into_inner().status() == ServingStatus::Serving)
}

/// A line of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`).
pub fn memory_kib(server: &Child, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.id().expect("running"))).expect("status");
    let line = status.lines().find(|l| l.starts_with(field)).expect("the field");
    line.split_whitespace().nth(1).expect("a number").parse().expect("KiB")
}
