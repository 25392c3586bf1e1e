//! Safe concurrent updates: etags, update masks, request ids and the revision
//! history, on whichever database the run uses.

use std::collections::BTreeSet;

use incidentd::pb;
use prost::Message;
use prost_types::{FieldMask, value::Kind};
use tonic::Code;
use tonic_types::StatusExt;
use uuid::Uuid;

use crate::{
    helpers::{Seed, TestApp, reason, spawn_app, timestamp, values, violations},
    incidents::full_update,
};

fn update(id: &str, body: pb::IncidentUpdate) -> pb::UpdateIncidentRequest {
    pb::UpdateIncidentRequest {
        incident_id: id.to_owned(),
        incident: Some(body),
        ..Default::default()
    }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask {
        paths: paths.iter().map(|p| p.to_string()).collect(),
    })
}

fn named(seed: &Seed, name: &str) -> pb::IncidentUpdate {
    pb::IncidentUpdate {
        name: name.into(),
        org_group_id: seed.headquarters.clone(),
        ..Default::default()
    }
}

/// The string inside a `google.protobuf.Value`, if it holds one.
fn string(value: &Option<prost_types::Value>) -> Option<&str> {
    match value.as_ref()?.kind.as_ref()? {
        Kind::StringValue(s) => Some(s),
        _ => None,
    }
}

fn change<'a>(revision: &'a pb::IncidentRevision, field: &str) -> Option<&'a pb::FieldChange> {
    revision.changes.iter().find(|c| c.field == field)
}

/// An incident with what every update changes cleared, for comparing the rest.
fn without_revision(incident: &pb::Incident) -> pb::Incident {
    pb::Incident {
        etag: String::new(),
        revision: 0,
        updated_dt: None,
        ..incident.clone()
    }
}

async fn app_with_incident() -> (TestApp, Seed, pb::Incident) {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let created = app.create(seed.minimal("Guarded")).await.unwrap();
    (app, seed, created)
}

#[tokio::test]
async fn a_new_incident_is_at_revision_one_with_an_etag() {
    let (mut app, _, created) = app_with_incident().await;
    assert_eq!(created.revision, 1);
    assert!(!created.etag.is_empty());
    let read = app.get(&created.id).await.unwrap();
    assert_eq!((read.revision, &read.etag), (1, &created.etag));
}

