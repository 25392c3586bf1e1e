//! Entry points for the fuzz targets in `fuzz/`: a request's bytes through
//! exactly the parsing a call does before it reaches the database (decoding,
//! the transport's translation, the domain's checks), with no server. Whatever
//! the bytes, each comes out as a value or a refusal, never a panic.
//!
//! Built only with the `fuzz` feature (which fuzz/Cargo.toml enables) and for
//! its own test below: the parse functions it calls stay private to the crate.

use prost::Message;
use serde_json::{Map, Value};

use crate::{
    domain::{
        event::Watch, input::IncidentInput, inventory::InventoryLinkRef, search::Search, token::PageTokens,
        workflow::NewWorkflow,
    },
    grpc::convert,
    pb,
    rest::{
        dto::{
            IncidentCreateOnly, IncidentSearch, IncidentUpdate, InventoryLinkInput, NotificationRecord, SearchParams,
            StageUpdate,
        },
        extract::{parse_json, parse_value},
        merge_patch,
    },
    service::{
        LinkRequest, NotificationRequest, StageRequest, UpdateRequest, parse_create, parse_link, parse_notification,
        parse_stage_move, parse_unlink, parse_update,
    },
};

/// Page tokens as a tenant's would be sealed (the key is the fuzzer's own).
fn page_tokens() -> PageTokens {
    PageTokens::new(
        std::sync::Arc::from(&b"the fuzz targets' page-token key"[..]),
        uuid::Uuid::nil(),
    )
}

/// The incident id REST takes from the path.
const PATH_ID: &str = "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b";

/// A `CreateIncidentRequest` message.
pub fn grpc_create(bytes: &[u8]) {
    if let Ok(request) = pb::CreateIncidentRequest::decode(bytes) {
        let _ = parse_create(request.incident.map(convert::create_body), &request.request_id);
    }
}

/// An `UpdateIncidentRequest` message.
pub fn grpc_update(bytes: &[u8]) {
    if let Ok(request) = pb::UpdateIncidentRequest::decode(bytes) {
        update(convert::update_request(request));
    }
}

/// A `SearchIncidentsRequest` message.
pub fn grpc_search(bytes: &[u8]) {
    if let Ok(request) = pb::SearchIncidentsRequest::decode(bytes) {
        let _ = Search::parse(convert::search_fields(request), &page_tokens());
    }
}

/// A `WatchIncidentsRequest` message.
pub fn grpc_watch(bytes: &[u8]) {
    if let Ok(request) = pb::WatchIncidentsRequest::decode(bytes) {
        let _ = Watch::parse(convert::watch_fields(request));
    }
}

/// A `RecordNotificationRequest` message.
pub fn grpc_notify(bytes: &[u8]) {
    if let Ok(request) = pb::RecordNotificationRequest::decode(bytes) {
        let _ = parse_notification(convert::notification_request(request), chrono::Utc::now());
    }
}

/// The body of `POST /incidents/{id}/notifications`.
pub fn rest_notify(bytes: &[u8]) {
    if let Ok(record) = parse_json::<NotificationRecord>(bytes) {
        let request = NotificationRequest {
            incident_id: PATH_ID.into(),
            notice: record.into(),
            ..NotificationRequest::default()
        };
        let _ = parse_notification(request, chrono::Utc::now());
    }
}

/// An `UpdateIncidentStageRequest` message.
pub fn grpc_stage(bytes: &[u8]) {
    if let Ok(request) = pb::UpdateIncidentStageRequest::decode(bytes) {
        let _ = parse_stage_move(convert::stage_request(request));
    }
}

/// The body of `POST /assignments/entities/{id}/stage`.
pub fn rest_stage(bytes: &[u8]) {
    if let Ok(body) = parse_json::<StageUpdate>(bytes) {
        let (next_stage_name, parameters) = body.into_parts();
        let request = StageRequest {
            incident_id: PATH_ID.into(),
            next_stage_name,
            parameters,
            ..StageRequest::default()
        };
        let _ = parse_stage_move(request);
    }
}

