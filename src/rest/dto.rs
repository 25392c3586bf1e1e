//! The original API's JSON bodies, as serde types of the gateway's own, and their
//! translation to and from the domain's plain types. Requests carry every field
//! as it arrived (strings for ids and enumerations), so that the domain checks
//! them and names each violation; only JSON types are checked here, by serde.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{
    ToSchema,
    openapi::{ObjectBuilder, Type, schema::SchemaType},
};
use uuid::Uuid;

use crate::domain::{
    enums::{AssigneeKind, AttributeKind, IncidentStatus, NotificationNeeded, SourceType},
    incident::{ChosenValue, Incident},
    input::{AssigneeRef, AttributeValueRef, IncidentFields, WireTime},
    inventory::{CreateOnlyFields, InventoryLinkRef},
    jurisdiction::{self, Jurisdiction, JurisdictionRef},
    reference::{Assignee, Attribute, IncidentType, Organization},
    revision::{FieldChange, Revision, RevisionList},
    search::{FilterFields, RangeFields, SearchFields, SearchPage},
    text::NAME_MAX,
};

/// A string schema listing the names a vocabulary accepts.
fn names_schema(names: &[&'static str]) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .enum_values(Some(names.iter().copied()))
}

/// The same for an optional request field, where `null` means the default.
fn optional_names_schema(names: &[&'static str]) -> ObjectBuilder {
    let values = names.iter().map(|n| Value::from(*n)).chain([Value::Null]);
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
}

/// A name: not blank, at most `NAME_MAX` characters.
fn name() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .min_length(Some(1))
        .max_length(Some(NAME_MAX))
        .pattern(Some(r"\S"))
}

/// An optional id: a UUID, or empty or `null` for none.
fn optional_id() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(
            "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$",
        ))
}

/// An ISO 3166 alpha-3 code of the jurisdiction catalogue; absent: `USA`.
fn optional_country_code() -> ObjectBuilder {
    optional_names_schema(&jurisdiction::country_codes())
}

/// The same as a query parameter, where empty means none.
fn country_code_parameter() -> ObjectBuilder {
    let mut codes = jurisdiction::country_codes();
    codes.push("");
    names_schema(&codes)
}

fn optional_source_type() -> ObjectBuilder {
    optional_names_schema(&crate::domain::input::REQUEST_SOURCE_TYPES.map(SourceType::as_str))
}

fn optional_notification_needed() -> ObjectBuilder {
    optional_names_schema(NotificationNeeded::NAMES)
}

fn optional_assignee_kind() -> ObjectBuilder {
    optional_names_schema(AssigneeKind::NAMES)
}

fn optional_attribute_kind() -> ObjectBuilder {
    optional_names_schema(AttributeKind::NAMES)
}

fn source_type() -> ObjectBuilder {
    names_schema(SourceType::NAMES)
}

fn notification_needed() -> ObjectBuilder {
    names_schema(NotificationNeeded::NAMES)
}

fn assignee_kind() -> ObjectBuilder {
    names_schema(AssigneeKind::NAMES)
}

fn attribute_kind() -> ObjectBuilder {
    names_schema(AttributeKind::NAMES)
}

fn incident_status() -> ObjectBuilder {
    names_schema(IncidentStatus::NAMES)
}

/// Serde reads a struct from a JSON array as well as from an object, unless the
/// struct has a flattened field. Every request struct has this one, which takes
/// (and ignores) the keys it does not know, so that `[null, null]` is refused
/// where `{"from": ..., "to": ...}` is expected.
#[derive(Debug, Clone, Copy, Default)]
pub struct ObjectOnly;

impl<'de> Deserialize<'de> for ObjectOnly {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| ObjectOnly)
    }
}

fn wire_time(at: DateTime<Utc>) -> WireTime {
    at.into()
}

