//! Tokens and scopes: every way in that must be refused, and every scope rule.

use std::{path::PathBuf, time::Duration};

use incidentd::{
    AuthConfig, AuthKey,
    auth::{Signer, claims_for},
    pb,
};
use tonic::{Code, Request, Status};

use crate::helpers::{TestApp, TestDb, reason, sign, spawn_app, spawn_with};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Calls every RPC with `token` (or none) and returns each status code by name.
async fn call_every_rpc(app: &mut TestApp, token: Option<&str>, incident_id: &str) -> Vec<(&'static str, Code)> {
    fn req<T>(app: &TestApp, token: Option<&str>, message: T) -> Request<T> {
        match token {
            Some(token) => app.with_token(token, message),
            None => Request::new(message),
        }
    }
    fn code<T>(result: Result<T, Status>) -> Code {
        result.map(|_| Code::Ok).unwrap_or_else(|s| s.code())
    }
    let body = pb::IncidentUpdate {
        name: "x".into(),
        ..Default::default()
    };
    let create = pb::IncidentCreate {
        name: "x".into(),
        ..Default::default()
    };
    let mut out = Vec::new();
    let (i, r) = (&mut app.incidents.clone(), &mut app.reference.clone());
    out.push((
        "CreateIncident",
        code(
            i.create_incident(req(
                app,
                token,
                pb::CreateIncidentRequest {
                    incident: Some(create),
                    ..Default::default()
                },
            ))
            .await,
        ),
    ));
    out.push((
        "GetIncident",
        code(
            i.get_incident(req(
                app,
                token,
                pb::GetIncidentRequest {
                    incident_id: incident_id.into(),
                },
            ))
            .await,
        ),
    ));
    out.push((
        "UpdateIncident",
        code(
            i.update_incident(req(
                app,
                token,
                pb::UpdateIncidentRequest {
                    incident_id: incident_id.into(),
                    incident: Some(body),
                    ..Default::default()
                },
            ))
            .await,
        ),
    ));
    out.push((
        "ListIncidentRevisions",
        code(
            i.list_incident_revisions(req(
                app,
                token,
                pb::ListIncidentRevisionsRequest {
                    incident_id: incident_id.into(),
                    ..Default::default()
                },
            ))
            .await,
        ),
    ));
    out.push((
        "SearchIncidents",
        code(
            i.search_incidents(req(app, token, pb::SearchIncidentsRequest::default()))
                .await,
        ),
    ));
    out.push((
        "CreateOrganization",
        code(
            r.create_organization(req(
                app,
                token,
                pb::CreateOrganizationRequest {
                    name: "Org".into(),
                    parent_id: None,
                },
            ))
            .await,
        ),
    ));
    out.push((
        "ListOrganizations",
        code(
            r.list_organizations(req(app, token, pb::ListOrganizationsRequest {}))
                .await,
        ),
    ));
    out.push((
        "CreateIncidentType",
        code(
            r.create_incident_type(req(app, token, pb::CreateIncidentTypeRequest { name: "T".into() }))
                .await,
        ),
    ));
    out.push((
        "ListIncidentTypes",
        code(
            r.list_incident_types(req(app, token, pb::ListIncidentTypesRequest {}))
                .await,
        ),
    ));
    let attribute = pb::CreateAttributeRequest {
        name: "A".into(),
        r#type: pb::attribute_type::Value::Text.into(),
        options: vec![],
    };
    out.push((
        "CreateAttribute",
        code(r.create_attribute(req(app, token, attribute)).await),
    ));
    out.push((
        "ListAttributes",
        code(r.list_attributes(req(app, token, pb::ListAttributesRequest {})).await),
    ));
    let assignee = pb::CreateAssigneeRequest {
        name: "Ann".into(),
        email: None,
        r#type: 0,
    };
    out.push((
        "CreateAssignee",
        code(r.create_assignee(req(app, token, assignee)).await),
    ));
    out.push((
        "ListAssignees",
        code(r.list_assignees(req(app, token, pb::ListAssigneesRequest {})).await),
    ));
    out.push((
        "ListJurisdictions",
        code(
            r.list_jurisdictions(req(app, token, pb::ListJurisdictionsRequest { country_code: None }))
                .await,
        ),
    ));
    out.push((
        "ListNotificationRules",
        code(
            r.list_notification_rules(req(app, token, pb::ListNotificationRulesRequest { country_code: None }))
                .await,
        ),
    ));
    let notification = pb::RecordNotificationRequest {
        incident_id: incident_id.into(),
        country_code: "DEU".into(),
        ..Default::default()
    };
    out.push((
        "RecordNotification",
        code(i.record_notification(req(app, token, notification)).await),
    ));
    // To the stage it is in: allowed, and it changes nothing.
    let stage = pb::UpdateIncidentStageRequest {
        incident_id: incident_id.into(),
        next_stage_name: "Intake".into(),
        ..Default::default()
    };
    out.push((
        "UpdateIncidentStage",
        code(i.update_incident_stage(req(app, token, stage)).await),
    ));
    out.push((
        "ListWorkflows",
        code(r.list_workflows(req(app, token, pb::ListWorkflowsRequest {})).await),
    ));
    let workflow = pb::CreateWorkflowRequest {
        name: String::new(),
        stages: vec![],
    };
    out.push((
        "CreateWorkflow",
        code(r.create_workflow(req(app, token, workflow)).await),
    ));
    let link = pb::LinkInventoryRequest {
        incident_id: incident_id.into(),
        inventory_type: "assets".into(),
        ..Default::default()
    };
    out.push(("LinkInventory", code(i.link_inventory(req(app, token, link)).await)));
    let unlink = pb::UnlinkInventoryRequest {
        incident_id: incident_id.into(),
        inventory_type: "assets".into(),
        id: "A-1".into(),
        ..Default::default()
    };
    out.push((
        "UnlinkInventory",
        code(i.unlink_inventory(req(app, token, unlink)).await),
    ));
    let watch = pb::WatchIncidentsRequest::default();
    out.push(("WatchIncidents", code(i.watch_incidents(req(app, token, watch)).await)));
    out
}

