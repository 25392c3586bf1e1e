//! Every validation rule: the exact status and field path, and nothing written.

use incidentd::pb;

use crate::helpers::{Seed, TestApp, jurisdiction, spawn_app, timestamp, values, violations};

type Mutation = Box<dyn Fn(&mut pb::IncidentUpdate, &Seed)>;

fn assignee(id: &str, email: Option<&str>, kind: pb::assignee_type::Value) -> pb::AssigneeInput {
    pb::AssigneeInput {
        assignee_id: id.into(),
        assignee_email: email.map(Into::into),
        r#type: kind.into(),
    }
}

fn cases() -> Vec<(&'static str, Mutation, Vec<&'static str>)> {
    use pb::assignee_type::Value::{Group, User};
    vec![
        (
            "blank name",
            Box::new(|b, _| b.name = "  ".into()),
            vec!["incident.name"],
        ),
        (
            "long name",
            Box::new(|b, _| b.name = "x".repeat(256)),
            vec!["incident.name"],
        ),
        (
            "control character in name",
            Box::new(|b, _| b.name = "a\u{0}b".into()),
            vec!["incident.name"],
        ),
        (
            "long description",
            Box::new(|b, _| b.description = Some("x".repeat(10_001))),
            vec!["incident.description"],
        ),
        (
            "long root cause",
            Box::new(|b, _| b.root_cause = Some("x".repeat(10_001))),
            vec!["incident.rootCause"],
        ),
        (
            "unknown incident type",
            Box::new(|b, _| b.incident_type_name = "Alien Abduction".into()),
            vec!["incident.incidentTypeName"],
        ),
        (
            "malformed org id",
            Box::new(|b, _| b.org_group_id = "hq".into()),
            vec!["incident.orgGroupId"],
        ),
        (
            "missing org id",
            Box::new(|b, _| b.org_group_id = String::new()),
            vec!["incident.orgGroupId"],
        ),
        (
            "unknown org",
            Box::new(|b, _| b.org_group_id = uuid::Uuid::now_v7().to_string()),
            vec!["incident.orgGroupId"],
        ),
        (
            "discovered before occurred",
            Box::new(|b, _| {
                b.date_occurred = Some(timestamp(1_700_000_000));
                b.date_discovered = Some(timestamp(1_600_000_000));
            }),
            vec!["incident.dateDiscovered"],
        ),
        (
            "time out of range",
            Box::new(|b, _| b.deadline = Some(timestamp(300_000_000_000))),
            vec!["incident.deadline"],
        ),
        (
            "source type NONE",
            Box::new(|b, _| b.source_type = pb::source_type::Value::None.into()),
            vec!["incident.sourceType"],
        ),
        (
            "unknown source type number",
            Box::new(|b, _| b.source_type = 42),
            vec!["incident.sourceType"],
        ),
        (
            "unknown notification value",
            Box::new(|b, _| b.notification_needed = 9),
            vec!["incident.notificationNeeded"],
        ),
        (
            "unknown attribute",
            Box::new(|b, _| {
                b.attribute_values
                    .insert("Colour".into(), values(&[(None, Some("Red"))]));
            }),
            vec!["incident.attributeValues[\"Colour\"]"],
        ),
        (
            "control character in an attribute name",
            Box::new(|b, _| {
                b.attribute_values
                    .insert("a\u{0}b".into(), values(&[(None, Some("x"))]));
            }),
            vec!["incident.attributeValues[\"a\\0b\"]"],
        ),
        (
            "unknown option id",
            Box::new(|b, _| {
                let id = uuid::Uuid::now_v7().to_string();
                b.attribute_values
                    .insert("Severity".into(), values(&[(Some(&id), None)]));
            }),
            vec!["incident.attributeValues[\"Severity\"].values[0].id"],
        ),
        (
            "malformed option id",
            Box::new(|b, _| {
                b.attribute_values
                    .insert("Severity".into(), values(&[(Some("high"), None)]));
            }),
            vec!["incident.attributeValues[\"Severity\"].values[0].id"],
        ),
        (
            "unknown option value",
            Box::new(|b, _| {
                b.attribute_values
                    .insert("Severity".into(), values(&[(None, Some("Extreme"))]));
            }),
            vec!["incident.attributeValues[\"Severity\"].values[0].value"],
        ),
        (
            "option id and value disagree",
            Box::new(|b, s| {
                b.attribute_values.insert(
                    "Severity".into(),
                    values(&[(Some(&s.severity.options[0].id), Some("High"))]),
                );
            }),
            vec!["incident.attributeValues[\"Severity\"].values[0].value"],
        ),
        (
            "value with neither id nor value",
            Box::new(|b, _| {
                b.attribute_values.insert("Severity".into(), values(&[(None, None)]));
            }),
            vec!["incident.attributeValues[\"Severity\"].values[0]"],
        ),
        (
            "two values for a single select",
            Box::new(|b, _| {
                b.attribute_values
                    .insert("Severity".into(), values(&[(None, Some("Low")), (None, Some("High"))]));
            }),
            vec!["incident.attributeValues[\"Severity\"].values"],
        ),
        (
            "disabled option",
            Box::new(|b, _| {
                b.attribute_values
                    .insert("Severity".into(), values(&[(None, Some("Unrated"))]));
            }),
            vec!["incident.attributeValues[\"Severity\"].values[0]"],
        ),
        (
            "same option twice in a multi select",
            Box::new(|b, _| {
                b.attribute_values.insert(
                    "Data Categories".into(),
                    values(&[(None, Some("Health")), (None, Some("health"))]),
                );
            }),
            vec!["incident.attributeValues[\"Data Categories\"].values[1]"],
        ),
        (
            "option id on a text attribute",
            Box::new(|b, s| {
                b.attribute_values
                    .insert("Ticket".into(), values(&[(Some(&s.severity.options[0].id), None)]));
            }),
            vec!["incident.attributeValues[\"Ticket\"].values[0].id"],
        ),
        (
            "two texts for a text attribute",
            Box::new(|b, _| {
                b.attribute_values
                    .insert("Ticket".into(), values(&[(None, Some("a")), (None, Some("b"))]));
            }),
            vec!["incident.attributeValues[\"Ticket\"].values"],
        ),
        (
            "same attribute under two spellings",
            Box::new(|b, _| {
                b.attribute_values.insert("Ticket".into(), values(&[(None, Some("a"))]));
                b.attribute_values.insert("ticket".into(), values(&[(None, Some("b"))]));
            }),
            vec!["incident.attributeValues[\"ticket\"]"],
        ),
        (
            "unknown assignee",
            Box::new(|b, _| {
                b.incident_assignee_requests = vec![assignee(&uuid::Uuid::now_v7().to_string(), None, User)]
            }),
            vec!["incident.incidentAssigneeRequests[0].assigneeId"],
        ),
        (
            "malformed assignee id",
            Box::new(|b, _| b.incident_assignee_requests = vec![assignee("alice", None, User)]),
            vec!["incident.incidentAssigneeRequests[0].assigneeId"],
        ),
        (
            "email on a group",
            Box::new(|b, s| {
                b.incident_assignee_requests = vec![assignee(&s.privacy_office, Some("po@example.com"), Group)]
            }),
            vec!["incident.incidentAssigneeRequests[0].assigneeEmail"],
        ),
        (
            "email of someone else",
            Box::new(|b, s| b.incident_assignee_requests = vec![assignee(&s.alice, Some("bob@example.com"), User)]),
            vec!["incident.incidentAssigneeRequests[0].assigneeEmail"],
        ),
        (
            "malformed email",
            Box::new(|b, s| b.incident_assignee_requests = vec![assignee(&s.alice, Some("alice at example"), User)]),
            vec!["incident.incidentAssigneeRequests[0].assigneeEmail"],
        ),
        (
            "group named as a user",
            Box::new(|b, s| b.incident_assignee_requests = vec![assignee(&s.privacy_office, None, User)]),
            vec!["incident.incidentAssigneeRequests[0].type"],
        ),
        (
            "same assignee twice",
            Box::new(|b, s| {
                b.incident_assignee_requests = vec![assignee(&s.alice, None, User), assignee(&s.alice, None, User)]
            }),
            vec!["incident.incidentAssigneeRequests[1].assigneeId"],
        ),
        (
            "unknown country",
            Box::new(|b, _| b.jurisdictions = vec![jurisdiction("ATL", None)]),
            vec!["incident.jurisdictions[0].countryCode"],
        ),
        (
            "USA without a state",
            Box::new(|b, _| b.jurisdictions = vec![jurisdiction("USA", None)]),
            vec!["incident.jurisdictions[0].stateProvinceCode"],
        ),
        (
            "a province that is not in Canada",
            Box::new(|b, _| b.jurisdictions = vec![jurisdiction("CAN", Some("TX"))]),
            vec!["incident.jurisdictions[0].stateProvinceCode"],
        ),
        (
            "a state for a country without states",
            Box::new(|b, _| b.jurisdictions = vec![jurisdiction("FRA", Some("IDF"))]),
            vec!["incident.jurisdictions[0].stateProvinceCode"],
        ),
        (
            "unknown jurisdiction id",
            Box::new(|b, _| {
                b.jurisdictions = vec![pb::JurisdictionInput {
                    jurisdiction_id: Some(uuid::Uuid::now_v7().to_string()),
                    ..Default::default()
                }]
            }),
            vec!["incident.jurisdictions[0].jurisdictionId"],
        ),
        (
            "same jurisdiction twice",
            Box::new(|b, _| b.jurisdictions = vec![jurisdiction("DEU", None), jurisdiction("deu", None)]),
            vec!["incident.jurisdictions[1]"],
        ),
        (
            "too many assignees",
            Box::new(|b, _| {
                b.incident_assignee_requests = (0..51)
                    .map(|_| assignee(&uuid::Uuid::now_v7().to_string(), None, User))
                    .collect()
            }),
            vec!["incident.incidentAssigneeRequests"],
        ),
        (
            "every violation at once",
            Box::new(|b, _| {
                b.name = String::new();
                b.org_group_id = uuid::Uuid::now_v7().to_string();
                b.incident_type_name = "Nope".into();
                b.jurisdictions = vec![jurisdiction("USA", Some("ZZ"))];
                b.attribute_values
                    .insert("Colour".into(), values(&[(None, Some("Red"))]));
            }),
            vec![
                "incident.name",
                "incident.jurisdictions[0].stateProvinceCode",
                "incident.incidentTypeName",
                "incident.orgGroupId",
                "incident.attributeValues[\"Colour\"]",
            ],
        ),
    ]
}

