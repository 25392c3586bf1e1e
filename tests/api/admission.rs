//! What a hostile caller can take from the server, tried over raw HTTP/2
//! streams (the h2 crate, the HTTP/2 of hyper and tonic) and raw sockets:
//! streams without a token are refused before they take a slot or their body
//! is read; one tenant's slow bodies and unread answers use up its own share
//! only, and end at their timeouts; a message that does not decode is the
//! caller's error; idle connections, and connections over the limit, are closed.

use std::{future::Future, net::SocketAddr, pin::Pin, time::Duration};

use bytes::Bytes;
use incidentd::{ConnectionLimits, Limits, pb};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::watch,
    time::{Instant, timeout},
};
use tonic::{Code, Status};
use uuid::Uuid;

use crate::helpers::{TestApp, TestDb, config_for, reason, shared_secret, spawn_configured, values};

async fn app_with(limits: Limits) -> TestApp {
    let db = TestDb::new().await;
    let mut config = config_for(&db, shared_secret());
    config.limits = limits;
    spawn_configured(db, config).await
}

/// A raw HTTP/2 connection: the handle to open streams, and the server's
/// SETTINGS_MAX_CONCURRENT_STREAMS as it is known. `window` is the stream
/// window the client grants the server (HTTP/2's default when `None`).
pub(crate) async fn connect(
    address: SocketAddr,
    window: Option<u32>,
) -> (h2::client::SendRequest<Bytes>, watch::Receiver<usize>) {
    let tcp = TcpStream::connect(address).await.expect("connect");
    let mut builder = h2::client::Builder::new();
    if let Some(window) = window {
        builder.initial_window_size(window);
    }
    let (client, mut connection) = builder.handshake(tcp).await.expect("HTTP/2 handshake");
    let (streams, max_streams) = watch::channel(0);
    tokio::spawn(std::future::poll_fn(move |cx| {
        let polled = Pin::new(&mut connection).poll(cx);
        let _ = streams.send(connection.max_concurrent_send_streams());
        polled.map(|_| ())
    }));
    (client, max_streams)
}

