//! Translation between the generated proto types and the domain's plain types.
//! Requests are destructured field by field, so a new proto field does not
//! compile until it is handled here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use uuid::Uuid;

use crate::{
    domain::{
        enums::AssigneeKind,
        incident::{ChosenValue, Incident},
        input::{AssigneeRef, AttributeValueRef, IncidentFields, WireTime},
        inventory::{CreateOnlyFields, InventoryLinkRef},
        jurisdiction::{Jurisdiction, JurisdictionRef},
        reference::{Assignee, Attribute, IncidentType, Organization},
        revision::{FieldChange, Revision, RevisionList},
        search::{FilterFields, RangeFields, SearchFields, SearchPage},
    },
    pb,
    service::UpdateRequest,
};

/// The original name of a proto enum value; `None` when unset (0), the number
/// itself when it is not a known value, so that the domain can refuse it.
fn enum_name<E>(raw: i32, name: impl Fn(&E) -> &'static str) -> Option<String>
where
    E: TryFrom<i32>,
{
    if raw == 0 {
        return None;
    }
    Some(
        E::try_from(raw)
            .map(|v| name(&v).to_owned())
            .unwrap_or_else(|_| raw.to_string()),
    )
}

fn wire_time(t: Timestamp) -> WireTime {
    WireTime {
        seconds: t.seconds,
        nanos: t.nanos,
    }
}

fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }
}

/// The enum value of a domain vocabulary name, by its proto name.
fn enum_value<E>(name: &str, from_name: impl Fn(&str) -> Option<E>) -> i32
where
    E: Into<i32>,
{
    from_name(name).map(Into::into).unwrap_or_default()
}

impl From<pb::IncidentUpdate> for IncidentFields {
    fn from(body: pb::IncidentUpdate) -> Self {
        let pb::IncidentUpdate {
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
        } = body;
        IncidentFields {
            name,
            description,
            incident_type_name,
            org_group_id,
            date_occurred: date_occurred.map(wire_time),
            date_discovered: date_discovered.map(wire_time),
            deadline: deadline.map(wire_time),
            source_type: enum_name(source_type, pb::source_type::Value::as_str_name),
            root_cause,
            notification_needed: enum_name(notification_needed, pb::notification_needed::Value::as_str_name),
            attribute_values: attribute_values
                .into_iter()
                .map(|(name, list)| (name, list.values.into_iter().map(attribute_value_ref).collect()))
                .collect(),
            assignees: incident_assignee_requests.into_iter().map(assignee_ref).collect(),
            jurisdictions: jurisdictions.into_iter().map(jurisdiction_ref).collect(),
        }
    }
}

/// The create body: the editable body plus the create-only fields.
/// An update as the use case takes it.
pub fn update_request(request: pb::UpdateIncidentRequest) -> UpdateRequest {
    let pb::UpdateIncidentRequest {
        incident_id,
        incident,
        etag,
        update_mask,
        request_id,
    } = request;
    UpdateRequest {
        incident_id,
        body: incident.map(Into::into),
        etag,
        // An empty mask, like none, replaces the whole body.
        update_mask: update_mask.map(|mask| mask.paths).filter(|paths| !paths.is_empty()),
        request_id,
    }
}

pub fn create_body(body: pb::IncidentCreate) -> (IncidentFields, CreateOnlyFields) {
    let pb::IncidentCreate {
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
        auto_assess_jurisdictions,
        linked_inventories,
    } = body;
    let editable = pb::IncidentUpdate {
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
    };
    let linked_inventories = linked_inventories
        .into_iter()
        .map(|(inventory_type, link)| {
            let pb::InventoryLinkInput {
                inventory_ids,
                external_ids,
                source_type,
            } = link;
            let source_type = enum_name(source_type, pb::source_type::Value::as_str_name);
            (
                inventory_type,
                InventoryLinkRef {
                    inventory_ids,
                    external_ids,
                    source_type,
                },
            )
        })
        .collect();
    (
        editable.into(),
        CreateOnlyFields {
            auto_assess_jurisdictions,
            linked_inventories,
        },
    )
}

fn attribute_value_ref(value: pb::AttributeValueInput) -> AttributeValueRef {
    let pb::AttributeValueInput { id, value } = value;
    AttributeValueRef { id, value }
}

