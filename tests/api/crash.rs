//! The server as its own process: `kill -9` in the middle of concurrent writes
//! loses no acknowledged write and leaves no gap in any history; SIGTERM stops
//! accepting, lets the call in flight finish, closes the database and exits 0,
//! and gives up on a call that outlasts the grace period; a flood of calls far
//! over the concurrency limit is answered call by call, in bounded memory.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use incidentd::pb;
use prost_types::value::Kind;
use tokio::{process::Child, task::JoinSet};
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::{
    helpers::{TestApp, TestDb, authorized, connect_to, rename},
    process::{free_address, memory_kib, start},
};

/// Concurrent writers, two to an incident.
const WRITERS: usize = 8;
/// Kill and restart cycles per test.
const CRASHES: usize = 3;
/// Updates acknowledged between one start and the next kill.
const ACKS_PER_RUN: usize = 150;

/// What a client was told was written.
#[derive(Default)]
struct Acknowledged {
    /// (incident, revision, name) of each update answered OK.
    updates: Vec<(String, i64, String)>,
    /// (incident, name) of each create answered OK.
    creates: Vec<(String, String)>,
    /// The answers of calls the kill cut off.
    cut_off: Vec<tonic::Status>,
}

/// Updates (and creates) from concurrent clients until the server is gone;
/// `acks` counts what was acknowledged so far. A refusal before `killed` is set
/// (a "database is locked", say) fails the test.
async fn write_until_the_server_dies(
    app: &TestApp,
    ids: &[String],
    organization: &str,
    acks: Arc<AtomicUsize>,
    killed: Arc<AtomicBool>,
) -> JoinSet<Acknowledged> {
    let token = app.token("INCIDENT");
    let mut writers = JoinSet::new();
    for writer in 0..WRITERS {
        let (mut client, token, acks, killed) = (app.incidents.clone(), token.clone(), acks.clone(), killed.clone());
        let id = ids[writer % ids.len()].clone();
        writers.spawn(async move {
            let mut acknowledged = Acknowledged::default();
            for round in 0.. {
                let name = format!("writer {writer} round {round} {}", uuid::Uuid::now_v7());
                let answer = match client.update_incident(authorized(&token, rename(&id, &name))).await {
                    Ok(answer) => answer,
                    Err(status) if killed.load(Ordering::SeqCst) => {
                        acknowledged.cut_off.push(status);
                        return acknowledged;
                    }
                    Err(status) => panic!("refused while the server was up: {status:?}"),
                };
                acknowledged
                    .updates
                    .push((id.clone(), answer.into_inner().revision, name));
                acks.fetch_add(1, Ordering::SeqCst);
            }
            unreachable!()
        });
    }
    let (mut client, acks, organization) = (app.incidents.clone(), acks.clone(), organization.to_owned());
    writers.spawn(async move {
        let mut acknowledged = Acknowledged::default();
        loop {
            let name = format!("created {}", uuid::Uuid::now_v7());
            let create = pb::CreateIncidentRequest {
                incident: Some(pb::IncidentCreate {
                    name: name.clone(),
                    org_group_id: organization.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let answer = match client.create_incident(authorized(&token, create)).await {
                Ok(answer) => answer,
                Err(status) if killed.load(Ordering::SeqCst) => {
                    acknowledged.cut_off.push(status);
                    return acknowledged;
                }
                Err(status) => panic!("refused while the server was up: {status:?}"),
            };
            acknowledged.creates.push((answer.into_inner().id, name));
            acks.fetch_add(1, Ordering::SeqCst);
        }
    });
    writers
}

fn name_set_by(revision: &pb::IncidentRevision) -> Option<&str> {
    let change = revision.changes.iter().find(|c| c.field == "name")?;
    match change.after.as_ref()?.kind.as_ref()? {
        Kind::StringValue(name) => Some(name),
        _ => None,
    }
}

#[tokio::test]
async fn every_acknowledged_write_survives_kill_9_and_histories_have_no_gap() {
    let db = TestDb::new().await;
    let address = free_address();
    let mut server = start(&db, address, &[]).await;
    let mut app = connect_to(address, db).await;
    let seed = app.seed().await;
    let mut ids = Vec::new();
    for n in 0..WRITERS / 2 {
        ids.push(
            app.create(seed.minimal(&format!("Crash {n}")))
                .await
                .expect("create")
                .id,
        );
    }
    let mut acknowledged = Acknowledged::default();
    let mut cut_off = Vec::new();
    for _ in 0..CRASHES {
        let acks = Arc::new(AtomicUsize::new(0));
        let killed = Arc::new(AtomicBool::new(false));
        let mut writers =
            write_until_the_server_dies(&app, &ids, &seed.headquarters, acks.clone(), killed.clone()).await;
        while acks.load(Ordering::SeqCst) < ACKS_PER_RUN {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // SIGKILL, with calls in flight.
        killed.store(true, Ordering::SeqCst);
        server.kill().await.expect("kill -9");
        while let Some(writer) = writers.join_next().await {
            let writer = writer.expect("a writer (it panics if refused while the server was up)");
            acknowledged.updates.extend(writer.updates);
            acknowledged.creates.extend(writer.creates);
            cut_off.extend(writer.cut_off);
        }
        server = start(&app.db, address, &[]).await;
    }

    for id in &ids {
        let stored = app.get(id).await.expect("the incident");
        let history = app.history(id).await;
        let revisions: Vec<i64> = history.iter().rev().map(|r| r.revision).collect();
        assert_eq!(
            revisions,
            (1..=stored.revision).collect::<Vec<_>>(),
            "a gap in {id}'s history"
        );
        for (_, revision, name) in acknowledged.updates.iter().filter(|(of, ..)| of == id) {
            let entry = &history[(stored.revision - revision) as usize];
            assert_eq!(name_set_by(entry), Some(name.as_str()), "{id} revision {revision}");
        }
    }
    for (id, name) in &acknowledged.creates {
        assert_eq!(&app.get(id).await.expect("an acknowledged create").name, name);
    }
    // And the server serves on.
    let stored = app.get(&ids[0]).await.unwrap();
    let request = app.admin(rename(&ids[0], "After the crashes"));
    let renamed = app
        .incidents
        .update_incident(request)
        .await
        .expect("serves")
        .into_inner();
    assert_eq!(renamed.revision, stored.revision + 1);
    println!(
        "kill -9 ×{CRASHES}: {} updates and {} creates acknowledged, all present; {} calls cut off; 0 lost",
        acknowledged.updates.len(),
        acknowledged.creates.len(),
        cut_off.len()
    );
    // Cut off means the connection went: none is an answer of the server (every
    // one of which carries ErrorInfo).
    assert!(
        cut_off.iter().all(|s| s.get_error_details().error_info().is_none()),
        "{cut_off:?}"
    );
    server.kill().await.expect("stop");
}

fn sigterm(server: &Child) {
    let pid = server.id().expect("running").to_string();
    let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.expect("kill").success());
}

#[tokio::test]
async fn sigterm_lets_the_call_in_flight_finish_then_closes_the_database_and_exits_0() {
    let db = TestDb::new().await;
    let address = free_address();
    let mut server = start(&db, address, &[]).await;
    let mut app = connect_to(address, db).await;
    let seed = app.seed().await;
    let id = app.create(seed.minimal("In flight")).await.expect("create").id;

    let lock = app.db.hold_writes().await;
    let mut client = app.incidents.clone();
    let request = app.admin(rename(&id, "Finished during shutdown"));
    let in_flight = tokio::spawn(async move { client.update_incident(request).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&server);
    // New connections are refused from the moment shutdown begins.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(address).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the listener closes at SIGTERM");
    assert!(
        server.try_wait().expect("status").is_none(),
        "still finishing the call in flight"
    );
    lock.release().await;

    let answer = in_flight.await.expect("task").expect("the call in flight is answered");
    assert_eq!(answer.into_inner().revision, 2);
    let status = server.wait().await.expect("exit");
    assert!(status.success(), "{status}");
    if !app.db.is_postgres() {
        // SQLite removes the write-ahead log when the last connection closes cleanly.
        assert!(
            !app.db.dir().join("incidents.db-wal").exists(),
            "the database was closed"
        );
    }
    let _server = start(&app.db, address, &[]).await;
    assert_eq!(app.get(&id).await.expect("restarted").name, "Finished during shutdown");
}

#[tokio::test]
async fn sigterm_gives_up_on_a_call_that_outlasts_the_grace_period() {
    let db = TestDb::new().await;
    let address = free_address();
    let grace = ["--shutdown-grace", "500ms", "--request-timeout", "1h"];
    let mut server = start(&db, address, &grace).await;
    let mut app = connect_to(address, db).await;
    let seed = app.seed().await;
    let id = app.create(seed.minimal("Stuck")).await.expect("create").id;

    let lock = app.db.hold_writes().await;
    let mut client = app.incidents.clone();
    let request = app.admin(rename(&id, "Never written"));
    let in_flight = tokio::spawn(async move { client.update_incident(request).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&server);
    // The process exits while the call is still held up by the lock (which
    // SQLite would wait 10 s for, and PostgreSQL for ever).
    let status = tokio::time::timeout(Duration::from_secs(8), server.wait())
        .await
        .expect("the server exits within the grace period and the time to close")
        .expect("exit");
    assert!(status.success(), "{status}");
    assert!(
        in_flight.await.expect("task").is_err(),
        "the cut-off call is not acknowledged"
    );
    lock.release().await;
    let _server = start(&app.db, address, &[]).await;
    let stored = app.get(&id).await.expect("restarted");
    assert_eq!(
        (stored.revision, stored.name.as_str()),
        (1, "Stuck"),
        "nothing half-written"
    );
}

#[tokio::test]
async fn a_flood_far_over_the_limit_is_answered_call_by_call_in_bounded_memory() {
    const LIMIT: usize = 16;
    const FLOOD: usize = 5_000;
    const CONNECTIONS: usize = 20;
    let db = TestDb::new().await;
    let address = free_address();
    // One tenant floods, allowed every slot (the tenants' shares are tested apart).
    let server = start(
        &db,
        address,
        &["--max-concurrent-calls", &LIMIT.to_string(), "--tenant-share", "100"],
    )
    .await;
    let mut app = connect_to(address, db).await;
    let seed = app.seed().await;
    let id = app.create(seed.minimal("Flooded")).await.expect("create").id;
    for n in 0..50 {
        let request = app.admin(rename(&id, &format!("Warm-up {n}")));
        app.incidents.update_incident(request).await.expect("warm-up");
    }
    let before = memory_kib(&server, "VmRSS:");
    let revision = app.get(&id).await.expect("get").revision;

    let lock = app.db.hold_writes().await;
    let token = app.token("INCIDENT");
    let mut channels = Vec::new();
    for _ in 0..CONNECTIONS {
        let channel = Channel::from_shared(format!("http://{address}"))
            .expect("uri")
            .connect()
            .await;
        let mut client = pb::incident_service_client::IncidentServiceClient::new(channel.expect("connect"));
        // One call first: once it is answered, the client has the server's
        // SETTINGS (100 streams per connection), and the flood waits for streams
        // rather than having those over 100 refused (REFUSED_STREAM, UNAVAILABLE
        // without details) in the race before they arrive.
        let read = authorized(
            &token,
            pb::GetIncidentRequest {
                incident_id: id.clone(),
            },
        );
        client.get_incident(read).await.expect("a first call");
        channels.push(client);
    }
    let mut calls = JoinSet::new();
    for n in 0..FLOOD {
        let mut client = channels[n % CONNECTIONS].clone();
        let request = authorized(&token, rename(&id, &format!("Flood {n}")));
        calls.spawn(async move { client.update_incident(request).await });
    }
    // With the writes held, every call over the limit is answered meanwhile.
    for _ in 0..FLOOD - LIMIT {
        let status = calls
            .join_next()
            .await
            .expect("a call")
            .expect("task")
            .expect_err("refused");
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        let reason = status.get_error_details().error_info().map(|info| info.reason.clone());
        assert_eq!(reason.as_deref(), Some("OVERLOADED"), "{status:?}");
    }
    let peak = memory_kib(&server, "VmHWM:");
    lock.release().await;
    let mut served = 0;
    while let Some(call) = calls.join_next().await {
        call.expect("task").expect("an admitted call is served");
        served += 1;
    }
    assert_eq!(served, LIMIT);
    let stored = app.get(&id).await.expect("serves normally afterwards");
    assert_eq!(
        stored.revision,
        revision + LIMIT as i64,
        "exactly the admitted calls were written"
    );
    println!(
        "flood: {FLOOD} calls over {CONNECTIONS} connections at a limit of {LIMIT}: {} refused, {served} served, 0 lost; \
         server RSS {} MiB before, peak {} MiB",
        FLOOD - served,
        before / 1024,
        peak / 1024
    );
    assert!(
        peak < before + 64 * 1024,
        "the flood grew the server from {before} KiB to {peak} KiB"
    );
}

/// A search for the largest page over HTTP/1.1 from a socket that never reads
/// (and offers a small receive buffer): the server is left holding the answer.
async fn unread_search(address: SocketAddr, token: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let mut stream = socket.connect(address).await.expect("connect");
    let request = format!(
        "POST /api/incident/v1/incidents/search?size=2000 HTTP/1.1\r\nhost: incidentd\r\nconnection: close\r\n\
         authorization: Bearer {token}\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{{}}"
    );
    stream.write_all(request.as_bytes()).await.expect("request");
    stream
}

#[tokio::test]
async fn readers_that_do_not_read_the_largest_page_hold_bounded_memory_and_are_cut_off() {
    const READERS: usize = 10;
    const INCIDENTS: usize = 2_000;
    let db = TestDb::new().await;
    let address = free_address();
    // Time enough for ten pages to be made at once by a debug build.
    let server = start(&db, address, &["--write-timeout", "2s", "--request-timeout", "60s"]).await;
    let mut app = connect_to(address, db).await;
    let seed = app.seed().await;
    let description = "d".repeat(5_000);
    let token = app.token("INCIDENT INCIDENT_ADMIN");
    let mut creates = JoinSet::new();
    for n in 0..INCIDENTS {
        let mut client = app.incidents.clone();
        let mut body = seed.minimal(&format!("Page filler {n}"));
        body.description = Some(description.clone());
        let request = authorized(
            &token,
            pb::CreateIncidentRequest {
                incident: Some(body),
                ..Default::default()
            },
        );
        creates.spawn(async move { client.create_incident(request).await });
        if creates.len() >= 16 {
            creates
                .join_next()
                .await
                .expect("a create")
                .expect("task")
                .expect("created");
        }
    }
    while let Some(create) = creates.join_next().await {
        create.expect("task").expect("created");
    }
    // The page as a reader that reads gets it, once, to know its size.
    let made = tokio::time::Instant::now();
    let page = reqwest::Client::new()
        .post(format!("http://{address}/api/incident/v1/incidents/search?size=2000"))
        .bearer_auth(&token)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("search")
        .bytes()
        .await
        .expect("the page");
    let made_in = made.elapsed();
    let before = memory_kib(&server, "VmRSS:");

    let mut readers = Vec::new();
    for _ in 0..READERS {
        readers.push(unread_search(address, &token).await);
    }
    // Long enough for every page to be made (on two cores) and then given
    // up on at the write timeout.
    tokio::time::sleep(made_in * READERS as u32 + Duration::from_secs(4)).await;
    let peak = memory_kib(&server, "VmHWM:");
    let after = memory_kib(&server, "VmRSS:");
    for mut reader in readers {
        use tokio::io::AsyncReadExt;
        let mut received = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut received))
            .await
            .expect("the connection is closed");
        assert!(
            received.starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&received[..received.len().min(200)])
        );
        assert!(
            read.is_err() || received.len() < page.len(),
            "a reader got the whole page of {} bytes",
            page.len()
        );
    }
    let id = app.create(seed.minimal("Still serving")).await.expect("served").id;
    app.get(&id).await.expect("served");
    let page_kib = page.len() as u64 / 1024;
    println!(
        "slow readers: {READERS} HTTP/1.1 readers of a {page_kib} KiB page (size=2000) that never read: server RSS \
         {} MiB before, peak {} MiB, {} MiB after they were cut off at the write timeout",
        before / 1024,
        peak / 1024,
        after / 1024
    );
    // Each reader costs its own answer while it is made (the page's rows,
    // their view and the JSON: about twice the page, measured) and then the
    // JSON until it is cut off; nothing more piles up.
    assert!(
        peak < before + READERS as u64 * 4 * page_kib,
        "{READERS} readers of a {page_kib} KiB page grew the server from {before} KiB to {peak} KiB"
    );
}

#[tokio::test]
async fn large_bodies_without_a_token_cost_the_server_process_nothing() {
    use crate::admission::{connect, frame, grpc_call, status_of};
    const CALLS: usize = 64;
    let db = TestDb::new().await;
    let address = free_address();
    let server = start(&db, address, &[]).await;
    let before = memory_kib(&server, "VmRSS:");
    let body = frame(&vec![b'x'; 4 * 1024 * 1024 - 5]);
    let (client, _) = connect(address, None).await;
    let mut refused = 0;
    for _ in 0..CALLS {
        let mut ready = client.clone().ready().await.expect("ready");
        let (answer, mut stream) = ready
            .send_request(grpc_call(address, "CreateIncident", None), false)
            .expect("stream");
        // The body goes out as the window allows; the refusal comes first.
        let _ = stream.send_data(body.clone(), true);
        let status = status_of(answer).await;
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
        refused += 1;
    }
    let peak = memory_kib(&server, "VmHWM:");
    println!(
        "unauthenticated: {refused} calls of 4 MiB without a token refused; server RSS {} MiB before, peak {} MiB",
        before / 1024,
        peak / 1024
    );
    assert!(
        peak < before + 16 * 1024,
        "{CALLS} refused 4 MiB calls grew the server from {before} KiB to {peak} KiB"
    );
}
