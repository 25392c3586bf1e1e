//! The server in a process of its own, and the child processes of this binary.

use std::{net::SocketAddr, path::PathBuf, process::Stdio, time::Duration};

use clap::Args;
use incidentd::{AuthConfig, AuthKey, Config, Limits};
use tokio::process::Child;
use tonic::transport::Channel;

use crate::{BenchDb, SECRET};

/// `incidentd-bench serve-child`: the server, in a process the bench measures.
#[derive(Args)]
pub struct ChildArgs {
    #[arg(long)]
    listen: SocketAddr,
    #[arg(long)]
    database_url: String,
    #[arg(long)]
    data_dir: PathBuf,
}

pub async fn serve_child(args: ChildArgs) -> anyhow::Result<()> {
    let config = Config {
        database_url: Some(args.database_url),
        data_dir: args.data_dir,
        auth: AuthConfig {
            key: AuthKey::Hs256Secret(SECRET.to_vec()),
            issuer: None,
            audience: None,
        },
        rate_limit: None,
        // The bench's clients are few; nothing of theirs is to be shed.
        limits: Limits {
            max_concurrent_calls: 4096,
            tenant_share_percent: 100,
            ..Limits::default()
        },
        events: incidentd::EventsConfig::default(),
    };
    let app = incidentd::build(&config).await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    incidentd::serve(app, listener, std::future::pending()).await
}

/// The server in a child process on `db`, and a channel to it once it listens.
pub(super) async fn start_server(db: &BenchDb) -> anyhow::Result<(Child, Channel)> {
    let address = free_address()?;
    let server = child(&[
        "serve-child".into(),
        "--listen".into(),
        address.to_string(),
        "--database-url".into(),
        db.url.clone(),
        "--data-dir".into(),
        db.dir.display().to_string(),
    ])
    .await?;
    Ok((server, wait_for(address).await?))
}

/// A child process of this binary, killed when dropped.
pub(super) async fn child(args: &[String]) -> anyhow::Result<Child> {
    let exe = std::env::current_exe()?;
    Ok(tokio::process::Command::new(exe)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?)
}

pub(super) async fn wait_for(address: SocketAddr) -> anyhow::Result<Channel> {
    for _ in 0..600 {
        if let Ok(channel) = Channel::from_shared(format!("http://{address}"))?.connect().await {
            return Ok(channel);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("nothing listens at {address}")
}

pub(super) fn free_address() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}