/// A `LinkInventoryRequest` message, and an `UnlinkInventoryRequest` one.
pub fn grpc_link(bytes: &[u8]) {
    if let Ok(request) = pb::LinkInventoryRequest::decode(bytes) {
        let _ = parse_link(convert::link_request(request));
    }
    if let Ok(request) = pb::UnlinkInventoryRequest::decode(bytes) {
        let _ = parse_unlink(convert::unlink_request(request));
    }
}

/// The body of `POST /incidents/{id}/inventory-links/{type}`, the type being
/// the body's first line.
pub fn rest_link(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let (kind, body) = text.split_once('\n').unwrap_or(("assets", &text));
    if let Ok(link) = parse_json::<InventoryLinkInput>(body.as_bytes()) {
        let request = LinkRequest {
            incident_id: PATH_ID.into(),
            inventory_type: kind.into(),
            link: InventoryLinkRef {
                inventory_ids: link.inventory_ids.unwrap_or_default(),
                external_ids: link.external_ids.unwrap_or_default(),
                source_type: link.source_type,
            },
            ..LinkRequest::default()
        };
        let _ = parse_link(request);
    }
}

/// A `CreateWorkflowRequest` message, and the body of `POST /reference/workflows`.
pub fn workflow(bytes: &[u8]) {
    if let Ok(pb::CreateWorkflowRequest { name, stages }) = pb::CreateWorkflowRequest::decode(bytes) {
        let stages = stages.into_iter().map(convert::stage_fields).collect();
        let _ = NewWorkflow::parse(name, stages);
    }
    if let Ok(body) = parse_json::<crate::rest::dto::NewWorkflow>(bytes) {
        let stages = body.stages.into_iter().map(Into::into).collect();
        let _ = NewWorkflow::parse(body.name.unwrap_or_default(), stages);
    }
}

/// The body of `POST /incidents`.
pub fn rest_create(bytes: &[u8]) {
    if let (Ok(body), Ok(create_only)) = (
        parse_json::<IncidentUpdate>(bytes),
        parse_json::<IncidentCreateOnly>(bytes),
    ) {
        let _ = parse_create(Some((body.into(), create_only.into())), "");
    }
}

/// The body of `PUT /incidents/{id}`.
pub fn rest_replace(bytes: &[u8]) {
    if let Ok(body) = parse_json::<IncidentUpdate>(bytes) {
        update(UpdateRequest {
            incident_id: PATH_ID.into(),
            body: Some(body.into()),
            ..UpdateRequest::default()
        });
    }
}

/// The body of `PATCH /incidents/{id}` (a merge patch).
pub fn rest_patch(bytes: &[u8]) {
    let Ok(patch) = parse_json::<Map<String, Value>>(bytes) else {
        return;
    };
    let (paths, body) = merge_patch(patch);
    if let Ok(body) = parse_value::<IncidentUpdate>(Value::Object(body)) {
        update(UpdateRequest {
            incident_id: PATH_ID.into(),
            body: Some(body.into()),
            update_mask: Some(paths),
            ..UpdateRequest::default()
        });
    }
}

/// `POST /incidents/search`: the query string up to the first line break, the
/// body after it.
pub fn rest_search(bytes: &[u8]) {
    let (query, body) = match bytes.iter().position(|&b| b == b'\n') {
        Some(at) => (&bytes[..at], &bytes[at + 1..]),
        None => (&[][..], bytes),
    };
    let Ok(params) = serde_urlencoded::from_bytes::<SearchParams>(query) else {
        return;
    };
    if let Ok(body) = parse_json::<IncidentSearch>(body) {
        let _ = Search::parse(body.into_fields(params), &page_tokens());
    }
}