/// The body of Update Incident (`IncidentUpdateRequest`); `null` is the same as absent.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentUpdateRequest {
    #[schema(schema_with = name, required = true, example = "Joe sent an email to the wrong client")]
    pub name: Option<String>,
    pub description: Option<String>,
    /// An incident type of the tenant, by name; absent: `Unknown`.
    #[schema(example = "Misdirected Email")]
    pub incident_type_name: Option<String>,
    /// An organization of the tenant.
    #[schema(value_type = String, format = Uuid, required = true)]
    pub org_group_id: Option<String>,
    pub date_occurred: Option<DateTime<Utc>>,
    pub date_discovered: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    /// Absent: `MANUAL`.
    #[schema(schema_with = optional_source_type)]
    pub source_type: Option<String>,
    pub root_cause: Option<String>,
    /// Absent: `UNKNOWN`.
    #[schema(schema_with = optional_notification_needed)]
    pub notification_needed: Option<String>,
    /// Values by attribute name; an attribute left out ends up empty.
    pub attribute_values: Option<BTreeMap<String, Vec<AttributeValueRequest>>>,
    pub incident_assignee_requests: Option<Vec<AssigneeRequest>>,
    pub jurisdictions: Option<Vec<JurisdictionRequest>>,
    /// Refuses a JSON array in place of this object (see `ObjectOnly`).
    #[serde(flatten, skip_serializing)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub object: ObjectOnly,
}

/// An attribute value: an option by `id` or by `value`, or free text.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeValueRequest {
    #[schema(schema_with = optional_id)]
    pub id: Option<String>,
    pub value: Option<String>,
    /// Refuses a JSON array in place of this object (see `ObjectOnly`).
    #[serde(flatten, skip_serializing)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub object: ObjectOnly,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssigneeRequest {
    #[schema(value_type = String, format = Uuid, required = true)]
    pub assignee_id: Option<String>,
    /// Only for a `USER`.
    pub assignee_email: Option<String>,
    /// Absent: `USER`.
    #[schema(schema_with = optional_assignee_kind)]
    pub r#type: Option<String>,
    /// Refuses a JSON array in place of this object (see `ObjectOnly`).
    #[serde(flatten, skip_serializing)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub object: ObjectOnly,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JurisdictionRequest {
    #[schema(schema_with = optional_id)]
    pub jurisdiction_id: Option<String>,
    /// ISO 3166 alpha-3; absent: `USA`.
    #[schema(schema_with = optional_country_code, example = "USA")]
    pub country_code: Option<String>,
    /// Required for `USA` and `CAN`.
    #[schema(example = "CA")]
    pub state_province_code: Option<String>,
    /// Refuses a JSON array in place of this object (see `ObjectOnly`).
    #[serde(flatten, skip_serializing)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub object: ObjectOnly,
}

/// The body of Create Incident: the update body and the create-only fields. (The
/// gateway reads the two parts separately; this type describes the whole.)
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentCreateRequest {
    #[serde(flatten)]
    pub body: IncidentUpdateRequest,
    #[serde(flatten)]
    pub create_only: CreateOnlyRequest,
}

/// The fields only Create Incident takes.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateOnlyRequest {
    /// Links to inventory records by inventory type (`assets`,
    /// `processing-activities`, `vendors`, `entities`).
    pub linked_inventories: Option<BTreeMap<String, InventoryLinkRequest>>,
    pub auto_assess_jurisdictions: Option<bool>,
    /// Refuses a JSON array in place of this object (see `ObjectOnly`).
    #[serde(flatten, skip_serializing)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub object: ObjectOnly,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryLinkRequest {
    pub inventory_ids: Option<Vec<String>>,
    pub external_ids: Option<Vec<String>>,
    /// `MANUAL`, `ASSESSMENT` or `INTEGRATION`; absent: `MANUAL`.
    pub source_type: Option<String>,
    /// Refuses a JSON array in place of this object (see `ObjectOnly`).
    #[serde(flatten, skip_serializing)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub object: ObjectOnly,
}

