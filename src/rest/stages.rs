//! The original API's stage move, and the workflows it moves through.

use utoipa::IntoResponses;

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{
    BodyRefusals, IncidentId, Refusals, Rest,
    dto::*,
    error::{ApiError, rest_path},
    extract::{Body, Caller},
    idempotency_key, if_match, quoted,
};
use crate::{
    domain::{FieldPath, workflow::WORKFLOW_TYPE},
    service::StageRequest,
};

/// The answers a stage move may give besides those of every route.
#[derive(IntoResponses)]
#[allow(dead_code)]
enum MoveRefusals {
    /// No such incident in the caller's tenant.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// Closing while notifications the law requires are not recorded
    /// (`NOTIFICATIONS_REQUIRED`, with `preconditions`).
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// `If-Match` names an older revision.
    #[response(status = 412)]
    Stale(ErrorBody),
    /// The `Idempotency-Key` came with a different request.
    #[response(status = 422)]
    Reused(ErrorBody),
}

/// Move an incident to another stage of its workflow (the original Update
/// Incident Stage; the entity is the incident). A closing stage closes it,
/// which waits for every notification the law requires (409
/// `NOTIFICATIONS_REQUIRED`, listing them) unless `skipValidation` comes with a
/// `justification`. Reopening, and moving back, need a `justification`.
#[utoipa::path(
    post,
    path = "/api/incident/v1/assignments/entities/{entityId}/stage",
    tag = "incidents",
    request_body = StageUpdate,
    params(
        ("entityId" = String, Path, format = Uuid, description = "The incident's id"),
        ("If-Match" = Option<String>, Header, description = "Move only if the incident is still at this ETag"),
        ("Idempotency-Key" = Option<String>, Header, description = "A UUID: the same request sent again with it returns the first answer")
    ),
    responses(
        (status = 200, description = "The stage the incident is in now", body = WorkflowStage, headers(("ETag" = String, description = "The incident's tag now"))),
        MoveRefusals, Refusals, BodyRefusals
    )
)]
pub(super) async fn update_incident_stage(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    IncidentId(entity_id): IncidentId,
    headers: HeaderMap,
    Body(body): Body<StageUpdate>,
) -> Result<Moved, ApiError> {
    move_stage(rest, caller, entity_id, &headers, body).await
}

/// The same move, for a workflow type: incidents have one,
/// `IncidentWorkflowType`.
#[utoipa::path(
    post,
    path = "/api/incident/v1/assignments/entities/{entityId}/types/{type}/stage",
    tag = "incidents",
    request_body = StageUpdate,
    params(
        ("entityId" = String, Path, format = Uuid, description = "The incident's id"),
        ("type" = WorkflowType, Path, description = "The workflow type"),
        ("If-Match" = Option<String>, Header, description = "Move only if the incident is still at this ETag"),
        ("Idempotency-Key" = Option<String>, Header, description = "A UUID: the same request sent again with it returns the first answer")
    ),
    responses(
        (status = 200, description = "The stage the incident is in now", body = WorkflowStage, headers(("ETag" = String, description = "The incident's tag now"))),
        MoveRefusals, Refusals, BodyRefusals
    )
)]
pub(super) async fn update_incident_stage_of_type(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    path: Result<Path<(String, String)>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
    Body(body): Body<StageUpdate>,
) -> Result<Moved, ApiError> {
    let Path((entity_id, kind)) = path.map_err(|rejection| ApiError::invalid("entityId", rejection.body_text()))?;
    if kind != WORKFLOW_TYPE {
        return Err(ApiError::invalid(
            "type",
            format!("is not a workflow type: incidents have {WORKFLOW_TYPE}"),
        ));
    }
    move_stage(rest, caller, entity_id, &headers, body).await
}

async fn move_stage(
    rest: Rest,
    caller: crate::auth::Principal,
    entity_id: String,
    headers: &HeaderMap,
    body: StageUpdate,
) -> Result<Moved, ApiError> {
    let (next_stage_name, parameters) = body.into_parts();
    let request = StageRequest {
        incident_id: entity_id,
        next_stage_name,
        parameters,
        etag: if_match(headers)?,
        request_id: idempotency_key(headers)?,
    };
    let (incident, stage) = rest
        .service
        .update_incident_stage(&caller, request)
        .await
        .map_err(|e| ApiError::from_domain(e, stage_path))?;
    Ok(Moved(incident.etag, stage.into()))
}

/// A violation's path as the stage move names it.
fn stage_path(field: &FieldPath) -> String {
    if *field == FieldPath::from("incidentId") {
        "entityId".to_owned()
    } else if *field == FieldPath::from("requestId") {
        super::IDEMPOTENCY_KEY.to_owned()
    } else {
        rest_path(field)
    }
}

/// The stage an incident moved to, with the incident's etag as `ETag`.
pub(super) struct Moved(String, WorkflowStage);

impl IntoResponse for Moved {
    fn into_response(self) -> Response {
        let Moved(etag, stage) = self;
        (StatusCode::OK, [(header::ETAG, quoted(&etag))], Json(stage)).into_response()
    }
}

/// The tenant's workflows (`Incident Workflow` among them).
#[utoipa::path(
    get,
    path = "/api/incident/v1/reference/workflows",
    tag = "reference data",
    responses((status = 200, description = "Every workflow of the tenant", body = Vec<Workflow>), Refusals)
)]
pub(super) async fn list_workflows(
    State(rest): State<Rest>,
    Caller(caller): Caller,
) -> Result<Json<Vec<Workflow>>, ApiError> {
    let list = rest.service.list_workflows(&caller).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Add a workflow (scope `INCIDENT_ADMIN`).
#[utoipa::path(
    post,
    path = "/api/incident/v1/reference/workflows",
    tag = "reference data",
    request_body = NewWorkflow,
    responses(
        (status = 201, description = "The new workflow", body = Workflow),
        (status = 409, description = "The name is taken", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
pub(super) async fn create_workflow(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    Body(body): Body<NewWorkflow>,
) -> Result<(StatusCode, Json<Workflow>), ApiError> {
    let NewWorkflow { name, stages, extra: _ } = body;
    let stages = stages.into_iter().map(Into::into).collect();
    let created = rest
        .service
        .create_workflow(&caller, name.unwrap_or_default(), stages)
        .await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}