fn assignee_ref(assignee: pb::AssigneeInput) -> AssigneeRef {
    let pb::AssigneeInput {
        assignee_id,
        assignee_email,
        r#type,
    } = assignee;
    AssigneeRef {
        assignee_id,
        assignee_email,
        kind: enum_name(r#type, pb::assignee_type::Value::as_str_name),
    }
}

fn jurisdiction_ref(jurisdiction: pb::JurisdictionInput) -> JurisdictionRef {
    let pb::JurisdictionInput {
        jurisdiction_id,
        country_code,
        state_province_code,
    } = jurisdiction;
    JurisdictionRef {
        jurisdiction_id,
        country_code,
        state_province_code,
    }
}

/// The proto name of an assignee kind: requests and directory entries alike.
pub fn assignee_type(kind: AssigneeKind) -> i32 {
    enum_value(kind.as_str(), pb::assignee_type::Value::from_str_name)
}

/// The name of a request's enum value, for the domain to parse.
pub fn assignee_kind_name(raw: i32) -> Option<String> {
    enum_name(raw, pb::assignee_type::Value::as_str_name)
}

pub fn attribute_kind_name(raw: i32) -> Option<String> {
    enum_name(raw, pb::attribute_type::Value::as_str_name)
}

impl From<Incident> for pb::Incident {
    fn from(incident: Incident) -> Self {
        let user = incident.user_assignee().cloned();
        let schema_id = incident.schema_id().to_string();
        let etag = incident.etag();
        let attribute_values = attribute_values(&incident.attribute_values);
        pb::Incident {
            id: incident.id.to_string(),
            number: incident.number,
            incident_type_id: incident.incident_type.id.to_string(),
            incident_type_name: incident.incident_type.name,
            name: incident.name,
            description: incident.description,
            source_type: enum_value(incident.source_type.as_str(), pb::source_type::Value::from_str_name),
            assessment_links: Vec::new(),
            org_group_id: incident.organization.id.to_string(),
            org_group_name: incident.organization.name,
            root_cause: incident.root_cause,
            date_occurred: incident.date_occurred.map(timestamp),
            date_closed: incident.date_closed.map(timestamp),
            date_discovered: incident.date_discovered.map(timestamp),
            deadline: incident.deadline.map(timestamp),
            created_by: incident.created_by.to_string(),
            creator: incident.creator,
            assignee_id: user.as_ref().map(|u| u.id.to_string()),
            assignee_name: user.map(|u| u.name),
            created_dt: Some(timestamp(incident.created_at)),
            workflow_id: None,
            workflow_name: None,
            incident_stage_id: None,
            incident_stage_name: None,
            incident_stage_badge_color: None,
            notification_needed: enum_value(
                incident.notification_needed.as_str(),
                pb::notification_needed::Value::from_str_name,
            ),
            incident_status: enum_value(incident.status.as_str(), pb::incident_status::Value::from_str_name),
            schema_id,
            updated_dt: Some(timestamp(incident.updated_at)),
            attribute_values,
            incident_assignee_information: incident
                .assignees
                .into_iter()
                .map(|a| pb::AssigneeInformation {
                    assignee_id: a.assignee.id.to_string(),
                    assignee_name: a.assignee.name,
                    r#type: assignee_type(a.assignee.kind),
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
                    let source_type = enum_value(links.source_type.as_str(), pb::source_type::Value::from_str_name);
                    let value = pb::InventoryLinks {
                        inventory_ids: links.inventory_ids.iter().map(Uuid::to_string).collect(),
                        external_ids: links.external_ids,
                        source_type,
                    };
                    (links.inventory_type.as_str().to_owned(), value)
                })
                .collect(),
            etag,
            revision: incident.revision,
        }
    }
}

impl From<Revision> for pb::IncidentRevision {
    fn from(revision: Revision) -> Self {
        let Revision {
            revision,
            at,
            actor_id,
            actor_name,
            request_id,
            changes,
        } = revision;
        pb::IncidentRevision {
            revision,
            time: Some(timestamp(at)),
            actor_id: actor_id.to_string(),
            actor_name,
            request_id: request_id.map(|id| id.to_string()),
            changes: changes
                .into_iter()
                .map(|FieldChange { field, before, after }| pb::FieldChange {
                    field,
                    before: Some(json_value(before)),
                    after: Some(json_value(after)),
                })
                .collect(),
        }
    }
}

impl From<RevisionList> for pb::ListIncidentRevisionsResponse {
    fn from(list: RevisionList) -> Self {
        pb::ListIncidentRevisionsResponse {
            revisions: list.revisions.into_iter().map(Into::into).collect(),
            next_page_token: list.next_page_token.unwrap_or_default(),
        }
    }
}

/// A JSON value as a `google.protobuf.Value`.
fn json_value(value: serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    use serde_json::Value;
    let kind = match value {
        Value::Null => Kind::NullValue(prost_types::NullValue::NullValue.into()),
        Value::Bool(b) => Kind::BoolValue(b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(json_value).collect(),
        }),
        Value::Object(map) => Kind::StructValue(prost_types::Struct {
            fields: map.into_iter().map(|(k, v)| (k, json_value(v))).collect(),
        }),
    };
    prost_types::Value { kind: Some(kind) }
}

/// Attribute values by attribute name, as incidents and summaries show them.
fn attribute_values(chosen: &[ChosenValue]) -> BTreeMap<String, pb::AttributeValueList> {
    let mut by_name = BTreeMap::<String, pb::AttributeValueList>::new();
    for chosen in chosen {
        let value = pb::AttributeValue {
            attribute_name: chosen.attribute_name.clone(),
            id: chosen.option.as_ref().map(|o| o.id.to_string()),
            value: chosen.value().to_owned(),
            value_key: chosen.value_key(),
            color_code: None,
            option_selection_value: None,
            display_label: chosen.value().to_owned(),
            disabled: chosen.disabled(),
        };
        by_name
            .entry(chosen.attribute_name.clone())
            .or_default()
            .values
            .push(value);
    }
    by_name
}