impl From<IncidentUpdateRequest> for IncidentFields {
    fn from(body: IncidentUpdateRequest) -> Self {
        let IncidentUpdateRequest {
            name,
            description,
            incident_type_name,
            org_group_id,
            date_occurred,
            date_discovered,
            deadline,
            source_type,
            root_cause,
            notification_needed,
            attribute_values,
            incident_assignee_requests,
            jurisdictions,
            object: _,
        } = body;
        IncidentFields {
            name: name.unwrap_or_default(),
            description,
            incident_type_name: incident_type_name.unwrap_or_default(),
            org_group_id: org_group_id.unwrap_or_default(),
            date_occurred: date_occurred.map(wire_time),
            date_discovered: date_discovered.map(wire_time),
            deadline: deadline.map(wire_time),
            source_type,
            root_cause,
            notification_needed,
            attribute_values: attribute_values
                .unwrap_or_default()
                .into_iter()
                .map(|(name, values)| {
                    let values = values
                        .into_iter()
                        .map(|AttributeValueRequest { id, value, object: _ }| AttributeValueRef { id, value })
                        .collect();
                    (name, values)
                })
                .collect(),
            assignees: incident_assignee_requests
                .unwrap_or_default()
                .into_iter()
                .map(
                    |AssigneeRequest {
                         assignee_id,
                         assignee_email,
                         r#type,
                         object: _,
                     }| AssigneeRef {
                        assignee_id: assignee_id.unwrap_or_default(),
                        assignee_email,
                        kind: r#type,
                    },
                )
                .collect(),
            jurisdictions: jurisdictions
                .unwrap_or_default()
                .into_iter()
                .map(
                    |JurisdictionRequest {
                         jurisdiction_id,
                         country_code,
                         state_province_code,
                         object: _,
                     }| JurisdictionRef {
                        jurisdiction_id,
                        country_code: country_code.unwrap_or_default(),
                        state_province_code,
                    },
                )
                .collect(),
        }
    }
}

impl From<CreateOnlyRequest> for CreateOnlyFields {
    fn from(request: CreateOnlyRequest) -> Self {
        let CreateOnlyRequest {
            linked_inventories,
            auto_assess_jurisdictions,
            object: _,
        } = request;
        let linked_inventories = linked_inventories
            .unwrap_or_default()
            .into_iter()
            .map(|(kind, link)| {
                let InventoryLinkRequest {
                    inventory_ids,
                    external_ids,
                    source_type,
                    object: _,
                } = link;
                let link = InventoryLinkRef {
                    inventory_ids: inventory_ids.unwrap_or_default(),
                    external_ids: external_ids.unwrap_or_default(),
                    source_type,
                };
                (kind, link)
            })
            .collect();
        CreateOnlyFields {
            auto_assess_jurisdictions: auto_assess_jurisdictions.unwrap_or_default(),
            linked_inventories,
        }
    }
}

