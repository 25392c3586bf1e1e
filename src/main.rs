//! The `incidentd` command: `serve` (the default), `migrate` and `token`.

use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};
use incidentd::{auth::claims_for, config};
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "incidentd",
    version,
    about = "A multi-tenant register of privacy incidents, served over gRPC and REST",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no command, `incidentd` serves with these flags.
    #[command(flatten)]
    serve: config::Serve,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gRPC server and the REST gateway (what a bare `incidentd` does).
    Serve(Box<config::Serve>),
    /// Bring the database schema up to date, then exit.
    Migrate(config::Common),
    /// Print a bearer token signed with the configured or development key.
    Token(TokenArgs),
}

impl Command {
    /// The flags every command takes.
    fn common(&self) -> &config::Common {
        match self {
            Command::Serve(args) => &args.common,
            Command::Migrate(common) => common,
            Command::Token(args) => &args.common,
        }
    }
}

#[derive(clap::Args)]
struct TokenArgs {
    #[arg(long)]
    tenant_id: Uuid,
    #[arg(long)]
    subject: Uuid,
    /// Space-separated scopes, e.g. "INCIDENT INCIDENT_ADMIN".
    #[arg(long, value_parser = parse_scopes)]
    scope: String,
    /// Display name, recorded as `creator`.
    #[arg(long)]
    name: Option<String>,
    /// Lifetime, e.g. 30m, 1h, 7d.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    ttl: Duration,
    /// PEM private key (RS256 or ES256), when the server verifies with a public key.
    #[arg(long, value_name = "PEM_FILE")]
    private_key: Option<PathBuf>,
    #[command(flatten)]
    common: config::Common,
}

/// mimalloc: the service allocates many small, short-lived values per call.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve(Box::new(cli.serve)));
    incidentd::telemetry::init_logs(command.common().log_format);
    match command {
        Command::Serve(args) => {
            let app = incidentd::build(&args.to_config()).await?;
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("binding {}", args.listen))?;
            incidentd::serve(app, listener, shutdown_signal()).await
        }
        Command::Migrate(common) => {
            let store = common.to_config().connect().await?;
            store.migrate().await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Token(args) => {
            let config = args.common.to_config();
            let claims = claims_for(args.tenant_id, args.subject, &args.scope, args.name, args.ttl);
            println!("{}", config.signer(args.private_key.as_deref())?.sign(&claims)?);
            Ok(())
        }
    }
}

/// Refuses scope names the server would ignore, so a typo cannot mint a token
/// that silently grants nothing.
fn parse_scopes(raw: &str) -> Result<String, String> {
    match raw.split(' ').find(|s| incidentd::auth::Scope::parse(s).is_none()) {
        Some(unknown) => Err(format!(
            "unknown scope {unknown:?}: use INCIDENT, INCIDENT_READ, INCIDENT_CREATE or INCIDENT_ADMIN, separated by spaces"
        )),
        None => Ok(raw.to_owned()),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown requested");
}