#[tokio::test]
async fn of_two_editors_with_the_same_etag_exactly_one_wins() {
    let (mut app, seed, created) = app_with_incident().await;
    let tasks = ["First editor", "Second editor"].map(|name| {
        let request = app.admin(pb::UpdateIncidentRequest {
            etag: created.etag.clone(),
            ..update(&created.id, named(&seed, name))
        });
        let mut client = app.incidents.clone();
        tokio::spawn(async move { client.update_incident(request).await.map(|r| r.into_inner()) })
    });
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let losers: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!((winners.len(), losers.len()), (1, 1), "{results:?}");
    let status = losers[0];
    assert_eq!(status.code(), Code::Aborted);
    assert_eq!(reason(status), "STALE_ETAG");
    assert!(status.message().contains("revision 2"), "{}", status.message());
    let info = status.get_error_details().error_info().cloned().expect("ErrorInfo");
    assert_eq!(info.metadata["currentRevision"], "2");

    let stored = app.get(&created.id).await.unwrap();
    assert_eq!(&stored, winners[0]);
    assert_eq!(stored.revision, 2);
    assert_ne!(stored.etag, created.etag);
    let history = app.history(&created.id).await;
    assert_eq!(history.iter().map(|r| r.revision).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(
        string(&change(&history[0], "name").unwrap().after),
        Some(stored.name.as_str())
    );
}

#[tokio::test]
async fn the_current_etag_updates_and_a_stale_one_writes_nothing() {
    let (mut app, seed, created) = app_with_incident().await;
    let first = pb::UpdateIncidentRequest {
        etag: created.etag.clone(),
        ..update(&created.id, named(&seed, "Renamed once"))
    };
    let updated = app.send_update(first).await.unwrap();
    let stale = pb::UpdateIncidentRequest {
        etag: created.etag.clone(),
        ..update(&created.id, named(&seed, "Renamed from a stale read"))
    };
    let status = app.send_update(stale).await.unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    let garbage = pb::UpdateIncidentRequest {
        etag: "not-an-etag".into(),
        ..update(&created.id, named(&seed, "Renamed blindly"))
    };
    assert_eq!(app.send_update(garbage).await.unwrap_err().code(), Code::Aborted);
    assert_eq!(app.get(&created.id).await.unwrap(), updated);
    assert_eq!(app.history(&created.id).await.len(), 2);
}

#[tokio::test]
async fn a_stale_etag_on_an_unknown_incident_is_not_found() {
    let (mut app, seed, created) = app_with_incident().await;
    let request = pb::UpdateIncidentRequest {
        etag: created.etag.clone(),
        ..update(&Uuid::now_v7().to_string(), named(&seed, "Nowhere"))
    };
    assert_eq!(app.send_update(request).await.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
async fn concurrent_writers_without_etags_leave_a_contiguous_history() {
    const WRITERS: usize = 16;
    const ROUNDS: usize = 50;
    let (app, seed, created) = app_with_incident().await;
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let mut client = app.incidents.clone();
        let token = app.token("INCIDENT");
        let requests: Vec<_> = (0..ROUNDS)
            .map(|round| {
                let body = named(&seed, &format!("writer {writer} round {round}"));
                app.with_token(&token, update(&created.id, body))
            })
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for request in requests {
                let answer = client.update_incident(request).await.expect("update").into_inner();
                acknowledged.push((answer.revision, answer.name));
            }
            acknowledged
        }));
    }
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.unwrap());
    }
    let mut app = app;
    let stored = app.get(&created.id).await.unwrap();
    assert_eq!(stored.revision as usize, 1 + acknowledged.len());
    // Every acknowledged update got a revision of its own.
    let revisions: BTreeSet<i64> = acknowledged.iter().map(|(r, _)| *r).collect();
    assert_eq!(revisions, (2..=stored.revision).collect());

    let history = app.history(&created.id).await;
    let numbers: Vec<i64> = history.iter().map(|r| r.revision).collect();
    assert_eq!(numbers, (1..=stored.revision).rev().collect::<Vec<_>>());
    // Each revision starts where the one before it ended, and the last one ends
    // at the stored state: no update was lost or applied to a stale state.
    for pair in history.windows(2) {
        let (newer, older) = (&pair[0], &pair[1]);
        assert_eq!(
            string(&change(newer, "name").unwrap().before),
            string(&change(older, "name").unwrap().after),
            "revision {} does not start where {} ended",
            newer.revision,
            older.revision
        );
    }
    assert_eq!(
        string(&change(&history[0], "name").unwrap().after),
        Some(stored.name.as_str())
    );
    for (revision, name) in &acknowledged {
        let recorded = history.iter().find(|r| r.revision == *revision).unwrap();
        assert_eq!(string(&change(recorded, "name").unwrap().after), Some(name.as_str()));
    }
}

#[tokio::test]
async fn a_masked_update_changes_only_its_fields() {
    let (mut app, seed, created) = app_with_incident().await;
    let full = app.update(&created.id, full_update(&seed)).await.unwrap();
    let body = pb::IncidentUpdate {
        root_cause: Some("A new root cause".into()),
        ..named(&seed, "This name is outside the mask")
    };
    for paths in [&["rootCause"][..], &["root_cause"]] {
        let request = pb::UpdateIncidentRequest {
            update_mask: mask(paths),
            ..update(&created.id, body.clone())
        };
        let masked = app.send_update(request).await.unwrap();
        assert_eq!(masked.root_cause.as_deref(), Some("A new root cause"));
        let expected = pb::Incident {
            root_cause: masked.root_cause.clone(),
            ..without_revision(&full)
        };
        assert_eq!(
            without_revision(&masked).encode_to_vec(),
            expected.encode_to_vec(),
            "fields outside the mask changed"
        );
        assert_eq!(app.get(&created.id).await.unwrap(), masked);
    }
    // The second masked update changed nothing, so it made no revision.
    assert_eq!(app.get(&created.id).await.unwrap().revision, 3);
    let history = app.history(&created.id).await;
    let fields: Vec<_> = history[0].changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["rootCause"]);
}

