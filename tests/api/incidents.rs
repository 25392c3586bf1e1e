//! Create, read and update: the happy paths and the semantics of full replacement.

use std::collections::BTreeMap;

use incidentd::pb;
use tonic::Code;

use crate::helpers::{Seed, jurisdiction, reason, spawn_app, timestamp, values};

/// A body with every editable field set.
pub fn full_update(seed: &Seed) -> pb::IncidentUpdate {
    let mut attribute_values = BTreeMap::new();
    attribute_values.insert("Severity".into(), values(&[(Some(&seed.severity.options[1].id), None)]));
    attribute_values.insert(
        "Data Categories".into(),
        values(&[(None, Some("health")), (None, Some("Financial"))]),
    );
    attribute_values.insert("Ticket".into(), values(&[(None, Some("INC-42"))]));
    pb::IncidentUpdate {
        name: "Laptop left on a train".into(),
        description: Some("An unencrypted laptop was lost.".into()),
        incident_type_name: "lost device".into(),
        org_group_id: seed.legal.clone(),
        date_occurred: Some(timestamp(1_700_000_000)),
        date_discovered: Some(timestamp(1_700_003_600)),
        deadline: Some(timestamp(1_700_259_200)),
        source_type: pb::source_type::Value::Webform.into(),
        root_cause: Some("No disk encryption".into()),
        notification_needed: pb::notification_needed::Value::Yes.into(),
        attribute_values,
        incident_assignee_requests: vec![
            pb::AssigneeInput {
                assignee_id: seed.privacy_office.clone(),
                assignee_email: None,
                r#type: pb::assignee_type::Value::Group.into(),
            },
            pb::AssigneeInput {
                assignee_id: seed.bob.clone(),
                assignee_email: Some("BOB@example.com".into()),
                r#type: pb::assignee_type::Value::User.into(),
            },
        ],
        jurisdictions: vec![
            jurisdiction("USA", Some("CA")),
            jurisdiction("CAN", Some("ON")),
            jurisdiction("DEU", None),
        ],
    }
}

#[tokio::test]
async fn create_update_every_field_then_get() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let created = app
        .create(seed.minimal("Joe sent an email to the wrong client"))
        .await
        .unwrap();
    assert_eq!(created.number, 1);
    assert_eq!(created.incident_type_name, "Unknown");
    assert_eq!(created.source_type, i32::from(pb::source_type::Value::Manual));
    assert_eq!(
        created.notification_needed,
        i32::from(pb::notification_needed::Value::Unknown)
    );
    assert_eq!(created.incident_status, i32::from(pb::incident_status::Value::Open));
    assert_eq!(created.created_by, app.user_id.to_string());
    assert_eq!(created.creator, "Test User");
    assert_eq!(created.org_group_name, "Headquarters");

    let updated = app.update(&created.id, full_update(&seed)).await.unwrap();
    assert_eq!(updated.name, "Laptop left on a train");
    assert_eq!(updated.description.as_deref(), Some("An unencrypted laptop was lost."));
    assert_eq!(updated.incident_type_name, "Lost Device");
    assert_eq!(updated.incident_type_id, seed.lost_device);
    assert_eq!(updated.org_group_id, seed.legal);
    assert_eq!(updated.org_group_name, "Legal");
    assert_eq!(updated.date_occurred, Some(timestamp(1_700_000_000)));
    assert_eq!(updated.date_discovered, Some(timestamp(1_700_003_600)));
    assert_eq!(updated.deadline, Some(timestamp(1_700_259_200)));
    assert_eq!(updated.source_type, i32::from(pb::source_type::Value::Webform));
    assert_eq!(updated.root_cause.as_deref(), Some("No disk encryption"));
    assert_eq!(
        updated.notification_needed,
        i32::from(pb::notification_needed::Value::Yes)
    );
    let severity = &updated.attribute_values["Severity"].values;
    assert_eq!(
        (severity[0].value.as_str(), severity[0].id.as_deref()),
        ("High", Some(seed.severity.options[1].id.as_str()))
    );
    let categories: Vec<_> = updated.attribute_values["Data Categories"]
        .values
        .iter()
        .map(|v| v.value.as_str())
        .collect();
    assert_eq!(categories, ["Health", "Financial"]);
    assert_eq!(updated.attribute_values["Ticket"].values[0].value, "INC-42");
    assert_eq!(updated.attribute_values["Ticket"].values[0].id, None);
    let assignees: Vec<_> = updated
        .incident_assignee_information
        .iter()
        .map(|a| a.assignee_name.as_str())
        .collect();
    assert_eq!(assignees, ["Privacy Office", "Bob"]);
    assert_eq!(
        updated.assignee_id.as_deref(),
        Some(seed.bob.as_str()),
        "the user assignee, not the group"
    );
    assert_eq!(updated.assignee_name.as_deref(), Some("Bob"));
    let places: Vec<_> = updated
        .jurisdictions
        .iter()
        .map(|j| (j.country_name.as_str(), j.state_province_name.as_deref()))
        .collect();
    assert_eq!(
        places,
        [
            ("United States of America", Some("California")),
            ("Canada", Some("Ontario")),
            ("Germany", None)
        ]
    );
    // What never changes.
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.number, created.number);
    assert_eq!(updated.created_by, created.created_by);
    assert_eq!(updated.creator, created.creator);
    assert_eq!(updated.created_dt, created.created_dt);
    let (before, after) = (created.updated_dt.unwrap(), updated.updated_dt.unwrap());
    assert!((after.seconds, after.nanos) > (before.seconds, before.nanos));

    assert_eq!(app.get(&created.id).await.unwrap(), updated);
}