/// An incident as the original API shows it (`IncidentInformation`), with the
/// revision and its etag.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentInformation {
    pub id: Uuid,
    pub number: i64,
    pub incident_type_id: Uuid,
    pub incident_type_name: String,
    pub name: String,
    pub description: Option<String>,
    #[schema(schema_with = source_type)]
    pub source_type: String,
    /// Always empty: assessments are not kept here.
    pub assessment_links: Vec<Value>,
    pub org_group_id: Uuid,
    pub org_group_name: String,
    pub root_cause: Option<String>,
    pub date_occurred: Option<DateTime<Utc>>,
    pub date_closed: Option<DateTime<Utc>>,
    pub date_discovered: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub creator: String,
    /// The user among the assignees.
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    #[serde(rename = "createdDT")]
    pub created_dt: DateTime<Utc>,
    pub workflow_id: Option<Uuid>,
    pub workflow_name: Option<String>,
    pub incident_stage_id: Option<Uuid>,
    pub incident_stage_name: Option<String>,
    pub incident_stage_badge_color: Option<String>,
    #[schema(schema_with = notification_needed)]
    pub notification_needed: String,
    #[schema(schema_with = incident_status)]
    pub incident_status: String,
    pub schema_id: Uuid,
    #[serde(rename = "updatedDT")]
    pub updated_dt: DateTime<Utc>,
    pub attribute_values: BTreeMap<String, Vec<AttributeValueInformation>>,
    pub incident_assignee_information: Vec<AssigneeInformation>,
    /// Always empty: attachments are not kept here.
    pub attachments: Vec<Value>,
    pub jurisdictions: Vec<JurisdictionInformation>,
    pub closed_setting_on: bool,
    pub linked_inventories: BTreeMap<String, InventoryLinkInformation>,
    /// 1 at creation, one more with every update that changes something.
    pub revision: i64,
    /// The `ETag` of this revision, for `If-Match`.
    pub etag: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeValueInformation {
    pub attribute_name: String,
    /// The option's id; none for free text.
    pub id: Option<Uuid>,
    pub value: String,
    pub value_key: Option<String>,
    pub color_code: Option<String>,
    pub option_selection_value: Option<String>,
    pub display_label: String,
    pub disabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssigneeInformation {
    pub assignee_id: Uuid,
    pub assignee_name: String,
    #[schema(schema_with = assignee_kind)]
    pub r#type: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JurisdictionInformation {
    pub jurisdiction_id: Uuid,
    pub region_name: String,
    pub country_name: String,
    pub country_code: String,
    pub state_province_name: Option<String>,
    pub state_province_code: Option<String>,
    /// Always `NONE`: urgency is not assessed here.
    pub urgency: String,
    pub notify_individual: Option<String>,
    pub notify_individual_deadline: Option<DateTime<Utc>>,
    pub notify_authority: Option<String>,
    pub notify_authority_deadline: Option<DateTime<Utc>>,
    pub number_of_guidances: i32,
    pub number_of_accepted_guidances: i32,
    pub number_of_addressed_guidances: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryLinkInformation {
    pub inventory_ids: Vec<Uuid>,
    pub external_ids: Vec<String>,
    #[schema(schema_with = source_type)]
    pub source_type: String,
}

fn attribute_values(chosen: &[ChosenValue]) -> BTreeMap<String, Vec<AttributeValueInformation>> {
    let mut by_name = BTreeMap::<String, Vec<AttributeValueInformation>>::new();
    for chosen in chosen {
        by_name
            .entry(chosen.attribute_name.clone())
            .or_default()
            .push(AttributeValueInformation {
                attribute_name: chosen.attribute_name.clone(),
                id: chosen.option.as_ref().map(|o| o.id),
                value: chosen.value().to_owned(),
                value_key: chosen.value_key(),
                color_code: None,
                option_selection_value: None,
                display_label: chosen.value().to_owned(),
                disabled: chosen.disabled(),
            });
    }
    by_name
}

fn jurisdiction_information(j: &Jurisdiction) -> JurisdictionInformation {
    JurisdictionInformation {
        jurisdiction_id: j.id,
        region_name: j.region_name.to_owned(),
        country_name: j.country_name.to_owned(),
        country_code: j.country_code.to_owned(),
        state_province_name: j.state_province_name.map(str::to_owned),
        state_province_code: j.state_province_code.map(str::to_owned),
        urgency: "NONE".to_owned(),
        notify_individual: None,
        notify_individual_deadline: None,
        notify_authority: None,
        notify_authority_deadline: None,
        number_of_guidances: 0,
        number_of_accepted_guidances: 0,
        number_of_addressed_guidances: 0,
    }
}

impl From<Incident> for IncidentInformation {
    fn from(incident: Incident) -> Self {
        let user = incident.user_assignee().cloned();
        let schema_id = incident.schema_id();
        let etag = incident.etag();
        IncidentInformation {
            id: incident.id,
            number: incident.number,
            incident_type_id: incident.incident_type.id,
            incident_type_name: incident.incident_type.name,
            name: incident.name,
            description: incident.description,
            source_type: incident.source_type.as_str().to_owned(),
            assessment_links: Vec::new(),
            org_group_id: incident.organization.id,
            org_group_name: incident.organization.name,
            root_cause: incident.root_cause,
            date_occurred: incident.date_occurred,
            date_closed: incident.date_closed,
            date_discovered: incident.date_discovered,
            deadline: incident.deadline,
            created_by: incident.created_by,
            creator: incident.creator,
            assignee_id: user.as_ref().map(|u| u.id),
            assignee_name: user.map(|u| u.name),
            created_dt: incident.created_at,
            workflow_id: None,
            workflow_name: None,
            incident_stage_id: None,
            incident_stage_name: None,
            incident_stage_badge_color: None,
            notification_needed: incident.notification_needed.as_str().to_owned(),
            incident_status: incident.status.as_str().to_owned(),
            schema_id,
            updated_dt: incident.updated_at,
            attribute_values: attribute_values(&incident.attribute_values),
            incident_assignee_information: incident
                .assignees
                .into_iter()
                .map(|a| AssigneeInformation {
                    assignee_id: a.assignee.id,
                    assignee_name: a.assignee.name,
                    r#type: a.assignee.kind.as_str().to_owned(),
                })
                .collect(),
            attachments: Vec::new(),
            jurisdictions: incident
                .jurisdictions
                .into_iter()
                .map(jurisdiction_information)
                .collect(),
            closed_setting_on: false,
            linked_inventories: incident
                .linked_inventories
                .into_iter()
                .map(|links| {
                    let information = InventoryLinkInformation {
                        inventory_ids: links.inventory_ids,
                        external_ids: links.external_ids,
                        source_type: links.source_type.as_str().to_owned(),
                    };
                    (links.inventory_type.as_str().to_owned(), information)
                })
                .collect(),
            revision: incident.revision,
            etag,
        }
    }
}

/// The body of Search Incidents; paging and sorting are query parameters.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    pub filters: Option<SearchFilters>,
    /// Words that must all begin words of the incident (name, description, type,
    /// assignees, organization, root cause, creator); case does not matter.
    pub full_text: Option<String>,
    /// Refuses a JSON array in place of this object (see `ObjectOnly`).
    #[serde(flatten, skip_serializing)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub object: ObjectOnly,
}

/// Every filter is a list of accepted values (any one matches); filters combine with AND.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SearchFilters {
    #[schema(value_type = Option<Vec<String>>)]
    pub incident_ids: Option<Vec<String>>,
    pub numbers: Option<Vec<i64>>,
    pub assignee_ids: Option<Vec<String>>,
    pub incident_type_ids: Option<Vec<String>>,
    pub org_group_ids: Option<Vec<String>>,
    /// `orgGroupIds` also match their descendant organizations.
    pub include_descendant_orgs: Option<bool>,
    pub created_by: Option<Vec<String>>,
    pub notification_needed: Option<Vec<String>>,
    pub incident_status: Option<Vec<String>>,
    pub source_type: Option<Vec<String>>,
    pub date_occurred: Option<TimeRange>,
    pub date_discovered: Option<TimeRange>,
    pub deadline: Option<TimeRange>,
    #[serde(rename = "createdDT")]
    pub created_dt: Option<TimeRange>,
    #[serde(rename = "updatedDT")]
    pub updated_dt: Option<TimeRange>,
    /// Refuses a JSON array in place of this object (see `ObjectOnly`).
    #[serde(flatten, skip_serializing)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub object: ObjectOnly,
}