fn valid_update(seed: &Seed) -> pb::IncidentUpdate {
    pb::IncidentUpdate {
        name: "Valid".into(),
        org_group_id: seed.headquarters.clone(),
        ..Default::default()
    }
}

async fn setup() -> (TestApp, Seed, pb::Incident) {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let created = app.create(seed.minimal("Untouched")).await.unwrap();
    (app, seed, created)
}

#[tokio::test]
async fn each_invalid_update_names_its_field_and_writes_nothing() {
    let (mut app, seed, created) = setup().await;
    for (case, mutate, expected) in cases() {
        let mut body = valid_update(&seed);
        mutate(&mut body, &seed);
        let status = app.update(&created.id, body).await.expect_err(case);
        assert_eq!(violations(&status), expected, "{case}");
        assert_eq!(app.get(&created.id).await.unwrap(), created, "{case} wrote something");
    }
}

#[tokio::test]
async fn each_invalid_create_names_its_field_and_creates_nothing() {
    let (mut app, seed, _) = setup().await;
    for (case, mutate, expected) in cases() {
        let mut body = valid_update(&seed);
        mutate(&mut body, &seed);
        let create = pb::IncidentCreate {
            name: body.name,
            description: body.description,
            incident_type_name: body.incident_type_name,
            org_group_id: body.org_group_id,
            date_occurred: body.date_occurred,
            date_discovered: body.date_discovered,
            deadline: body.deadline,
            source_type: body.source_type,
            root_cause: body.root_cause,
            notification_needed: body.notification_needed,
            attribute_values: body.attribute_values,
            incident_assignee_requests: body.incident_assignee_requests,
            jurisdictions: body.jurisdictions,
            auto_assess_jurisdictions: false,
            linked_inventories: Default::default(),
            workflow_id: None,
        };
        let status = app.create(create).await.expect_err(case);
        assert_eq!(violations(&status), expected, "{case}");
    }
    // No number was used up by the refused creates.
    assert_eq!(app.create(seed.minimal("Second")).await.unwrap().number, 2);
}

