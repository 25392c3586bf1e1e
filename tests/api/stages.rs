//! Workflows and stage moves: new incidents in their workflow's first stage,
//! closing (which waits for the notifications the law requires), a closed
//! incident refusing every write, and reopening with a justification, over
//! gRPC and over the original API's REST paths.

use incidentd::pb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{TestApp, jurisdiction, reason, rename, spawn_app, stage_move, timestamp, violations};

/// Thursday 2025-11-20 09:15 UTC: every deadline has passed.
const DISCOVERED: i64 = 1_763_630_100;

async fn move_to(
    app: &mut TestApp,
    request: pb::UpdateIncidentStageRequest,
) -> Result<pb::UpdateIncidentStageResponse, tonic::Status> {
    let request = app.admin(request);
    app.incidents
        .update_incident_stage(request)
        .await
        .map(|r| r.into_inner())
}

fn status(value: pb::incident_status::Value) -> i32 {
    value.into()
}

/// An incident with no jurisdiction: nothing to notify.
async fn quiet_incident(app: &mut TestApp) -> pb::Incident {
    let seed = app.seed().await;
    app.create(seed.minimal("Lost badge")).await.expect("create")
}

#[tokio::test]
async fn every_tenant_has_the_default_workflow_and_new_incidents_start_in_its_first_stage() {
    let mut app = spawn_app().await;
    // Before the tenant's first write.
    let request = app.with_token(&app.token("INCIDENT_READ"), pb::ListWorkflowsRequest {});
    let listed = app.reference.list_workflows(request).await.unwrap().into_inner();
    let [workflow] = &listed.workflows[..] else {
        panic!("one workflow: {listed:?}");
    };
    assert_eq!(workflow.name, "Incident Workflow");
    let stages: Vec<(&str, i32, bool)> = workflow
        .stages
        .iter()
        .map(|s| (s.name.as_str(), s.sequence, s.closes_incident))
        .collect();
    assert_eq!(
        stages,
        [
            ("Intake", 1, false),
            ("Investigation", 2, false),
            ("Remediation", 3, false),
            ("Notification", 4, false),
            ("Closed", 5, true)
        ]
    );
    let incident = quiet_incident(&mut app).await;
    assert_eq!(incident.workflow_id.as_ref(), Some(&workflow.id));
    assert_eq!(incident.workflow_name.as_deref(), Some("Incident Workflow"));
    assert_eq!(incident.incident_stage_id.as_ref(), Some(&workflow.stages[0].id));
    assert_eq!(incident.incident_stage_name.as_deref(), Some("Intake"));
    assert_eq!(incident.incident_stage_badge_color, workflow.stages[0].badge_color);
    assert_eq!(incident.incident_status, status(pb::incident_status::Value::Open));
    assert_eq!(incident.date_closed, None);
    // After it, the same workflow, stored.
    let request = app.admin(pb::ListWorkflowsRequest {});
    let again = app.reference.list_workflows(request).await.unwrap().into_inner();
    assert_eq!(again.workflows, listed.workflows);
}

