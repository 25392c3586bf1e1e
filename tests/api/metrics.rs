//! Prometheus metrics at `GET /metrics`: each call counted by its gRPC method
//! and code or its REST route template and status, with label values from a
//! closed set whatever path a caller tries; refusals by reason; the database,
//! the outbox and the process; served without a token or a slot, and on a
//! port of its own when configured.
//!
//! The recorder is the process's, so one test's scrape also holds the calls
//! of the tests beside it: each assertion is about a series this test moved.

use std::time::Duration;

use incidentd::pb;
use tonic::Code;
use uuid::Uuid;

use crate::{
    admission::{connect, frame, grpc_call, status_of},
    helpers::{TestApp, TestDb, config_for, shared_secret, spawn_app, spawn_configured},
    process::free_address,
};

/// The scrape of `base_url`'s `/metrics`, checked for its content type.
async fn scrape(base_url: &str) -> String {
    let answer = reqwest::get(format!("{base_url}/metrics")).await.expect("a scrape");
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    let content_type = answer.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    answer.text().await.expect("text")
}

/// The value of the series `name{labels}` (labels as the exporter writes
/// them, in order), if the scrape has it.
fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn grpc_handled(method: &str, code: &str) -> String {
    format!(
        "grpc_server_handled_total{{grpc_service=\"incident.v1.IncidentService\",grpc_method=\"{method}\",grpc_code=\"{code}\"}}"
    )
}