/// Both ends included; either may be absent.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema)]
pub struct TimeRange {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Refuses a JSON array in place of this object (see `ObjectOnly`).
    #[serde(flatten, skip_serializing)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub object: ObjectOnly,
}

/// Paging and sorting of a search, from the query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// 0-based page number (default 0); page × size must stay below 10,000.
    #[param(minimum = 0)]
    pub page: Option<i32>,
    /// Page size, 1..2000 (default 20).
    #[param(minimum = 1, maximum = 2000)]
    pub size: Option<i32>,
    /// `createdDate`, `name`, `number` or `updatedDT`, then `,asc` or `,desc`
    /// (default `createdDate,desc`).
    pub sort: Option<String>,
    /// The `nextPageToken` of the previous page, for deep scans.
    pub page_token: Option<String>,
}

impl SearchRequest {
    pub fn into_fields(self, params: SearchParams) -> SearchFields {
        let SearchFilters {
            incident_ids,
            numbers,
            assignee_ids,
            incident_type_ids,
            org_group_ids,
            include_descendant_orgs,
            created_by,
            notification_needed,
            incident_status,
            source_type,
            date_occurred,
            date_discovered,
            deadline,
            created_dt,
            updated_dt,
            object: _,
        } = self.filters.unwrap_or_default();
        let range = |range: Option<TimeRange>| {
            range.map(|TimeRange { from, to, object: _ }| RangeFields {
                from: from.map(wire_time),
                to: to.map(wire_time),
            })
        };
        SearchFields {
            filters: FilterFields {
                incident_ids: incident_ids.unwrap_or_default(),
                numbers: numbers.unwrap_or_default(),
                assignee_ids: assignee_ids.unwrap_or_default(),
                incident_type_ids: incident_type_ids.unwrap_or_default(),
                org_group_ids: org_group_ids.unwrap_or_default(),
                include_descendant_orgs: include_descendant_orgs.unwrap_or_default(),
                created_by: created_by.unwrap_or_default(),
                notification_needed: notification_needed.unwrap_or_default(),
                incident_status: incident_status.unwrap_or_default(),
                source_type: source_type.unwrap_or_default(),
                date_occurred: range(date_occurred),
                date_discovered: range(date_discovered),
                deadline: range(deadline),
                created_dt: range(created_dt),
                updated_dt: range(updated_dt),
            },
            full_text: self.full_text.unwrap_or_default(),
            page: params.page.unwrap_or_default(),
            size: params.size,
            sort: params.sort.unwrap_or_default(),
            page_token: params.page_token.unwrap_or_default(),
        }
    }
}