#[tokio::test]
async fn a_move_sets_the_stage_closing_sets_the_status_and_date_and_each_is_a_revision() {
    let mut app = spawn_app().await;
    let incident = quiet_incident(&mut app).await;
    let id = incident.id.clone();

    let moved = move_to(&mut app, stage_move(&id, "investigation", &[])).await.unwrap();
    let stage = moved.stage.unwrap();
    let moved = moved.incident.unwrap();
    assert_eq!((stage.name.as_str(), stage.sequence), ("Investigation", 2));
    assert_eq!(moved.incident_stage_name.as_deref(), Some("Investigation"));
    assert_eq!(moved.incident_stage_id, Some(stage.id));
    assert_eq!(moved.revision, 2);
    assert_ne!(moved.etag, incident.etag);

    // To the stage it is in: nothing changes, nothing is written.
    let same = move_to(&mut app, stage_move(&id, "INVESTIGATION", &[])).await.unwrap();
    assert_eq!(same.incident.unwrap(), moved);

    let closed = move_to(&mut app, stage_move(&id, "Closed", &[])).await.unwrap();
    let closed = closed.incident.unwrap();
    assert_eq!(closed.incident_status, status(pb::incident_status::Value::Closed));
    assert_eq!(closed.incident_stage_name.as_deref(), Some("Closed"));
    assert_eq!(
        closed.date_closed, closed.updated_dt,
        "closed when the move was written"
    );
    assert_eq!(app.get(&id).await.unwrap(), closed);

    let history = app.history(&id).await;
    let changed =
        |revision: &pb::IncidentRevision| -> Vec<String> { revision.changes.iter().map(|c| c.field.clone()).collect() };
    assert_eq!(history[0].revision, 3);
    assert_eq!(
        changed(&history[0]),
        ["incidentStageName", "incidentStatus", "dateClosed"]
    );
    assert_eq!(changed(&history[1]), ["incidentStageName"]);
    assert_eq!(history[0].justification, None);
    let stage_change = &history[1].changes[0];
    assert_eq!(
        (stage_change.before.clone(), stage_change.after.clone()),
        (Some(prost_value("Intake")), Some(prost_value("Investigation")))
    );
}

fn prost_value(text: &str) -> prost_types::Value {
    prost_types::Value {
        kind: Some(prost_types::value::Kind::StringValue(text.into())),
    }
}

#[tokio::test]
async fn an_unknown_stage_is_refused_listing_the_stages_there_are() {
    let mut app = spawn_app().await;
    let incident = quiet_incident(&mut app).await;
    let status = move_to(&mut app, stage_move(&incident.id, "Archived", &[]))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["nextStageName"]);
    assert!(
        status
            .message()
            .contains("Intake, Investigation, Remediation, Notification, Closed"),
        "{status:?}"
    );
    let status = move_to(&mut app, stage_move(&incident.id, " ", &[])).await.unwrap_err();
    assert_eq!(violations(&status), ["nextStageName"]);
    let status = move_to(&mut app, stage_move("not-a-uuid", "Closed", &[]))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["incidentId"]);
    assert_eq!(app.get(&incident.id).await.unwrap(), incident, "nothing written");
}