#[tokio::test]
async fn a_masked_field_left_out_of_the_body_is_cleared() {
    let (mut app, seed, created) = app_with_incident().await;
    let full = app.update(&created.id, full_update(&seed)).await.unwrap();
    let request = pb::UpdateIncidentRequest {
        update_mask: mask(&["description", "jurisdictions"]),
        ..update(&created.id, pb::IncidentUpdate::default())
    };
    let cleared = app.send_update(request).await.unwrap();
    assert_eq!(cleared.description, None);
    assert!(cleared.jurisdictions.is_empty());
    assert_eq!(cleared.name, full.name);
    assert_eq!(cleared.root_cause, full.root_cause);
    assert_eq!(
        cleared.incident_assignee_information,
        full.incident_assignee_information
    );
}

#[tokio::test]
async fn one_attribute_can_be_replaced_alone() {
    let (mut app, seed, created) = app_with_incident().await;
    let full = app.update(&created.id, full_update(&seed)).await.unwrap();
    let mut body = named(&seed, "ignored");
    body.attribute_values
        .insert("severity".into(), values(&[(None, Some("Low"))]));
    body.attribute_values
        .insert("Ticket".into(), values(&[(None, Some("ignored too"))]));
    let request = pb::UpdateIncidentRequest {
        update_mask: mask(&["attributeValues.Severity", "attributeValues.`Data Categories`"]),
        ..update(&created.id, body)
    };
    let updated = app.send_update(request).await.unwrap();
    assert_eq!(updated.attribute_values["Severity"].values[0].value, "Low");
    assert!(
        !updated.attribute_values.contains_key("Data Categories"),
        "left out, so cleared"
    );
    assert_eq!(updated.attribute_values["Ticket"], full.attribute_values["Ticket"]);
    assert_eq!(updated.name, full.name);
    // The revision shows the two attributes that changed, not the one that did not.
    let history = app.history(&created.id).await;
    let attributes = change(&history[0], "attributeValues").unwrap();
    let names = |value: &Option<prost_types::Value>| match value.as_ref().and_then(|v| v.kind.as_ref()) {
        Some(Kind::StructValue(map)) => map.fields.keys().cloned().collect::<Vec<_>>(),
        other => panic!("expected a map, got {other:?}"),
    };
    assert_eq!(names(&attributes.before), ["Data Categories", "Severity"]);
    assert_eq!(names(&attributes.after), ["Data Categories", "Severity"]);
}

