//! The server in a process of its own, and the child processes of this binary.

use std::{net::SocketAddr, path::PathBuf, process::Stdio, time::Duration};

use clap::Args;
use incidentd::{
    AuthConfig, AuthKey, Config, EventsConfig, Limits,
    config::Redacted,
    publisher::{DEFAULT_STREAM, DEFAULT_SUBJECT_PREFIX, NatsConfig},
};
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
    /// Publish change events to this NATS server (`nats://HOST:PORT`), to the
    /// default stream and subjects.
    #[arg(long)]
    nats_url: Option<String>,
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
        events: EventsConfig {
            nats: args.nats_url.map(|url| NatsConfig {
                url: Redacted(url),
                subject_prefix: DEFAULT_SUBJECT_PREFIX.into(),
                stream: DEFAULT_STREAM.into(),
            }),
            ..EventsConfig::default()
        },
        metrics_listen: None,
        tls: None,
    };
    let app = incidentd::build(&config).await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    incidentd::serve(app, listener, std::future::pending()).await
}

/// The server in a child process on `db`, publishing its change events to
/// `nats` if given, and a channel to it once it listens.
pub(crate) async fn start_server(db: &BenchDb, nats: Option<&str>) -> anyhow::Result<(Child, Channel)> {
    let address = free_address()?;
    let mut args = vec![
        "serve-child".into(),
        "--listen".into(),
        address.to_string(),
        "--database-url".into(),
        db.url.clone(),
        "--data-dir".into(),
        db.dir.display().to_string(),
    ];
    if let Some(url) = nats {
        args.extend(["--nats-url".into(), url.to_owned()]);
    }
    let server = child(&args).await?;
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

pub(crate) fn free_address() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}
