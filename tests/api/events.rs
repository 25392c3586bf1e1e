//! WatchIncidents: every committed change is an event, numbered per tenant
//! with no gap; a watch replays the kept events after its cursor and then
//! follows new ones, with nothing missed or repeated at the seam; filters,
//! bookmarks, expiry, limits and shutdown.

use std::{collections::BTreeSet, time::Duration};

use incidentd::{Config, pb};
use pb::watch_incidents_response::Message;
use tokio::task::JoinSet;
use tonic::{Code, Streaming};
use tonic_types::StatusExt;

use crate::helpers::{
    TestApp, TestDb, config_for, jurisdiction, reason, rename, shared_secret, spawn_app, spawn_configured, stage_move,
    timestamp, violations,
};

/// How long a test waits for a message it expects.
const PATIENCE: Duration = Duration::from_secs(20);
/// Bookmarks come this often in these tests, so that waiting for one is quick.
const BOOKMARKS: Duration = Duration::from_millis(200);

/// A server whose watches send a bookmark after `BOOKMARKS` of quiet.
async fn spawn_watched(change: impl FnOnce(&mut Config)) -> TestApp {
    let db = TestDb::new().await;
    let mut config = config_for(&db, shared_secret());
    config.events.watch.bookmark_interval = BOOKMARKS;
    change(&mut config);
    spawn_configured(db, config).await
}

fn from(after_sequence: Option<i64>) -> pb::WatchIncidentsRequest {
    pb::WatchIncidentsRequest {
        after_sequence,
        ..Default::default()
    }
}

/// The next message of a watch, failing the test if none comes in time.
async fn next(stream: &mut Streaming<pb::WatchIncidentsResponse>) -> Result<Message, tonic::Status> {
    let message = tokio::time::timeout(PATIENCE, stream.message())
        .await
        .expect("a message in time")?
        .expect("the watch goes on");
    Ok(message.message.expect("an event or a bookmark"))
}

/// The next event of a watch, past any bookmark.
async fn next_event(stream: &mut Streaming<pb::WatchIncidentsResponse>) -> pb::IncidentEvent {
    loop {
        match next(stream).await.expect("the watch goes on") {
            Message::Event(event) => return event,
            Message::Bookmark(_) => {}
        }
    }
}

/// Events until a bookmark at `last` shows that nothing more is to come.
async fn events_up_to(stream: &mut Streaming<pb::WatchIncidentsResponse>, last: i64) -> Vec<pb::IncidentEvent> {
    let mut events = Vec::new();
    loop {
        match next(stream).await.expect("the watch goes on") {
            Message::Event(event) => events.push(event),
            Message::Bookmark(bookmark) if bookmark.sequence >= last => {
                assert_eq!(bookmark.sequence, last, "a bookmark past the last event");
                return events;
            }
            Message::Bookmark(_) => {}
        }
    }
}