/// One page of a search, in the shape of a Spring Data page (`content`,
/// `totalElements`, ...), plus the token of the next page.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentPage {
    pub content: Vec<IncidentSummary>,
    pub total_elements: u64,
    pub total_pages: u64,
    /// This page's 0-based number.
    pub number: u64,
    pub size: u64,
    pub number_of_elements: usize,
    pub first: bool,
    pub last: bool,
    pub empty: bool,
    /// Give it as `pageToken` to read the next page; absent on the last page.
    pub next_page_token: Option<String>,
}

/// An incident as a search shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentSummary {
    pub incident_id: Uuid,
    pub number: i64,
    pub incident_type_id: Uuid,
    pub incident_type_name: String,
    pub name: String,
    pub description: Option<String>,
    #[schema(schema_with = source_type)]
    pub source_type: String,
    pub org_group_id: Uuid,
    pub org_group_name: String,
    pub date_occurred: Option<DateTime<Utc>>,
    pub date_discovered: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub date_closed: Option<DateTime<Utc>>,
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    pub total_assessment: i32,
    pub open_assessment: i32,
    pub is_extended: bool,
    pub is_deleted: bool,
    pub created_by: Uuid,
    pub creator: String,
    pub created_date: DateTime<Utc>,
    #[serde(rename = "updatedDT")]
    pub updated_dt: DateTime<Utc>,
    pub workflow_id: Option<Uuid>,
    pub workflow_name: Option<String>,
    pub incident_stage_id: Option<Uuid>,
    pub incident_stage_name: Option<String>,
    #[schema(schema_with = notification_needed)]
    pub notification_needed: String,
    #[schema(schema_with = incident_status)]
    pub incident_status: String,
    pub attribute_values: BTreeMap<String, Vec<AttributeValueInformation>>,
    pub revision: i64,
}

/// The summary of an incident: the fields of the incident a search shows, each
/// converted once, in `From<Incident> for IncidentInformation`.
fn summary(incident: Incident) -> IncidentSummary {
    let IncidentInformation {
        id,
        number,
        incident_type_id,
        incident_type_name,
        name,
        description,
        source_type,
        org_group_id,
        org_group_name,
        date_occurred,
        date_closed,
        date_discovered,
        deadline,
        created_by,
        creator,
        assignee_id,
        assignee_name,
        created_dt,
        workflow_id,
        workflow_name,
        incident_stage_id,
        incident_stage_name,
        notification_needed,
        incident_status,
        updated_dt,
        attribute_values,
        revision,
        ..
    } = incident.into();
    IncidentSummary {
        incident_id: id,
        number,
        incident_type_id,
        incident_type_name,
        name,
        description,
        source_type,
        org_group_id,
        org_group_name,
        date_occurred,
        date_discovered,
        deadline,
        date_closed,
        assignee_id,
        assignee_name,
        total_assessment: 0,
        open_assessment: 0,
        is_extended: false,
        is_deleted: false,
        created_by,
        creator,
        created_date: created_dt,
        updated_dt,
        workflow_id,
        workflow_name,
        incident_stage_id,
        incident_stage_name,
        notification_needed,
        incident_status,
        attribute_values,
        revision,
    }
}