async fn app_with_incident() -> (TestApp, String) {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let id = app.create(seed.minimal("Guarded")).await.unwrap().id;
    (app, id)
}

#[tokio::test]
async fn every_rpc_refuses_a_missing_or_bad_token() {
    let (mut app, id) = app_with_incident().await;
    let expired = {
        let mut claims = claims_for(
            app.tenant_id,
            app.user_id,
            "INCIDENT INCIDENT_ADMIN",
            None,
            Duration::ZERO,
        );
        claims.exp -= 300;
        sign(&claims)
    };
    let wrong_key = Signer::hs256(b"another-secret-that-is-32-bytes-long!!")
        .sign(&claims_for(
            app.tenant_id,
            app.user_id,
            "INCIDENT",
            None,
            Duration::from_secs(60),
        ))
        .unwrap();
    let good = app.token("INCIDENT INCIDENT_ADMIN");
    let payload = good.split('.').nth(1).unwrap();
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    let not_yet = {
        let mut claims = claims_for(app.tenant_id, app.user_id, "INCIDENT", None, Duration::from_secs(600));
        claims.nbf = Some(jsonwebtoken::get_current_timestamp() + 300);
        sign(&claims)
    };
    let bad_tenant = {
        let mut claims = claims_for(app.tenant_id, app.user_id, "INCIDENT", None, Duration::from_secs(60));
        claims.tenant_id = "acme".into();
        sign(&claims)
    };
    for (case, token) in [
        ("none", None),
        ("garbage", Some("garbage")),
        ("expired", Some(expired.as_str())),
        ("not yet valid", Some(not_yet.as_str())),
        ("wrong key", Some(wrong_key.as_str())),
        ("alg none", Some(unsigned.as_str())),
        ("tenant not a uuid", Some(bad_tenant.as_str())),
    ] {
        let answers = call_every_rpc(&mut app, token, &id).await;
        let mut called: Vec<&str> = answers.iter().map(|(rpc, _)| *rpc).collect();
        called.sort();
        assert_eq!(called, every_rpc(), "every RPC is called");
        for (rpc, code) in answers {
            assert_eq!(code, Code::Unauthenticated, "{rpc} with a {case} token");
        }
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let (mut app, id) = app_with_incident().await;
    let mut request = Request::new(pb::GetIncidentRequest { incident_id: id });
    let header = format!("BEARER {}", app.token("INCIDENT_READ"));
    request.metadata_mut().insert("authorization", header.parse().unwrap());
    assert!(app.incidents.get_incident(request).await.is_ok());
}

#[tokio::test]
async fn a_non_bearer_authorization_is_refused_with_its_reason() {
    let (mut app, id) = app_with_incident().await;
    let mut request = Request::new(pb::GetIncidentRequest { incident_id: id });
    request
        .metadata_mut()
        .insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
    let status = app.incidents.get_incident(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), "INVALID_TOKEN");
}

