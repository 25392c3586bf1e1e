//! The REST gateway: the original API's paths and JSON over HTTP/1.1 or HTTP/2,
//! served on the gRPC port (routed by path). Each handler takes the caller and
//! the request apart, calls the same use case as the gRPC service and shows the
//! answer; no rule lives here. The OpenAPI document is built from these handlers.

pub(crate) mod dto;
mod error;
pub(crate) mod extract;

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequestParts, Path, State},
    http::{HeaderMap, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Map, Value};
use utoipa::{
    IntoResponses, Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};

pub use self::{dto::ErrorBody, error::ApiError};
use self::{
    dto::*,
    error::body_path,
    extract::{Bodies, Body, Caller, Query, parse_value},
};
use crate::{
    auth::Verifier,
    domain::{FieldPath, Segment},
    service::{Service, UpdateRequest},
};

/// Where the API lives, as in the original.
pub const PREFIX: &str = "/api/incident/v1";
/// The header that carries a request id (the gRPC requests' `requestId`).
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

/// What every handler needs: the use cases and the token verifier.
#[derive(Clone)]
pub struct Rest {
    service: Service,
    verifier: Arc<Verifier>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "incidentd REST gateway",
        description = "The incident register's original REST API, served by incidentd on the same use cases as its gRPC API."
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The answers every authenticated route may give besides its own.
#[derive(IntoResponses)]
#[allow(dead_code)]
enum Refusals {
    /// Violations, each with its field.
    #[response(status = 400)]
    BadRequest(#[to_schema] ErrorBody),
    /// No valid bearer token.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The token lacks the scope the call needs.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// The tenant is over its rate of calls (when one is configured); retry after
    /// `Retry-After` seconds.
    #[response(status = 429)]
    TooManyRequests(ErrorBody),
    /// The database is unavailable (`DATABASE_UNAVAILABLE`), or the server is
    /// serving as many calls as it takes (`OVERLOADED`); retry after
    /// `Retry-After` seconds.
    #[response(status = 503)]
    Unavailable(ErrorBody),
    /// The call ran past the server's time limit and was stopped
    /// (`DEADLINE_EXCEEDED`); retry with the same `Idempotency-Key`.
    #[response(status = 504)]
    Timeout(ErrorBody),
    /// Something failed inside; the log has the cause.
    #[response(status = 500)]
    Internal(ErrorBody),
}

/// The answers of routes that take a JSON body.
#[derive(IntoResponses)]
#[allow(dead_code)]
enum BodyRefusals {
    /// The body is larger than the limit.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// The body is not JSON.
    #[response(status = 415)]
    NotJson(ErrorBody),
}

/// The router of the gateway and of its OpenAPI document; bodies larger than
/// `max_body` bytes are refused with 413.
pub fn router(service: Service, verifier: Arc<Verifier>, max_body: usize) -> Router {
    let (router, api) = routes().with_state(Rest { service, verifier }).split_for_parts();
    // Written once; every request gets the same bytes.
    let document = Bytes::from(serde_json::to_vec(&api).expect("the OpenAPI document serializes"));
    router
        .route(
            OPENAPI_PATH,
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], document) }),
        )
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
}

/// Every route, each with its part of the OpenAPI document.
fn routes() -> OpenApiRouter<Rest> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(create_incident))
        .routes(routes!(get_incident, update_incident, patch_incident))
        .routes(routes!(search_incidents))
        .routes(routes!(list_incident_revisions))
        .routes(routes!(list_organizations, create_organization))
        .routes(routes!(list_incident_types, create_incident_type))
        .routes(routes!(list_attributes, create_attribute))
        .routes(routes!(list_assignees, create_assignee))
        .routes(routes!(list_jurisdictions))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// Unknown paths: a gRPC status for gRPC calls (as tonic answers them), a JSON