/// What the use case and then the store do with an update before writing: the
/// body completed from the stored incident (here an empty one) and checked.
fn update(request: UpdateRequest) {
    if let Ok((_, update)) = parse_update(request) {
        let _ = IncidentInput::parse(update.mask.apply(Default::default(), update.body));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry point takes valid, invalid and hostile input without a panic
    /// (the fuzz targets run the same functions on generated input).
    #[test]
    fn every_entry_point_refuses_or_accepts_without_a_panic() {
        let create = pb::CreateIncidentRequest {
            incident: Some(pb::IncidentCreate {
                name: "Lost laptop".into(),
                org_group_id: PATH_ID.into(),
                ..Default::default()
            }),
            request_id: "not a uuid".into(),
        };
        let update = pb::UpdateIncidentRequest {
            incident_id: PATH_ID.into(),
            incident: Some(pb::IncidentUpdate::default()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["attributeValues.`x`".into(), "name".into(), "".into()],
            }),
            ..Default::default()
        };
        let search = pb::SearchIncidentsRequest {
            full_text: "a\u{0}b".into(),
            page: i32::MAX,
            size: i32::MIN,
            page_token: "!!".into(),
            ..Default::default()
        };
        let notify = pb::RecordNotificationRequest {
            incident_id: PATH_ID.into(),
            country_code: "usa".into(),
            state_province_code: Some("\u{0}".into()),
            recipient: 99,
            notified_at: Some(prost_types::Timestamp {
                seconds: i64::MAX,
                nanos: -1,
            }),
            ..Default::default()
        };
        let stage = pb::UpdateIncidentStageRequest {
            incident_id: PATH_ID.into(),
            next_stage_name: " ".into(),
            parameters: [
                ("skipValidation".into(), "TRUE".into()),
                ("x".repeat(300), String::new()),
            ]
            .into(),
            ..Default::default()
        };
        let flow = pb::CreateWorkflowRequest {
            name: "\u{200b}".into(),
            stages: vec![pb::WorkflowStageInput {
                closes_incident: true,
                badge_color: Some("#GGGGGG".into()),
                ..Default::default()
            }],
        };
        let json: [&[u8]; 9] = [
            br#"{"nextStageName": "Closed", "parameters": {"skipValidation": true, "justification": ""}}"#,
            br#"{"name": "W", "stages": [{"name": "A", "closesIncident": null}, {"name": "a", "badgeColor": 7}]}"#,
            br#"{"countryCode": "CAN", "stateProvinceCode": "ON", "recipient": "AUTHORITY", "notifiedAt": "0001-01-01T00:00:00Z"}"#,
            br#"{"name": "x", "orgGroupId": "", "attributeValues": {"a": [{"id": null, "value": "v"}]}}"#,
            br#"{"deadline": "9999-12-31T23:59:60Z", "jurisdictions": [{}]}"#,
            br#"{"attributeValues": {"a": null}, "name": null, "": 1}"#,
            b"[[[[",
            b"\xff\xfe",
            b"",
        ];
        grpc_create(&create.encode_to_vec());
        grpc_update(&update.encode_to_vec());
        grpc_search(&search.encode_to_vec());
        grpc_notify(&notify.encode_to_vec());
        grpc_stage(&stage.encode_to_vec());
        let watch = pb::WatchIncidentsRequest {
            after_sequence: Some(i64::MIN),
            event_types: vec!["incident.".into(), String::new()],
            changed_fields: vec!["attributeValues.".into(), ".".into(), "linkedInventories.a.b".into()],
            incident_ids: vec!["\u{0}".into()],
        };
        grpc_watch(&watch.encode_to_vec());
        let unlink = pb::UnlinkInventoryRequest {
            incident_id: PATH_ID.into(),
            inventory_type: "processing-activities".into(),
            id: "\u{0}".into(),
            ..Default::default()
        };
        grpc_link(&unlink.encode_to_vec());
        workflow(&flow.encode_to_vec());
        for bytes in json {
            grpc_stage(bytes);
            grpc_link(bytes);
            rest_link(bytes);
            rest_link(&[b"vendors\n", bytes].concat());
            rest_stage(bytes);
            workflow(bytes);
            grpc_notify(bytes);
            grpc_watch(bytes);
            rest_notify(bytes);
            grpc_create(bytes);
            rest_create(bytes);
            rest_replace(bytes);
            rest_patch(bytes);
            rest_search(bytes);
            rest_search(&[b"page=-1&size=0&sort=name,up\n", bytes].concat());
        }
    }
}