#[tokio::test]
async fn each_rpc_needs_its_scope() {
    let (mut app, id) = app_with_incident().await;
    use Code::{Ok as Allowed, PermissionDenied as Denied};
    // (scope, [Create, Get, Update, ListRevisions, Search, CreateOrg, ListOrg, CreateType, ListType, CreateAttr,
    //          ListAttr, CreateAssignee, ListAssignee, ListJurisdictions, ListNotificationRules,
    //          RecordNotification, UpdateIncidentStage, ListWorkflows, CreateWorkflow, LinkInventory,
    //          UnlinkInventory, WatchIncidents])
    let matrix: [(&str, [Code; 22]); 6] = [
        (
            "INCIDENT",
            [
                Allowed, Allowed, Allowed, Allowed, Allowed, Denied, Allowed, Denied, Allowed, Denied, Allowed, Denied,
                Allowed, Allowed, Allowed, Allowed, Allowed, Allowed, Denied, Allowed, Allowed, Allowed,
            ],
        ),
        (
            "INCIDENT_READ",
            [
                Denied, Allowed, Denied, Allowed, Allowed, Denied, Allowed, Denied, Allowed, Denied, Allowed, Denied,
                Allowed, Allowed, Allowed, Denied, Denied, Allowed, Denied, Denied, Denied, Allowed,
            ],
        ),
        (
            "INCIDENT_CREATE",
            [
                Allowed, Denied, Denied, Denied, Denied, Denied, Allowed, Denied, Allowed, Denied, Allowed, Denied,
                Allowed, Allowed, Allowed, Denied, Denied, Allowed, Denied, Denied, Denied, Denied,
            ],
        ),
        (
            "INCIDENT_ADMIN",
            [
                Denied, Denied, Denied, Denied, Denied, Allowed, Allowed, Allowed, Allowed, Allowed, Allowed, Allowed,
                Allowed, Allowed, Allowed, Denied, Denied, Allowed, Allowed, Denied, Denied, Denied,
            ],
        ),
        ("INCIDENT_READX incident INCIDENT,INCIDENT_READ", [Denied; 22]),
        ("", [Denied; 22]),
    ];
    for (scope, expected) in matrix {
        let token = app.token(scope);
        let results = call_every_rpc(&mut app, Some(&token), &id).await;
        for ((rpc, code), want) in results.into_iter().zip(expected) {
            // The probe bodies are deliberately incomplete: an allowed create or
            // update gets past the scope check and stops at validation.
            let code = if matches!(code, Code::InvalidArgument | Code::AlreadyExists | Code::NotFound) {
                Code::Ok
            } else {
                code
            };
            assert_eq!(code, want, "{rpc} with scope {scope:?}");
        }
    }
}

#[tokio::test]
async fn permission_denied_names_the_scopes_that_would_allow_the_call() {
    let (mut app, id) = app_with_incident().await;
    let request = app.with_token(
        &app.token("INCIDENT_READ"),
        pb::UpdateIncidentRequest {
            incident_id: id,
            incident: None,
            ..Default::default()
        },
    );
    let status = app.incidents.update_incident(request).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(reason(&status), "MISSING_SCOPE");
    assert!(status.message().contains("INCIDENT"), "{}", status.message());
    let request = app.with_token(
        &app.token("INCIDENT_ADMIN"),
        pb::GetIncidentRequest {
            incident_id: uuid::Uuid::now_v7().to_string(),
        },
    );
    let status = app.incidents.get_incident(request).await.unwrap_err();
    assert!(
        status.message().contains("INCIDENT_READ, INCIDENT"),
        "{}",
        status.message()
    );
}

