//! Change events published to NATS JetStream as CloudEvents: each once, each
//! tenant's in order, through a NATS outage, a `kill -9` of the server in
//! the middle of publishing, and (on PostgreSQL) two replicas of which one
//! dies. Every test runs a nats-server of its own.

use std::time::Duration;

use incidentd::{Config, pb};
use tokio::task::JoinSet;
use tonic::Code;

use crate::{
    helpers::{TestApp, TestDb, authorized, config_for, connect_to, reason, rename, shared_secret, spawn_configured},
    nats::{Nats, PREFIX, Published, assert_once_each_in_order},
    process::{free_address, start},
};

async fn spawn_publishing(nats: &Nats, change: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDb::new().await;
    let mut config = config_for(&db, shared_secret());
    config.events.nats = Some(nats.config());
    change(&mut config);
    spawn_configured(db, config).await
}

/// Creates an incident and renames it `updates` times: 1 + `updates` events.
async fn write(app: &mut TestApp, name: &str, updates: usize) -> String {
    let organization = app.organization(&format!("{name} Ltd"), None).await;
    let body = pb::IncidentCreate {
        name: name.into(),
        org_group_id: organization,
        ..Default::default()
    };
    let id = app.create(body).await.unwrap().id;
    for n in 0..updates {
        app.send_update(rename(&id, &format!("{name} {n}"))).await.unwrap();
    }
    id
}