#[tokio::test]
async fn parameters_are_named_flags_are_true_or_false_and_unknown_keys_are_refused() {
    let mut app = spawn_app().await;
    let incident = quiet_incident(&mut app).await;
    let parameters = [
        ("skipValidation", "yes"),
        ("executeRule", "true"),
        ("notifyUsers", "false"),
        ("colour", "red"),
    ];
    let status = move_to(&mut app, stage_move(&incident.id, "Closed", &parameters))
        .await
        .unwrap_err();
    let mut fields = violations(&status);
    fields.sort();
    assert_eq!(
        fields,
        [
            r#"parameters["colour"]"#,
            r#"parameters["executeRule"]"#,
            r#"parameters["skipValidation"]"#
        ]
    );
    let long = "x".repeat(4001);
    let status = move_to(
        &mut app,
        stage_move(&incident.id, "Closed", &[("justification", &long)]),
    )
    .await
    .unwrap_err();
    assert_eq!(violations(&status), [r#"parameters["justification"]"#]);
    assert_eq!(app.get(&incident.id).await.unwrap(), incident, "nothing written");
}

#[tokio::test]
async fn moving_back_and_reopening_need_a_justification_which_the_history_keeps() {
    let mut app = spawn_app().await;
    let incident = quiet_incident(&mut app).await;
    let id = incident.id.clone();
    move_to(&mut app, stage_move(&id, "Remediation", &[])).await.unwrap();
    let status = move_to(&mut app, stage_move(&id, "Intake", &[])).await.unwrap_err();
    assert_eq!(violations(&status), [r#"parameters["justification"]"#]);
    let back = move_to(
        &mut app,
        stage_move(&id, "Intake", &[("justification", "Filed too early")]),
    )
    .await
    .unwrap();
    assert_eq!(back.incident.unwrap().incident_stage_name.as_deref(), Some("Intake"));

    let closed = move_to(&mut app, stage_move(&id, "Closed", &[])).await.unwrap();
    let closed = closed.incident.unwrap();
    let status = move_to(&mut app, stage_move(&id, "Notification", &[]))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), [r#"parameters["justification"]"#]);
    assert_eq!(app.get(&id).await.unwrap(), closed, "still closed, untouched");

    let reopened = move_to(
        &mut app,
        stage_move(
            &id,
            "Notification",
            &[("justification", "The vendor found more records")],
        ),
    )
    .await
    .unwrap()
    .incident
    .unwrap();
    assert_eq!(reopened.incident_status, status_open());
    assert_eq!(reopened.date_closed, None);
    assert_eq!(reopened.incident_stage_name.as_deref(), Some("Notification"));
    let history = app.history(&id).await;
    assert_eq!(
        history[0].justification.as_deref(),
        Some("The vendor found more records")
    );
    let fields: Vec<&str> = history[0].changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["incidentStageName", "incidentStatus", "dateClosed"]);
    assert_eq!(history[2].justification.as_deref(), Some("Filed too early"));
    // Open again: it takes updates.
    app.send_update(rename(&id, "Lost badge, found again")).await.unwrap();
}

fn status_open() -> i32 {
    status(pb::incident_status::Value::Open)
}

#[tokio::test]
async fn a_closed_incident_refuses_every_write_and_keeps_its_data() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let mut body = seed.minimal("Stolen laptop");
    body.jurisdictions = vec![jurisdiction("DEU", None)];
    body.notification_needed = pb::notification_needed::Value::No.into();
    let incident = app.create(body).await.unwrap();
    let closed = move_to(&mut app, stage_move(&incident.id, "Closed", &[]))
        .await
        .unwrap();
    let closed = closed.incident.unwrap();

    let refused = app.send_update(rename(&incident.id, "Renamed")).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::FailedPrecondition, "INCIDENT_CLOSED".into())
    );
    let notification = pb::RecordNotificationRequest {
        incident_id: incident.id.clone(),
        country_code: "DEU".into(),
        recipient: pb::recipient::Value::Authority.into(),
        notified_at: Some(timestamp(DISCOVERED)),
        ..Default::default()
    };
    let request = app.admin(notification);
    let refused = app.incidents.record_notification(request).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::FailedPrecondition, "INCIDENT_CLOSED".into())
    );
    assert_eq!(app.get(&incident.id).await.unwrap(), closed, "nothing written");
    assert_eq!(app.history(&incident.id).await.len(), 2);
}