#[tokio::test]
async fn a_mask_with_an_unknown_path_is_refused_and_writes_nothing() {
    let (mut app, seed, created) = app_with_incident().await;
    for (paths, field) in [
        (&["name", "nmae"][..], "updateMask.paths[1]"),
        (&["number"], "updateMask.paths[0]"),
        (&["*", "name"], "updateMask.paths[0]"),
        (&["attributeValues.``"], "updateMask.paths[0]"),
    ] {
        let request = pb::UpdateIncidentRequest {
            update_mask: mask(paths),
            ..update(&created.id, named(&seed, "Never stored"))
        };
        let status = app.send_update(request).await.unwrap_err();
        assert_eq!(violations(&status), [field], "{paths:?}");
    }
    let request = pb::UpdateIncidentRequest {
        update_mask: mask(&["attributeValues.Nonexistent"]),
        ..update(&created.id, named(&seed, "Never stored"))
    };
    let status = app.send_update(request).await.unwrap_err();
    assert_eq!(violations(&status), [r#"incident.attributeValues["Nonexistent"]"#]);
    assert_eq!(app.get(&created.id).await.unwrap(), created);
    assert_eq!(app.history(&created.id).await.len(), 1);
}

#[tokio::test]
async fn a_masked_update_is_checked_against_the_fields_it_keeps() {
    let (mut app, seed, created) = app_with_incident().await;
    let full = app.update(&created.id, full_update(&seed)).await.unwrap();
    // The new dateOccurred falls after the kept dateDiscovered.
    let body = pb::IncidentUpdate {
        date_occurred: Some(timestamp(1_800_000_000)),
        ..Default::default()
    };
    let request = pb::UpdateIncidentRequest {
        update_mask: mask(&["dateOccurred"]),
        ..update(&created.id, body)
    };
    let status = app.send_update(request).await.unwrap_err();
    assert_eq!(violations(&status), ["incident.dateDiscovered"]);
    // A required field cannot be masked away.
    let request = pb::UpdateIncidentRequest {
        update_mask: mask(&["name", "orgGroupId"]),
        ..update(&created.id, pb::IncidentUpdate::default())
    };
    let status = app.send_update(request).await.unwrap_err();
    assert_eq!(violations(&status), ["incident.name", "incident.orgGroupId"]);
    assert_eq!(app.get(&created.id).await.unwrap(), full);
}

#[tokio::test]
async fn an_update_that_changes_nothing_keeps_revision_etag_and_history() {
    let (mut app, seed, created) = app_with_incident().await;
    let full = app.update(&created.id, full_update(&seed)).await.unwrap();
    let again = app.update(&created.id, full_update(&seed)).await.unwrap();
    assert_eq!(again, full);
    let stored = app.get(&created.id).await.unwrap();
    assert_eq!(
        (stored.revision, &stored.etag, stored.updated_dt),
        (2, &full.etag, full.updated_dt)
    );
    assert_eq!(app.history(&created.id).await.len(), 2);
}

#[tokio::test]
async fn a_retried_create_is_created_once() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let request_id = Uuid::new_v4().to_string();
    let request = pb::CreateIncidentRequest {
        incident: Some(seed.minimal("Created once")),
        request_id: request_id.clone(),
    };
    let first = app
        .incidents
        .create_incident(app.admin(request.clone()))
        .await
        .unwrap()
        .into_inner();
    let retry = app
        .incidents
        .create_incident(app.admin(request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retry, first);
    let history = app.history(&first.id).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].request_id.as_deref(), Some(request_id.as_str()));
    assert_eq!(
        app.create(seed.minimal("Next")).await.unwrap().number,
        2,
        "the retry took no number"
    );

    let different = pb::CreateIncidentRequest {
        incident: Some(seed.minimal("Another incident")),
        request_id,
    };
    let status = app.incidents.create_incident(app.admin(different)).await.unwrap_err();
    assert_eq!(violations(&status), ["requestId"]);
    assert_eq!(reason(&status), "REQUEST_ID_REUSED");
    // A bad request id is named as such.
    let bad = pb::CreateIncidentRequest {
        incident: Some(seed.minimal("Bad id")),
        request_id: "not-a-uuid".into(),
    };
    let status = app.incidents.create_incident(app.admin(bad)).await.unwrap_err();
    assert_eq!(violations(&status), ["requestId"]);
    // After a restart the id is still known.
    let mut app = app.restart().await;
    let after_restart = app
        .incidents
        .create_incident(app.admin(request))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after_restart, first);
}

