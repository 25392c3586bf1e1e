//! The original API's Link Incident to Inventory, and removing a link.

use axum::{
    Json,
    extract::{Path, State, rejection::PathRejection},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use utoipa::IntoResponses;

use super::{
    BodyRefusals, Refusals, Rest, Shown,
    dto::*,
    error::{ApiError, body_path},
    extract::{Body, Caller},
    idempotency_key, if_match, quoted,
};
use crate::{
    domain::inventory::InventoryLinkRef,
    service::{LinkRequest, UnlinkRequest},
};

/// The answers a change of links may give besides those of every route.
#[derive(IntoResponses)]
#[allow(dead_code)]
enum LinkRefusals {
    /// No such incident in the caller's tenant, or (removing) no such link.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// The incident is closed (`INCIDENT_CLOSED`).
    #[response(status = 409)]
    Closed(ErrorBody),
    /// `If-Match` names an older revision.
    #[response(status = 412)]
    Stale(ErrorBody),
    /// The `Idempotency-Key` came with a different request.
    #[response(status = 422)]
    Reused(ErrorBody),
}

/// Link an incident to inventory records (the original Link Incident to
/// Inventory). A link the incident has already is kept, not repeated; one
/// inventory type takes at most 100 ids, of one source type.
#[utoipa::path(
    post,
    path = "/api/incident/v1/incidents/{incidentId}/inventory-links/{inventoryType}",
    tag = "incidents",
    request_body = InventoryLinkInput,
    params(
        ("incidentId" = String, Path, format = Uuid),
        ("inventoryType" = InventoryTypeName, Path),
        ("If-Match" = Option<String>, Header, description = "Link only if the incident is still at this ETag"),
        ("Idempotency-Key" = Option<String>, Header, description = "A UUID: the same request sent again with it returns the first answer")
    ),
    responses(
        (status = 201, description = "The links the request names, as the incident has them now", body = InventoryLinks,
            headers(("ETag" = String, description = "The incident's tag now"))),
        LinkRefusals, Refusals, BodyRefusals
    )
)]
pub(super) async fn link_inventory(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    Body(body): Body<InventoryLinkInput>,
) -> Result<Linked, ApiError> {
    let Path((incident_id, inventory_type)) = path.map_err(|e| ApiError::invalid("incidentId", e.body_text()))?;
    let InventoryLinkInput {
        inventory_ids,
        external_ids,
        source_type,
        extra: _,
    } = body;
    let request = LinkRequest {
        incident_id,
        inventory_type,
        link: InventoryLinkRef {
            inventory_ids: inventory_ids.unwrap_or_default(),
            external_ids: external_ids.unwrap_or_default(),
            source_type,
        },
        etag: if_match(&headers)?,
        request_id: idempotency_key(&headers)?,
    };
    let (incident, links) = rest
        .service
        .link_inventory(&caller, request)
        .await
        .map_err(|e| ApiError::from_domain(e, body_path))?;
    Ok(Linked(incident.etag, links.into()))
}

/// Remove one link of an incident: `id` is the link's inventory id or its
/// external id. Not in the original API.
#[utoipa::path(
    delete,
    path = "/api/incident/v1/incidents/{incidentId}/inventory-links/{inventoryType}/{id}",
    tag = "incidents",
    params(
        ("incidentId" = String, Path, format = Uuid),
        ("inventoryType" = InventoryTypeName, Path),
        ("id" = String, Path, description = "An inventory id of the link, or its external id"),
        ("If-Match" = Option<String>, Header, description = "Remove only if the incident is still at this ETag"),
        ("Idempotency-Key" = Option<String>, Header, description = "A UUID: the same request sent again with it returns the first answer")
    ),
    responses(
        (status = 200, description = "The incident", body = Incident, headers(("ETag" = String, description = "The incident's tag now"))),
        LinkRefusals, Refusals
    )
)]
pub(super) async fn unlink_inventory(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    path: Result<Path<(String, String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Shown, ApiError> {
    let Path((incident_id, inventory_type, id)) = path.map_err(|e| ApiError::invalid("incidentId", e.body_text()))?;
    let request = UnlinkRequest {
        incident_id,
        inventory_type,
        id,
        etag: if_match(&headers)?,
        request_id: idempotency_key(&headers)?,
    };
    let incident = rest
        .service
        .unlink_inventory(&caller, request)
        .await
        .map_err(|e| ApiError::from_domain(e, body_path))?;
    Ok(Shown(StatusCode::OK, incident.into()))
}

/// Links, with the incident's etag as `ETag`.
pub(super) struct Linked(String, InventoryLinks);

impl IntoResponse for Linked {
    fn into_response(self) -> Response {
        let Linked(etag, links) = self;
        (StatusCode::CREATED, [(header::ETAG, quoted(&etag))], Json(links)).into_response()
    }
}