#[tokio::test]
async fn every_event_is_published_once_in_order_as_a_cloud_event() {
    let nats = Nats::start().await;
    let mut app = spawn_publishing(&nats, |_| {}).await;
    let id = write(&mut app, "Published", 3).await;
    let request = app.admin(pb::UpdateIncidentStageRequest {
        incident_id: id.clone(),
        next_stage_name: "Investigation".into(),
        ..Default::default()
    });
    app.incidents.update_incident_stage(request).await.unwrap();
    // Another tenant's.
    let mut other = app.another_tenant().await;
    let their_id = write(&mut other, "Theirs", 0).await;

    let messages = nats.messages(6).await;
    assert_eq!(messages.len(), 6, "{messages:#?}");
    let counts = assert_once_each_in_order(&messages);
    assert_eq!(counts[&app.tenant_id.to_string()], 5);
    assert_eq!(counts[&other.tenant_id.to_string()], 1);

    // As WatchIncidents shows the same events.
    let mine: Vec<&Published> = messages
        .iter()
        .filter(|m| m.tenant() == app.tenant_id.to_string())
        .collect();
    let mut watch = app
        .watch(pb::WatchIncidentsRequest {
            after_sequence: Some(0),
            ..Default::default()
        })
        .await
        .unwrap();
    for message in mine {
        let event = loop {
            match watch.message().await.unwrap().unwrap().message.unwrap() {
                pb::watch_incidents_response::Message::Event(event) => break event,
                pb::watch_incidents_response::Message::Bookmark(_) => {}
            }
        };
        let cloud = &message.event;
        assert_eq!(
            message.subject,
            format!(
                "{PREFIX}.{}.incident.{}",
                app.tenant_id,
                event.r#type.trim_start_matches("incident.")
            )
        );
        assert_eq!(
            message.content_type.as_deref(),
            Some("application/cloudevents+json; charset=utf-8")
        );
        assert_eq!(cloud["specversion"], "1.0");
        assert_eq!(cloud["id"], event.event_id);
        assert_eq!(cloud["source"], format!("/incidentd/tenants/{}", app.tenant_id));
        assert_eq!(cloud["type"], event.r#type);
        assert_eq!(cloud["subject"], id);
        assert_eq!(cloud["datacontenttype"], "application/json");
        let time = chrono::DateTime::parse_from_rfc3339(cloud["time"].as_str().unwrap()).unwrap();
        let occurred = event.occurred_at.unwrap();
        assert_eq!(
            (time.timestamp(), time.timestamp_subsec_nanos() as i32),
            (occurred.seconds, occurred.nanos)
        );
        let data = &cloud["data"];
        assert_eq!(data["eventId"], event.event_id);
        assert_eq!(data["sequence"], event.sequence);
        assert_eq!(data["incidentId"], id);
        assert_eq!(data["revision"], event.revision);
        assert_eq!(data["actor"]["id"], event.actor.as_ref().unwrap().id);
        assert_eq!(data["actor"]["name"], "Test User");
        let fields: Vec<&str> = data["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["field"].as_str().unwrap())
            .collect();
        let watched: Vec<&str> = event.changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, watched);
    }
    let theirs = messages
        .iter()
        .find(|m| m.tenant() == other.tenant_id.to_string())
        .unwrap();
    assert_eq!(theirs.event["subject"], their_id);
    assert_eq!(theirs.event["type"], "incident.created");
}

#[tokio::test]
async fn events_wait_while_nats_is_down_and_then_flow_in_order_once() {
    let mut nats = Nats::start().await;
    let mut app = spawn_publishing(&nats, |_| {}).await;
    let id = write(&mut app, "Before the outage", 0).await;
    assert_eq!(nats.messages(1).await.len(), 1);

    nats.stop().await;
    for n in 0..20 {
        app.send_update(rename(&id, &format!("During the outage {n}")))
            .await
            .unwrap();
    }
    assert_eq!(
        app.health().await,
        tonic_health::pb::health_check_response::ServingStatus::Serving,
        "NATS is not the server's health"
    );
    nats.resume().await;
    let messages = nats.messages(21).await;
    assert_eq!(messages.len(), 21);
    assert_eq!(assert_once_each_in_order(&messages)[&app.tenant_id.to_string()], 21);
}

#[tokio::test]
async fn events_are_kept_past_their_retention_until_published() {
    let mut nats = Nats::start().await;
    nats.stop().await;
    let mut app = spawn_publishing(&nats, |config| config.events.retention = Duration::ZERO).await;
    write(&mut app, "Unpublished", 2).await;
    // The upkeep at start prunes what is past its retention, but for what
    // waits to be published.
    let mut app = app
        .restart_with(|config| {
            config.events.retention = Duration::ZERO;
            config.events.nats = Some(nats.config());
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let replay = pb::WatchIncidentsRequest {
        after_sequence: Some(0),
        ..Default::default()
    };
    app.watch(replay.clone()).await.expect("still kept");

    nats.resume().await;
    assert_eq!(nats.messages(3).await.len(), 3);
    // Published now: the next upkeep deletes them.
    let mut app = app
        .restart_with(|config| {
            config.events.retention = Duration::ZERO;
            config.events.nats = Some(nats.config());
        })
        .await;
    let status = loop {
        match app.watch(replay.clone()).await {
            Err(status) => break status,
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    assert_eq!(
        (status.code(), reason(&status)),
        (Code::FailedPrecondition, "EVENTS_EXPIRED".into())
    );
}

/// Renames each of `ids` `rounds` times from concurrent clients.
async fn update_concurrently(app: &TestApp, ids: &[String], rounds: usize) {
    let token = app.token("INCIDENT");
    let mut writers = JoinSet::new();
    for id in ids {
        let (mut client, token, id) = (app.incidents.clone(), token.clone(), id.clone());
        writers.spawn(async move {
            for round in 0..rounds {
                let request = authorized(&token, rename(&id, &format!("{id} {round}")));
                client.update_incident(request).await.expect("an update");
            }
        });
    }
    while let Some(writer) = writers.join_next().await {
        writer.unwrap();
    }
}

/// How many messages the stream holds now.
async fn stored(nats: &Nats) -> u64 {
    let context = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    match context.get_stream(crate::nats::STREAM).await {
        Ok(mut stream) => stream.info().await.map(|i| i.state.messages).unwrap_or(0),
        Err(_) => 0,
    }
}

#[tokio::test]
async fn a_kill_9_in_the_middle_of_publishing_loses_nothing_and_the_stream_keeps_each_event_once() {
    const INCIDENTS: usize = 8;
    const ROUNDS: usize = 150;
    let total = (INCIDENTS * (1 + ROUNDS)) as u64;
    let mut nats = Nats::start().await;
    let db = TestDb::new().await;
    let address = free_address();
    let flags = nats.flags();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    // A backlog first, while NATS is down.
    nats.stop().await;
    let mut server = start(&db, address, &flags).await;
    let mut app = connect_to(address, db).await;
    let mut ids = Vec::new();
    for n in 0..INCIDENTS {
        ids.push(write(&mut app, &format!("Incident {n}"), 0).await);
    }
    update_concurrently(&app, &ids, ROUNDS).await;

    nats.resume().await;
    let mut at_kill = 0;
    for _ in 0..6000 {
        at_kill = stored(&nats).await;
        if at_kill >= 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.start_kill().expect("kill -9");
    server.wait().await.expect("killed");
    assert!(
        (50..total).contains(&at_kill),
        "killed with {at_kill} of {total} events published"
    );

    let _server = start(&app.db, address, &flags).await;
    let messages = nats.messages(total).await;
    assert_eq!(messages.len() as u64, total, "each event once");
    assert_eq!(
        assert_once_each_in_order(&messages)[&app.tenant_id.to_string()],
        total as i64
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run with INCIDENTD_TEST_POSTGRES_URL set and --include-ignored"]
async fn of_two_replicas_one_publishes_and_the_other_takes_over_when_it_dies() {
    let db = TestDb::new().await;
    assert!(
        db.is_postgres(),
        "INCIDENTD_TEST_POSTGRES_URL must name a PostgreSQL server"
    );
    let nats = Nats::start().await;
    let flags = nats.flags();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let (first_address, second_address) = (free_address(), free_address());
    let mut first = start(&db, first_address, &flags).await;
    let mut app = connect_to(first_address, db).await;
    let id = write(&mut app, "Replicated", 0).await;
    // The first replica publishes: it holds the lease.
    assert_eq!(nats.messages(1).await.len(), 1);
    let _second = start(&app.db, second_address, &flags).await;
    let mut second_app = connect_to(second_address, TestDb::placeholder()).await;
    second_app.tenant_id = app.tenant_id;
    second_app.user_id = app.user_id;
    let ids = vec![id.clone()];
    update_concurrently(&app, &ids, 20).await;
    update_concurrently(&second_app, &ids, 20).await;
    assert_eq!(nats.messages(41).await.len(), 41);

    first.start_kill().expect("kill -9");
    first.wait().await.expect("killed");
    update_concurrently(&second_app, &ids, 20).await;
    // The second takes the lease once the first's runs out.
    let messages = nats.messages(61).await;
    assert_eq!(messages.len(), 61, "each event once");
    assert_eq!(assert_once_each_in_order(&messages)[&app.tenant_id.to_string()], 61);
}