async fn public_key_app(public: &str) -> TestApp {
    let auth = AuthConfig {
        key: AuthKey::PublicKeyPem(fixture(public)),
        issuer: Some("https://issuer.example".into()),
        audience: Some("incidentd".into()),
    };
    spawn_with(TestDb::new().await, auth).await
}

fn signed_with(private: &str, app: &TestApp, issuer: &str, audience: &str) -> String {
    let mut claims = claims_for(
        app.tenant_id,
        app.user_id,
        "INCIDENT_READ",
        None,
        Duration::from_secs(60),
    );
    claims.iss = Some(issuer.into());
    claims.aud = Some(audience.into());
    let pem = std::fs::read(fixture(private)).unwrap();
    Signer::from_private_pem(&pem).unwrap().sign(&claims).unwrap()
}

async fn list_types(app: &mut TestApp, token: &str) -> Code {
    let request = app.with_token(token, pb::ListIncidentTypesRequest {});
    app.reference
        .list_incident_types(request)
        .await
        .map(|_| Code::Ok)
        .unwrap_or_else(|s| s.code())
}

#[tokio::test]
async fn rs256_and_es256_tokens_verify_with_issuer_and_audience_checked() {
    for (public, private, other_private) in [
        ("rs256-public.pem", "rs256-private.pem", "es256-private.pem"),
        ("es256-public.pem", "es256-private.pem", "rs256-private.pem"),
    ] {
        let mut app = public_key_app(public).await;
        let good = signed_with(private, &app, "https://issuer.example", "incidentd");
        assert_eq!(list_types(&mut app, &good).await, Code::Ok, "{public}");
        let wrong_issuer = signed_with(private, &app, "https://evil.example", "incidentd");
        assert_eq!(
            list_types(&mut app, &wrong_issuer).await,
            Code::Unauthenticated,
            "{public} issuer"
        );
        let wrong_audience = signed_with(private, &app, "https://issuer.example", "other");
        assert_eq!(
            list_types(&mut app, &wrong_audience).await,
            Code::Unauthenticated,
            "{public} audience"
        );
        let other_algorithm = signed_with(other_private, &app, "https://issuer.example", "incidentd");
        assert_eq!(
            list_types(&mut app, &other_algorithm).await,
            Code::Unauthenticated,
            "{public} algorithm"
        );
        // HS/RS confusion: an HS256 token keyed with the public key itself.
        let public_pem = std::fs::read(fixture(public)).unwrap();
        let mut claims = claims_for(
            app.tenant_id,
            app.user_id,
            "INCIDENT_READ",
            None,
            Duration::from_secs(60),
        );
        claims.iss = Some("https://issuer.example".into());
        claims.aud = Some("incidentd".into());
        let confused = Signer::hs256(&public_pem).sign(&claims).unwrap();
        assert_eq!(
            list_types(&mut app, &confused).await,
            Code::Unauthenticated,
            "{public} HS/RS confusion"
        );
    }
}