#[tokio::test]
async fn closing_waits_for_each_required_notification_unless_skipped_with_a_justification() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let mut body = seed.minimal("Misdirected payroll file");
    body.notification_needed = pb::notification_needed::Value::Yes.into();
    body.date_discovered = Some(timestamp(DISCOVERED));
    body.jurisdictions = vec![jurisdiction("DEU", None), jurisdiction("USA", Some("WY"))];
    let incident = app.create(body).await.unwrap();
    let id = incident.id.clone();

    let refused = move_to(&mut app, stage_move(&id, "Closed", &[])).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(reason(&refused), "NOTIFICATIONS_REQUIRED");
    let details = refused.get_error_details();
    let failure = details.precondition_failure().expect("PreconditionFailure");
    let mut subjects: Vec<(&str, &str)> = failure
        .violations
        .iter()
        .map(|v| (v.r#type.as_str(), v.subject.as_str()))
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            ("NOTIFICATION_REQUIRED", "DEU/AUTHORITY"),
            ("NOTIFICATION_REQUIRED", "DEU/INDIVIDUALS")
        ],
        "Wyoming has no rule in the catalogue"
    );
    assert!(
        failure.violations.iter().all(|v| v.description.contains("GDPR")),
        "{failure:?}"
    );

    let skipped = [("skipValidation", "true")];
    let refused = move_to(&mut app, stage_move(&id, "Closed", &skipped))
        .await
        .unwrap_err();
    assert_eq!(violations(&refused), [r#"parameters["justification"]"#]);
    assert_eq!(app.get(&id).await.unwrap(), incident, "nothing written");

    // Once the authority is notified, only the individuals are still owed.
    let notification = pb::RecordNotificationRequest {
        incident_id: id.clone(),
        country_code: "DEU".into(),
        recipient: pb::recipient::Value::Authority.into(),
        notified_at: Some(timestamp(DISCOVERED + 3_600)),
        ..Default::default()
    };
    let request = app.admin(notification);
    app.incidents.record_notification(request).await.unwrap();
    let refused = move_to(&mut app, stage_move(&id, "Closed", &[])).await.unwrap_err();
    let details = refused.get_error_details();
    let subjects: Vec<String> = details
        .precondition_failure()
        .expect("PreconditionFailure")
        .violations
        .iter()
        .map(|v| v.subject.clone())
        .collect();
    assert_eq!(subjects, ["DEU/INDIVIDUALS"]);

    let justified = [
        ("skipValidation", "true"),
        ("justification", "Art. 34(3)(a): the file was encrypted"),
    ];
    let closed = move_to(&mut app, stage_move(&id, "Closed", &justified)).await.unwrap();
    let closed = closed.incident.unwrap();
    assert_eq!(closed.incident_status, status(pb::incident_status::Value::Closed));
    let history = app.history(&id).await;
    assert_eq!(
        history[0].justification.as_deref(),
        Some("Art. 34(3)(a): the file was encrypted")
    );
}

#[tokio::test]
async fn a_stale_etag_is_aborted_and_of_two_moves_from_one_etag_one_wins() {
    let mut app = spawn_app().await;
    let incident = quiet_incident(&mut app).await;
    let id = incident.id.clone();
    let moves = ["Investigation", "Remediation", "Notification", "Closed"].map(|next| {
        let mut request = stage_move(&id, next, &[]);
        request.etag = incident.etag.clone();
        let mut app_incidents = app.incidents.clone();
        let request = app.admin(request);
        tokio::spawn(async move { app_incidents.update_incident_stage(request).await })
    });
    let mut won = Vec::new();
    for handle in moves {
        match handle.await.unwrap() {
            Ok(answer) => won.push(answer.into_inner()),
            Err(status) => assert_eq!(status.code(), Code::Aborted, "{status:?}"),
        }
    }
    assert_eq!(won.len(), 1, "one move wins");
    let stored = app.get(&id).await.unwrap();
    assert_eq!(Some(stored), won[0].incident);
    assert_eq!(app.history(&id).await.len(), 2);
}

#[tokio::test]
async fn a_retried_move_with_its_request_id_answers_the_first_time() {
    let mut app = spawn_app().await;
    let incident = quiet_incident(&mut app).await;
    let mut request = stage_move(&incident.id, "Closed", &[]);
    request.request_id = uuid::Uuid::now_v7().to_string();
    let first = move_to(&mut app, request.clone()).await.unwrap();
    let reopen = stage_move(&incident.id, "Intake", &[("justification", "Closed by mistake")]);
    move_to(&mut app, reopen).await.unwrap();
    let again = move_to(&mut app, request.clone()).await.unwrap();
    assert_eq!(again, first, "the first answer, and no second close");
    assert_eq!(
        app.get(&incident.id).await.unwrap().incident_stage_name.as_deref(),
        Some("Intake")
    );
    request.next_stage_name = "Intake".into();
    let reused = move_to(&mut app, request).await.unwrap_err();
    assert_eq!(violations(&reused), ["requestId"]);
}

#[tokio::test]
async fn a_created_workflow_is_followed_by_the_incidents_that_name_it() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let stage = |name: &str, closes: bool| pb::WorkflowStageInput {
        name: name.into(),
        description: Some(format!("{name} stage")),
        badge_color: Some("#2563eb".into()),
        closes_incident: closes,
    };
    let create = pb::CreateWorkflowRequest {
        name: "Vendor breach".into(),
        stages: vec![stage("Triage", false), stage("Resolved", true), stage("Archived", true)],
    };
    let request = app.admin(create.clone());
    let workflow = app.reference.create_workflow(request).await.unwrap().into_inner();
    assert_eq!(workflow.stages[0].badge_color.as_deref(), Some("#2563EB"));
    let request = app.admin(create);
    let taken = app.reference.create_workflow(request).await.unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);

    let mut body = seed.minimal("Vendor leak");
    body.workflow_id = Some(workflow.id.clone());
    let incident = app.create(body).await.unwrap();
    assert_eq!(incident.workflow_name.as_deref(), Some("Vendor breach"));
    assert_eq!(incident.incident_stage_name.as_deref(), Some("Triage"));
    // Stages are those of its own workflow.
    let refused = move_to(&mut app, stage_move(&incident.id, "Closed", &[]))
        .await
        .unwrap_err();
    assert_eq!(violations(&refused), ["nextStageName"]);
    assert!(refused.message().contains("Triage, Resolved, Archived"));
    let resolved = move_to(&mut app, stage_move(&incident.id, "Resolved", &[]))
        .await
        .unwrap();
    let resolved = resolved.incident.unwrap();
    // From one closing stage to another: still closed, closed since the first.
    let archived = move_to(&mut app, stage_move(&incident.id, "Archived", &[]))
        .await
        .unwrap();
    let archived = archived.incident.unwrap();
    assert_eq!(archived.incident_status, status(pb::incident_status::Value::Closed));
    assert_eq!(archived.date_closed, resolved.date_closed);

    for (workflow_id, field) in [
        (uuid::Uuid::now_v7().to_string(), "incident.workflowId"),
        ("nope".to_owned(), "incident.workflowId"),
    ] {
        let mut body = seed.minimal("Unfiled");
        body.workflow_id = Some(workflow_id);
        let refused = app.create(body).await.unwrap_err();
        assert_eq!(violations(&refused), [field]);
    }
    assert_eq!(app.search_all().await.total_elements, 1, "nothing else created");
}