impl From<SearchPage> for IncidentPage {
    fn from(page: SearchPage) -> Self {
        let total_pages = page.total_elements.div_ceil(page.size.max(1));
        let content: Vec<IncidentSummary> = page.incidents.into_iter().map(summary).collect();
        IncidentPage {
            number_of_elements: content.len(),
            first: page.page == 0,
            last: page.next_page_token.is_none(),
            empty: content.is_empty(),
            content,
            total_elements: page.total_elements,
            total_pages,
            number: page.page,
            size: page.size,
            next_page_token: page.next_page_token,
        }
    }
}

/// Paging of an incident's history, from the query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RevisionParams {
    /// Revisions per page (0 or absent: 20; above 100: 100).
    #[param(minimum = 0)]
    pub page_size: Option<i32>,
    /// The `nextPageToken` of the previous page.
    pub page_token: Option<String>,
}

/// One page of an incident's history, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionPage {
    pub revisions: Vec<IncidentRevision>,
    /// Absent on the last page.
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentRevision {
    pub revision: i64,
    pub time: DateTime<Utc>,
    pub actor_id: Uuid,
    pub actor_name: String,
    pub request_id: Option<Uuid>,
    pub changes: Vec<Change>,
}

/// One field of the body before and after the revision (`null` when unset).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Change {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