fn types(events: &[pb::IncidentEvent]) -> Vec<&str> {
    events.iter().map(|e| e.r#type.as_str()).collect()
}

fn fields(event: &pb::IncidentEvent) -> Vec<&str> {
    event.changes.iter().map(|c| c.field.as_str()).collect()
}

#[tokio::test]
async fn every_kind_of_change_is_an_event_carrying_its_revision() {
    use pb::recipient::Value::Authority;
    let mut app = spawn_watched(|_| {}).await;
    let seed = app.seed().await;
    let mut body = seed.minimal("Payroll file e-mailed to a supplier");
    body.notification_needed = pb::notification_needed::Value::Yes.into();
    body.date_discovered = Some(timestamp(1_763_630_100));
    body.jurisdictions = vec![jurisdiction("DEU", None)];
    let id = app.create(body).await.unwrap().id;
    app.send_update(rename(&id, "Payroll file sent to the wrong supplier"))
        .await
        .unwrap();
    let notification = app.admin(pb::RecordNotificationRequest {
        incident_id: id.clone(),
        country_code: "DEU".into(),
        recipient: Authority.into(),
        notified_at: Some(timestamp(1_763_700_000)),
        ..Default::default()
    });
    app.incidents.record_notification(notification).await.unwrap();
    for request in [
        stage_move(&id, "Investigation", &[]),
        stage_move(
            &id,
            "Closed",
            &[
                ("skipValidation", "true"),
                ("justification", "Art. 34(3)(a): encrypted"),
            ],
        ),
        stage_move(&id, "Remediation", &[("justification", "The supplier kept a copy")]),
    ] {
        let request = app.admin(request);
        app.incidents.update_incident_stage(request).await.unwrap();
    }
    let link = app.admin(pb::LinkInventoryRequest {
        incident_id: id.clone(),
        inventory_type: "assets".into(),
        external_ids: vec!["CMDB-7".into()],
        ..Default::default()
    });
    app.incidents.link_inventory(link).await.unwrap();
    let unlink = app.admin(pb::UnlinkInventoryRequest {
        incident_id: id.clone(),
        inventory_type: "assets".into(),
        id: "CMDB-7".into(),
        ..Default::default()
    });
    app.incidents.unlink_inventory(unlink).await.unwrap();

    let mut watch = app.watch(from(Some(0))).await.unwrap();
    let events = events_up_to(&mut watch, 8).await;
    assert_eq!(
        types(&events),
        [
            "incident.created",
            "incident.updated",
            "incident.notification_recorded",
            "incident.stage_changed",
            "incident.closed",
            "incident.reopened",
            "incident.inventory_linked",
            "incident.inventory_unlinked",
        ]
    );
    assert_eq!(fields(&events[1]), ["name"]);
    assert_eq!(fields(&events[2]), ["notifications"]);
    assert_eq!(fields(&events[3]), ["incidentStageName"]);
    assert_eq!(
        fields(&events[4]),
        ["incidentStageName", "incidentStatus", "dateClosed"]
    );
    assert_eq!(
        fields(&events[5]),
        ["incidentStageName", "incidentStatus", "dateClosed"]
    );
    assert_eq!(fields(&events[6]), ["linkedInventories"]);
    // Each event is its revision: number, time, actor and changes.
    let mut history = app.history(&id).await;
    history.reverse();
    assert_eq!(history.len(), events.len());
    let mut ids = BTreeSet::new();
    for (n, (event, revision)) in events.iter().zip(&history).enumerate() {
        assert_eq!(event.sequence, n as i64 + 1);
        assert_eq!(event.incident_id, id);
        assert_eq!(event.revision, revision.revision);
        assert_eq!(event.occurred_at, revision.time);
        let actor = event.actor.as_ref().unwrap();
        assert_eq!((&actor.id, &actor.name), (&revision.actor_id, &revision.actor_name));
        assert_eq!(actor.name, "Test User");
        assert_eq!(event.changes, revision.changes);
        assert!(ids.insert(event.event_id.clone()), "event ids are unique");
        uuid::Uuid::parse_str(&event.event_id).expect("a UUID");
    }
}

#[tokio::test]
async fn a_watch_replays_then_follows_with_no_gap_or_repeat_under_concurrent_writers() {
    const WRITERS: usize = 4;
    const UPDATES: usize = 30;
    let mut app = spawn_watched(|_| {}).await;
    let seed = app.seed().await;
    let mut ids = Vec::new();
    for n in 0..WRITERS {
        let id = app.create(seed.minimal(&format!("Incident {n}"))).await.unwrap().id;
        for round in 0..3 {
            app.send_update(rename(&id, &format!("Incident {n}, before {round}")))
                .await
                .unwrap();
        }
        ids.push(id);
    }
    // Writers start, and the watches open while they write.
    let token = app.token("INCIDENT");
    let mut writers = JoinSet::new();
    for id in ids.clone() {
        let (mut client, token) = (app.incidents.clone(), token.clone());
        writers.spawn(async move {
            for round in 0..UPDATES {
                let request = crate::helpers::authorized(&token, rename(&id, &format!("{id} round {round}")));
                client.update_incident(request).await.expect("an update");
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut from_start = app.watch(from(Some(0))).await.unwrap();
    let mut from_ten = app.watch(from(Some(10))).await.unwrap();
    while let Some(writer) = writers.join_next().await {
        writer.unwrap();
    }
    let total = (WRITERS * (1 + 3 + UPDATES)) as i64;
    let events = events_up_to(&mut from_start, total).await;
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=total).collect::<Vec<_>>(), "every event once, in order");
    let later = events_up_to(&mut from_ten, total).await;
    assert_eq!(later, events[10..], "a cursor starts after itself");

    // Every revision of every incident is one event, with the same changes.
    let mut seen: Vec<(String, i64)> = events.iter().map(|e| (e.incident_id.clone(), e.revision)).collect();
    seen.sort();
    let mut revisions = Vec::new();
    for id in &ids {
        for revision in app.history(id).await {
            let event = events
                .iter()
                .find(|e| &e.incident_id == id && e.revision == revision.revision)
                .expect("an event for each revision");
            assert_eq!(event.changes, revision.changes);
            revisions.push((id.clone(), revision.revision));
        }
    }
    revisions.sort();
    assert_eq!(seen, revisions);
    // Each incident's events come in revision order.
    for id in &ids {
        let order: Vec<i64> = events
            .iter()
            .filter(|e| &e.incident_id == id)
            .map(|e| e.revision)
            .collect();
        assert_eq!(order, (1..=(1 + 3 + UPDATES) as i64).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn a_watch_from_now_starts_with_a_bookmark_and_sends_only_what_follows() {
    let mut app = spawn_watched(|_| {}).await;
    let seed = app.seed().await;
    let id = app.create(seed.minimal("Before the watch")).await.unwrap().id;
    let mut watch = app.watch(from(None)).await.unwrap();
    assert_eq!(
        next(&mut watch).await.unwrap(),
        Message::Bookmark(pb::Bookmark { sequence: 1 })
    );
    app.send_update(rename(&id, "After the watch")).await.unwrap();
    let event = next_event(&mut watch).await;
    assert_eq!(
        (event.sequence, event.r#type.as_str(), event.revision),
        (2, "incident.updated", 2)
    );
    // Quiet: bookmarks keep the cursor fresh.
    assert_eq!(
        next(&mut watch).await.unwrap(),
        Message::Bookmark(pb::Bookmark { sequence: 2 })
    );
}

#[tokio::test]
async fn each_filter_narrows_what_is_sent_and_bookmarks_move_past_what_it_left_out() {
    let mut app = spawn_watched(|_| {}).await;
    let seed = app.seed().await;
    let first = app.create(seed.minimal("First")).await.unwrap().id; // 1
    let second = app.create(seed.minimal("Second")).await.unwrap().id; // 2
    app.send_update(rename(&first, "First, renamed")).await.unwrap(); // 3
    let mut body = seed.minimal("Second, now needing notification");
    body.notification_needed = pb::notification_needed::Value::Yes.into();
    let put = |body: pb::IncidentCreate| pb::IncidentUpdate {
        name: body.name,
        org_group_id: body.org_group_id,
        notification_needed: body.notification_needed,
        ..Default::default()
    };
    app.update(&second, put(body)).await.unwrap(); // 4: name and notificationNeeded
    let mut rated = pb::IncidentUpdate {
        name: "First, renamed".into(),
        org_group_id: seed.headquarters.clone(),
        ..Default::default()
    };
    rated.attribute_values.insert(
        "Severity".into(),
        crate::helpers::values(&[(Some(&seed.severity.options[1].id), None)]),
    );
    app.update(&first, rated).await.unwrap(); // 5: attributeValues.Severity
    let request = app.admin(stage_move(&second, "Investigation", &[]));
    app.incidents.update_incident_stage(request).await.unwrap(); // 6

    let cases: [(pb::WatchIncidentsRequest, &[i64]); 6] = [
        (
            pb::WatchIncidentsRequest {
                event_types: vec!["incident.created".into(), "incident.stage_changed".into()],
                ..from(Some(0))
            },
            &[1, 2, 6],
        ),
        (
            pb::WatchIncidentsRequest {
                changed_fields: vec!["notificationNeeded".into()],
                ..from(Some(0))
            },
            // Creation sets every field it names; notificationNeeded is always set.
            &[1, 2, 4],
        ),
        (
            pb::WatchIncidentsRequest {
                changed_fields: vec!["attributeValues.Severity".into()],
                ..from(Some(0))
            },
            &[5],
        ),
        (
            pb::WatchIncidentsRequest {
                incident_ids: vec![second.clone()],
                ..from(Some(0))
            },
            &[2, 4, 6],
        ),
        (
            pb::WatchIncidentsRequest {
                event_types: vec!["incident.updated".into()],
                changed_fields: vec!["name".into()],
                incident_ids: vec![first.clone()],
                ..from(Some(0))
            },
            &[3],
        ),
        (
            pb::WatchIncidentsRequest {
                changed_fields: vec!["attributeValues.Ticket".into()],
                ..from(Some(0))
            },
            &[],
        ),
    ];
    for (request, expected) in cases {
        let mut watch = app.watch(request.clone()).await.unwrap();
        let events = events_up_to(&mut watch, 6).await;
        let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
        assert_eq!(sequences, expected, "{request:?}");
    }
}

#[tokio::test]
async fn a_watch_sees_only_its_own_tenants_events_numbered_from_one() {
    let mut app = spawn_watched(|_| {}).await;
    let seed = app.seed().await;
    let mine = app.create(seed.minimal("Mine")).await.unwrap().id;
    let other_tenant = uuid::Uuid::now_v7();
    let other = app.token_for(other_tenant, "INCIDENT INCIDENT_ADMIN");
    let mut theirs = app.with_token(&other, pb::WatchIncidentsRequest::default());
    theirs.get_mut().after_sequence = Some(0);
    let mut their_watch = app.incidents.watch_incidents(theirs).await.unwrap().into_inner();
    let mut my_watch = app.watch(from(Some(0))).await.unwrap();
    app.send_update(rename(&mine, "Still mine")).await.unwrap();
    let org = app.with_token(
        &other,
        pb::CreateOrganizationRequest {
            name: "Theirs".into(),
            parent_id: None,
        },
    );
    let org = app.reference.create_organization(org).await.unwrap().into_inner().id;
    let create = app.with_token(
        &other,
        pb::CreateIncidentRequest {
            incident: Some(pb::IncidentCreate {
                name: "Theirs".into(),
                org_group_id: org,
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    let their_id = app.incidents.create_incident(create).await.unwrap().into_inner().id;

    let mine_seen = events_up_to(&mut my_watch, 2).await;
    assert_eq!(
        mine_seen
            .iter()
            .map(|e| (e.sequence, e.incident_id.as_str()))
            .collect::<Vec<_>>(),
        [(1, mine.as_str()), (2, mine.as_str())]
    );
    let theirs_seen = events_up_to(&mut their_watch, 1).await;
    assert_eq!(
        theirs_seen
            .iter()
            .map(|e| (e.sequence, e.incident_id.as_str()))
            .collect::<Vec<_>>(),
        [(1, their_id.as_str())]
    );
    // A filter naming the other tenant's incident finds nothing of it.
    let mut request = from(Some(0));
    request.incident_ids = vec![their_id];
    let mut watch = app.watch(request).await.unwrap();
    assert!(events_up_to(&mut watch, 2).await.is_empty());
}

#[tokio::test]
async fn a_cursor_older_than_the_kept_events_is_expired_and_the_client_starts_again_from_now() {
    let mut app = spawn_watched(|_| {}).await;
    let seed = app.seed().await;
    let id = app.create(seed.minimal("Old news")).await.unwrap().id;
    for n in 0..3 {
        app.send_update(rename(&id, &format!("Old news {n}"))).await.unwrap();
    }
    // A restart with no retention: its upkeep deletes every event at once.
    let mut app = app
        .restart_with(|config| {
            config.events.watch.bookmark_interval = BOOKMARKS;
            config.events.retention = Duration::ZERO;
        })
        .await;
    let status = loop {
        match app.watch(from(Some(0))).await {
            Err(status) => break status,
            // The upkeep starts beside the server: wait for its first round.
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert_eq!(reason(&status), "EVENTS_EXPIRED");
    let details = status.get_error_details();
    let info = details.error_info().expect("ErrorInfo");
    assert_eq!(info.metadata["afterSequence"], "0");
    assert!(!info.metadata.contains_key("oldestSequence"), "none is kept: {info:?}");
    // From now on: the latest sequence, where numbering goes on.
    let mut watch = app.watch(from(None)).await.unwrap();
    assert_eq!(
        next(&mut watch).await.unwrap(),
        Message::Bookmark(pb::Bookmark { sequence: 4 })
    );
    // The latest sequence itself is still a valid cursor.
    let mut at_latest = app.watch(from(Some(4))).await.unwrap();
    app.send_update(rename(&id, "New news")).await.unwrap();
    assert_eq!(next_event(&mut watch).await.sequence, 5);
    assert_eq!(next_event(&mut at_latest).await.sequence, 5);
}

#[tokio::test]
async fn a_bad_watch_is_refused_naming_each_field() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    app.create(seed.minimal("One")).await.unwrap();
    let status = app
        .watch(pb::WatchIncidentsRequest {
            after_sequence: Some(-1),
            event_types: vec!["incident.updated".into(), "incident.deleted".into()],
            changed_fields: vec!["name".into(), "nmae".into(), "name.first".into()],
            incident_ids: vec!["not-a-uuid".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(
        violations(&status),
        [
            "afterSequence",
            "eventTypes[1]",
            "changedFields[1]",
            "changedFields[2]",
            "incidentIds[0]"
        ]
    );
    let status = app.watch(from(Some(2))).await.unwrap_err();
    assert_eq!(violations(&status), ["afterSequence"]);
    let many = pb::WatchIncidentsRequest {
        incident_ids: (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect(),
        ..from(Some(0))
    };
    assert_eq!(violations(&app.watch(many).await.unwrap_err()), ["incidentIds"]);
}

#[tokio::test]
async fn watches_are_limited_apart_from_calls_and_a_tenant_holds_only_its_share() {
    let mut app = spawn_watched(|config| {
        config.limits.max_watches = 4;
        config.limits.tenant_share_percent = 50;
    })
    .await;
    let seed = app.seed().await;
    let id = app.create(seed.minimal("Watched")).await.unwrap().id;
    let first = app.watch(from(None)).await.unwrap();
    let _second = app.watch(from(None)).await.unwrap();
    let refused = app.watch(from(None)).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::ResourceExhausted, "TOO_MANY_CONCURRENT_WATCHES".into())
    );
    // Calls have slots of their own.
    app.send_update(rename(&id, "Still served")).await.unwrap();
    // Other tenants fill the rest, and then the server is full.
    let mut others = Vec::new();
    for _ in 0..2 {
        let token = app.token_for(uuid::Uuid::now_v7(), "INCIDENT_READ");
        let request = app.with_token(&token, from(None));
        others.push(app.incidents.watch_incidents(request).await.unwrap());
    }
    let token = app.token_for(uuid::Uuid::now_v7(), "INCIDENT_READ");
    let request = app.with_token(&token, from(None));
    let refused = app.incidents.watch_incidents(request).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::Unavailable, "TOO_MANY_WATCHES".into())
    );
    // A watch closed frees its slot.
    drop(first);
    let mut reopened = None;
    for _ in 0..100 {
        if let Ok(watch) = app.watch(from(None)).await {
            reopened = Some(watch);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(reopened.is_some(), "the slot is free again");
}

#[tokio::test]
async fn shutting_down_ends_every_watch_with_unavailable() {
    let mut app = spawn_watched(|_| {}).await;
    let mut watch = app.watch(from(None)).await.unwrap();
    assert!(matches!(next(&mut watch).await.unwrap(), Message::Bookmark(_)));
    app.shut_down().await;
    let ended = loop {
        match tokio::time::timeout(PATIENCE, watch.message()).await.expect("in time") {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the watch ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(
        (ended.code(), reason(&ended)),
        (Code::Unavailable, "SHUTTING_DOWN".into())
    );
}

#[tokio::test]
async fn readers_that_leave_their_buffer_full_are_cut_off_and_the_server_holds_bounded_memory() {
    use crate::{
        helpers::connect_to,
        process::{free_address, memory_kib, start},
    };
    const WATCHES: usize = 16;
    const UPDATES: usize = 400;
    let db = TestDb::new().await;
    let address = free_address();
    let flags = [
        "--watch-buffer",
        "64KiB",
        "--watch-stall-timeout",
        "1s",
        "--watch-bookmark-interval",
        "200ms",
        "--max-watches",
        "32",
        "--tenant-share",
        "100",
        // The connections stay open while their readers do not read.
        "--write-timeout",
        "300s",
    ];
    let server = start(&db, address, &flags).await;
    let mut app = connect_to(address, db).await;
    let seed = app.seed().await;
    let id = app.create(seed.minimal("Much written")).await.unwrap().id;
    // Each update replaces a 10,000-character description: an event of
    // about 20 KB, 8 MB of events in all for each watch.
    let description = |n: usize| format!("{n:05}").repeat(2_000);
    let update = |n: usize| pb::UpdateIncidentRequest {
        incident_id: id.clone(),
        incident: Some(pb::IncidentUpdate {
            description: Some(description(n)),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["description".into()],
        }),
        ..Default::default()
    };
    for n in 0..20 {
        app.send_update(update(n)).await.unwrap();
    }
    let before = memory_kib(&server, "VmRSS:");

    // Readers on connections of their own, which read nothing for now.
    let mut watches = Vec::new();
    for _ in 0..WATCHES {
        let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = pb::incident_service_client::IncidentServiceClient::new(channel);
        watches.push(
            client
                .watch_incidents(app.admin(from(Some(0))))
                .await
                .unwrap()
                .into_inner(),
        );
    }
    for n in 20..UPDATES {
        app.send_update(update(n)).await.unwrap();
    }
    let total = (1 + UPDATES) as i64;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let peak = memory_kib(&server, "VmHWM:");

    // Each reader finds what reached it, then why it was cut off, and
    // resumes from its cursor.
    let mut cut_at = Vec::new();
    for mut watch in watches {
        let mut last = 0;
        let status = loop {
            match tokio::time::timeout(PATIENCE, watch.message()).await.expect("in time") {
                Ok(Some(pb::WatchIncidentsResponse {
                    message: Some(Message::Event(event)),
                })) => {
                    assert_eq!(event.sequence, last + 1);
                    last = event.sequence;
                }
                Ok(Some(_)) => {}
                Ok(None) => panic!("the watch ended without a status"),
                Err(status) => break status,
            }
        };
        assert_eq!(
            (status.code(), reason(&status)),
            (Code::ResourceExhausted, "WATCH_TOO_SLOW".into()),
            "{status:?}"
        );
        assert!(last < total, "cut off before the end: {last} of {total}");
        cut_at.push(last);
        let mut resumed = app.watch(from(Some(last))).await.unwrap();
        let rest = events_up_to(&mut resumed, total).await;
        assert_eq!(rest.first().map(|e| e.sequence), Some(last + 1));
        assert_eq!(rest.len() as i64, total - last);
    }
    let held_mib = (peak.saturating_sub(before)) / 1024;
    println!(
        "slow readers: {WATCHES} watches that read nothing while {} MiB of events each were written, cut off after \
         {:?} of {total} events; server RSS {} MiB before, peak {} MiB",
        total * 20 / 1024,
        cut_at,
        before / 1024,
        peak / 1024
    );
    assert!(
        held_mib < 48,
        "the server grew by {held_mib} MiB holding events for readers that did not read"
    );
}
