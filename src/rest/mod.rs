//! The REST gateway: the original API's paths and JSON over HTTP/1.1 or HTTP/2,
//! served on the gRPC port (routed by path). Each handler takes the caller and
//! the request apart, calls the same use case as the gRPC service and shows the
//! answer; no rule lives here. The OpenAPI document is built from these handlers.

pub(crate) mod dto;
mod error;
pub(crate) mod extract;
mod incidents;
mod links;
mod reference;
mod stages;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, Path, Request, State},
    http::{HeaderMap, StatusCode, header, request::Parts},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use utoipa::{
    IntoResponses, Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};

#[cfg(any(test, feature = "fuzz"))]
pub(crate) use self::incidents::merge_patch;
pub use self::{dto::ErrorBody, error::ApiError, extract::refused};
use self::{dto::*, incidents::*, links::*, reference::*, stages::*};
use crate::service::Service;

/// Where the API lives, as in the original.
pub const PREFIX: &str = "/api/incident/v1";
/// The header that carries a request id (the gRPC requests' `requestId`).
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

/// What every handler needs: the use cases.
#[derive(Clone)]
pub struct Rest {
    service: Service,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "incidentd REST gateway",
        description = "The incident register's original REST API, served by incidentd on the same use cases as its gRPC API."
    ),
    modifiers(&Components),
    security(("bearer" = [])),
    components(schemas(ErrorBody, WorkflowType, InventoryTypeName))
)]
struct ApiDoc;

/// What the document holds beside the routes' own schemas: the bearer scheme
/// and the vocabularies.
struct Components;

impl Modify for Components {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, schema) in vocabularies() {
            components.schemas.insert(name.to_owned(), schema.into());
        }
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
    BadRequest(ErrorBody),
    /// No valid bearer token.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// The token lacks the scope the call needs.
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// The tenant is over its rate of calls (`RATE_LIMITED`, when one is
    /// configured), or already makes its share of the server's calls at once
    /// (`TOO_MANY_CONCURRENT_CALLS`); retry after `Retry-After` seconds.
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
    /// The body did not arrive within the server's body timeout (`BODY_TIMEOUT`).
    #[response(status = 408)]
    BodyTimeout(ErrorBody),
    /// The body is larger than the limit.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// The body is not JSON.
    #[response(status = 415)]
    NotJson(ErrorBody),
}

/// The router of the gateway and of its OpenAPI document; bodies larger than
/// `max_body` bytes are refused with 413.
pub fn router(service: Service, max_body: usize) -> Router {
    let (router, api) = routes().with_state(Rest { service }).split_for_parts();
    // Written once; every request gets the same bytes.
    let document = Bytes::from(serde_json::to_vec(&api).expect("the OpenAPI document serializes"));
    router
        .route(
            OPENAPI_PATH,
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], document) }),
        )
        .route_layer(middleware::from_fn(tag_route))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(max_body))
}

/// Puts the route template an answer came from on it, for the metrics the
/// admission layer records: a label of a closed set, never the raw path.
async fn tag_route(matched: MatchedPath, request: Request, next: Next) -> Response {
    let route = crate::telemetry::metrics::Route(matched.as_str().to_owned());
    let mut response = next.run(request).await;
    response.extensions_mut().insert(route);
    response
}

/// Every route, each with its part of the OpenAPI document.
fn routes() -> OpenApiRouter<Rest> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(create_incident))
        .routes(routes!(get_incident, update_incident, patch_incident))
        .routes(routes!(record_notification))
        .routes(routes!(update_incident_stage))
        .routes(routes!(update_incident_stage_of_type))
        .routes(routes!(link_inventory))
        .routes(routes!(unlink_inventory))
        .routes(routes!(search_incidents))
        .routes(routes!(list_incident_revisions))
        .routes(routes!(list_organizations, create_organization))
        .routes(routes!(list_incident_types, create_incident_type))
        .routes(routes!(list_attributes, create_attribute))
        .routes(routes!(list_assignees, create_assignee))
        .routes(routes!(list_jurisdictions))
        .routes(routes!(list_notification_rules))
        .routes(routes!(list_workflows, create_workflow))
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
struct Shown(StatusCode, Incident);

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

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", security(()), responses((status = 200, description = "The process is up", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "UP".into() })
}

/// The database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    security(()),
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 503, description = "The database does not answer", body = Health)
    )
)]
async fn readyz(State(rest): State<Rest>) -> (StatusCode, Json<Health>) {
    match rest.service.store().ping().await {
        Ok(()) => (StatusCode::OK, Json(Health { status: "UP".into() })),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "DOWN".into() })),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn the_document_states_the_domains_limits() {
        use crate::domain::{search::SIZE_MAX, text::NAME_MAX};
        let (_, api) = routes().split_for_parts();
        let document = serde_json::to_value(api).unwrap();
        let search = &document["paths"]["/api/incident/v1/incidents/search"]["post"]["parameters"];
        let size = search.as_array().unwrap().iter().find(|p| p["name"] == "size").unwrap();
        assert_eq!(size["schema"]["maximum"], SIZE_MAX);
        let schemas = &document["components"]["schemas"];
        let update = &schemas["IncidentUpdate"]["properties"];
        assert_eq!(update["name"]["maxLength"], NAME_MAX);
        assert_eq!(
            update["notificationNeeded"]["oneOf"],
            json!([{"$ref": "#/components/schemas/NotificationNeeded"}, {"type": "null"}])
        );
        assert_eq!(schemas["NotificationNeeded"]["enum"], json!(["YES", "NO", "UNKNOWN"]));
        let patch = &schemas["IncidentPatch"];
        assert_eq!(patch["required"], Value::Null, "every field of a patch is optional");
        assert_eq!(
            patch["properties"]["attributeValues"]["additionalProperties"]["oneOf"][1],
            json!({"type": "null"})
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
