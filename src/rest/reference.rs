//! The reference data's routes: organizations, incident types, custom
//! attributes, assignees, and the jurisdiction catalogue.

use axum::{Json, extract::State, http::StatusCode};

use super::{
    BodyRefusals, Refusals, Rest,
    dto::*,
    error::ApiError,
    extract::{Body, Caller, Query},
};

/// The tenant's organizations (a tree, by `parentId`).
#[utoipa::path(
    get,
    path = "/api/incident/v1/reference/organizations",
    tag = "reference data",
    responses((status = 200, description = "Every entry of the tenant", body = Vec<Organization>), Refusals)
)]
pub(super) async fn list_organizations(
    State(rest): State<Rest>,
    Caller(caller): Caller,
) -> Result<Json<Vec<Organization>>, ApiError> {
    let list = rest.service.list_organizations(&caller).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Add an organization (scope `INCIDENT_ADMIN`).
#[utoipa::path(
    post,
    path = "/api/incident/v1/reference/organizations",
    tag = "reference data",
    request_body = NewOrganization,
    responses(
        (status = 201, description = "The new entry", body = Organization),
        (status = 409, description = "The name is taken", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
pub(super) async fn create_organization(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    Body(body): Body<NewOrganization>,
) -> Result<(StatusCode, Json<Organization>), ApiError> {
    let NewOrganization {
        name,
        parent_id,
        extra: _,
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
    responses((status = 200, description = "Every entry of the tenant", body = Vec<IncidentType>), Refusals)
)]
pub(super) async fn list_incident_types(
    State(rest): State<Rest>,
    Caller(caller): Caller,
) -> Result<Json<Vec<IncidentType>>, ApiError> {
    let list = rest.service.list_incident_types(&caller).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Add an incident type (scope `INCIDENT_ADMIN`).
#[utoipa::path(
    post,
    path = "/api/incident/v1/reference/incident-types",
    tag = "reference data",
    request_body = NewIncidentType,
    responses(
        (status = 201, description = "The new entry", body = IncidentType),
        (status = 409, description = "The name is taken", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
pub(super) async fn create_incident_type(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    Body(body): Body<NewIncidentType>,
) -> Result<(StatusCode, Json<IncidentType>), ApiError> {
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
    responses((status = 200, description = "Every entry of the tenant", body = Vec<Attribute>), Refusals)
)]
pub(super) async fn list_attributes(
    State(rest): State<Rest>,
    Caller(caller): Caller,
) -> Result<Json<Vec<Attribute>>, ApiError> {
    let list = rest.service.list_attributes(&caller).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Add a custom attribute (scope `INCIDENT_ADMIN`).
#[utoipa::path(
    post,
    path = "/api/incident/v1/reference/attributes",
    tag = "reference data",
    request_body = NewAttribute,
    responses(
        (status = 201, description = "The new entry", body = Attribute),
        (status = 409, description = "The name is taken", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
pub(super) async fn create_attribute(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    Body(body): Body<NewAttribute>,
) -> Result<(StatusCode, Json<Attribute>), ApiError> {
    let NewAttribute {
        name,
        r#type,
        options,
        extra: _,
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
    responses((status = 200, description = "Every entry of the tenant", body = Vec<Assignee>), Refusals)
)]
pub(super) async fn list_assignees(
    State(rest): State<Rest>,
    Caller(caller): Caller,
) -> Result<Json<Vec<Assignee>>, ApiError> {
    let list = rest.service.list_assignees(&caller).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Add a user or a user group (scope `INCIDENT_ADMIN`).
#[utoipa::path(
    post,
    path = "/api/incident/v1/reference/assignees",
    tag = "reference data",
    request_body = NewAssignee,
    responses(
        (status = 201, description = "The new entry", body = Assignee),
        (status = 409, description = "The name is taken", body = ErrorBody),
        Refusals, BodyRefusals
    )
)]
pub(super) async fn create_assignee(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    Body(body): Body<NewAssignee>,
) -> Result<(StatusCode, Json<Assignee>), ApiError> {
    let NewAssignee {
        name,
        email,
        r#type,
        extra: _,
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
    responses((status = 200, description = "Every entry of the tenant", body = Vec<Jurisdiction>), Refusals)
)]
pub(super) async fn list_jurisdictions(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    Query(params): Query<JurisdictionParams>,
) -> Result<Json<Vec<Jurisdiction>>, ApiError> {
    let list = rest
        .service
        .list_jurisdictions(&caller, params.country_code.as_deref())?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// The breach-notification rules the service knows, each with its citation and
/// source; a jurisdiction no rule covers has none. The same for every tenant.
#[utoipa::path(
    get,
    path = "/api/incident/v1/reference/notification-rules",
    tag = "reference data",
    params(JurisdictionParams),
    responses((status = 200, description = "The rules, or those covering one country", body = NotificationRules), Refusals)
)]
pub(super) async fn list_notification_rules(
    State(rest): State<Rest>,
    Caller(caller): Caller,
    Query(params): Query<JurisdictionParams>,
) -> Result<Json<NotificationRules>, ApiError> {
    let (version, rules) = rest
        .service
        .list_notification_rules(&caller, params.country_code.as_deref())?;
    Ok(Json(NotificationRules {
        catalogue_version: version.to_owned(),
        rules: rules.into_iter().map(Into::into).collect(),
    }))
}
