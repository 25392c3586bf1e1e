//! The incidents' routes: create, read, replace (PUT), patch (merge patch),
//! recording a notification, search and history.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value};

use super::{
    BodyRefusals, IncidentId, PREFIX, Refusals, Rest, Shown,
    dto::*,
    error::{ApiError, body_path},
    extract::{Bodies, Body, Caller, Query, known_keys, parse_value},
    idempotency_key, if_match, quoted,
};
use crate::{
    domain::{FieldPath, Segment},
    service::{NotificationRequest, UpdateRequest},
};

/// Record that a recipient of one of the incident's jurisdictions has been
/// notified: its guidances there show the notification, count as addressed and
/// are no longer due. Recording the same recipient again replaces the record.
/// Not in the original API.
#[utoipa::path(
    post,
    path = "/api/incident/v1/incidents/{incidentId}/notifications",
    tag = "incidents",
    request_body = NotificationRecord,
    params(
        ("incidentId" = String, Path, format = Uuid),
        ("If-Match" = Option<String>, Header, description = "Record only if the incident is still at this ETag"),
        ("Idempotency-Key" = Option<String>, Header, description = "A UUID: the same request sent again with it returns the first answer")
    ),
    responses(
        (status = 200, description = "The incident", body = Incident, headers(("ETag" = String, description = "The tag of this revision"))),
        (status = 404, description = "No such incident in the caller's tenant", body = ErrorBody),
        (status = 412, description = "If-Match names an older revision", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key came with a different request", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
pub(super) async fn record_notification(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    IncidentId(incident_id): IncidentId,
    headers: HeaderMap,
    Body(record): Body<NotificationRecord>,
) -> Result<Shown, ApiError> {
    let request = NotificationRequest {
        incident_id,
        notice: record.into(),
        etag: if_match(&headers)?,
        request_id: idempotency_key(&headers)?,
    };
    let incident = rest
        .service
        .record_notification(&caller, request)
        .await
        .map_err(|e| ApiError::from_domain(e, body_path))?;
    Ok(Shown(StatusCode::OK, incident.into()))
}

/// Create an incident.
#[utoipa::path(
    post,
    path = "/api/incident/v1/incidents",
    tag = "incidents",
    request_body = IncidentCreate,
    params(("Idempotency-Key" = Option<String>, Header, description = "A UUID: the same request sent again with it returns the first answer")),
    responses(
        (status = 201, description = "The new incident's id, as a JSON string", body = Uuid,
            content_type = "application/json",
            headers(("Location" = String, description = "The new incident's path"), ("ETag" = String, description = "The tag of its first revision"))),
        (status = 422, description = "The Idempotency-Key came with a different request", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
pub(super) async fn create_incident(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    headers: HeaderMap,
    Bodies(body, create_only): Bodies<IncidentUpdate, IncidentCreateOnly>,
) -> Result<Response, ApiError> {
    let request_id = idempotency_key(&headers)?;
    let incident = rest
        .service
        .create_incident(&caller, Some((body.into(), create_only.into())), &request_id)
        .await
        .map_err(|e| ApiError::from_domain(e, body_path))?;
    let headers = [
        (header::LOCATION, format!("{PREFIX}/incidents/{}", incident.id)),
        (header::ETAG, quoted(&incident.etag)),
    ];
    Ok((StatusCode::CREATED, headers, Json(incident.id)).into_response())
}

/// Get an incident.
#[utoipa::path(
    get,
    path = "/api/incident/v1/incidents/{incidentId}",
    tag = "incidents",
    params(("incidentId" = String, Path, format = Uuid)),
    responses(
        (status = 200, description = "The incident", body = Incident, headers(("ETag" = String, description = "The tag of this revision"))),
        (status = 404, description = "No such incident in the caller's tenant", body = ErrorBody),
        Refusals
    )
)]
pub(super) async fn get_incident(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    IncidentId(id): IncidentId,
) -> Result<Shown, ApiError> {
    let incident = rest.service.get_incident(&caller, &id).await?;
    Ok(Shown(StatusCode::OK, incident.into()))
}

/// Replace the incident's editable body (the original PUT: an attribute left out
/// ends up empty).
#[utoipa::path(
    put,
    path = "/api/incident/v1/incidents/{incidentId}",
    tag = "incidents",
    request_body = IncidentUpdate,
    params(
        ("incidentId" = String, Path, format = Uuid),
        ("If-Match" = Option<String>, Header, description = "Update only if the incident is still at this ETag"),
        ("Idempotency-Key" = Option<String>, Header, description = "A UUID: the same request sent again with it returns the first answer")
    ),
    responses(
        (status = 200, description = "The incident", body = Incident, headers(("ETag" = String, description = "The tag of this revision"))),
        (status = 404, description = "No such incident in the caller's tenant", body = ErrorBody),
        (status = 412, description = "If-Match names an older revision", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key came with a different request", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
pub(super) async fn update_incident(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    IncidentId(incident_id): IncidentId,
    headers: HeaderMap,
    Body(body): Body<IncidentUpdate>,
) -> Result<Shown, ApiError> {
    let update = UpdateRequest {
        incident_id,
        body: Some(body.into()),
        etag: if_match(&headers)?,
        update_mask: None,
        request_id: idempotency_key(&headers)?,
    };
    let incident = rest
        .service
        .update_incident(&caller, update)
        .await
        .map_err(|e| ApiError::from_domain(e, body_path))?;
    Ok(Shown(StatusCode::OK, incident.into()))
}

/// Change some fields of the incident with a JSON Merge Patch (RFC 7396): the
/// fields present are replaced, `null` clears one, `attributeValues` merges by
/// attribute name, lists are replaced whole.
#[utoipa::path(
    patch,
    path = "/api/incident/v1/incidents/{incidentId}",
    tag = "incidents",
    request_body(content = IncidentPatch, content_type = "application/merge-patch+json"),
    params(
        ("incidentId" = String, Path, format = Uuid),
        ("If-Match" = Option<String>, Header, description = "Update only if the incident is still at this ETag"),
        ("Idempotency-Key" = Option<String>, Header, description = "A UUID: the same request sent again with it returns the first answer")
    ),
    responses(
        (status = 200, description = "The incident", body = Incident, headers(("ETag" = String, description = "The tag of this revision"))),
        (status = 404, description = "No such incident in the caller's tenant", body = ErrorBody),
        (status = 412, description = "If-Match names an older revision", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key came with a different request", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
pub(super) async fn patch_incident(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    IncidentId(incident_id): IncidentId,
    headers: HeaderMap,
    Body(patch): Body<Map<String, Value>>,
) -> Result<Shown, ApiError> {
    let (paths, body) = merge_patch(patch);
    let body: IncidentUpdate = parse_value(Value::Object(body))?;
    known_keys(&body)?;
    let update = UpdateRequest {
        incident_id,
        body: Some(body.into()),
        etag: if_match(&headers)?,
        update_mask: Some(paths.clone()),
        request_id: idempotency_key(&headers)?,
    };
    let incident = rest.service.update_incident(&caller, update).await.map_err(|e| {
        ApiError::from_domain(e, |field| {
            // A bad mask path is a key of the patch.
            mask_index(field)
                .and_then(|i| paths.get(i))
                .map_or_else(|| body_path(field), |path| path.replace('`', ""))
        })
    })?;
    Ok(Shown(StatusCode::OK, incident.into()))
}

/// The field mask and the body a merge patch stands for: each key is a field to
/// replace, and each key of `attributeValues` an attribute. (A read-only field of
/// the incident is a key of the patch like any other, and refused as no field of
/// the body: a patch that names it asks to change it.)
pub(crate) fn merge_patch(patch: Map<String, Value>) -> (Vec<String>, Map<String, Value>) {
    let mut paths = Vec::new();
    let mut body = Map::new();
    for (key, value) in patch {
        match value {
            Value::Object(attributes) if key == "attributeValues" => {
                let mut values = Map::new();
                for (name, value) in attributes {
                    paths.push(format!("attributeValues.`{name}`"));
                    if !value.is_null() {
                        values.insert(name, value);
                    }
                }
                body.insert(key, Value::Object(values));
            }
            value => {
                paths.push(key.clone());
                body.insert(key, value);
            }
        }
    }
    (paths, body)
}

/// `3` of `updateMask.paths[3]`.
fn mask_index(field: &FieldPath) -> Option<usize> {
    match field.strip_field("updateMask")?.strip_field("paths")?.segments() {
        [Segment::Index(i)] => Some(*i),
        _ => None,
    }
}

/// Search the caller's incidents.
#[utoipa::path(
    post,
    path = "/api/incident/v1/incidents/search",
    tag = "incidents",
    request_body = IncidentSearch,
    params(SearchParams),
    responses((status = 200, description = "One page of the matching incidents", body = IncidentPage), Refusals, BodyRefusals)
)]
pub(super) async fn search_incidents(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    Query(params): Query<SearchParams>,
    Body(body): Body<IncidentSearch>,
) -> Result<Json<IncidentPage>, ApiError> {
    let page = rest.service.search_incidents(&caller, body.into_fields(params)).await?;
    Ok(Json(page.into()))
}

/// The incident's history, newest first.
#[utoipa::path(
    get,
    path = "/api/incident/v1/incidents/{incidentId}/revisions",
    tag = "incidents",
    params(("incidentId" = String, Path, format = Uuid), RevisionParams),
    responses(
        (status = 200, description = "One page of revisions, newest first", body = RevisionPage),
        (status = 404, description = "No such incident in the caller's tenant", body = ErrorBody),
        Refusals
    )
)]
pub(super) async fn list_incident_revisions(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    IncidentId(id): IncidentId,
    Query(params): Query<RevisionParams>,
) -> Result<Json<RevisionPage>, ApiError> {
    let list = rest
        .service
        .list_incident_revisions(
            &caller,
            &id,
            params.page_size.unwrap_or_default(),
            &params.page_token.unwrap_or_default(),
        )
        .await?;
    Ok(Json(list.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_patch_is_a_mask_and_a_body() {
        let patch = serde_json::json!({
            "name": "New",
            "description": null,
            "attributeValues": {"Severity": [{"value": "High"}], "Data Category": null},
        });
        let Value::Object(patch) = patch else { unreachable!() };
        let (mut paths, body) = merge_patch(patch);
        paths.sort();
        assert_eq!(
            paths,
            [
                "attributeValues.`Data Category`",
                "attributeValues.`Severity`",
                "description",
                "name"
            ]
        );
        assert_eq!(body["description"], Value::Null);
        assert_eq!(
            body["attributeValues"],
            serde_json::json!({"Severity": [{"value": "High"}]})
        );
    }
}