#[tokio::test]
async fn each_call_is_counted_by_method_and_code_or_route_and_status() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let id = app.create(seed.minimal("Counted")).await.unwrap().id;
    let before = scrape(&app.base_url).await;
    let ok = grpc_handled("GetIncident", "OK");
    let not_found = grpc_handled("GetIncident", "NOT_FOUND");
    let (ok_before, missing_before) = (
        value(&before, &ok).unwrap_or(0.0),
        value(&before, &not_found).unwrap_or(0.0),
    );
    for _ in 0..3 {
        app.get(&id).await.unwrap();
    }
    let unknown = Uuid::now_v7().to_string();
    assert_eq!(app.get(&unknown).await.unwrap_err().code(), Code::NotFound);
    let token = app.token("INCIDENT");
    let answer = reqwest::Client::new()
        .get(format!("{}/api/incident/v1/incidents/{id}", app.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::OK);

    let after = scrape(&app.base_url).await;
    assert!(value(&after, &ok).unwrap() >= ok_before + 3.0, "{ok}");
    assert!(
        value(&after, &not_found).unwrap() >= missing_before + 1.0,
        "{not_found}"
    );
    let route =
        r#"http_server_requests_total{method="GET",route="/api/incident/v1/incidents/{incidentId}",status="200"}"#;
    assert!(value(&after, route).unwrap() >= 1.0, "{route}");
    let latency =
        r#"grpc_server_handling_seconds_count{grpc_service="incident.v1.IncidentService",grpc_method="GetIncident"}"#;
    assert!(value(&after, latency).unwrap() >= 4.0, "{latency}");
    assert!(after.contains(r#"grpc_server_handling_seconds_bucket{grpc_service="incident.v1.IncidentService",grpc_method="GetIncident",le="0.005"}"#));
    let rest_latency =
        r#"http_server_request_duration_seconds_count{method="GET",route="/api/incident/v1/incidents/{incidentId}"}"#;
    assert!(value(&after, rest_latency).unwrap() >= 1.0);
    assert!(
        !after.contains(&id) && !after.contains(&unknown),
        "no id is a label value"
    );
}

#[tokio::test]
async fn odd_paths_add_no_series_of_their_own() {
    let app = spawn_app().await;
    let token = app.token("INCIDENT");
    let odd = format!("NoSuchMethod{}", Uuid::now_v7().simple());
    let (client, _) = connect(app.address, None).await;
    let (answer, mut body) = client
        .ready()
        .await
        .unwrap()
        .send_request(grpc_call(app.address, &odd, Some(&token)), false)
        .unwrap();
    body.send_data(frame(&[]), true).unwrap();
    assert_eq!(status_of(answer).await.code(), Code::Unimplemented);
    let path = format!("/api/incident/v1/{}", Uuid::now_v7());
    let answer = reqwest::Client::new()
        .get(format!("{}{path}", app.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::NOT_FOUND);
    let refused = reqwest::get(format!("{}{path}", app.base_url)).await.unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);

    let scraped = scrape(&app.base_url).await;
    assert!(
        !scraped.contains(&odd) && !scraped.contains(&path),
        "no raw path is a label value"
    );
    let unknown =
        r#"grpc_server_handled_total{grpc_service="unknown",grpc_method="unknown",grpc_code="UNIMPLEMENTED"}"#;
    assert!(value(&scraped, unknown).unwrap() >= 1.0, "{unknown}");
    let unmatched = r#"http_server_requests_total{method="GET",route="unmatched",status="404"}"#;
    assert!(value(&scraped, unmatched).unwrap() >= 1.0, "{unmatched}");
    let unrouted = r#"http_server_requests_total{method="GET",route="unrouted",status="401"}"#;
    assert!(value(&scraped, unrouted).unwrap() >= 1.0, "{unrouted}");
}

#[tokio::test]
async fn refusals_are_counted_by_reason_and_calls_in_flight_are_gauged() {
    let db = TestDb::new().await;
    let mut config = config_for(&db, shared_secret());
    config.limits.max_concurrent_calls = 1;
    config.limits.tenant_share_percent = 100;
    let mut app = spawn_configured(db, config).await;
    let seed = app.seed().await;
    let id = app.create(seed.minimal("Refused")).await.unwrap().id;
    let before = scrape(&app.base_url).await;
    let overloaded = r#"incidentd_refusals_total{reason="OVERLOADED"}"#;
    let unauthenticated = r#"incidentd_refusals_total{reason="UNAUTHENTICATED"}"#;
    let (overloaded_before, unauthenticated_before) = (
        value(&before, overloaded).unwrap_or(0.0),
        value(&before, unauthenticated).unwrap_or(0.0),
    );

    // One update waits on the database's write lock and holds the one slot.
    let lock = app.db.hold_writes().await;
    let mut writer = app.incidents.clone();
    let request = app.admin(crate::helpers::rename(&id, "Held"));
    let held = tokio::spawn(async move { writer.update_incident(request).await });
    let mut in_flight = 0.0;
    for _ in 0..100 {
        let scraped = scrape(&app.base_url).await;
        in_flight = value(&scraped, r#"incidentd_calls_in_flight{kind="call"}"#).unwrap_or(0.0);
        if in_flight >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(in_flight >= 1.0, "the held update is in flight");
    assert_eq!(app.get(&id).await.unwrap_err().code(), Code::Unavailable);
    let anonymous = tonic::Request::new(pb::GetIncidentRequest {
        incident_id: id.clone(),
    });
    assert_eq!(
        app.incidents.get_incident(anonymous).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    lock.release().await;
    held.await.unwrap().unwrap();

    let after = scrape(&app.base_url).await;
    assert!(value(&after, overloaded).unwrap() >= overloaded_before + 1.0, "{after}");
    assert!(value(&after, unauthenticated).unwrap() >= unauthenticated_before + 1.0);
}

#[tokio::test]
async fn the_database_the_outbox_and_the_process_are_measured() {
    // Events are published to a NATS nobody listens on: they wait.
    let db = TestDb::new().await;
    let postgres = db.is_postgres();
    let mut config = config_for(&db, shared_secret());
    config.events.nats = Some(incidentd::publisher::NatsConfig {
        url: incidentd::config::Redacted(format!("nats://{}", free_address())),
        subject_prefix: "test".into(),
        stream: "TEST".into(),
    });
    let mut app = spawn_configured(db, config).await;
    let seed = app.seed().await;
    for n in 0..3 {
        app.create(seed.minimal(&format!("Waiting {n}"))).await.unwrap();
    }
    let scraped = scrape(&app.base_url).await;
    assert!(value(&scraped, "incidentd_db_transaction_seconds_count").unwrap() >= 3.0);
    assert!(value(&scraped, r#"incidentd_db_connections{state="idle"}"#).is_some());
    assert!(value(&scraped, r#"incidentd_db_connections{state="in_use"}"#).is_some());
    // This server's outbox alone: the gauges are set from it at each scrape.
    assert_eq!(value(&scraped, "incidentd_outbox_unpublished_events"), Some(3.0));
    assert!(value(&scraped, "incidentd_outbox_oldest_unpublished_seconds").unwrap() >= 0.0);
    assert!(value(&scraped, "process_resident_memory_bytes").unwrap() > 0.0);
    assert!(value(&scraped, "process_open_fds").unwrap() > 0.0);
    if !postgres {
        assert!(value(&scraped, "incidentd_sqlite_wal_bytes").unwrap() > 0.0);
    }
}

#[tokio::test]
async fn metrics_need_no_token_and_are_served_on_their_own_port_when_asked() {
    let db = TestDb::new().await;
    let mut config = config_for(&db, shared_secret());
    let own = free_address();
    config.metrics_listen = Some(own);
    let mut app: TestApp = spawn_configured(db, config).await;
    let seed = app.seed().await;
    app.create(seed.minimal("Scraped")).await.unwrap();
    let on_the_port = scrape(&app.base_url).await;
    let on_its_own = scrape(&format!("http://{own}")).await;
    for scraped in [&on_the_port, &on_its_own] {
        assert!(scraped.contains("grpc_server_handled_total{"), "{scraped}");
    }
    // Its own port serves nothing else.
    let other = reqwest::get(format!("http://{own}/healthz")).await.unwrap();
    assert_eq!(other.status(), reqwest::StatusCode::NOT_FOUND);
}
