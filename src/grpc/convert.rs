//! Translation between the generated proto types and the domain's plain types.
//! Requests are destructured field by field, so a new proto field does not
//! compile until it is handled here.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use uuid::Uuid;

use crate::{
    domain::{
        enums::AssigneeKind,
        incident::Incident,
        input::{AssigneeRef, AttributeValueRef, IncidentFields, WireTime},
        inventory::{CreateOnlyFields, InventoryLinkRef},
        jurisdiction::{Jurisdiction, JurisdictionRef},
        reference::{Assignee, Attribute, IncidentType, Organization},
        revision::{FieldChange, Revision, RevisionList},
        text::name_key,
    },
    pb,
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
        let mut attribute_values = std::collections::BTreeMap::<String, pb::AttributeValueList>::new();
        for chosen in &incident.attribute_values {
            let value = pb::AttributeValue {
                attribute_name: chosen.attribute_name.clone(),
                id: chosen.option.as_ref().map(|o| o.id.to_string()),
                value: chosen.value().to_owned(),
                value_key: chosen.option.as_ref().map(|o| name_key(&o.value)),
                color_code: None,
                option_selection_value: None,
                display_label: chosen.value().to_owned(),
                disabled: chosen.option.as_ref().is_some_and(|o| o.disabled),
            };
            attribute_values
                .entry(chosen.attribute_name.clone())
                .or_default()
                .values
                .push(value);
        }
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