/// Every RPC of our two services, by name, read from the compiled descriptors.
fn every_rpc() -> Vec<String> {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).expect("descriptors");
    let mut names: Vec<String> = set
        .file
        .iter()
        .flat_map(|file| &file.service)
        .flat_map(|service| &service.method)
        .map(|method| method.name().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn every_rpc_keeps_to_the_tokens_tenant() {
    use pb::attribute_type::Value::Text;
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let incident = app.create(seed.minimal("Tenant A's breach")).await.unwrap();
    let other = app.token_for(uuid::Uuid::now_v7(), "INCIDENT INCIDENT_ADMIN");
    let (mut i, mut r) = (app.incidents.clone(), app.reference.clone());
    let mut swept = Vec::new();
    let mut saw = |rpc: &str| swept.push(rpc.to_owned());

    // Another tenant's incident does not exist for this token.
    let get = pb::GetIncidentRequest {
        incident_id: incident.id.clone(),
    };
    assert_eq!(
        i.get_incident(app.with_token(&other, get)).await.unwrap_err().code(),
        Code::NotFound
    );
    saw("GetIncident");
    let update = pb::UpdateIncidentRequest {
        incident_id: incident.id.clone(),
        incident: Some(pb::IncidentUpdate {
            name: "Taken over".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["name".into()],
        }),
        ..Default::default()
    };
    assert_eq!(
        i.update_incident(app.with_token(&other, update))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    saw("UpdateIncident");
    let notification = pb::RecordNotificationRequest {
        incident_id: incident.id.clone(),
        country_code: "USA".into(),
        state_province_code: Some("CA".into()),
        recipient: pb::recipient::Value::Authority.into(),
        notified_at: Some(prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        ..Default::default()
    };
    assert_eq!(
        i.record_notification(app.with_token(&other, notification))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    saw("RecordNotification");
    let stage = pb::UpdateIncidentStageRequest {
        incident_id: incident.id.clone(),
        next_stage_name: "Investigation".into(),
        ..Default::default()
    };
    assert_eq!(
        i.update_incident_stage(app.with_token(&other, stage))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    saw("UpdateIncidentStage");
    let link = pb::LinkInventoryRequest {
        incident_id: incident.id.clone(),
        inventory_type: "assets".into(),
        external_ids: vec!["A-1".into()],
        ..Default::default()
    };
    let status = i.link_inventory(app.with_token(&other, link)).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    saw("LinkInventory");
    let unlink = pb::UnlinkInventoryRequest {
        incident_id: incident.id.clone(),
        inventory_type: "assets".into(),
        id: "A-1".into(),
        ..Default::default()
    };
    let status = i.unlink_inventory(app.with_token(&other, unlink)).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    saw("UnlinkInventory");
    let revisions = pb::ListIncidentRevisionsRequest {
        incident_id: incident.id.clone(),
        ..Default::default()
    };
    let status = i
        .list_incident_revisions(app.with_token(&other, revisions))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    saw("ListIncidentRevisions");
    let found = i
        .search_incidents(app.with_token(&other, pb::SearchIncidentsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((found.total_elements, found.incidents.len()), (0, 0));
    saw("SearchIncidents");
    // Its events are not the other tenant's: that tenant is at sequence 0,
    // and a cursor past it was never given.
    let mut watch = i
        .watch_incidents(app.with_token(&other, pb::WatchIncidentsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().unwrap().message;
    assert_eq!(
        first,
        Some(pb::watch_incidents_response::Message::Bookmark(pb::Bookmark {
            sequence: 0
        }))
    );
    let past = pb::WatchIncidentsRequest {
        after_sequence: Some(1),
        ..Default::default()
    };
    let status = i.watch_incidents(app.with_token(&other, past)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    saw("WatchIncidents");

    // Nor can its reference data be used.
    let create = pb::CreateIncidentRequest {
        incident: Some(seed.minimal("Filed under A")),
        ..Default::default()
    };
    let status = i.create_incident(app.with_token(&other, create)).await.unwrap_err();
    assert_eq!(crate::helpers::violations(&status), ["incident.orgGroupId"]);
    saw("CreateIncident");
    let organization = pb::CreateOrganizationRequest {
        name: "Subsidiary".into(),
        parent_id: Some(seed.headquarters.clone()),
    };
    let status = r
        .create_organization(app.with_token(&other, organization))
        .await
        .unwrap_err();
    assert_eq!(crate::helpers::violations(&status), ["parentId"]);
    saw("CreateOrganization");

    // Names are the tenant's own: the same names make entries of this tenant.
    let kind = pb::CreateIncidentTypeRequest {
        name: "Misdirected Email".into(),
    };
    let kind = r
        .create_incident_type(app.with_token(&other, kind))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(kind.id, seed.misdirected);
    saw("CreateIncidentType");
    let attribute = pb::CreateAttributeRequest {
        name: seed.ticket.name.clone(),
        r#type: Text.into(),
        options: vec![],
    };
    let attribute = r
        .create_attribute(app.with_token(&other, attribute))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(attribute.id, seed.ticket.id);
    saw("CreateAttribute");
    let assignee = pb::CreateAssigneeRequest {
        name: "Alice".into(),
        email: None,
        r#type: 0,
    };
    let assignee = r
        .create_assignee(app.with_token(&other, assignee))
        .await
        .unwrap()
        .into_inner();
    saw("CreateAssignee");
    let workflow = pb::CreateWorkflowRequest {
        name: "Breach response".into(),
        stages: vec![pb::WorkflowStageInput {
            name: "Done".into(),
            closes_incident: true,
            ..Default::default()
        }],
    };
    assert_eq!(
        r.create_workflow(app.with_token(&other, workflow.clone()))
            .await
            .unwrap_err()
            .code(),
        Code::InvalidArgument,
        "the first stage may not close"
    );
    let workflow = pb::CreateWorkflowRequest {
        stages: [
            vec![pb::WorkflowStageInput {
                name: "Triage".into(),
                ..Default::default()
            }],
            workflow.stages,
        ]
        .concat(),
        ..workflow
    };
    let workflow = r
        .create_workflow(app.with_token(&other, workflow))
        .await
        .unwrap()
        .into_inner();
    saw("CreateWorkflow");

    // Lists show this tenant's entries and nothing of the other's.
    let organizations = r
        .list_organizations(app.with_token(&other, pb::ListOrganizationsRequest {}))
        .await;
    assert!(organizations.unwrap().into_inner().organizations.is_empty());
    saw("ListOrganizations");
    let kinds = r
        .list_incident_types(app.with_token(&other, pb::ListIncidentTypesRequest {}))
        .await;
    let mut kinds: Vec<(String, String)> = kinds
        .unwrap()
        .into_inner()
        .incident_types
        .into_iter()
        .map(|t| (t.name, t.id))
        .collect();
    kinds.sort();
    assert_eq!(kinds[0], (kind.name, kind.id), "{kinds:?}");
    assert_eq!(kinds.len(), 2, "its own type and Unknown: {kinds:?}");
    assert_eq!(kinds[1].0, "Unknown");
    saw("ListIncidentTypes");
    let attributes = r
        .list_attributes(app.with_token(&other, pb::ListAttributesRequest {}))
        .await;
    let attributes: Vec<String> = attributes
        .unwrap()
        .into_inner()
        .attributes
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(attributes, [attribute.id]);
    saw("ListAttributes");
    let assignees = r
        .list_assignees(app.with_token(&other, pb::ListAssigneesRequest {}))
        .await;
    let assignees: Vec<String> = assignees
        .unwrap()
        .into_inner()
        .assignees
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(assignees, [assignee.id]);
    saw("ListAssignees");
    let workflows = r
        .list_workflows(app.with_token(&other, pb::ListWorkflowsRequest {}))
        .await;
    let mut workflows: Vec<(String, String)> = workflows
        .unwrap()
        .into_inner()
        .workflows
        .into_iter()
        .map(|w| (w.name, w.id))
        .collect();
    workflows.sort();
    assert_eq!(workflows.len(), 2, "its own and the default: {workflows:?}");
    assert_eq!(workflows[0], (workflow.name, workflow.id));
    assert_eq!(workflows[1].0, "Incident Workflow");
    assert_ne!(
        workflows[1].1,
        incident.workflow_id.clone().unwrap(),
        "each tenant has its own"
    );
    saw("ListWorkflows");
    // The jurisdiction catalogue is ISO 3166, the same for every tenant.
    let catalogue = r
        .list_jurisdictions(app.with_token(&other, pb::ListJurisdictionsRequest { country_code: None }))
        .await;
    assert!(!catalogue.unwrap().into_inner().jurisdictions.is_empty());
    saw("ListJurisdictions");
    // So is the catalogue of notification rules.
    let rules = r
        .list_notification_rules(app.with_token(&other, pb::ListNotificationRulesRequest { country_code: None }))
        .await;
    assert!(!rules.unwrap().into_inner().rules.is_empty());
    saw("ListNotificationRules");

    swept.sort();
    assert_eq!(swept, every_rpc(), "every RPC is swept");
    // And the first tenant's incident is as it was.
    let stored = app.get(&incident.id).await.unwrap();
    assert_eq!((stored.revision, stored.name), (incident.revision, incident.name));
}

#[tokio::test]
async fn a_tenant_id_in_a_rest_body_is_refused_and_the_tokens_tenant_files_the_incident() {
    let mut app = spawn_app().await;
    let other_tenant = uuid::Uuid::now_v7();
    let theirs = app.token_for(other_tenant, "INCIDENT INCIDENT_ADMIN");
    let http = reqwest::Client::new();
    let api = format!("{}/api/incident/v1", app.base_url);
    let organization: serde_json::Value = http
        .post(format!("{api}/reference/organizations"))
        .bearer_auth(&theirs)
        .json(&serde_json::json!({"name": "Their HQ"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let forged = serde_json::json!({
        "name": "Filed as someone else",
        "orgGroupId": organization["id"],
        "tenantId": app.tenant_id,
        "tenant_id": app.tenant_id,
    });
    let refused = http
        .post(format!("{api}/incidents"))
        .bearer_auth(&theirs)
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::BAD_REQUEST);
    let refused: serde_json::Value = refused.json().await.unwrap();
    let fields: Vec<_> = refused["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["tenantId", "tenant_id"], "{refused}");
    let body = serde_json::json!({"name": "Filed as someone else", "orgGroupId": organization["id"]});
    let created = http
        .post(format!("{api}/incidents"))
        .bearer_auth(&theirs)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    let id: String = created.json().await.unwrap();
    // The incident is the token's tenant's, and the named tenant does not see it.
    assert_eq!(app.get(&id).await.unwrap_err().code(), Code::NotFound);
    let mine = app.with_token(&theirs, pb::GetIncidentRequest { incident_id: id });
    assert_eq!(
        app.incidents.get_incident(mine).await.unwrap().into_inner().name,
        "Filed as someone else"
    );
}

/// `token` with its header replaced by `header`, signed again with the tests' key.
fn with_header(token: &str, header: &serde_json::Value) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use hmac::Mac;
    let payload = token.split('.').nth(1).unwrap();
    let signing_input = format!("{}.{payload}", URL_SAFE_NO_PAD.encode(header.to_string()));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(crate::helpers::SECRET).unwrap();
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

#[tokio::test]
async fn a_token_with_critical_extensions_is_refused() {
    let mut app = spawn_app().await;
    let token = app.token("INCIDENT");
    let plain = with_header(&token, &serde_json::json!({"alg": "HS256", "typ": "JWT"}));
    let request = app.with_token(&plain, pb::ListIncidentTypesRequest {});
    assert!(
        app.reference.list_incident_types(request).await.is_ok(),
        "re-signed as made"
    );
    let critical = serde_json::json!({"alg": "HS256", "typ": "JWT", "crit": ["x-binding"], "x-binding": 1});
    let refused = with_header(&token, &critical);
    let request = app.with_token(&refused, pb::ListIncidentTypesRequest {});
    let status = app.reference.list_incident_types(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("crit"), "{status:?}");
}

#[tokio::test]
async fn a_call_with_two_authorization_headers_is_refused() {
    let mut app = spawn_app().await;
    let mine = app.token("INCIDENT");
    let other = app.token_for(uuid::Uuid::now_v7(), "INCIDENT");
    let mut request = Request::new(pb::ListIncidentTypesRequest {});
    for token in [&mine, &other] {
        let value = format!("Bearer {token}").parse().unwrap();
        request.metadata_mut().append("authorization", value);
    }
    let status = app.reference.list_incident_types(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), "INVALID_TOKEN");

    let answer = reqwest::Client::new()
        .get(format!("{}/api/incident/v1/reference/incident-types", app.base_url))
        .header("authorization", format!("Bearer {mine}"))
        .header("authorization", format!("Bearer {other}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["violations"][0]["field"], "Authorization", "{body}");
}
