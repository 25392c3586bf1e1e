//! What the server takes on. Calls over the concurrency limit are refused at
//! once and every call is answered; a call past the time limit (the server's,
//! or the caller's shorter `grpc-timeout`) is stopped with DEADLINE_EXCEEDED
//! and writes nothing.
//! Per-tenant rate limiting is off unless configured; when set, a tenant's
//! calls over its rate are refused at once with the time to wait, on gRPC and
//! REST alike, and one tenant's calls do not use up another's.

use std::{num::NonZeroU32, time::Duration};

use incidentd::{Limits, RateLimit, pb};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_types::StatusExt;
use uuid::Uuid;

use crate::admission::{connect, frame, grpc_call, status_of};
use crate::helpers::{TestApp, TestDb, config_for, reason, rename, shared_secret, spawn_app, spawn_configured};

/// A server with `limits` and one incident, whose id is returned.
async fn limited_app(limits: Limits) -> (TestApp, String) {
    let db = TestDb::new().await;
    let mut config = config_for(&db, shared_secret());
    config.limits = limits;
    let mut app = spawn_configured(db, config).await;
    let seed = app.seed().await;
    let id = app.create(seed.minimal("Held")).await.expect("create").id;
    (app, id)
}

/// A REST merge patch of the incident's name: the status, `Retry-After` and the body.
async fn rest_rename(app: &TestApp, id: &str, name: &str) -> (reqwest::StatusCode, Option<String>, Value) {
    let response = reqwest::Client::new()
        .patch(format!("{}/api/incident/v1/incidents/{id}", app.base_url))
        .bearer_auth(app.token("INCIDENT"))
        .header("content-type", "application/merge-patch+json")
        .body(json!({ "name": name }).to_string())
        .send()
        .await
        .expect("REST call");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("text").to_owned());
    (status, retry_after, response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn calls_over_the_concurrency_limit_are_refused_at_once_and_every_call_is_answered() {
    const LIMIT: usize = 4;
    const CALLS: usize = 300;
    // One tenant, allowed every slot: the tenants' shares are tested below.
    let (mut app, id) = limited_app(Limits {
        max_concurrent_calls: LIMIT,
        tenant_share_percent: 100,
        request_timeout: Duration::from_secs(60),
        ..Limits::default()
    })
    .await;
    let revision = app.get(&id).await.expect("get").revision;
    // With the database's write lock held elsewhere, admitted updates wait inside.
    let lock = app.db.hold_writes().await;
    let token = app.token("INCIDENT");
    let mut calls = JoinSet::new();
    for n in 0..CALLS {
        let mut client = app.incidents.clone();
        let request = app.with_token(&token, rename(&id, &format!("Held {n}")));
        calls.spawn(async move { client.update_incident(request).await });
    }
    // Every call over the limit is answered while the admitted ones still wait.
    for _ in 0..CALLS - LIMIT {
        let status = calls
            .join_next()
            .await
            .expect("a call")
            .expect("the call's task")
            .expect_err("nothing is written while the lock is held");
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert_eq!(reason(&status), "OVERLOADED");
        let wait = status
            .get_error_details()
            .retry_info()
            .and_then(|info| info.retry_delay);
        assert_eq!(wait, Some(Duration::from_secs(1)));
    }
    assert_eq!(calls.len(), LIMIT, "the admitted calls are still waiting");
    // REST shares the limit; health probes are exempt from it.
    let (status, retry_after, body) = rest_rename(&app, &id, "Over REST").await;
    assert_eq!(status, reqwest::StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(body["reason"], "OVERLOADED");
    assert_eq!(app.health().await, ServingStatus::Serving);
    let readyz = reqwest::get(format!("{}/readyz", app.base_url)).await.expect("readyz");
    assert_eq!(readyz.status(), reqwest::StatusCode::OK);

    lock.release().await;
    let mut served = 0;
    while let Some(call) = calls.join_next().await {
        call.expect("the call's task").expect("an admitted call is served");
        served += 1;
    }
    let stored = app.get(&id).await.expect("served normally afterwards");
    assert_eq!(stored.revision, revision + served);
    let history = app.history(&id).await;
    assert_eq!(
        history.len() as i64,
        stored.revision,
        "one revision per served call, none lost"
    );
    println!(
        "overload: {CALLS} calls tried at a limit of {LIMIT}: {} refused at once, {served} served, 0 lost",
        CALLS as i64 - served
    );
}

#[tokio::test]
async fn a_call_past_the_servers_time_limit_is_stopped_and_writes_nothing() {
    let (mut app, id) = limited_app(Limits {
        request_timeout: Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    let before = app.get(&id).await.expect("get");
    let lock = app.db.hold_writes().await;
    let status = app.send_update(rename(&id, "Too late")).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(reason(&status), "DEADLINE_EXCEEDED");
    assert!(status.message().contains("300 ms"), "{}", status.message());
    let (status, _, body) = rest_rename(&app, &id, "Too late over REST").await;
    assert_eq!(status, reqwest::StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body["reason"], "DEADLINE_EXCEEDED");
    // Reads are not held up by the lock.
    assert_eq!(app.get(&id).await.expect("read").name, before.name);
    lock.release().await;

    let after = app.get(&id).await.expect("get");
    assert_eq!((after.revision, &after.name), (before.revision, &before.name));
    let renamed = app.send_update(rename(&id, "In time")).await.expect("served again");
    assert_eq!(renamed.revision, before.revision + 1);
}

#[tokio::test]
async fn a_callers_grpc_timeout_is_answered_deadline_exceeded_and_the_call_writes_nothing() {
    let (mut app, id) = limited_app(Limits::default()).await;
    let before = app.get(&id).await.expect("get");
    let lock = app.db.hold_writes().await;
    // A raw HTTP/2 call: tonic's client would give up at its own deadline
    // (CANCELLED) before the server's answer arrives.
    let (client, _) = connect(app.address, None).await;
    let mut call = grpc_call(app.address, "UpdateIncident", Some(&app.token("INCIDENT")));
    call.headers_mut()
        .insert("grpc-timeout", "200m".parse().expect("header"));
    let (answer, mut body) = client
        .ready()
        .await
        .expect("ready")
        .send_request(call, false)
        .expect("stream");
    body.send_data(frame(&prost::Message::encode_to_vec(&rename(&id, "Too late"))), true)
        .expect("body");
    let status = status_of(answer).await;
    // The server's deadline answers before tonic's own grpc-timeout timer,
    // which would say CANCELLED; the call is dropped, transaction and all.
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(reason(&status), "DEADLINE_EXCEEDED");
    assert!(status.message().contains("200 ms"), "{}", status.message());
    lock.release().await;
    let after = app.get(&id).await.expect("get");
    assert_eq!((after.revision, &after.name), (before.revision, &before.name));
}

async fn list_types(app: &mut TestApp, token: &str) -> Result<(), tonic::Status> {
    let request = app.with_token(token, pb::ListIncidentTypesRequest {});
    app.reference.list_incident_types(request).await.map(|_| ())
}

#[tokio::test]
async fn calls_over_a_tenants_rate_are_refused_with_the_time_to_wait() {
    let db = TestDb::new().await;
    let mut config = config_for(&db, shared_secret());
    config.rate_limit = Some(RateLimit {
        per_second: NonZeroU32::MIN,
        burst: NonZeroU32::new(2).unwrap(),
    });
    let mut app = spawn_configured(db, config).await;
    let token = app.token("INCIDENT_READ");

    list_types(&mut app, &token).await.expect("first call of the burst");
    list_types(&mut app, &token).await.expect("second call of the burst");
    let refused = list_types(&mut app, &token).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(reason(&refused), "RATE_LIMITED");
    let wait = refused
        .get_error_details()
        .retry_info()
        .and_then(|info| info.retry_delay)
        .expect("RetryInfo with a delay");
    assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");

    // The same tenant over REST shares the bucket.
    let rest = reqwest::Client::new()
        .get(format!("{}/api/incident/v1/reference/incident-types", app.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(rest.headers()["retry-after"], "1");
    let body: serde_json::Value = rest.json().await.unwrap();
    assert_eq!(body["reason"], "RATE_LIMITED");

    // Another tenant has a bucket of its own.
    let other = app.token_for(Uuid::now_v7(), "INCIDENT_READ");
    list_types(&mut app, &other).await.expect("another tenant's call");

    // Once the wait is over, the tenant is served again.
    tokio::time::sleep(wait + Duration::from_millis(50)).await;
    list_types(&mut app, &token).await.expect("served after the wait");
}

#[tokio::test]
async fn there_is_no_rate_limit_unless_one_is_configured() {
    let mut app = spawn_app().await;
    let token = app.token("INCIDENT_READ");
    for call in 0..50 {
        list_types(&mut app, &token)
            .await
            .unwrap_or_else(|status| panic!("call {call}: {status:?}"));
    }
}