#[tokio::test]
async fn a_workflow_names_each_fault_of_its_stages() {
    let mut app = spawn_app().await;
    let request = app.admin(pb::CreateWorkflowRequest {
        name: " ".into(),
        stages: vec![
            pb::WorkflowStageInput {
                name: "Done".into(),
                closes_incident: true,
                ..Default::default()
            },
            pb::WorkflowStageInput {
                name: "done".into(),
                badge_color: Some("blue".into()),
                ..Default::default()
            },
        ],
    });
    let refused = app.reference.create_workflow(request).await.unwrap_err();
    let mut fields = violations(&refused);
    fields.sort();
    assert_eq!(
        fields,
        [
            "name",
            "stages[0].closesIncident",
            "stages[1].badgeColor",
            "stages[1].name"
        ]
    );
    let request = app.admin(pb::CreateWorkflowRequest {
        name: "Open forever".into(),
        stages: vec![pb::WorkflowStageInput {
            name: "Open".into(),
            ..Default::default()
        }],
    });
    let refused = app.reference.create_workflow(request).await.unwrap_err();
    assert_eq!(violations(&refused), ["stages"]);
    let open = |name: String| pb::WorkflowStageInput {
        name,
        ..Default::default()
    };
    let mut stages: Vec<_> = (0..50).map(|i| open(format!("Step {i}"))).collect();
    stages.push(pb::WorkflowStageInput {
        closes_incident: true,
        ..open("Done".into())
    });
    let request = app.admin(pb::CreateWorkflowRequest {
        name: "Too long".into(),
        stages,
    });
    let refused = app.reference.create_workflow(request).await.unwrap_err();
    assert_eq!(violations(&refused), ["stages"], "51 stages");
    let request = app.admin(pb::CreateWorkflowRequest {
        name: "Wordy".into(),
        stages: vec![
            pb::WorkflowStageInput {
                description: Some("x".repeat(1001)),
                ..open("Open".into())
            },
            pb::WorkflowStageInput {
                closes_incident: true,
                ..open("Done".into())
            },
        ],
    });
    let refused = app.reference.create_workflow(request).await.unwrap_err();
    assert_eq!(violations(&refused), ["stages[0].description"]);
    let request = app.admin(pb::ListWorkflowsRequest {});
    let listed = app.reference.list_workflows(request).await.unwrap().into_inner();
    assert_eq!(listed.workflows.len(), 1, "none of them was created");
}

