//! incidentd: a multi-tenant register of privacy incidents, served over gRPC.
//!
//! `build` turns a `Config` into a ready `App` (database connected and migrated,
//! token verifier loaded, demo data seeded on a new embedded database); `serve`
//! runs it on a bound listener until a shutdown future resolves. `main.rs` and
//! the tests start exactly the same thing.

mod admission;
pub mod auth;
#[cfg(feature = "bench")]
pub mod bench;
pub mod config;
pub mod demo;
pub mod domain;
#[cfg(any(test, feature = "fuzz"))]
pub mod fuzz;
pub mod grpc;
pub mod pb;
pub mod rest;
pub mod service;
pub mod store;

use std::{
    fs,
    future::Future,
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use tokio::{net::TcpListener, sync::watch};
use tonic::transport::server::TcpIncoming;
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{
    auth::{KeySource, Signer, Verifier},
    service::Service,
    store::Store,
};
pub use admission::Limits;
pub use service::RateLimit;

/// How long closing the database may take at shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest request message or REST body accepted (tonic's default, stated here on purpose).
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// The development signing key's file inside the data directory.
const DEV_KEY_FILE: &str = "dev-hs256.key";

#[derive(Debug, Clone)]
pub struct Config {
    /// `None`: the SQLite file `incidents.db` in `data_dir`.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub auth: AuthConfig,
    /// Calls each tenant may make; `None`: no limit.
    pub rate_limit: Option<RateLimit>,
    /// How many calls the server takes on at once, and for how long each.
    pub limits: Limits,
}

#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub key: AuthKey,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

#[derive(Clone)]
pub enum AuthKey {
    Hs256Secret(Vec<u8>),
    PublicKeyPem(PathBuf),
    /// A random HS256 key kept in the data directory, made on first start.
    Development,
}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthKey::Hs256Secret(_) => f.write_str("Hs256Secret([redacted])"),
            AuthKey::PublicKeyPem(path) => write!(f, "PublicKeyPem({})", path.display()),
            AuthKey::Development => f.write_str("Development"),
        }
    }
}

impl Config {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("incidents.db").display()))
    }

    /// Connects to the configured database, creating the data directory first
    /// when the database is the embedded default.
    pub async fn connect(&self) -> anyhow::Result<Store> {
        if self.database_url.is_none() {
            fs::create_dir_all(&self.data_dir).with_context(|| format!("creating {}", self.data_dir.display()))?;
        }
        Store::connect(&self.database_url())
            .await
            .context("connecting to the database")
    }

    /// The development key, created (mode 0600) on first use.
    pub fn development_key(&self) -> anyhow::Result<Vec<u8>> {
        let path = self.data_dir.join(DEV_KEY_FILE);
        if let Ok(hex) = fs::read_to_string(&path) {
            let key = hex::decode(hex.trim()).with_context(|| format!("{} is not a hex key", path.display()))?;
            anyhow::ensure!(key.len() >= 32, "{} holds a key shorter than 32 bytes", path.display());
            return Ok(key);
        }
        fs::create_dir_all(&self.data_dir).with_context(|| format!("creating {}", self.data_dir.display()))?;
        let key: [u8; 32] = rand::random();
        write_private(&path, &hex::encode(key))?;
        tracing::info!(path = %path.display(), "created a development signing key");
        Ok(key.to_vec())
    }

    /// The verifier for incoming tokens.
    pub fn verifier(&self) -> anyhow::Result<Verifier> {
        let auth = &self.auth;
        match &auth.key {
            AuthKey::Hs256Secret(secret) => Verifier::new(
                KeySource::Hs256Secret(secret),
                auth.issuer.as_deref(),
                auth.audience.as_deref(),
            ),
            AuthKey::PublicKeyPem(path) => Verifier::new(
                KeySource::PublicKeyPem(path),
                auth.issuer.as_deref(),
                auth.audience.as_deref(),
            ),
            AuthKey::Development => {
                let key = self.development_key()?;
                Verifier::new(
                    KeySource::Hs256Secret(&key),
                    auth.issuer.as_deref(),
                    auth.audience.as_deref(),
                )
            }
        }
    }

    /// A signer for `incidentd token`: the shared secret or the development key.
    /// With a public key configured, the private key must be given instead.
    pub fn signer(&self, private_key: Option<&Path>) -> anyhow::Result<Signer> {
        let signer = match (private_key, &self.auth.key) {
            (Some(path), _) => {
                let pem = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                Signer::from_private_pem(&pem)?
            }
            (None, AuthKey::Hs256Secret(secret)) => Signer::hs256(secret),
            (None, AuthKey::Development) => Signer::hs256(&self.development_key()?),
            (None, AuthKey::PublicKeyPem(_)) => {
                anyhow::bail!("a public key verifies tokens but cannot sign them: pass --private-key")
            }
        };
        Ok(signer.for_server(self.auth.issuer.clone(), self.auth.audience.clone()))
    }
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// A started application: connected, migrated, ready to serve.
pub struct App {
    pub service: Service,
    pub verifier: Arc<Verifier>,
    pub limits: Limits,
}

