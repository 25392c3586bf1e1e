//! W3C Trace Context and the logs: a call continues its caller's
//! `traceparent` (gRPC metadata or HTTP header) or starts a trace, answers with
//! its own `traceparent`, and every line it logs carries the trace id; with
//! `--log-format json` each line is one JSON object.

use std::{process::Stdio, time::Duration};

use incidentd::pb;
use tonic::Code;

use crate::{
    helpers::{SECRET, TestDb, spawn_app},
    process::free_address,
};

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// `00-{trace}-{span}-{flags}` split, checked for its form.
fn parts(traceparent: &str) -> (String, String, String) {
    let fields: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(fields.len(), 4, "{traceparent}");
    assert_eq!(fields[0], "00", "{traceparent}");
    assert_eq!(fields[1].len(), 32, "{traceparent}");
    assert_eq!(fields[2].len(), 16, "{traceparent}");
    assert!(
        fields[1]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_ne!(fields[1], "0".repeat(32));
    assert_ne!(fields[2], "0".repeat(16));
    (fields[1].to_owned(), fields[2].to_owned(), fields[3].to_owned())
}

fn get_request(app: &crate::helpers::TestApp, traceparent: Option<&str>) -> tonic::Request<pb::GetIncidentRequest> {
    let mut request = app.admin(pb::GetIncidentRequest {
        incident_id: uuid::Uuid::now_v7().to_string(),
    });
    if let Some(traceparent) = traceparent {
        request
            .metadata_mut()
            .insert("traceparent", traceparent.parse().unwrap());
    }
    request
}

#[tokio::test]
async fn grpc_calls_continue_the_callers_trace_or_start_one_and_answer_with_their_traceparent() {
    let mut app = spawn_app().await;

    // Continued: the caller's trace id and flags, a span id of the call's own.
    let caller = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let status = app
        .incidents
        .get_incident(get_request(&app, Some(&caller)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let answered = status
        .metadata()
        .get("traceparent")
        .expect("a traceparent")
        .to_str()
        .unwrap();
    let (trace, span, flags) = parts(answered);
    assert_eq!(trace, CALLER_TRACE);
    assert_ne!(span, CALLER_SPAN);
    assert_eq!(flags, "01");

    // Not sampled by the caller: kept so.
    let unsampled = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-00");
    let status = app
        .incidents
        .get_incident(get_request(&app, Some(&unsampled)))
        .await
        .unwrap_err();
    let (_, _, flags) = parts(status.metadata().get("traceparent").unwrap().to_str().unwrap());
    assert_eq!(flags, "00");

    // Started: no traceparent, or one that is not valid (all-zero trace id,
    // wrong length), gives a new trace, sampled.
    let mut started = Vec::new();
    for traceparent in [
        None,
        Some(format!("00-{}-{CALLER_SPAN}-01", "0".repeat(32))),
        Some(format!("00-{CALLER_TRACE}-{CALLER_SPAN}")),
        Some("not a traceparent".to_owned()),
    ] {
        let status = app
            .incidents
            .get_incident(get_request(&app, traceparent.as_deref()))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        let (trace, _, flags) = parts(status.metadata().get("traceparent").unwrap().to_str().unwrap());
        assert_ne!(trace, CALLER_TRACE, "{traceparent:?}");
        assert_eq!(flags, "01");
        started.push(trace);
    }
    started.sort();
    started.dedup();
    assert_eq!(started.len(), 4, "each call starts a trace of its own");

    // A success carries it in its headers too.
    let seed = app.seed().await;
    let mut request = app.admin(pb::CreateIncidentRequest {
        incident: Some(seed.minimal("Lost laptop")),
        ..Default::default()
    });
    request.metadata_mut().insert("traceparent", caller.parse().unwrap());
    let created = app.incidents.create_incident(request).await.unwrap();
    let (trace, _, _) = parts(created.metadata().get("traceparent").unwrap().to_str().unwrap());
    assert_eq!(trace, CALLER_TRACE);

    // And a call refused before it ran (no token).
    let mut request = tonic::Request::new(pb::GetIncidentRequest {
        incident_id: uuid::Uuid::now_v7().to_string(),
    });
    request.metadata_mut().insert("traceparent", caller.parse().unwrap());
    let status = app.incidents.get_incident(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let (trace, _, _) = parts(status.metadata().get("traceparent").unwrap().to_str().unwrap());
    assert_eq!(trace, CALLER_TRACE);
}

#[tokio::test]
async fn rest_calls_continue_the_callers_trace_and_keep_its_tracestate() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let url = format!("{}/api/incident/v1/incidents/{}", app.base_url, uuid::Uuid::now_v7());
    let answer = client
        .get(&url)
        .bearer_auth(app.token("INCIDENT_READ"))
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .header("tracestate", "vendor=opaque")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::NOT_FOUND);
    let (trace, span, _) = parts(answer.headers()["traceparent"].to_str().unwrap());
    assert_eq!(trace, CALLER_TRACE);
    assert_ne!(span, CALLER_SPAN);
    assert_eq!(answer.headers()["tracestate"], "vendor=opaque");

    let answer = client.get(&url).send().await.unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::UNAUTHORIZED);
    let (trace, _, _) = parts(answer.headers()["traceparent"].to_str().unwrap());
    assert_ne!(trace, CALLER_TRACE);
}

/// `--log-format json`: every line one JSON object; the access line of a
/// call has its level, target, message, and the call's span fields, its trace
/// and span ids the ones it answered with.
#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_calls_trace() {
    let db = TestDb::new().await;
    let address = free_address();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_incidentd"))
        .args(["serve", "--listen", &address.to_string(), "--database-url", db.url()])
        .arg("--data-dir")
        .arg(db.dir())
        .env("INCIDENTD_LOG_FORMAT", "json")
        .env("INCIDENTD_AUTH_HS256_SECRET", std::str::from_utf8(SECRET).unwrap())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let url = format!("http://{address}/api/incident/v1/incidents/{}", uuid::Uuid::now_v7());
    let mut answer = None;
    for _ in 0..600 {
        if let Ok(got) = client
            .get(&url)
            .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
            .send()
            .await
        {
            answer = Some(got);
            break;
        }
        assert!(server.try_wait().unwrap().is_none(), "the server exited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = answer.expect("the server answers");
    assert_eq!(answer.status(), reqwest::StatusCode::UNAUTHORIZED);
    let (_, span_id, _) = parts(answer.headers()["traceparent"].to_str().unwrap());

    let mut access = None;
    for _ in 0..100 {
        let text = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
            .collect();
        access = lines.into_iter().find(|line| line["target"] == "incidentd::access");
        if access.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let access = access.expect("the call's access line");
    assert_eq!(access["level"], "INFO", "{access}");
    assert_eq!(access["message"], "answered", "{access}");
    assert_eq!(access["status"], 401, "{access}");
    assert_eq!(access["span"]["name"], "call", "{access}");
    assert_eq!(access["span"]["trace_id"], CALLER_TRACE, "{access}");
    assert_eq!(access["span"]["span_id"], span_id.as_str(), "{access}");
    assert_eq!(access["span"]["method"], "GET", "{access}");
    assert!(access["timestamp"].is_string(), "{access}");
    server.kill().await.unwrap();
}
