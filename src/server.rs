//! Startup: `build` turns a `Config` into a ready `App` (database connected and
//! migrated, token verifier loaded, demo data seeded on a new embedded
//! database); `serve` runs it on a bound listener until a shutdown future
//! resolves, with health, reflection and the database's upkeep beside it.

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::{net::TcpListener, sync::watch};
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{
    Limits, admission,
    auth::Verifier,
    config::{AuthKey, Config, EventsConfig},
    conn, demo, grpc, pb, rest,
    service::Service,
    store::Store,
    telemetry,
};

/// How long closing the database may take at shutdown.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest request message or REST body accepted (tonic's default, stated here on purpose).
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
/// HTTP/2 streams one connection may have open at once (`SETTINGS_MAX_CONCURRENT_STREAMS`,
/// the least RFC 9113 §6.5.2 recommends); a peer that opens more has them refused.
const MAX_CONCURRENT_STREAMS: u32 = 100;
/// The largest header list a request may send (`SETTINGS_MAX_HEADER_LIST_SIZE`):
/// room for any bearer token, little for anything else.
const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;
/// How often an HTTP/2 connection is pinged, and how long the peer has to answer
/// before it is taken for dead and the connection closed.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// A started application: connected, migrated, ready to serve.
pub struct App {
    pub service: Service,
    pub verifier: Arc<Verifier>,
    pub limits: Limits,
    pub events: EventsConfig,
    /// Where `/metrics` is served besides the service's port.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// TLS on the service's port, read at start; `None`: plaintext.
    pub tls: Option<Arc<crate::tls::Tls>>,
}

/// Connects, migrates, loads the verifier and seeds the demo tenant where due.
pub async fn build(config: &Config) -> anyhow::Result<App> {
    telemetry::metrics::install();
    let tls = config.tls.clone().map(crate::tls::Tls::load).transpose()?;
    let store = config.connect().await?;
    store.migrate().await.context("migrating the database")?;
    let verifier = Arc::new(config.verifier()?);
    if matches!(config.auth.key, AuthKey::Development) && store.is_sqlite() {
        demo::seed_if_empty(&store, config).await?;
    }
    Ok(App {
        service: Service::new(store, config.rate_limit, config.events.watch),
        verifier,
        limits: config.limits,
        events: config.events.clone(),
        metrics_listen: config.metrics_listen,
        tls,
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
/// (ignored once expired anyway; this keeps the table small) and events older
/// than their retention, refreshes the query planner's statistics, and
/// forgets idle tenants' rate buckets.
async fn maintain(service: Service, events: EventsConfig, mut stopping: watch::Receiver<bool>) {
    let store = service.store();
    loop {
        // Kept until published, when they are published at all.
        let before = crate::store::now() - events.retention;
        match store.prune_events(before, events.nats.is_some()).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "events past their retention deleted"),
            Err(error) => tracing::warn!(%error, "deleting events past their retention"),
        }
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

/// Serves `/metrics` alone on `address` until shutdown begins.
async fn serve_metrics(
    address: std::net::SocketAddr,
    router: axum::Router,
    mut stopping: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("--metrics-listen {address}: binding"))?;
    tracing::info!(address = %listener.local_addr()?, "serving metrics");
    tokio::spawn(async move {
        let stopped = async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        };
        if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(stopped).await {
            tracing::warn!(%error, "the metrics listener stopped");
        }
    });
    Ok(())
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
    let maintenance = tokio::spawn(maintain(app.service.clone(), app.events.clone(), stop_rx.clone()));
    let publisher = app.events.nats.clone().map(|nats| {
        tokio::spawn(crate::publisher::run(
            app.service.store().clone(),
            nats,
            stop_rx.clone(),
        ))
    });
    let service = app.service.clone();
    tokio::spawn(async move {
        shutdown.await;
        set_health(&health, ServingStatus::NotServing).await;
        let _ = stop_tx.send(true);
        service.stop_watches();
    });

    if let Some(tls) = &app.tls {
        tokio::spawn(tls.clone().watch(stop_rx.clone()));
    }
    tracing::info!(
        address = %listener.local_addr()?,
        tls = app.tls.as_ref().map(|tls| if tls.requires_client_certificates() { "mutual" } else { "on" }).unwrap_or("off"),
        "serving gRPC and REST"
    );
    let api = grpc::Api::new(app.service.clone());
    let mut stopping = stop_rx.clone();
    let metrics = telemetry::metrics::router(app.service.store().clone(), app.events.nats.is_some());
    if let Some(address) = app.metrics_listen {
        serve_metrics(address, metrics.clone(), stop_rx.clone()).await?;
    }
    let rest = rest::router(app.service.clone(), MAX_MESSAGE_BYTES).merge(metrics);
    let server = tonic::transport::Server::builder()
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .layer(admission::AdmissionLayer::new(app.limits, app.verifier.clone()))
        // HTTP/1.1 for the REST gateway, which shares the port (routed by path).
        .accept_http1(true)
        .add_routes(rest.into())
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?)
        .add_service(IncidentServiceServer::new(api.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .add_service(ReferenceDataServiceServer::new(api).max_decoding_message_size(MAX_MESSAGE_BYTES))
        .serve_with_incoming_shutdown(
            conn::incoming(listener, app.limits.connections, app.tls.clone()),
            async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            },
        );
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
    // It gives up its lease as it stops, so another replica takes over at once.
    if let Some(publisher) = publisher
        && tokio::time::timeout(CLOSE_TIMEOUT, publisher).await.is_err()
    {
        tracing::warn!("the NATS publisher did not stop in time");
    }
    // Closing waits for connections in use; one still held by a call cut off
    // above is abandoned, and the database rolls its transaction back.
    let store = app.service.store().clone();
    if tokio::time::timeout(CLOSE_TIMEOUT, store.close()).await.is_err() {
        tracing::warn!("connections still in use were abandoned; their transactions roll back");
    }
    tracing::info!("stopped");
    Ok(())
}