/// Connects, migrates, loads the verifier and seeds the demo tenant where due.
pub async fn build(config: &Config) -> anyhow::Result<App> {
    let store = config.connect().await?;
    store.migrate().await.context("migrating the database")?;
    let verifier = Arc::new(config.verifier()?);
    if matches!(config.auth.key, AuthKey::Development) && store.is_sqlite() {
        demo::seed_if_empty(&store, config).await?;
    }
    Ok(App {
        service: Service::new(store, config.rate_limit),
        verifier,
        limits: config.limits,
    })
}

/// How often health checks that the database answers.
const HEALTH_INTERVAL: Duration = Duration::from_secs(5);

/// The services health reports on: the server as a whole ("") and each API.
const HEALTH_SERVICES: [&str; 3] = [
    "",
    <pb::incident_service_server::IncidentServiceServer<grpc::Api> as tonic::server::NamedService>::NAME,
    <pb::reference_data_service_server::ReferenceDataServiceServer<grpc::Api> as tonic::server::NamedService>::NAME,
];

async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    for service in HEALTH_SERVICES {
        reporter.set_service_status(service, status).await;
    }
}

/// Reports NOT_SERVING while the database does not answer, SERVING when it does,
/// until shutdown begins.
async fn watch_database(store: Store, reporter: HealthReporter, mut stopping: watch::Receiver<bool>) {
    let mut serving = true;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(HEALTH_INTERVAL) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
        let up = matches!(tokio::time::timeout(HEALTH_INTERVAL, store.ping()).await, Ok(Ok(())));
        if up != serving {
            serving = up;
            tracing::warn!(serving = up, "database health changed");
            set_health(
                &reporter,
                if up {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                },
            )
            .await;
        }
    }
}

/// How often the database is looked after.
const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(600);

/// Now and then until shutdown begins: deletes request ids older than a day
/// (ignored once expired anyway; this keeps the table small), refreshes the
/// query planner's statistics, and forgets idle tenants' rate buckets.
async fn maintain(service: Service, mut stopping: watch::Receiver<bool>) {
    let store = service.store();
    loop {
        match store.forget_expired_requests().await {
            Ok(0) => {}
            Ok(forgotten) => tracing::info!(forgotten, "expired request ids deleted"),
            Err(error) => tracing::warn!(%error, "deleting expired request ids"),
        }
        // PostgreSQL's autovacuum keeps its statistics; SQLite has nothing like it.
        if store.is_sqlite()
            && let Err(error) = store.optimize().await
        {
            tracing::warn!(%error, "refreshing planner statistics");
        }
        service.forget_idle_tenants();
        tokio::select! {
            _ = tokio::time::sleep(MAINTENANCE_INTERVAL) => {}
            _ = stopping.wait_for(|stop| *stop) => return,
        }
    }
}

/// Reflection (v1 or v1alpha) over our services, health and the error details.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// Serves gRPC (with reflection and health) on `listener` until `shutdown`
/// resolves, then lets in-flight calls finish for a bounded grace period.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use pb::{
        incident_service_server::IncidentServiceServer, reference_data_service_server::ReferenceDataServiceServer,
    };

    let (health, health_service) = tonic_health::server::health_reporter();
    set_health(&health, ServingStatus::Serving).await;
    let (stop_tx, stop_rx) = watch::channel(false);
    let watcher = tokio::spawn(watch_database(
        app.service.store().clone(),
        health.clone(),
        stop_rx.clone(),
    ));
    let maintenance = tokio::spawn(maintain(app.service.clone(), stop_rx.clone()));
    tokio::spawn(async move {
        shutdown.await;
        set_health(&health, ServingStatus::NotServing).await;
        let _ = stop_tx.send(true);
    });

    tracing::info!(address = %listener.local_addr()?, "serving gRPC and REST");
    let api = grpc::Api::new(app.service.clone(), app.verifier.clone());
    let mut stopping = stop_rx.clone();
    let rest = rest::router(app.service.clone(), app.verifier.clone(), MAX_MESSAGE_BYTES);
    let server = tonic::transport::Server::builder()
        .layer(admission::AdmissionLayer::new(app.limits))
        // HTTP/1.1 for the REST gateway, which shares the port (routed by path).
        .accept_http1(true)
        .add_routes(rest.into())
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?)
        .add_service(IncidentServiceServer::new(api.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .add_service(ReferenceDataServiceServer::new(api).max_decoding_message_size(MAX_MESSAGE_BYTES))
        // Nagle's algorithm would hold small answers back until the client's
        // delayed ACK, adding up to 40 ms to a call: off, as tonic's own bind does.
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        });
    let mut grace = stop_rx;
    tokio::select! {
        result = server => result?,
        _ = async {
            let _ = grace.wait_for(|stop| *stop).await;
            tokio::time::sleep(app.limits.shutdown_grace).await;
        } => tracing::warn!("in-flight calls did not finish within the grace period"),
    }
    watcher.abort();
    maintenance.abort();
    // Closing waits for connections in use; one still held by a call cut off
    // above is abandoned, and the database rolls its transaction back.
    let store = app.service.store().clone();
    if tokio::time::timeout(CLOSE_TIMEOUT, store.close()).await.is_err() {
        tracing::warn!("connections still in use were abandoned; their transactions roll back");
    }
    tracing::info!("stopped");
    Ok(())
}