impl From<RevisionList> for RevisionPage {
    fn from(list: RevisionList) -> Self {
        RevisionPage {
            revisions: list
                .revisions
                .into_iter()
                .map(|revision| {
                    let Revision {
                        revision,
                        at,
                        actor_id,
                        actor_name,
                        request_id,
                        changes,
                    } = revision;
                    IncidentRevision {
                        revision,
                        time: at,
                        actor_id,
                        actor_name,
                        request_id,
                        changes: changes
                            .into_iter()
                            .map(|FieldChange { field, before, after }| Change { field, before, after })
                            .collect(),
                    }
                })
                .collect(),
            next_page_token: list.next_page_token,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationDto {
    pub id: Uuid,
    pub name: String,
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewOrganizationRequest {
    #[schema(schema_with = name, required = true)]
    pub name: Option<String>,
    #[schema(schema_with = optional_id)]
    pub parent_id: Option<String>,
    /// Refuses a JSON array in place of this object (see `ObjectOnly`).
    #[serde(flatten, skip_serializing)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub object: ObjectOnly,
}

impl From<Organization> for OrganizationDto {
    fn from(o: Organization) -> Self {
        OrganizationDto {
            id: o.id,
            name: o.name,
            parent_id: o.parent_id,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IncidentTypeDto {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct NewIncidentTypeRequest {
    #[schema(schema_with = name, required = true)]
    pub name: Option<String>,
    /// Refuses a JSON array in place of this object (see `ObjectOnly`).
    #[serde(flatten, skip_serializing)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub object: ObjectOnly,
}

impl From<IncidentType> for IncidentTypeDto {
    fn from(t: IncidentType) -> Self {
        IncidentTypeDto { id: t.id, name: t.name }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttributeDto {
    pub id: Uuid,
    pub name: String,
    #[schema(schema_with = attribute_kind)]
    pub r#type: String,
    pub options: Vec<AttributeOptionDto>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttributeOptionDto {
    pub id: Uuid,
    pub value: String,
    pub disabled: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct NewAttributeRequest {
    #[schema(schema_with = name, required = true)]
    pub name: Option<String>,
    /// Absent: `TEXT`.
    #[schema(schema_with = optional_attribute_kind)]
    pub r#type: Option<String>,
    pub options: Option<Vec<NewAttributeOption>>,
    /// Refuses a JSON array in place of this object (see `ObjectOnly`).
    #[serde(flatten, skip_serializing)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub object: ObjectOnly,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct NewAttributeOption {
    #[schema(value_type = String, required = true)]
    pub value: Option<String>,
    pub disabled: Option<bool>,
    /// Refuses a JSON array in place of this object (see `ObjectOnly`).
    #[serde(flatten, skip_serializing)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub object: ObjectOnly,
}

impl From<Attribute> for AttributeDto {
    fn from(a: Attribute) -> Self {
        AttributeDto {
            id: a.id,
            name: a.name,
            r#type: a.kind.as_str().to_owned(),
            options: a
                .options
                .into_iter()
                .map(|o| AttributeOptionDto {
                    id: o.id,
                    value: o.value,
                    disabled: o.disabled,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssigneeDto {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    #[schema(schema_with = assignee_kind)]
    pub r#type: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct NewAssigneeRequest {
    #[schema(schema_with = name, required = true)]
    pub name: Option<String>,
    pub email: Option<String>,
    /// Absent: `USER`.
    #[schema(schema_with = optional_assignee_kind)]
    pub r#type: Option<String>,
    /// Refuses a JSON array in place of this object (see `ObjectOnly`).
    #[serde(flatten, skip_serializing)]
    #[schema(ignore)]
    #[allow(dead_code)]
    pub object: ObjectOnly,
}

impl From<Assignee> for AssigneeDto {
    fn from(a: Assignee) -> Self {
        AssigneeDto {
            id: a.id,
            name: a.name,
            email: a.email,
            r#type: a.kind.as_str().to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JurisdictionDto {
    pub jurisdiction_id: Uuid,
    pub country_code: String,
    pub country_name: String,
    pub state_province_code: Option<String>,
    pub state_province_name: Option<String>,
    pub region_name: String,
}

impl From<Jurisdiction> for JurisdictionDto {
    fn from(j: Jurisdiction) -> Self {
        JurisdictionDto {
            jurisdiction_id: j.id,
            country_code: j.country_code.to_owned(),
            country_name: j.country_name.to_owned(),
            state_province_code: j.state_province_code.map(str::to_owned),
            state_province_name: j.state_province_name.map(str::to_owned),
            region_name: j.region_name.to_owned(),
        }
    }
}

/// The jurisdictions' query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct JurisdictionParams {
    /// Only this country's (ISO 3166 alpha-3) jurisdictions.
    #[param(schema_with = country_code_parameter)]
    pub country_code: Option<String>,
}

/// Every error: a message, a stable reason, and for 400 each field at fault, as a
/// JSON path of the request body (or the name of a path or query parameter or a header).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    /// Stable and UPPER_SNAKE (`INVALID_ARGUMENT`, `STALE_ETAG`, `MISSING_SCOPE`, ...).
    pub reason: String,
    pub violations: Vec<Violation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Violation {
    pub field: String,
    pub description: String,
}

/// `/readyz` and `/healthz`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `UP` or `DOWN`.
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::extract::parse_json;

    #[test]
    fn arrays_are_not_taken_for_objects() {
        let refused = parse_json::<SearchRequest>(br#"{"filters": {"updatedDT": [null, null]}}"#).unwrap_err();
        assert_eq!(refused.into_body().violations[0].field, "filters.updatedDT");
        let parsed: SearchRequest =
            parse_json(br#"{"filters": {"updatedDT": {"from": null}, "unknown": 1}, "fullText": "x"}"#).unwrap();
        assert_eq!(parsed.full_text.as_deref(), Some("x"));
    }

    #[test]
    fn wrong_types_inside_lists_keep_their_path() {
        let refused = parse_json::<IncidentUpdateRequest>(br#"{"jurisdictions": [{"countryCode": 1}]}"#).unwrap_err();
        assert_eq!(refused.into_body().violations[0].field, "jurisdictions[0].countryCode");
    }
}