#[tokio::test]
async fn concurrent_retries_of_one_create_make_one_incident() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let request = pb::CreateIncidentRequest {
        incident: Some(seed.minimal("Raced")),
        request_id: Uuid::new_v4().to_string(),
    };
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut client = app.incidents.clone();
        let request = app.admin(request.clone());
        tasks.push(tokio::spawn(async move {
            client.create_incident(request).await.map(|r| r.into_inner())
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap().expect("every retry is answered"));
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(app.create(seed.minimal("Next")).await.unwrap().number, 2);
}

#[tokio::test]
async fn a_retried_update_is_applied_once_and_answered_as_first() {
    let (mut app, seed, created) = app_with_incident().await;
    let request = pb::UpdateIncidentRequest {
        request_id: Uuid::new_v4().to_string(),
        etag: created.etag.clone(),
        ..update(&created.id, named(&seed, "Updated once"))
    };
    let first = app.send_update(request.clone()).await.unwrap();
    let retry = app.send_update(request.clone()).await.unwrap();
    assert_eq!(
        retry, first,
        "the retry gets the first answer, its etag notwithstanding"
    );
    assert_eq!(app.history(&created.id).await.len(), 2);

    // Still the first answer after another update moved the incident on.
    app.update(&created.id, named(&seed, "Moved on")).await.unwrap();
    assert_eq!(app.send_update(request.clone()).await.unwrap(), first);
    assert_eq!(app.history(&created.id).await.len(), 3);

    for different in [
        pb::UpdateIncidentRequest {
            incident: Some(named(&seed, "Something else")),
            ..request.clone()
        },
        pb::UpdateIncidentRequest {
            update_mask: mask(&["name"]),
            ..request.clone()
        },
    ] {
        let status = app.send_update(different).await.unwrap_err();
        assert_eq!(violations(&status), ["requestId"]);
    }
    assert_eq!(app.get(&created.id).await.unwrap().name, "Moved on");
}

#[tokio::test]
async fn a_malformed_request_id_on_update_is_named_and_writes_nothing() {
    let (mut app, seed, created) = app_with_incident().await;
    let request = pb::UpdateIncidentRequest {
        request_id: "not-a-uuid".into(),
        ..update(&created.id, named(&seed, "Never stored"))
    };
    let status = app.send_update(request).await.unwrap_err();
    assert_eq!(violations(&status), ["requestId"]);
    assert_eq!(app.get(&created.id).await.unwrap(), created);
}

#[tokio::test]
async fn a_refused_request_keeps_no_request_id() {
    let (mut app, seed, created) = app_with_incident().await;
    let request_id = Uuid::new_v4().to_string();
    let stale = pb::UpdateIncidentRequest {
        request_id: request_id.clone(),
        etag: "stale".into(),
        ..update(&created.id, named(&seed, "First try"))
    };
    assert_eq!(app.send_update(stale).await.unwrap_err().code(), Code::Aborted);
    let fixed = pb::UpdateIncidentRequest {
        request_id,
        etag: created.etag.clone(),
        ..update(&created.id, named(&seed, "First try"))
    };
    assert_eq!(app.send_update(fixed).await.unwrap().name, "First try");
}

#[tokio::test]
async fn the_history_records_who_changed_what() {
    let (mut app, seed, created) = app_with_incident().await;
    app.update(&created.id, full_update(&seed)).await.unwrap();
    let history = app.history(&created.id).await;
    assert_eq!(history.len(), 2);
    let (update, creation) = (&history[0], &history[1]);
    for revision in &history {
        assert_eq!(revision.actor_id, app.user_id.to_string());
        assert_eq!(revision.actor_name, "Test User");
        assert_eq!(revision.request_id, None);
        assert!(revision.time.is_some());
    }
    let created_fields: Vec<_> = creation.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        created_fields,
        [
            "name",
            "incidentTypeName",
            "orgGroupId",
            "sourceType",
            "notificationNeeded"
        ]
    );
    assert!(creation.changes.iter().all(|c| matches!(
        c.before.as_ref().and_then(|v| v.kind.as_ref()),
        Some(Kind::NullValue(_))
    )));
    let name = change(update, "name").unwrap();
    assert_eq!(string(&name.before), Some("Guarded"));
    assert_eq!(string(&name.after), Some("Laptop left on a train"));
    let updated_fields: BTreeSet<_> = update.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        updated_fields,
        BTreeSet::from([
            "name",
            "description",
            "incidentTypeName",
            "orgGroupId",
            "dateOccurred",
            "dateDiscovered",
            "deadline",
            "sourceType",
            "rootCause",
            "notificationNeeded",
            "attributeValues",
            "incidentAssigneeRequests",
            "jurisdictions",
        ])
    );
    let occurred = change(update, "dateOccurred").unwrap();
    assert_eq!(string(&occurred.after), Some("2023-11-14T22:13:20Z"));
}

