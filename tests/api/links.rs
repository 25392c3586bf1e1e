//! Inventory links added and removed after an incident's creation: the same
//! rules as at creation, a link kept once, each change a revision, and a
//! closed incident refusing them, over gRPC and the original REST path.

use incidentd::pb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tonic::Code;

use crate::helpers::{TestApp, reason, spawn_app, violations};

fn link(id: &str, kind: &str, inventory_ids: &[&str], external_ids: &[&str]) -> pb::LinkInventoryRequest {
    pb::LinkInventoryRequest {
        incident_id: id.into(),
        inventory_type: kind.into(),
        inventory_ids: inventory_ids.iter().map(|s| (*s).to_owned()).collect(),
        external_ids: external_ids.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    }
}

async fn send_link(
    app: &mut TestApp,
    request: pb::LinkInventoryRequest,
) -> Result<pb::LinkInventoryResponse, tonic::Status> {
    let request = app.admin(request);
    app.incidents.link_inventory(request).await.map(|r| r.into_inner())
}

async fn send_unlink(app: &mut TestApp, id: &str, kind: &str, link: &str) -> Result<pb::Incident, tonic::Status> {
    let request = app.admin(pb::UnlinkInventoryRequest {
        incident_id: id.into(),
        inventory_type: kind.into(),
        id: link.into(),
        ..Default::default()
    });
    app.incidents.unlink_inventory(request).await.map(|r| r.into_inner())
}

const LAPTOP: &str = "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b";
const PHONE: &str = "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6c";

#[tokio::test]
async fn links_added_after_creation_are_kept_once_and_each_change_is_a_revision() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let incident = app.create(seed.minimal("Stolen laptop")).await.unwrap();
    let id = incident.id.clone();

    let linked = send_link(&mut app, link(&id, "assets", &[LAPTOP], &["CMDB-7"]))
        .await
        .unwrap();
    let links = linked.links.unwrap();
    assert_eq!(
        (links.inventory_ids, links.external_ids),
        (vec![LAPTOP.to_owned()], vec!["CMDB-7".to_owned()])
    );
    let shown = linked.incident.unwrap();
    assert_eq!(shown.revision, 2);
    assert_ne!(shown.etag, incident.etag);
    let assets = &shown.linked_inventories["assets"];
    assert_eq!(assets.inventory_ids, [LAPTOP]);
    assert_eq!(assets.source_type, i32::from(pb::source_type::Value::Manual));

    // A link it has already is kept once; the answer names both.
    let again = send_link(&mut app, link(&id, "assets", &[PHONE, LAPTOP], &[]))
        .await
        .unwrap();
    assert_eq!(again.links.unwrap().inventory_ids, [PHONE, LAPTOP]);
    let shown = again.incident.unwrap();
    assert_eq!(shown.linked_inventories["assets"].inventory_ids, [LAPTOP, PHONE]);
    assert_eq!(shown.revision, 3);
    // Every one there already: nothing changes, nothing is written.
    let same = send_link(&mut app, link(&id, "assets", &[PHONE], &["CMDB-7"]))
        .await
        .unwrap();
    assert_eq!(same.incident.unwrap(), shown);

    let vendors = send_link(&mut app, link(&id, "vendors", &[], &["ACME"])).await.unwrap();
    let shown = vendors.incident.unwrap();
    assert_eq!(shown.linked_inventories.len(), 2);

    let history = app.history(&id).await;
    assert_eq!(history[0].changes[0].field, "linkedInventories");
    assert_eq!(history.len(), 4);

    let unlinked = send_unlink(&mut app, &id, "assets", LAPTOP).await.unwrap();
    assert_eq!(unlinked.linked_inventories["assets"].inventory_ids, [PHONE]);
    let unlinked = send_unlink(&mut app, &id, "vendors", "ACME").await.unwrap();
    assert!(
        !unlinked.linked_inventories.contains_key("vendors"),
        "a type without links goes"
    );
    assert_eq!(app.get(&id).await.unwrap(), unlinked);

    let missing = send_unlink(&mut app, &id, "assets", LAPTOP).await.unwrap_err();
    assert_eq!(
        (missing.code(), reason(&missing)),
        (Code::NotFound, "INVENTORY_LINK_NOT_FOUND".into())
    );
    let refused = send_unlink(&mut app, &id, "servers", PHONE).await.unwrap_err();
    assert_eq!(violations(&refused), ["inventoryType"]);
    let refused = send_unlink(&mut app, &id, "assets", "").await.unwrap_err();
    assert_eq!(violations(&refused), ["id"]);
    assert_eq!(
        app.get(&id).await.unwrap().revision,
        unlinked.revision,
        "nothing written"
    );
}