/// 404 for everyone else.
async fn not_found(headers: HeaderMap) -> Response {
    if crate::grpc::is_grpc_call(&headers) {
        let (parts, ()) = tonic::Status::unimplemented("").into_http::<()>().into_parts();
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such path").into_response()
}

/// The incident id of the path.
struct IncidentId(String);

impl<S: Send + Sync> FromRequestParts<S> for IncidentId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| IncidentId(id))
            .map_err(|rejection| ApiError::invalid("incidentId", rejection.body_text()))
    }
}

/// An answer that shows an incident, with its etag as `ETag`.
struct Shown(StatusCode, IncidentInformation);

impl IntoResponse for Shown {
    fn into_response(self) -> Response {
        let Shown(status, incident) = self;
        (status, [(header::ETAG, quoted(&incident.etag))], Json(incident)).into_response()
    }
}

/// An entity tag as HTTP writes it: in quotes.
fn quoted(etag: &str) -> String {
    format!("\"{etag}\"")
}

fn header_text(headers: &HeaderMap, name: &str) -> Result<Option<String>, ApiError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map(|s| s.trim().to_owned())
                .map_err(|_| ApiError::invalid(name, "must be visible ASCII"))
        })
        .transpose()
}

/// The etag of `If-Match`: one entity tag, quoted or not; `*` (any) is no condition.
fn if_match(headers: &HeaderMap) -> Result<String, ApiError> {
    let Some(value) = header_text(headers, "If-Match")? else {
        return Ok(String::new());
    };
    if value == "*" {
        return Ok(String::new());
    }
    if value.contains(',') {
        return Err(ApiError::invalid("If-Match", "give one entity tag (or *)"));
    }
    Ok(value.trim_matches('"').to_owned())
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, ApiError> {
    Ok(header_text(headers, IDEMPOTENCY_KEY)?.unwrap_or_default())
}

/// Create an incident.
#[utoipa::path(
    post,
    path = "/api/incident/v1/incidents",
    tag = "incidents",
    request_body = IncidentCreateRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "A UUID: the same request sent again with it returns the first answer")),
    responses(
        (status = 201, description = "The new incident's id", body = String,
            headers(("Location" = String), ("ETag" = String))),
        (status = 422, description = "The Idempotency-Key came with a different request", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
async fn create_incident(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    headers: HeaderMap,
    Bodies(body, create_only): Bodies<IncidentUpdateRequest, CreateOnlyRequest>,
) -> Result<Response, ApiError> {
    let request_id = idempotency_key(&headers)?;
    let incident = rest
        .service
        .create_incident(&caller, Some((body.into(), create_only.into())), &request_id)
        .await
        .map_err(|e| ApiError::from_domain(e, body_path))?;
    let headers = [
        (header::LOCATION, format!("{PREFIX}/incidents/{}", incident.id)),
        (header::ETAG, quoted(&incident.etag())),
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
        (status = 200, body = IncidentInformation, headers(("ETag" = String))),
        (status = 404, description = "No such incident in the caller's tenant", body = ErrorBody),
        Refusals
    )
)]
async fn get_incident(
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
    request_body = IncidentUpdateRequest,
    params(
        ("incidentId" = String, Path, format = Uuid),
        ("If-Match" = Option<String>, Header, description = "Update only if the incident is still at this ETag"),
        ("Idempotency-Key" = Option<String>, Header, description = "A UUID: the same request sent again with it returns the first answer")
    ),
    responses(
        (status = 200, body = IncidentInformation, headers(("ETag" = String))),
        (status = 404, description = "No such incident in the caller's tenant", body = ErrorBody),
        (status = 412, description = "If-Match names an older revision", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key came with a different request", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
async fn update_incident(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    IncidentId(incident_id): IncidentId,
    headers: HeaderMap,
    Body(body): Body<IncidentUpdateRequest>,
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
    request_body(content = IncidentUpdateRequest, content_type = "application/merge-patch+json"),
    params(
        ("incidentId" = String, Path, format = Uuid),
        ("If-Match" = Option<String>, Header, description = "Update only if the incident is still at this ETag"),
        ("Idempotency-Key" = Option<String>, Header, description = "A UUID: the same request sent again with it returns the first answer")
    ),
    responses(
        (status = 200, body = IncidentInformation, headers(("ETag" = String))),
        (status = 404, description = "No such incident in the caller's tenant", body = ErrorBody),
        (status = 412, description = "If-Match names an older revision", body = ErrorBody),
        (status = 422, description = "The Idempotency-Key came with a different request", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
async fn patch_incident(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    IncidentId(incident_id): IncidentId,
    headers: HeaderMap,
    Body(patch): Body<Map<String, Value>>,
) -> Result<Shown, ApiError> {
    let (paths, body) = merge_patch(patch);
    let body: IncidentUpdateRequest = parse_value(Value::Object(body))?;
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
/// replace, and each key of `attributeValues` an attribute.
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
    request_body = SearchRequest,
    params(SearchParams),
    responses((status = 200, body = IncidentPage), Refusals, BodyRefusals)
)]
async fn search_incidents(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    Query(params): Query<SearchParams>,
    Body(body): Body<SearchRequest>,
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
        (status = 200, body = RevisionPage),
        (status = 404, description = "No such incident in the caller's tenant", body = ErrorBody),
        Refusals
    )
)]
async fn list_incident_revisions(
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

/// The tenant's organizations (a tree, by `parentId`).
#[utoipa::path(
    get,
    path = "/api/incident/v1/reference/organizations",
    tag = "reference data",
    responses((status = 200, body = Vec<OrganizationDto>), Refusals)
)]
async fn list_organizations(
    State(rest): State<Rest>,
    Caller(caller): Caller,
) -> Result<Json<Vec<OrganizationDto>>, ApiError> {
    let list = rest.service.list_organizations(&caller).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Add an organization (scope `INCIDENT_ADMIN`).
#[utoipa::path(
    post,
    path = "/api/incident/v1/reference/organizations",
    tag = "reference data",
    request_body = NewOrganizationRequest,
    responses(
        (status = 201, body = OrganizationDto),
        (status = 409, description = "The name is taken", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
async fn create_organization(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    Body(body): Body<NewOrganizationRequest>,
) -> Result<(StatusCode, Json<OrganizationDto>), ApiError> {
    let NewOrganizationRequest {
        name,
        parent_id,
        object: _,
    } = body;
    let created = rest
        .service
        .create_organization(&caller, name.unwrap_or_default(), parent_id)
        .await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// The tenant's incident types (`Unknown` among them).
#[utoipa::path(
    get,
    path = "/api/incident/v1/reference/incident-types",
    tag = "reference data",
    responses((status = 200, body = Vec<IncidentTypeDto>), Refusals)
)]
async fn list_incident_types(
    State(rest): State<Rest>,
    Caller(caller): Caller,
) -> Result<Json<Vec<IncidentTypeDto>>, ApiError> {
    let list = rest.service.list_incident_types(&caller).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Add an incident type (scope `INCIDENT_ADMIN`).
#[utoipa::path(
    post,
    path = "/api/incident/v1/reference/incident-types",
    tag = "reference data",
    request_body = NewIncidentTypeRequest,
    responses(
        (status = 201, body = IncidentTypeDto),
        (status = 409, description = "The name is taken", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
async fn create_incident_type(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    Body(body): Body<NewIncidentTypeRequest>,
) -> Result<(StatusCode, Json<IncidentTypeDto>), ApiError> {
    let created = rest
        .service
        .create_incident_type(&caller, body.name.unwrap_or_default())
        .await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// The tenant's custom attributes and their options.
#[utoipa::path(
    get,
    path = "/api/incident/v1/reference/attributes",
    tag = "reference data",
    responses((status = 200, body = Vec<AttributeDto>), Refusals)
)]
async fn list_attributes(
    State(rest): State<Rest>,
    Caller(caller): Caller,
) -> Result<Json<Vec<AttributeDto>>, ApiError> {
    let list = rest.service.list_attributes(&caller).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Add a custom attribute (scope `INCIDENT_ADMIN`).
#[utoipa::path(
    post,
    path = "/api/incident/v1/reference/attributes",
    tag = "reference data",
    request_body = NewAttributeRequest,
    responses(
        (status = 201, body = AttributeDto),
        (status = 409, description = "The name is taken", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
async fn create_attribute(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    Body(body): Body<NewAttributeRequest>,
) -> Result<(StatusCode, Json<AttributeDto>), ApiError> {
    let NewAttributeRequest {
        name,
        r#type,
        options,
        object: _,
    } = body;
    let options = options
        .unwrap_or_default()
        .into_iter()
        .map(|o| (o.value.unwrap_or_default(), o.disabled.unwrap_or_default()))
        .collect();
    let created = rest
        .service
        .create_attribute(&caller, name.unwrap_or_default(), r#type.as_deref(), options)
        .await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// The tenant's users and user groups.
#[utoipa::path(
    get,
    path = "/api/incident/v1/reference/assignees",
    tag = "reference data",
    responses((status = 200, body = Vec<AssigneeDto>), Refusals)
)]
async fn list_assignees(State(rest): State<Rest>, Caller(caller): Caller) -> Result<Json<Vec<AssigneeDto>>, ApiError> {
    let list = rest.service.list_assignees(&caller).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Add a user or a user group (scope `INCIDENT_ADMIN`).
#[utoipa::path(
    post,
    path = "/api/incident/v1/reference/assignees",
    tag = "reference data",
    request_body = NewAssigneeRequest,
    responses(
        (status = 201, body = AssigneeDto),
        (status = 409, description = "The name is taken", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
async fn create_assignee(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    Body(body): Body<NewAssigneeRequest>,
) -> Result<(StatusCode, Json<AssigneeDto>), ApiError> {
    let NewAssigneeRequest {
        name,
        email,
        r#type,
        object: _,
    } = body;
    let created = rest
        .service
        .create_assignee(&caller, name.unwrap_or_default(), email, r#type.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// The catalogue of jurisdictions: ISO 3166 countries, and the states and
/// provinces of the USA and Canada.
#[utoipa::path(
    get,
    path = "/api/incident/v1/reference/jurisdictions",
    tag = "reference data",
    params(JurisdictionParams),
    responses((status = 200, body = Vec<JurisdictionDto>), Refusals)
)]
async fn list_jurisdictions(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    Query(params): Query<JurisdictionParams>,
) -> Result<Json<Vec<JurisdictionDto>>, ApiError> {
    let list = rest
        .service
        .list_jurisdictions(&caller, params.country_code.as_deref())?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()), responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "UP".into() })
}

/// The database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    security(()),
    responses((status = 200, body = Health), (status = 503, body = Health))
)]
async fn readyz(State(rest): State<Rest>) -> (StatusCode, Json<Health>) {
    match rest.service.store().ping().await {
        Ok(()) => (StatusCode::OK, Json(Health { status: "UP".into() })),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "DOWN".into() })),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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

    #[test]
    fn the_document_states_the_domains_limits() {
        use crate::domain::{search::SIZE_MAX, text::NAME_MAX};
        let (_, api) = routes().split_for_parts();
        let document = serde_json::to_value(api).unwrap();
        let search = &document["paths"]["/api/incident/v1/incidents/search"]["post"]["parameters"];
        let size = search.as_array().unwrap().iter().find(|p| p["name"] == "size").unwrap();
        assert_eq!(size["schema"]["maximum"], SIZE_MAX);
        let update = &document["components"]["schemas"]["IncidentUpdateRequest"]["properties"];
        assert_eq!(update["name"]["maxLength"], NAME_MAX);
        assert_eq!(
            update["notificationNeeded"]["enum"],
            json!(["YES", "NO", "UNKNOWN", null])
        );
    }

    #[test]
    fn if_match_takes_one_tag() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_MATCH, value.parse().unwrap());
            if_match(&headers)
        };
        assert_eq!(with("\"abc\"").unwrap(), "abc");
        assert_eq!(with("*").unwrap(), "");
        assert!(with("\"a\", \"b\"").is_err());
        assert_eq!(if_match(&HeaderMap::new()).unwrap(), "");
    }
}