#[tokio::test]
async fn the_history_pages_newest_first() {
    let (mut app, seed, created) = app_with_incident().await;
    for i in 0..4 {
        app.update(&created.id, named(&seed, &format!("Rename {i}")))
            .await
            .unwrap();
    }
    let (mut seen, mut token) = (Vec::new(), String::new());
    loop {
        let page = app.revisions(&created.id, 2, &token).await.unwrap();
        assert!(page.revisions.len() <= 2);
        seen.extend(page.revisions.iter().map(|r| r.revision));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, [5, 4, 3, 2, 1]);
}

#[tokio::test]
async fn bad_history_requests_name_their_field() {
    let (mut app, seed, created) = app_with_incident().await;
    let other = app.create(seed.minimal("Other")).await.unwrap();
    for i in 0..2 {
        app.update(&other.id, named(&seed, &format!("Other {i}")))
            .await
            .unwrap();
    }
    let token_of_other = app.revisions(&other.id, 1, "").await.unwrap().next_page_token;
    assert!(!token_of_other.is_empty());
    for (id, size, token, field) in [
        ("nope", 0, "", "incidentId"),
        (created.id.as_str(), -1, "", "pageSize"),
        (created.id.as_str(), 0, "garbage", "pageToken"),
        (created.id.as_str(), 0, token_of_other.as_str(), "pageToken"),
    ] {
        let status = app.revisions(id, size, token).await.unwrap_err();
        assert_eq!(violations(&status), [field]);
    }
    let status = app.revisions(&Uuid::now_v7().to_string(), 0, "").await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn the_history_of_another_tenant_is_not_found() {
    let (mut app, _, created) = app_with_incident().await;
    let stranger = app.token_for(Uuid::now_v7(), "INCIDENT");
    let request = app.with_token(
        &stranger,
        pb::ListIncidentRevisionsRequest {
            incident_id: created.id.clone(),
            ..Default::default()
        },
    );
    let status = app.incidents.list_incident_revisions(request).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let reader = app.token("INCIDENT_READ");
    let request = app.with_token(
        &reader,
        pb::ListIncidentRevisionsRequest {
            incident_id: created.id.clone(),
            ..Default::default()
        },
    );
    assert_eq!(
        app.incidents
            .list_incident_revisions(request)
            .await
            .unwrap()
            .into_inner()
            .revisions
            .len(),
        1
    );
}

/// Moves every remembered request id of the test database 25 hours back.
async fn age_request_ids(app: &TestApp) {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let db = Database::connect(app.db.url()).await.expect("connect");
    let yesterday = chrono::Utc::now() - chrono::TimeDelta::hours(25);
    let statement = Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE request_key SET created_at = $1",
        [yesterday.into()],
    );
    db.execute_raw(statement).await.expect("age request ids");
    db.close().await.ok();
}

#[tokio::test]
async fn a_request_id_is_forgotten_after_a_day() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let request_id = Uuid::new_v4().to_string();
    let create = |name: &str| pb::CreateIncidentRequest {
        incident: Some(seed.minimal(name)),
        request_id: request_id.clone(),
    };
    let yesterday = app
        .incidents
        .create_incident(app.admin(create("Yesterday")))
        .await
        .unwrap()
        .into_inner();
    age_request_ids(&app).await;
    let today = app
        .incidents
        .create_incident(app.admin(create("Today")))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(today.id, yesterday.id, "an expired id names a new request");
    assert_eq!(today.number, 2);

    let store = incidentd::store::Store::connect(app.db.url()).await.unwrap();
    assert_eq!(store.forget_expired_requests().await.unwrap(), 0, "today's id is kept");
    age_request_ids(&app).await;
    assert_eq!(store.forget_expired_requests().await.unwrap(), 1);
    store.close().await;
}