#[tokio::test]
async fn each_bad_link_names_its_field_and_changes_nothing() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let incident = app.create(seed.minimal("Misrouted backup")).await.unwrap();
    let id = incident.id.clone();
    let cases: Vec<(pb::LinkInventoryRequest, &str)> = vec![
        (link(&id, "servers", &[LAPTOP], &[]), "inventoryType"),
        (link(&id, "assets", &[], &[]), "inventoryIds"),
        (link(&id, "assets", &["laptop"], &[]), "inventoryIds[0]"),
        (link(&id, "assets", &[], &["A", "A"]), "externalIds[1]"),
        (
            pb::LinkInventoryRequest {
                source_type: pb::source_type::Value::Webform.into(),
                ..link(&id, "assets", &[LAPTOP], &[])
            },
            "sourceType",
        ),
        (link("nope", "assets", &[LAPTOP], &[]), "incidentId"),
    ];
    for (request, field) in cases {
        let refused = send_link(&mut app, request).await.unwrap_err();
        assert_eq!(violations(&refused), [field]);
    }
    // Over 100 ids of one type once merged, and another source type.
    let many: Vec<String> = (0..60).map(|i| format!("A-{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    send_link(&mut app, link(&id, "assets", &[], &many)).await.unwrap();
    let more: Vec<String> = (60..101).map(|i| format!("A-{i}")).collect();
    let more: Vec<&str> = more.iter().map(String::as_str).collect();
    let refused = send_link(&mut app, link(&id, "assets", &[], &more)).await.unwrap_err();
    assert_eq!(violations(&refused), ["inventoryIds"]);
    let integration = pb::LinkInventoryRequest {
        source_type: pb::source_type::Value::Integration.into(),
        ..link(&id, "assets", &[LAPTOP], &[])
    };
    let refused = send_link(&mut app, integration).await.unwrap_err();
    assert_eq!(violations(&refused), ["sourceType"]);
    let stored = app.get(&id).await.unwrap();
    assert_eq!(stored.revision, 2, "only the valid link was written");
    assert_eq!(stored.linked_inventories["assets"].external_ids.len(), 60);
}

#[tokio::test]
async fn a_closed_incident_refuses_links_and_unlinks() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let incident = app.create(seed.minimal("Lost tablet")).await.unwrap();
    send_link(&mut app, link(&incident.id, "assets", &[LAPTOP], &[]))
        .await
        .unwrap();
    let request = app.admin(pb::UpdateIncidentStageRequest {
        incident_id: incident.id.clone(),
        next_stage_name: "Closed".into(),
        ..Default::default()
    });
    let closed = app.incidents.update_incident_stage(request).await.unwrap().into_inner();
    let refused = send_link(&mut app, link(&incident.id, "assets", &[PHONE], &[]))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::FailedPrecondition, "INCIDENT_CLOSED".into())
    );
    let refused = send_unlink(&mut app, &incident.id, "assets", LAPTOP).await.unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::FailedPrecondition, "INCIDENT_CLOSED".into())
    );
    assert_eq!(Some(app.get(&incident.id).await.unwrap()), closed.incident);
}

#[tokio::test]
async fn the_original_rest_path_links_and_a_delete_removes_one() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let incident = app.create(seed.minimal("Leaked vendor list")).await.unwrap();
    let url = |path: &str| format!("{}/api/incident/v1/incidents/{}{path}", app.base_url, incident.id);
    let client = reqwest::Client::new();
    let token = app.token("INCIDENT");

    let body = json!({"inventoryIds": [LAPTOP], "externalIds": ["PA-7"], "sourceType": "INTEGRATION"});
    let answer = client
        .post(url("/inventory-links/processing-activities"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    assert!(answer.headers().contains_key("etag"));
    let links: Value = answer.json().await.unwrap();
    assert_eq!(
        links,
        json!({"inventoryIds": [LAPTOP], "externalIds": ["PA-7"], "sourceType": "INTEGRATION"})
    );

    let unknown = client
        .post(url("/inventory-links/assets"))
        .bearer_auth(&token)
        .json(&json!({"externalIds": ["A"], "source": "MANUAL"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let error: Value = unknown.json().await.unwrap();
    assert_eq!(error["violations"][0]["field"], "source");

    let bad_type = client
        .post(url("/inventory-links/servers"))
        .bearer_auth(&token)
        .json(&json!({"externalIds": ["A"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_type.status(), StatusCode::BAD_REQUEST);
    let error: Value = bad_type.json().await.unwrap();
    assert_eq!(error["violations"][0]["field"], "inventoryType");

    let removed = client
        .delete(url("/inventory-links/processing-activities/PA-7"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::OK);
    let shown: Value = removed.json().await.unwrap();
    assert_eq!(
        shown["linkedInventories"]["processing-activities"]["externalIds"],
        json!([])
    );
    assert_eq!(
        shown["linkedInventories"]["processing-activities"]["inventoryIds"],
        json!([LAPTOP])
    );
    let again = client
        .delete(url("/inventory-links/processing-activities/PA-7"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let error: Value = again.json().await.unwrap();
    assert_eq!(error["reason"], "INVENTORY_LINK_NOT_FOUND");
    assert_eq!(app.get(&incident.id).await.unwrap().revision, 3);
}