#[tokio::test]
async fn update_is_a_full_replacement() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let created = app.create(seed.minimal("Full")).await.unwrap();
    app.update(&created.id, full_update(&seed)).await.unwrap();
    let minimal = pb::IncidentUpdate {
        name: "Bare".into(),
        org_group_id: seed.headquarters.clone(),
        ..Default::default()
    };
    let bare = app.update(&created.id, minimal).await.unwrap();
    assert_eq!(bare.description, None);
    assert_eq!(bare.root_cause, None);
    assert_eq!(bare.date_occurred, None);
    assert_eq!(bare.date_discovered, None);
    assert_eq!(bare.deadline, None);
    assert_eq!(bare.incident_type_name, "Unknown");
    assert_eq!(bare.source_type, i32::from(pb::source_type::Value::Manual));
    assert_eq!(
        bare.notification_needed,
        i32::from(pb::notification_needed::Value::Unknown)
    );
    assert!(
        bare.attribute_values.is_empty(),
        "attributes left out end with no values"
    );
    assert!(bare.incident_assignee_information.is_empty());
    assert_eq!(bare.assignee_id, None);
    assert!(bare.jurisdictions.is_empty());
    assert_eq!(app.get(&created.id).await.unwrap(), bare);
}

#[tokio::test]
async fn updated_dt_moves_forward_on_every_update() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let created = app.create(seed.minimal("Clock")).await.unwrap();
    let mut last = created.updated_dt.unwrap();
    for i in 0..5 {
        let body = pb::IncidentUpdate {
            name: format!("Clock {i}"),
            org_group_id: seed.headquarters.clone(),
            ..Default::default()
        };
        let updated = app.update(&created.id, body).await.unwrap();
        let now = updated.updated_dt.unwrap();
        assert!((now.seconds, now.nanos) > (last.seconds, last.nanos));
        last = now;
    }
}

#[tokio::test]
async fn numbers_are_sequential_per_tenant_under_concurrent_creates() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let mut client = app.incidents.clone();
        let request = app.admin(pb::CreateIncidentRequest {
            incident: Some(seed.minimal(&format!("Concurrent {i}"))),
            ..Default::default()
        });
        tasks.push(tokio::spawn(async move {
            client.create_incident(request).await.map(|r| r.into_inner().number)
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap().unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=40).collect::<Vec<i64>>());

    // Another tenant starts at 1.
    app.tenant_id = uuid::Uuid::now_v7();
    let other = app.organization("Elsewhere", None).await;
    let body = pb::IncidentCreate {
        name: "First".into(),
        org_group_id: other,
        ..Default::default()
    };
    assert_eq!(app.create(body).await.unwrap().number, 1);
}