/// The headers of a gRPC call to `method` of the incident service.
pub(crate) fn grpc_call(address: SocketAddr, method: &str, token: Option<&str>) -> http::Request<()> {
    let mut request = http::Request::post(format!("http://{address}/incident.v1.IncidentService/{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(()).expect("request")
}

/// A gRPC message frame: uncompressed, with its length.
pub(crate) fn frame(message: &[u8]) -> Bytes {
    let mut framed = vec![0];
    framed.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
    framed.extend_from_slice(message);
    Bytes::from(framed)
}

/// Opens a stream with `request`'s headers, sending no body and leaving the
/// stream open: the answer, and the stream to send on.
async fn open(
    client: &mut h2::client::SendRequest<Bytes>,
    request: http::Request<()>,
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    let mut ready = client.clone().ready().await.expect("a stream may be opened");
    ready.send_request(request, false).expect("stream opened")
}

/// The gRPC status a stream was answered with: in the headers of a
/// trailers-only answer, or else in the trailers.
pub(crate) async fn status_of(answer: h2::client::ResponseFuture) -> Status {
    let (parts, mut body) = answer.await.expect("an answer").into_parts();
    if let Some(status) = Status::from_header_map(&parts.headers) {
        return status;
    }
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("answer data");
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let trailers = body.trailers().await.expect("trailers").expect("trailers sent");
    Status::from_header_map(&trailers).expect("a grpc-status")
}

/// A call of another tenant, which must be served within a second.
async fn another_tenant_is_served(app: &mut TestApp) {
    let token = app.token_for(Uuid::now_v7(), "INCIDENT");
    let request = app.with_token(&token, pb::ListIncidentTypesRequest {});
    let served = timeout(Duration::from_secs(1), app.reference.list_incident_types(request))
        .await
        .expect("served within a second");
    served.expect("another tenant's call is served");
}

#[tokio::test]
async fn three_hundred_streams_without_a_token_are_refused_at_once_and_take_nothing() {
    let mut app = app_with(Limits::default()).await;
    let address = app.address;
    let (mut client, max_streams) = connect(address, None).await;
    let started = Instant::now();
    let mut open_streams = Vec::new();
    for _ in 0..300 {
        let (answer, stream) = open(&mut client, grpc_call(address, "GetIncident", None)).await;
        // Answered while the caller still holds its body back.
        let status = status_of(answer).await;
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        open_streams.push(stream);
    }
    let refused_in = started.elapsed();
    another_tenant_is_served(&mut app).await;
    assert_eq!(
        *max_streams.borrow(),
        100,
        "the server's SETTINGS_MAX_CONCURRENT_STREAMS"
    );
    println!("300 token-less streams refused in {refused_in:?}; another tenant served meanwhile");
}

#[tokio::test]
async fn a_large_body_without_a_token_is_refused_before_it_is_sent() {
    let app = app_with(Limits::default()).await;
    let address = app.address;
    let (mut client, _) = connect(address, None).await;
    let body = frame(&vec![b'x'; 4 * 1024 * 1024 - 5]);
    for _ in 0..64 {
        let (answer, mut stream) = open(&mut client, grpc_call(address, "CreateIncident", None)).await;
        let status = timeout(Duration::from_secs(1), status_of(answer))
            .await
            .expect("refused before the body is sent");
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        // The server has ended the stream: what would be sent now is not read.
        let _ = stream.send_data(body.clone(), true);
    }
}

#[tokio::test]
async fn a_tenants_slow_bodies_take_its_share_only_and_end_at_the_body_timeout() {
    let mut app = app_with(Limits {
        max_concurrent_calls: 8,
        tenant_share_percent: 25,
        body_timeout: Duration::from_millis(600),
        ..Limits::default()
    })
    .await;
    let address = app.address;
    let token = app.token("INCIDENT INCIDENT_ADMIN");
    let (mut client, _) = connect(address, None).await;
    let started = Instant::now();
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(open(&mut client, grpc_call(address, "GetIncident", Some(&token))).await);
    }
    // A third call of the same tenant is over its share of 8 × 25 % = 2.
    let (third, _stream) = open(&mut client, grpc_call(address, "GetIncident", Some(&token))).await;
    let status = status_of(third).await;
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(reason(&status), "TOO_MANY_CONCURRENT_CALLS");
    // REST is held to the same share.
    let over = reqwest::Client::new()
        .get(format!("{}/api/incident/v1/reference/incident-types", app.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("REST call");
    assert_eq!(over.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(over.headers()["retry-after"], "1");
    let body: serde_json::Value = over.json().await.expect("JSON");
    assert_eq!(body["reason"], "TOO_MANY_CONCURRENT_CALLS");
    another_tenant_is_served(&mut app).await;

    // The bodies that never come end the calls at the body timeout.
    for (answer, _stream) in held {
        let status = status_of(answer).await;
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        assert_eq!(reason(&status), "BODY_TIMEOUT");
    }
    let ended = started.elapsed();
    assert!(ended >= Duration::from_millis(600), "not before the timeout: {ended:?}");
    // Their slots are free again.
    let request = app.with_token(&token, pb::ListIncidentTypesRequest {});
    app.reference
        .list_incident_types(request)
        .await
        .expect("the tenant is served again");
}

#[tokio::test]
async fn a_rest_body_that_stops_coming_is_answered_408_and_frees_its_slot() {
    let mut app = app_with(Limits {
        max_concurrent_calls: 4,
        tenant_share_percent: 25,
        body_timeout: Duration::from_millis(500),
        ..Limits::default()
    })
    .await;
    let seed = app.seed().await;
    let token = app.token("INCIDENT");
    let head = format!(
        "POST /api/incident/v1/incidents HTTP/1.1\r\nhost: incidentd\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"name\": \"Slow"
    );
    let answer = answered_then_closed(app.address, &head).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"reason\":\"BODY_TIMEOUT\""), "{answer}");
    // Nothing was created, and the tenant's one slot is free.
    app.create(seed.minimal("After")).await.expect("served again");
    let found = app.search_all().await;
    assert_eq!(found.total_elements, 1, "only the incident made afterwards");
}

/// What the server answers to `request` sent raw over HTTP/1.1, once it has
/// closed the connection (within 3 s).
async fn answered_then_closed(address: SocketAddr, request: &str) -> String {
    let mut socket = TcpStream::connect(address).await.expect("connect");
    socket.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    timeout(Duration::from_secs(3), socket.read_to_end(&mut answer))
        .await
        .expect("answered, and the connection closed")
        .expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

/// A raw gRPC call of GetIncident with `message` as its body.
async fn get_with_body(app: &TestApp, token: Option<&str>, message: &[u8]) -> Status {
    let (client, _) = connect(app.address, None).await;
    let mut ready = client.ready().await.expect("ready");
    let (answer, mut stream) = ready
        .send_request(grpc_call(app.address, "GetIncident", token), false)
        .expect("stream");
    stream.send_data(frame(message), true).expect("body sent");
    status_of(answer).await
}

#[tokio::test]
async fn a_message_that_does_not_decode_is_invalid_argument_malformed_request() {
    let app = app_with(Limits::default()).await;
    let token = app.token("INCIDENT");
    // Field 1 (incidentId, a string) holding bytes that are not UTF-8, then
    // with a varint where a string belongs, then cut short.
    for message in [&[0x0a, 0x02, 0xff, 0xfe][..], &[0x08, 0x01], &[0x0a, 0x05, b'a']] {
        let status = get_with_body(&app, Some(&token), message).await;
        assert_eq!(status.code(), Code::InvalidArgument, "{message:?}: {status:?}");
        assert_eq!(reason(&status), "MALFORMED_REQUEST");
        // Without a token, the token is refused first.
        let status = get_with_body(&app, None, message).await;
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    }
}

#[tokio::test]
async fn a_tenant_that_does_not_read_its_answers_holds_its_share_until_the_write_timeout() {
    let mut app = app_with(Limits {
        max_concurrent_calls: 8,
        tenant_share_percent: 25,
        connections: ConnectionLimits {
            write_timeout: Duration::from_millis(500),
            ..ConnectionLimits::default()
        },
        ..Limits::default()
    })
    .await;
    let seed = app.seed().await;
    // An answer of some 400 KB: more than hyper takes from an answer at once
    // (a chunk in its buffer, a chunk waiting for the window).
    let mut large = seed.minimal("Read slowly");
    let text = "x".repeat(4_000);
    for n in 0..100 {
        let note = app
            .attribute(&format!("Note {n}"), pb::attribute_type::Value::Text, &[])
            .await;
        large.attribute_values.insert(note.name, values(&[(None, Some(&text))]));
    }
    let id = app.create(large).await.expect("create").id;
    let token = app.token("INCIDENT");
    // The client grants the server 16 bytes of each answer and never more.
    let (client, _) = connect(app.address, Some(16)).await;
    let message = pb::GetIncidentRequest { incident_id: id };
    let body = frame(&prost::Message::encode_to_vec(&message));
    let mut unread = Vec::new();
    for _ in 0..2 {
        let mut ready = client.clone().ready().await.expect("ready");
        let (answer, mut stream) = ready
            .send_request(grpc_call(app.address, "GetIncident", Some(&token)), false)
            .expect("stream");
        stream.send_data(body.clone(), true).expect("body");
        let answer = answer.await.expect("the answer's headers");
        unread.push(answer);
    }
    let started = Instant::now();
    // Both answers wait for the reader, each holding its slot.
    let third = app
        .reference
        .list_incident_types(app.with_token(&token, pb::ListIncidentTypesRequest {}))
        .await;
    let status = third.expect_err("over the share while the answers are unread");
    assert_eq!(reason(&status), "TOO_MANY_CONCURRENT_CALLS");
    another_tenant_is_served(&mut app).await;
    // The connection is closed at the write timeout, and the slots freed.
    let mut served = None;
    while started.elapsed() < Duration::from_secs(5) {
        let request = app.with_token(&token, pb::ListIncidentTypesRequest {});
        if app.reference.list_incident_types(request).await.is_ok() {
            served = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let served = served.expect("the tenant is served once the unread answers are dropped");
    assert!(
        served >= Duration::from_millis(400),
        "not before the write timeout: {served:?}"
    );
    for answer in unread {
        let mut body = answer.into_body();
        let mut received = 0;
        let cut = loop {
            match body.data().await {
                Some(Ok(chunk)) => received += chunk.len(),
                Some(Err(_)) => break true,
                None => break body.trailers().await.is_err(),
            }
        };
        assert!(cut, "the answer was cut off, not completed ({received} bytes)");
        assert!(received <= 16, "no more than the window was sent: {received}");
    }
}

#[tokio::test]
async fn a_connection_that_carries_no_call_is_closed_at_the_idle_timeout() {
    let mut app = app_with(Limits {
        connections: ConnectionLimits {
            idle_timeout: Duration::from_millis(400),
            ..ConnectionLimits::default()
        },
        ..Limits::default()
    })
    .await;
    // A socket that never sends a byte.
    let started = Instant::now();
    let mut silent = TcpStream::connect(app.address).await.expect("connect");
    let mut byte = [0; 1];
    let read = timeout(Duration::from_secs(3), silent.read(&mut byte))
        .await
        .expect("closed by the server");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "{:?}",
        started.elapsed()
    );
    // An HTTP/2 connection after its last call.
    let (client, _) = connect(app.address, None).await;
    let message = pb::ListIncidentTypesRequest {};
    let token = app.token("INCIDENT");
    let mut ready = client.clone().ready().await.expect("ready");
    let (answer, mut stream) = ready
        .send_request(
            http::Request::post(format!(
                "http://{}/incident.v1.ReferenceDataService/ListIncidentTypes",
                app.address
            ))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .header("authorization", format!("Bearer {token}"))
            .body(())
            .expect("request"),
            false,
        )
        .expect("stream");
    stream
        .send_data(frame(&prost::Message::encode_to_vec(&message)), true)
        .expect("body");
    assert_eq!(status_of(answer).await.code(), Code::Ok);
    let closed = timeout(Duration::from_secs(3), async {
        loop {
            if client.clone().ready().await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(closed.is_ok(), "the idle HTTP/2 connection is closed");
    // The server goes on serving.
    another_tenant_is_served(&mut app).await;
}

#[tokio::test]
async fn connections_over_the_limit_are_closed_at_accept() {
    let mut app = app_with(Limits {
        connections: ConnectionLimits {
            max_connections: 3,
            ..ConnectionLimits::default()
        },
        ..Limits::default()
    })
    .await;
    // The test's own client holds one connection; two more fill the limit.
    let (first, _) = connect(app.address, None).await;
    let (second, _) = connect(app.address, None).await;
    let mut over = TcpStream::connect(app.address).await.expect("the kernel accepts");
    let mut byte = [0; 1];
    let read = timeout(Duration::from_secs(2), over.read(&mut byte))
        .await
        .expect("closed at once");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    drop((first, second));
    // Served again once connections close (the client reconnects as needed).
    let mut reopened = false;
    for _ in 0..40 {
        let mut probe = TcpStream::connect(app.address).await.expect("connect");
        probe
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .expect("write");
        let mut head = [0; 12];
        if timeout(Duration::from_millis(500), probe.read_exact(&mut head))
            .await
            .is_ok_and(|r| r.is_ok())
        {
            reopened = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened, "a new connection is accepted once one closes");
    another_tenant_is_served(&mut app).await;
}

#[tokio::test]
async fn a_reflection_stream_is_not_ended_by_the_body_timeout() {
    use tonic_reflection::pb::v1::{ServerReflectionRequest, server_reflection_request::MessageRequest};
    let app = app_with(Limits {
        body_timeout: Duration::from_millis(200),
        ..Limits::default()
    })
    .await;
    let (client, _) = connect(app.address, None).await;
    let request = http::Request::post(format!(
        "http://{}/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        app.address
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(())
    .expect("request");
    let (answer, mut stream) = client
        .ready()
        .await
        .expect("ready")
        .send_request(request, false)
        .expect("stream");
    let ask = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let ask = frame(&prost::Message::encode_to_vec(&ask));
    stream.send_data(ask.clone(), false).expect("first request");
    let mut body = answer.await.expect("answer").into_body();
    let first = body.data().await.expect("a first answer").expect("data");
    // Past the body timeout the stream still answers, then ends as the client ends it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    stream.send_data(ask, true).expect("second request");
    let second = body.data().await.expect("a second answer").expect("data");
    assert_eq!(first.len(), second.len(), "the same list twice");
    let trailers = body.trailers().await.expect("trailers").expect("sent");
    assert_eq!(Status::from_header_map(&trailers).expect("status").code(), Code::Ok);
}

#[tokio::test]
async fn a_malformed_chunked_body_is_400_in_words_of_the_request_not_hypers() {
    let mut app = app_with(Limits::default()).await;
    let seed = app.seed().await;
    let token = app.token("INCIDENT");
    // A chunk size that is not hexadecimal.
    let request = format!(
        "POST /api/incident/v1/incidents HTTP/1.1\r\nhost: incidentd\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n"
    );
    let answer = answered_then_closed(app.address, &request).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("\"reason\":\"UNREADABLE_BODY\""), "{answer}");
    assert!(!answer.to_lowercase().contains("hyper"), "{answer}");
    // Nothing was made, and the server serves on.
    app.create(seed.minimal("After")).await.expect("served");
    assert_eq!(app.search_all().await.total_elements, 1);
}