async fn rest(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}/api/incident/v1{path}", app.base_url))
        .bearer_auth(app.token("INCIDENT INCIDENT_ADMIN"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("REST")
}

#[tokio::test]
async fn the_original_rest_paths_move_close_refuse_and_reopen() {
    use reqwest::Method;
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let mut body = seed.minimal("Misdirected email");
    body.notification_needed = pb::notification_needed::Value::Yes.into();
    body.date_discovered = Some(timestamp(DISCOVERED));
    body.jurisdictions = vec![jurisdiction("GBR", None)];
    let incident = app.create(body).await.unwrap();
    let id = &incident.id;

    let answer = rest(
        &app,
        Method::POST,
        &format!("/assignments/entities/{id}/stage"),
        Some(json!({"nextStageName": "Investigation", "parameters": {"notifyUsers": false}})),
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let etag = answer.headers()["etag"].to_str().unwrap().to_owned();
    let stage: Value = answer.json().await.unwrap();
    assert_eq!(stage["name"], "Investigation");
    assert_eq!(stage["sequence"], 2);
    assert_eq!(stage["approvalStage"], false);
    assert_eq!(stage["advanceStageActions"], json!([]));
    let stored = app.get(id).await.unwrap();
    assert_eq!(etag, format!("\"{}\"", stored.etag));

    let path = format!("/assignments/entities/{id}/types/IncidentWorkflowType/stage");
    let refused = rest(&app, Method::POST, &path, Some(json!({"nextStageName": "Closed"}))).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["reason"], "NOTIFICATIONS_REQUIRED");
    let subjects: Vec<&str> = error["preconditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["GBR/AUTHORITY", "GBR/INDIVIDUALS"]);

    let wrong_type = format!("/assignments/entities/{id}/types/AssessmentWorkflowType/stage");
    let refused = rest(
        &app,
        Method::POST,
        &wrong_type,
        Some(json!({"nextStageName": "Closed"})),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["violations"][0]["field"], "type");

    let closing = json!({
        "nextStageName": "closed",
        "parameters": {"skipValidation": true, "justification": "Reported by phone", "executeRule": "false"}
    });
    let answer = rest(&app, Method::POST, &path, Some(closing)).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let stage: Value = answer.json().await.unwrap();
    assert_eq!(
        (stage["name"].clone(), stage["closesIncident"].clone()),
        (json!("Closed"), json!(true))
    );
    let shown: Value = rest(&app, Method::GET, &format!("/incidents/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["incidentStatus"], "CLOSED");
    assert_eq!(shown["incidentStageName"], "Closed");
    assert!(shown["dateClosed"].is_string());

    let put = json!({"name": "Renamed", "orgGroupId": seed.headquarters});
    let refused = rest(&app, Method::PUT, &format!("/incidents/{id}"), Some(put)).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["reason"], "INCIDENT_CLOSED");

    let reopen = json!({"nextStageName": "Remediation"});
    let refused = rest(
        &app,
        Method::POST,
        &format!("/assignments/entities/{id}/stage"),
        Some(reopen),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["violations"][0]["field"], "parameters.justification");

    let unknown = json!({"nextStageName": "Remediation", "stage": "x"});
    let refused = rest(
        &app,
        Method::POST,
        &format!("/assignments/entities/{id}/stage"),
        Some(unknown),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["violations"][0]["field"], "stage");

    let history: Value = rest(&app, Method::GET, &format!("/incidents/{id}/revisions"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history["revisions"][0]["justification"], "Reported by phone");
}

#[tokio::test]
async fn the_rest_workflows_list_and_create() {
    use reqwest::Method;
    let app = spawn_app().await;
    let listed: Value = rest(&app, Method::GET, "/reference/workflows", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["name"], "Incident Workflow");
    assert_eq!(listed[0]["stages"][4]["closesIncident"], true);
    let body = json!({"name": "Short", "stages": [{"name": "Open"}, {"name": "Done", "closesIncident": true, "badgeColor": "#16a34a"}]});
    let answer = rest(&app, Method::POST, "/reference/workflows", Some(body)).await;
    assert_eq!(answer.status(), StatusCode::CREATED);
    let created: Value = answer.json().await.unwrap();
    assert_eq!(created["stages"][1]["badgeColor"], "#16A34A");
    let body = json!({"name": "Broken", "stages": [{"name": "Open", "colour": "red"}]});
    let answer = rest(&app, Method::POST, "/reference/workflows", Some(body)).await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let error: Value = answer.json().await.unwrap();
    assert_eq!(error["violations"][0]["field"], "stages[0].colour");
    let listed: Value = rest(&app, Method::GET, "/reference/workflows", None)
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Incident Workflow", "Short"]);
}

#[tokio::test]
async fn incidents_stored_before_workflows_are_placed_in_the_default_one_at_start() {
    use sea_orm::{ConnectionTrait, Database};
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let create = pb::CreateIncidentRequest {
        incident: Some(seed.minimal("Filed last year")),
        request_id: uuid::Uuid::now_v7().to_string(),
    };
    let request = app.admin(create.clone());
    let created = app.incidents.create_incident(request).await.unwrap().into_inner();
    // As a database written before workflows would be: no stage, no stored
    // workflow, and a remembered answer without a stage.
    let db = Database::connect(app.db.url()).await.expect("connect");
    for statement in [
        "UPDATE incident SET workflow_id = NULL, stage_id = NULL",
        "DELETE FROM workflow_stage",
        "DELETE FROM workflow",
    ] {
        db.execute_unprepared(statement).await.expect("forget");
    }
    // And search documents without the stage's name.
    let forget_text = if app.db.is_postgres() {
        "UPDATE incident_search SET document = to_tsvector('simple', '')"
    } else {
        "DELETE FROM incident_fts"
    };
    db.execute_unprepared(forget_text).await.expect("forget the text");
    // This test's one request id.
    let stored = {
        use sea_orm::{FromQueryResult, JsonValue, Statement};
        let select = Statement::from_string(db.get_database_backend(), "SELECT result FROM request_key");
        let rows = JsonValue::find_by_statement(select).all(&db).await.expect("answers");
        assert_eq!(rows.len(), 1);
        rows[0]["result"].as_str().expect("an answer").to_owned()
    };
    let mut answer: Value = serde_json::from_str(&stored).unwrap();
    answer
        .as_object_mut()
        .unwrap()
        .remove("stage")
        .expect("a stage to forget");
    let sql = if app.db.is_postgres() {
        "UPDATE request_key SET result = $1"
    } else {
        "UPDATE request_key SET result = ?"
    };
    let statement =
        sea_orm::Statement::from_sql_and_values(db.get_database_backend(), sql, [answer.to_string().into()]);
    db.execute_raw(statement).await.expect("forget the stage");
    db.close().await.expect("close");

    let mut app = app.restart().await;
    let placed = app.get(&created.id).await.unwrap();
    assert_eq!(placed, created, "in Intake of the default workflow, with the same ids");
    let request = app.admin(create);
    let replayed = app.incidents.create_incident(request).await.unwrap().into_inner();
    assert_eq!(replayed, created, "a remembered answer shows the stage too");
    assert_eq!(
        find(&mut app, full_text("intake")).await,
        std::slice::from_ref(&created.id),
        "indexed again"
    );
    let closed = move_to(&mut app, stage_move(&created.id, "Closed", &[])).await.unwrap();
    assert_eq!(closed.stage.unwrap().name, "Closed");
}

fn full_text(words: &str) -> pb::SearchIncidentsRequest {
    pb::SearchIncidentsRequest {
        full_text: words.into(),
        ..Default::default()
    }
}

fn in_stages(names: &[&str]) -> pb::SearchIncidentsRequest {
    pb::SearchIncidentsRequest {
        filters: Some(pb::SearchFilters {
            stage_names: names.iter().map(|n| (*n).to_owned()).collect(),
            ..Default::default()
        }),
        sort: "number,asc".into(),
        ..Default::default()
    }
}

async fn search(
    app: &mut TestApp,
    request: pb::SearchIncidentsRequest,
) -> Result<pb::SearchIncidentsResponse, tonic::Status> {
    let request = app.admin(request);
    app.incidents.search_incidents(request).await.map(|r| r.into_inner())
}

/// The ids a search finds, in its order.
async fn find(app: &mut TestApp, request: pb::SearchIncidentsRequest) -> Vec<String> {
    let found = search(app, request).await.expect("search");
    found.incidents.into_iter().map(|i| i.incident_id).collect()
}

#[tokio::test]
async fn search_finds_incidents_by_stage_and_status_sorts_by_closing_date_and_reads_stage_names() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let mut ids = Vec::new();
    for name in [
        "Stays at intake",
        "Under investigation",
        "Closed first",
        "Closed second",
    ] {
        ids.push(app.create(seed.minimal(name)).await.unwrap().id);
    }
    move_to(&mut app, stage_move(&ids[1], "Investigation", &[]))
        .await
        .unwrap();
    move_to(&mut app, stage_move(&ids[3], "Closed", &[])).await.unwrap();
    move_to(&mut app, stage_move(&ids[2], "Closed", &[])).await.unwrap();

    assert_eq!(find(&mut app, in_stages(&["INVESTIGATION"])).await, [ids[1].clone()]);
    assert_eq!(
        find(&mut app, in_stages(&["closed", "intake"])).await,
        [ids[0].clone(), ids[2].clone(), ids[3].clone()]
    );
    let closed = pb::SearchIncidentsRequest {
        filters: Some(pb::SearchFilters {
            incident_status: vec![pb::incident_status::Value::Closed.into()],
            ..Default::default()
        }),
        sort: "dateClosed,desc".into(),
        ..Default::default()
    };
    assert_eq!(
        find(&mut app, closed).await,
        [ids[2].clone(), ids[3].clone()],
        "the latest closed first"
    );

    // Open incidents after every closed one, page by page with tokens.
    let mut request = pb::SearchIncidentsRequest {
        sort: "dateClosed,asc".into(),
        size: 1,
        ..Default::default()
    };
    let mut order = Vec::new();
    loop {
        let page = search(&mut app, request.clone()).await.unwrap();
        order.extend(page.incidents.iter().map(|i| i.incident_id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(order[..2], [ids[3].clone(), ids[2].clone()]);
    let mut open = order[2..].to_vec();
    open.sort();
    let mut expected = vec![ids[0].clone(), ids[1].clone()];
    expected.sort();
    assert_eq!(open, expected, "then the open ones, each once");

    assert_eq!(find(&mut app, full_text("investig")).await, [ids[1].clone()]);
    let summaries = search(&mut app, in_stages(&["Closed"])).await.unwrap();
    let summary = &summaries.incidents[0];
    assert_eq!(summary.incident_stage_name.as_deref(), Some("Closed"));
    assert_eq!(summary.workflow_name.as_deref(), Some("Incident Workflow"));
    assert_eq!(summary.incident_status, status(pb::incident_status::Value::Closed));
    assert!(summary.date_closed.is_some());

    let refused = search(&mut app, in_stages(&["Closed", " "])).await.unwrap_err();
    assert_eq!(violations(&refused), ["filters.stageNames[1]"]);
    let refused = search(
        &mut app,
        pb::SearchIncidentsRequest {
            sort: "dateclosed".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(violations(&refused), ["sort"]);
}