#[tokio::test]
async fn unknown_incident_is_not_found() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let missing = uuid::Uuid::now_v7().to_string();
    let status = app.get(&missing).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(reason(&status), "INCIDENT_NOT_FOUND");
    let body = pb::IncidentUpdate {
        name: "x".into(),
        org_group_id: seed.headquarters.clone(),
        ..Default::default()
    };
    let status = app.update(&missing, body).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
}

#[tokio::test]
async fn incidents_of_another_tenant_are_not_found_and_untouched() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let created = app.create(seed.minimal("Mine")).await.unwrap();
    let stranger = app.token_for(uuid::Uuid::now_v7(), "INCIDENT INCIDENT_ADMIN");
    let get = app.with_token(
        &stranger,
        pb::GetIncidentRequest {
            incident_id: created.id.clone(),
        },
    );
    assert_eq!(
        app.incidents.get_incident(get).await.unwrap_err().code(),
        Code::NotFound
    );
    let body = pb::IncidentUpdate {
        name: "Theirs".into(),
        org_group_id: seed.headquarters.clone(),
        ..Default::default()
    };
    let update = app.with_token(
        &stranger,
        pb::UpdateIncidentRequest {
            incident_id: created.id.clone(),
            incident: Some(body),
            ..Default::default()
        },
    );
    assert_eq!(
        app.incidents.update_incident(update).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(app.get(&created.id).await.unwrap(), created);
}

#[tokio::test]
async fn a_disabled_option_cannot_be_newly_chosen() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let created = app.create(seed.minimal("Disabled")).await.unwrap();
    let mut body = pb::IncidentUpdate {
        name: "Disabled".into(),
        org_group_id: seed.headquarters.clone(),
        ..Default::default()
    };
    body.attribute_values
        .insert("Severity".into(), values(&[(None, Some("Unrated"))]));
    let status = app.update(&created.id, body.clone()).await.unwrap_err();
    assert_eq!(
        crate::helpers::violations(&status),
        ["incident.attributeValues[\"Severity\"].values[0]"]
    );
    // Nothing was written.
    assert_eq!(app.get(&created.id).await.unwrap(), created);
}

#[tokio::test]
async fn restart_keeps_the_data() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let created = app.create(seed.minimal("Durable")).await.unwrap();
    let updated = app.update(&created.id, full_update(&seed)).await.unwrap();
    let mut app = app.restart().await;
    assert_eq!(app.get(&created.id).await.unwrap(), updated);
    let next = app.create(seed.minimal("After restart")).await.unwrap();
    assert_eq!(next.number, 2);
}

/// The body writer `i` sends: its own name, and child rows only it uses.
fn writer_body(seed: &Seed, writer: usize, round: usize) -> pb::IncidentUpdate {
    let states = ["CA", "NY", "TX", "WA", "OR", "NV", "AZ", "UT"];
    let mut body = pb::IncidentUpdate {
        name: format!("writer {writer} round {round}"),
        org_group_id: seed.headquarters.clone(),
        jurisdictions: states[..=writer % states.len()]
            .iter()
            .map(|s| jurisdiction("USA", Some(s)))
            .collect(),
        ..Default::default()
    };
    let people = [&seed.alice, &seed.bob, &seed.privacy_office];
    let kinds = [
        pb::assignee_type::Value::User,
        pb::assignee_type::Value::User,
        pb::assignee_type::Value::Group,
    ];
    body.incident_assignee_requests = (0..=writer % 3)
        .map(|i| pb::AssigneeInput {
            assignee_id: people[i].clone(),
            assignee_email: None,
            r#type: kinds[i].into(),
        })
        .collect();
    body.attribute_values
        .insert("Ticket".into(), values(&[(None, Some(&format!("W{writer}")))]));
    body
}