#[tokio::test]
async fn malformed_incident_id_is_a_violation() {
    let (mut app, seed, _) = setup().await;
    let status = app.get("not-a-uuid").await.unwrap_err();
    assert_eq!(violations(&status), ["incidentId"]);
    let mut body = valid_update(&seed);
    body.name = String::new();
    let status = app.update("42", body).await.unwrap_err();
    assert_eq!(violations(&status), ["incidentId", "incident.name"]);
}

#[tokio::test]
async fn missing_body_is_a_violation() {
    let (mut app, _, created) = setup().await;
    let request = app.admin(pb::UpdateIncidentRequest {
        incident_id: created.id.clone(),
        incident: None,
        ..Default::default()
    });
    let status = app.incidents.update_incident(request).await.unwrap_err();
    assert_eq!(violations(&status), ["incident"]);
    let request = app.admin(pb::CreateIncidentRequest {
        incident: None,
        ..Default::default()
    });
    let status = app.incidents.create_incident(request).await.unwrap_err();
    assert_eq!(violations(&status), ["incident"]);
}

#[tokio::test]
async fn organizations_of_another_tenant_cannot_be_referenced() {
    let (mut app, seed, created) = setup().await;
    let mine = app.tenant_id;
    app.tenant_id = uuid::Uuid::now_v7();
    let foreign = app.organization("Foreign", None).await;
    app.tenant_id = mine;
    let mut body = valid_update(&seed);
    body.org_group_id = foreign;
    let status = app.update(&created.id, body).await.unwrap_err();
    assert_eq!(violations(&status), ["incident.orgGroupId"]);
}