/// A search request in the domain's plain fields.
pub fn search_fields(request: pb::SearchIncidentsRequest) -> SearchFields {
    let pb::SearchIncidentsRequest {
        filters,
        full_text,
        page,
        size,
        sort,
        page_token,
    } = request;
    let pb::SearchFilters {
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
    } = filters.unwrap_or_default();
    /// Enum values by name; unset (0) and unknown numbers as their number, to be refused.
    fn names<E: TryFrom<i32>>(raw: Vec<i32>, name: impl Fn(&E) -> &'static str + Copy) -> Vec<String> {
        raw.into_iter()
            .map(|r| enum_name(r, name).unwrap_or_else(|| r.to_string()))
            .collect()
    }
    let range = |range: Option<pb::TimeRange>| {
        range.map(|pb::TimeRange { from, to }| RangeFields {
            from: from.map(wire_time),
            to: to.map(wire_time),
        })
    };
    SearchFields {
        filters: FilterFields {
            incident_ids,
            numbers,
            assignee_ids,
            incident_type_ids,
            org_group_ids,
            include_descendant_orgs,
            created_by,
            notification_needed: names(notification_needed, pb::notification_needed::Value::as_str_name),
            incident_status: names(incident_status, pb::incident_status::Value::as_str_name),
            source_type: names(source_type, pb::source_type::Value::as_str_name),
            date_occurred: range(date_occurred),
            date_discovered: range(date_discovered),
            deadline: range(deadline),
            created_dt: range(created_dt),
            updated_dt: range(updated_dt),
        },
        full_text,
        page,
        // proto3 cannot tell 0 from unset: 0 means the default.
        size: Some(size).filter(|size| *size != 0),
        sort,
        page_token,
    }
}

impl From<SearchPage> for pb::SearchIncidentsResponse {
    fn from(page: SearchPage) -> Self {
        let total_pages = page.total_elements.div_ceil(page.size.max(1));
        pb::SearchIncidentsResponse {
            incidents: page.incidents.into_iter().map(summary).collect(),
            total_elements: i64::try_from(page.total_elements).unwrap_or(i64::MAX),
            total_pages: i32::try_from(total_pages).unwrap_or(i32::MAX),
            number: i32::try_from(page.page).unwrap_or(i32::MAX),
            size: i32::try_from(page.size).unwrap_or(i32::MAX),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }
    }
}

/// The summary of an incident: the fields of the incident a search shows, each
/// converted once, in `From<Incident> for pb::Incident`.
fn summary(incident: Incident) -> pb::IncidentSummary {
    let pb::Incident {
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
    pb::IncidentSummary {
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

fn jurisdiction_information(j: &Jurisdiction) -> pb::JurisdictionInformation {
    pb::JurisdictionInformation {
        jurisdiction_id: j.id.to_string(),
        region_name: j.region_name.to_owned(),
        country_name: j.country_name.to_owned(),
        country_code: j.country_code.to_owned(),
        state_province_name: j.state_province_name.map(str::to_owned),
        state_province_code: j.state_province_code.map(str::to_owned),
        urgency: pb::urgency::Value::None.into(),
        notify_individual: 0,
        notify_individual_deadline: None,
        notify_authority: 0,
        notify_authority_deadline: None,
        number_of_guidances: 0,
        number_of_accepted_guidances: 0,
        number_of_addressed_guidances: 0,
    }
}

impl From<Organization> for pb::Organization {
    fn from(o: Organization) -> Self {
        pb::Organization {
            id: o.id.to_string(),
            name: o.name,
            parent_id: o.parent_id.map(|p| p.to_string()),
        }
    }
}

impl From<IncidentType> for pb::IncidentType {
    fn from(t: IncidentType) -> Self {
        pb::IncidentType {
            id: t.id.to_string(),
            name: t.name,
        }
    }
}

impl From<Attribute> for pb::Attribute {
    fn from(a: Attribute) -> Self {
        pb::Attribute {
            id: a.id.to_string(),
            name: a.name,
            r#type: enum_value(a.kind.as_str(), pb::attribute_type::Value::from_str_name),
            options: a
                .options
                .into_iter()
                .map(|o| pb::AttributeOption {
                    id: o.id.to_string(),
                    value: o.value,
                    disabled: o.disabled,
                })
                .collect(),
        }
    }
}

impl From<Assignee> for pb::Assignee {
    fn from(a: Assignee) -> Self {
        pb::Assignee {
            id: a.id.to_string(),
            name: a.name,
            email: a.email,
            r#type: assignee_type(a.kind),
        }
    }
}

impl From<Jurisdiction> for pb::Jurisdiction {
    fn from(j: Jurisdiction) -> Self {
        pb::Jurisdiction {
            jurisdiction_id: j.id.to_string(),
            country_code: j.country_code.to_owned(),
            country_name: j.country_name.to_owned(),
            state_province_code: j.state_province_code.map(str::to_owned),
            state_province_name: j.state_province_name.map(str::to_owned),
            region_name: j.region_name.to_owned(),
        }
    }
}