#[tokio::test]
async fn concurrent_updates_of_one_incident_never_mix_their_rows() {
    let mut app = spawn_app().await;
    let seed = std::sync::Arc::new(app.seed().await);
    let created = app.create(seed.minimal("Contended")).await.unwrap();
    let mut tasks = Vec::new();
    for writer in 0..8 {
        let (mut client, seed, id) = (app.incidents.clone(), seed.clone(), created.id.clone());
        let token = app.token("INCIDENT");
        let app_token = move |body| {
            let mut request = tonic::Request::new(pb::UpdateIncidentRequest {
                incident_id: id.clone(),
                incident: Some(body),
                ..Default::default()
            });
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            request
        };
        tasks.push(tokio::spawn(async move {
            for round in 0..10 {
                let answer = client
                    .update_incident(app_token(writer_body(&seed, writer, round)))
                    .await
                    .unwrap()
                    .into_inner();
                assert_eq!(answer.jurisdictions.len(), writer % 8 + 1, "an answer mixes writers");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let last = app.get(&created.id).await.unwrap();
    let writer: usize = last.name.split(' ').nth(1).unwrap().parse().unwrap();
    assert_eq!(last.jurisdictions.len(), writer % 8 + 1);
    assert_eq!(last.incident_assignee_information.len(), writer % 3 + 1);
    assert_eq!(last.attribute_values["Ticket"].values.len(), 1);
    assert_eq!(last.attribute_values["Ticket"].values[0].value, format!("W{writer}"));
}

#[tokio::test]
async fn the_largest_valid_incident_is_stored_whole() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let options: Vec<String> = (0..100).map(|i| format!("Option {i}")).collect();
    let option_refs: Vec<(&str, bool)> = options.iter().map(|o| (o.as_str(), false)).collect();
    let mut body = pb::IncidentUpdate {
        name: "n".repeat(255),
        description: Some("d".repeat(10_000)),
        root_cause: Some("r".repeat(10_000)),
        org_group_id: seed.headquarters.clone(),
        ..Default::default()
    };
    for a in 0..10 {
        let name = format!("Multi {a}");
        app.attribute(&name, pb::attribute_type::Value::MultiSelect, &option_refs)
            .await;
        let all: Vec<(Option<&str>, Option<&str>)> = options.iter().map(|o| (None, Some(o.as_str()))).collect();
        body.attribute_values.insert(name, values(&all));
    }
    for i in 0..50 {
        let id = app
            .assignee(&format!("Person {i}"), None, pb::assignee_type::Value::User)
            .await;
        body.incident_assignee_requests.push(pb::AssigneeInput {
            assignee_id: id,
            ..Default::default()
        });
    }
    let catalogue = app
        .reference
        .list_jurisdictions(app.admin(pb::ListJurisdictionsRequest { country_code: None }));
    body.jurisdictions = catalogue
        .await
        .unwrap()
        .into_inner()
        .jurisdictions
        .into_iter()
        .take(300)
        .map(|j| pb::JurisdictionInput {
            jurisdiction_id: Some(j.jurisdiction_id),
            ..Default::default()
        })
        .collect();
    let created = app.create(seed.minimal("Large")).await.unwrap();
    let updated = app.update(&created.id, body).await.unwrap();
    assert_eq!(
        updated
            .attribute_values
            .values()
            .map(|list| list.values.len())
            .sum::<usize>(),
        1_000
    );
    assert_eq!(updated.incident_assignee_information.len(), 50);
    assert_eq!(updated.jurisdictions.len(), 300);
    assert_eq!(app.get(&created.id).await.unwrap(), updated);
}

#[tokio::test]
async fn inventory_links_are_kept_from_creation_through_updates() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let asset = uuid::Uuid::now_v7().to_string();
    let mut body = seed.minimal("Linked");
    body.auto_assess_jurisdictions = true;
    body.linked_inventories.insert(
        "assets".into(),
        pb::InventoryLinkInput {
            inventory_ids: vec![asset.clone()],
            external_ids: vec!["CMDB-17".into()],
            source_type: pb::source_type::Value::Integration.into(),
        },
    );
    body.linked_inventories.insert(
        "vendors".into(),
        pb::InventoryLinkInput {
            external_ids: vec!["ACME".into()],
            ..Default::default()
        },
    );
    let created = app.create(body).await.unwrap();
    let assets = &created.linked_inventories["assets"];
    assert_eq!(assets.inventory_ids, [asset]);
    assert_eq!(assets.external_ids, ["CMDB-17"]);
    assert_eq!(assets.source_type, i32::from(pb::source_type::Value::Integration));
    assert_eq!(
        created.linked_inventories["vendors"].source_type,
        i32::from(pb::source_type::Value::Manual)
    );
    let updated = app.update(&created.id, full_update(&seed)).await.unwrap();
    assert_eq!(
        updated.linked_inventories, created.linked_inventories,
        "the update body has no links to replace"
    );
}
