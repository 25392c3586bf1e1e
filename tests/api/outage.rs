//! The database going away and coming back, on PostgreSQL: the server is pointed
//! at it through a TCP proxy the test controls (other tests share this machine's
//! PostgreSQL, so the server itself is never stopped).

use std::{net::SocketAddr, time::Duration};

use incidentd::pb;
use tokio::{
    io::copy_bidirectional,
    net::{TcpListener, TcpStream},
    sync::watch,
};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::{TestDb, reason, shared_secret, spawn_with};

/// Forwards connections to PostgreSQL until cut; while cut, drops every
/// connection, open or new.
struct Proxy {
    address: SocketAddr,
    cut: watch::Sender<bool>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (cut, _) = watch::channel(false);
        let watcher = cut.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cut = watcher.subscribe();
                if *cut.borrow() {
                    continue;
                }
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self { address, cut }
    }

    fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with INCIDENTD_TEST_POSTGRES_URL set and --include-ignored"]
async fn an_unreachable_database_is_unavailable_until_it_returns() {
    let mut db = TestDb::new().await;
    assert!(
        db.is_postgres(),
        "INCIDENTD_TEST_POSTGRES_URL must name a PostgreSQL server"
    );
    let proxy = Proxy::start(db.postgres_address()).await;
    db.route_through(proxy.address);
    let mut app = spawn_with(db, shared_secret()).await;
    let seed = app.seed().await;
    let created = app.create(seed.minimal("Before the outage")).await.unwrap();

    proxy.set_cut(true);
    // Answered within the caller's deadline (past it, the answer would be CANCELLED).
    let mut request = app.admin(pb::GetIncidentRequest {
        incident_id: created.id.clone(),
    });
    request.set_timeout(Duration::from_secs(8));
    let status = app.incidents.get_incident(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(reason(&status), "DATABASE_UNAVAILABLE");
    assert!(
        !status.message().to_lowercase().contains("sqlx"),
        "driver text leaked: {}",
        status.message()
    );
    let body = pb::IncidentUpdate {
        name: "During".into(),
        org_group_id: seed.headquarters.clone(),
        ..Default::default()
    };
    assert_eq!(
        app.update(&created.id, body).await.unwrap_err().code(),
        Code::Unavailable
    );
    // The REST gateway answers 503 with Retry-After, and is not ready.
    let http = reqwest::Client::new();
    let rest = http
        .get(format!("{}/api/incident/v1/incidents/{}", app.base_url, created.id))
        .bearer_auth(app.token("INCIDENT"))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert!(rest.headers().contains_key("retry-after"));
    let text = rest.text().await.unwrap();
    assert!(
        text.contains("DATABASE_UNAVAILABLE") && !text.to_lowercase().contains("sqlx"),
        "{text}"
    );
    let ready = http.get(format!("{}/readyz", app.base_url)).send().await.unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);

    let mut waited = Duration::ZERO;
    while app.health().await != ServingStatus::NotServing {
        assert!(waited < Duration::from_secs(30), "health never reported NOT_SERVING");
        tokio::time::sleep(Duration::from_millis(250)).await;
        waited += Duration::from_millis(250);
    }

    proxy.set_cut(false);
    assert_eq!(
        app.get(&created.id).await.unwrap(),
        created,
        "the service recovers without a restart"
    );
    let ready = http.get(format!("{}/readyz", app.base_url)).send().await.unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    let mut waited = Duration::ZERO;
    while app.health().await != ServingStatus::Serving {
        assert!(waited < Duration::from_secs(30), "health never reported SERVING again");
        tokio::time::sleep(Duration::from_millis(250)).await;
        waited += Duration::from_millis(250);
    }
}