#[tokio::test]
async fn invalid_inventory_links_name_their_path() {
    let (mut app, seed, _) = setup().await;
    let mut body = seed.minimal("Linked");
    body.linked_inventories.insert(
        "assets".into(),
        pb::InventoryLinkInput {
            inventory_ids: vec!["asset-1".into()],
            external_ids: vec![],
            source_type: pb::source_type::Value::Webform.into(),
        },
    );
    body.linked_inventories.insert(
        "servers".into(),
        pb::InventoryLinkInput {
            external_ids: vec!["srv-1".into()],
            ..Default::default()
        },
    );
    let status = app.create(body).await.unwrap_err();
    assert_eq!(
        violations(&status),
        [
            "incident.linkedInventories[\"assets\"].sourceType",
            "incident.linkedInventories[\"assets\"].inventoryIds[0]",
            "incident.linkedInventories[\"servers\"]",
        ]
    );
}

#[tokio::test]
async fn an_invalid_body_is_refused_even_for_an_unknown_incident() {
    let (mut app, _, _) = setup().await;
    let body = pb::IncidentUpdate {
        name: String::new(),
        org_group_id: "bad".into(),
        ..Default::default()
    };
    let status = app.update(&uuid::Uuid::now_v7().to_string(), body).await.unwrap_err();
    assert_eq!(violations(&status), ["incident.name", "incident.orgGroupId"]);
}

#[tokio::test]
async fn a_message_over_four_mebibytes_is_refused_and_the_server_keeps_serving() {
    let (mut app, seed, created) = setup().await;
    let mut body = valid_update(&seed);
    body.description = Some("x".repeat(5 * 1024 * 1024));
    let status = app.update(&created.id, body).await.unwrap_err();
    // tonic answers OUT_OF_RANGE here (the gRPC spec suggests RESOURCE_EXHAUSTED).
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    assert_eq!(app.get(&created.id).await.unwrap(), created);
}

#[tokio::test]
async fn a_new_tenants_refused_first_create_names_only_its_own_faults() {
    let mut app = spawn_app().await;
    let newcomer = app.token_for(uuid::Uuid::now_v7(), "INCIDENT");
    let body = pb::IncidentCreate {
        name: String::new(),
        ..Default::default()
    };
    let request = app.with_token(
        &newcomer,
        pb::CreateIncidentRequest {
            incident: Some(body),
            request_id: String::new(),
        },
    );
    let status = app.incidents.create_incident(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        violations(&status),
        ["incident.name", "incident.orgGroupId"],
        "the tenant's Unknown type exists before its first write"
    );
}
