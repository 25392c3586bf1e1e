//! Per-tenant rate limiting: off unless configured; when set, a tenant's calls
//! over its rate are refused at once with the time to wait, on gRPC and REST
//! alike, and one tenant's calls do not use up another's.

use std::{num::NonZeroU32, time::Duration};

use incidentd::{RateLimit, pb};
use tonic::Code;
use tonic_types::StatusExt;
use uuid::Uuid;

use crate::helpers::{TestApp, TestDb, config_for, reason, shared_secret, spawn_app, spawn_configured};

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
