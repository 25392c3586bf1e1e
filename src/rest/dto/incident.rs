//! The incident's bodies: what create, PUT and PATCH take, and the incident as
//! the API shows it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::*;
use crate::domain::{
    guidance::Guidance,
    input::{AssigneeRef, AttributeValueRef, IncidentFields},
    inventory::{self, CreateOnlyFields, InventoryLinkRef},
    jurisdiction::JurisdictionRef,
    notice::NoticeFields,
    view::{AssigneeView, AttributeValueView, IncidentView, JurisdictionView},
};

/// The body of Update Incident (PUT), and the editable part of Create Incident;
/// `null` is the same as absent. The read-only fields of the incident as the API
/// shows it (`id`, `number`, `createdDT`, `incidentStatus`, ...) are accepted and
/// ignored, so that a body read may be sent back; any other unknown key is a 400
/// naming it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentUpdate {
    #[schema(schema_with = name, required = true, example = "Joe sent an email to the wrong client")]
    pub name: Option<String>,
    pub description: Option<String>,
    /// An incident type of the tenant, by name; absent: `Unknown`.
    #[schema(example = "Misdirected Email")]
    pub incident_type_name: Option<String>,
    /// An organization of the tenant.
    #[schema(value_type = String, format = Uuid, required = true)]
    pub org_group_id: Option<String>,
    #[schema(schema_with = optional_time)]
    pub date_occurred: Option<Time>,
    #[schema(schema_with = optional_time)]
    pub date_discovered: Option<Time>,
    #[schema(schema_with = optional_time)]
    pub deadline: Option<Time>,
    /// Absent: `MANUAL`.
    #[schema(schema_with = optional_source_type)]
    pub source_type: Option<String>,
    pub root_cause: Option<String>,
    /// Absent: `UNKNOWN`.
    #[schema(schema_with = optional_notification_needed)]
    pub notification_needed: Option<String>,
    /// Values by attribute name; an attribute left out ends up empty.
    pub attribute_values: Option<BTreeMap<String, Vec<AttributeValueInput>>>,
    pub incident_assignee_requests: Option<Vec<AssigneeInput>>,
    pub jurisdictions: Option<Vec<JurisdictionInput>>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

/// An attribute value: an option by `id` or by `value`, or free text. The other
/// fields of an attribute value as the API shows it are accepted and ignored.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeValueInput {
    #[schema(schema_with = optional_id)]
    pub id: Option<String>,
    pub value: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssigneeInput {
    #[schema(value_type = String, format = Uuid, required = true)]
    pub assignee_id: Option<String>,
    /// Only for a `USER`.
    pub assignee_email: Option<String>,
    /// Absent: `USER`.
    #[schema(schema_with = optional_assignee_type)]
    pub r#type: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

/// A jurisdiction, by id or by its codes. The other fields of a jurisdiction as
/// the API shows it are accepted and ignored.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JurisdictionInput {
    #[schema(schema_with = optional_id)]
    pub jurisdiction_id: Option<String>,
    /// Absent: `USA`.
    #[schema(schema_with = optional_country_code, example = "USA")]
    pub country_code: Option<String>,
    /// Required for `USA` and `CAN`; accepted in any case.
    #[schema(example = "CA")]
    pub state_province_code: Option<String>,
    /// The individuals affected in this jurisdiction, for the notification
    /// rules with a threshold. Absent: not known, and such a rule needs more
    /// information. Not in the original API.
    #[schema(minimum = 0, maximum = 10_000_000_000_i64)]
    pub affected_individuals: Option<i64>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

/// A notification sent to one recipient of one of the incident's
/// jurisdictions. Not in the original API.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRecord {
    /// A jurisdiction the incident impacts.
    #[schema(schema_with = country_code, required = true, example = "DEU")]
    pub country_code: Option<String>,
    /// Required for `USA` and `CAN`.
    pub state_province_code: Option<String>,
    #[schema(schema_with = recipient, required = true)]
    pub recipient: Option<String>,
    /// When the notification was sent; not in the future.
    #[schema(schema_with = time, required = true)]
    pub notified_at: Option<Time>,
    /// The recipient's reference for it, such as a case number.
    #[schema(max_length = 255)]
    pub reference: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

impl KnownKeys for InventoryLinkInput {
    fn unknown_keys(&self, at: &FieldPath, found: &mut Vec<FieldPath>) {
        self.extra.refuse(at, found);
    }
}

impl KnownKeys for NotificationRecord {
    fn unknown_keys(&self, at: &FieldPath, found: &mut Vec<FieldPath>) {
        self.extra.refuse(at, found);
    }
}

impl From<NotificationRecord> for NoticeFields {
    fn from(record: NotificationRecord) -> Self {
        let NotificationRecord {
            country_code,
            state_province_code,
            recipient,
            notified_at,
            reference,
            extra: _,
        } = record;
        NoticeFields {
            country_code: country_code.unwrap_or_default(),
            state_province_code,
            recipient: recipient.unwrap_or_default(),
            notified_at: notified_at.map(Into::into),
            reference,
        }
    }
}

/// The body of Create Incident: the editable body and the create-only fields.
/// (The gateway reads the two parts separately; this type describes the whole.)
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct IncidentCreate {
    #[serde(flatten)]
    body: IncidentUpdate,
    #[serde(flatten)]
    create_only: IncidentCreateOnly,
}

/// The fields only Create Incident takes.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentCreateOnly {
    /// Links to inventory records by inventory type (`assets`,
    /// `processing-activities`, `vendors`, `entities`).
    pub linked_inventories: Option<BTreeMap<String, InventoryLinkInput>>,
    pub auto_assess_jurisdictions: Option<bool>,
    /// A workflow of the tenant; absent: `Incident Workflow`.
    #[schema(schema_with = optional_id)]
    pub workflow_id: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryLinkInput {
    pub inventory_ids: Option<Vec<String>>,
    pub external_ids: Option<Vec<String>>,
    /// Absent: `MANUAL`.
    #[schema(schema_with = optional_link_source_type)]
    pub source_type: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

/// The body of PATCH: a JSON Merge Patch (RFC 7396) of the update body. Every
/// field is optional; `null` clears a field (or sets its default), and an
/// attribute in `attributeValues` set to `null` loses its values. A read-only
/// field is refused: a patch that names it asks to change it. (Its schema is the
/// update's, made partial, so the two cannot drift apart.)
pub struct IncidentPatch;

impl utoipa::PartialSchema for IncidentPatch {
    fn schema() -> RefOr<Schema> {
        let mut schema = serde_json::to_value(IncidentUpdate::schema()).unwrap_or_default();
        if let Some(object) = schema.as_object_mut() {
            object.remove("required");
            object.insert(
                "description".into(),
                "A JSON Merge Patch (RFC 7396) of IncidentUpdate: every field optional, `null` clears \
                 a field or sets its default, an attribute of `attributeValues` set to `null` loses \
                 its values. A read-only field of the incident (`id`, `number`, ...) is refused: \
                 it cannot be changed."
                    .into(),
            );
        }
        if let Some(values) = schema.pointer_mut("/properties/attributeValues/additionalProperties") {
            *values = serde_json::json!({"oneOf": [values.take(), {"type": "null"}]});
        }
        serde_json::from_value(schema).unwrap_or_default()
    }
}

impl ToSchema for IncidentPatch {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <IncidentUpdate as ToSchema>::schemas(schemas);
    }
}

impl IncidentUpdate {
    /// The unknown keys of this body, where `beside` names keys that another part
    /// of the same request takes.
    fn unknown_keys_beside(&self, at: &FieldPath, beside: &BTreeSet<String>, found: &mut Vec<FieldPath>) {
        self.extra.report(at, &[&READ_ONLY.incident, beside], found);
        for (name, values) in self.attribute_values.iter().flatten() {
            for (i, value) in values.iter().enumerate() {
                let at = at.clone().field("attributeValues").key(name).values().index(i);
                value.extra.report(&at, &[&READ_ONLY.attribute_value], found);
            }
        }
        for (i, assignee) in self.incident_assignee_requests.iter().flatten().enumerate() {
            assignee
                .extra
                .refuse(&at.clone().field("incidentAssigneeRequests").index(i), found);
        }
        for (i, jurisdiction) in self.jurisdictions.iter().flatten().enumerate() {
            let at = at.clone().field("jurisdictions").index(i);
            jurisdiction.extra.report(&at, &[&READ_ONLY.jurisdiction], found);
        }
    }
}

impl KnownKeys for IncidentUpdate {
    fn unknown_keys(&self, at: &FieldPath, found: &mut Vec<FieldPath>) {
        self.unknown_keys_beside(at, &BTreeSet::new(), found);
    }
}

/// A create body, read as its two parts: a key is unknown when neither knows it.
impl KnownKeys for (IncidentUpdate, IncidentCreateOnly) {
    fn unknown_keys(&self, at: &FieldPath, found: &mut Vec<FieldPath>) {
        let (body, create_only) = self;
        body.unknown_keys_beside(at, &READ_ONLY.create_only, found);
        for (kind, link) in create_only.linked_inventories.iter().flatten() {
            link.extra
                .refuse(&at.clone().field("linkedInventories").key(kind), found);
        }
    }
}

impl From<IncidentUpdate> for IncidentFields {
    fn from(body: IncidentUpdate) -> Self {
        let IncidentUpdate {
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
            extra: _,
        } = body;
        IncidentFields {
            name: name.unwrap_or_default(),
            description,
            incident_type_name: incident_type_name.unwrap_or_default(),
            org_group_id: org_group_id.unwrap_or_default(),
            date_occurred: date_occurred.map(Into::into),
            date_discovered: date_discovered.map(Into::into),
            deadline: deadline.map(Into::into),
            source_type,
            root_cause,
            notification_needed,
            attribute_values: attribute_values
                .unwrap_or_default()
                .into_iter()
                .map(|(name, values)| {
                    let values = values
                        .into_iter()
                        .map(|AttributeValueInput { id, value, extra: _ }| AttributeValueRef { id, value })
                        .collect();
                    (name, values)
                })
                .collect(),
            assignees: incident_assignee_requests
                .unwrap_or_default()
                .into_iter()
                .map(
                    |AssigneeInput {
                         assignee_id,
                         assignee_email,
                         r#type,
                         extra: _,
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
                    |JurisdictionInput {
                         jurisdiction_id,
                         country_code,
                         state_province_code,
                         affected_individuals,
                         extra: _,
                     }| JurisdictionRef {
                        jurisdiction_id,
                        country_code: country_code.unwrap_or_default(),
                        state_province_code,
                        affected_individuals,
                    },
                )
                .collect(),
        }
    }
}

impl From<IncidentCreateOnly> for CreateOnlyFields {
    fn from(request: IncidentCreateOnly) -> Self {
        let IncidentCreateOnly {
            linked_inventories,
            auto_assess_jurisdictions,
            workflow_id,
            extra: _,
        } = request;
        let linked_inventories = linked_inventories
            .unwrap_or_default()
            .into_iter()
            .map(|(kind, link)| {
                let InventoryLinkInput {
                    inventory_ids,
                    external_ids,
                    source_type,
                    extra: _,
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
            workflow_id,
        }
    }
}

/// An incident as the original API shows it (`IncidentInformation`), with the
/// revision and its etag.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
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
    /// The first user among the assignees.
    pub assignee_id: Option<Uuid>,
    pub assignee_name: Option<String>,
    #[serde(rename = "createdDT")]
    pub created_dt: DateTime<Utc>,
    pub workflow_id: Uuid,
    pub workflow_name: String,
    pub incident_stage_id: Uuid,
    pub incident_stage_name: String,
    pub incident_stage_badge_color: Option<String>,
    #[schema(schema_with = notification_needed)]
    pub notification_needed: String,
    #[schema(schema_with = incident_status)]
    pub incident_status: String,
    pub schema_id: Uuid,
    #[serde(rename = "updatedDT")]
    pub updated_dt: DateTime<Utc>,
    pub attribute_values: BTreeMap<String, Vec<AttributeValue>>,
    pub incident_assignee_information: Vec<AssigneeInformation>,
    /// Always empty: attachments are not kept here.
    pub attachments: Vec<Value>,
    pub jurisdictions: Vec<JurisdictionInformation>,
    pub closed_setting_on: bool,
    pub linked_inventories: BTreeMap<String, InventoryLinks>,
    /// 1 at creation, one more with every update that changes something.
    pub revision: i64,
    /// The `ETag` of this revision, for `If-Match`.
    pub etag: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttributeValue {
    pub attribute_name: String,
    /// The option's id; none for free text.
    pub id: Option<Uuid>,
    pub value: String,
    pub value_key: Option<String>,
    /// Always absent: options have no colours here.
    pub color_code: Option<String>,
    /// Always absent.
    pub option_selection_value: Option<String>,
    pub display_label: String,
    pub disabled: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssigneeInformation {
    pub assignee_id: Uuid,
    pub assignee_name: String,
    #[schema(schema_with = assignee_type)]
    pub r#type: String,
}

/// An impacted jurisdiction and its notification guidance: the notification
/// rules that apply to the incident here, each recipient's most pressing state
/// and earliest open deadline, and the urgency as of the answer. A
/// jurisdiction no rule covers has no guidance: `urgency` is `NONE` and the
/// notify fields are absent.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JurisdictionInformation {
    pub jurisdiction_id: Uuid,
    pub region_name: String,
    pub country_name: String,
    pub country_code: String,
    pub state_province_name: Option<String>,
    pub state_province_code: Option<String>,
    #[schema(schema_with = urgency)]
    pub urgency: String,
    #[schema(schema_with = optional_notify_state)]
    pub notify_individual: Option<String>,
    pub notify_individual_deadline: Option<DateTime<Utc>>,
    #[schema(schema_with = optional_notify_state)]
    pub notify_authority: Option<String>,
    pub notify_authority_deadline: Option<DateTime<Utc>>,
    /// The rules that apply.
    pub number_of_guidances: i32,
    /// Those whose notification is required.
    pub number_of_accepted_guidances: i32,
    /// Those whose recipient has been notified (record a notification).
    pub number_of_addressed_guidances: i32,
    /// One per notification rule that applies here: how each deadline was
    /// reached. Not in the original API.
    pub guidances: Vec<GuidanceInformation>,
    /// As given; absent when not known.
    pub affected_individuals: Option<u64>,
}

/// One notification rule applied to the incident in one jurisdiction.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GuidanceInformation {
    pub rule_id: String,
    #[schema(schema_with = recipient)]
    pub recipient: String,
    #[schema(schema_with = notify_state)]
    pub state: String,
    /// `clockStart` plus the window while the duty is open; absent without a
    /// clock start, for a window with no fixed end, or past the year 9999.
    pub deadline: Option<DateTime<Utc>>,
    pub window: super::reference::NotificationWindow,
    /// The incident's `dateDiscovered`, which the window is counted from.
    pub clock_start: Option<DateTime<Utc>>,
    /// Whether `dateDiscovered` stands in for a moment the incident does not
    /// record (a determination or an assessment the law counts from).
    pub clock_start_assumed: bool,
    pub citation: String,
    pub source_url: String,
    /// When the recipient was notified, as recorded; absent until then.
    pub notified_at: Option<DateTime<Utc>>,
    /// The recipient's reference for the notification, if recorded.
    pub reference: Option<String>,
    /// Whether the notification came after the deadline; absent while none is
    /// recorded or there is no deadline.
    pub late: Option<bool>,
}

impl From<Guidance> for GuidanceInformation {
    fn from(guidance: Guidance) -> Self {
        GuidanceInformation {
            rule_id: guidance.rule.id.clone(),
            recipient: guidance.recipient().as_str().to_owned(),
            state: guidance.state.as_str().to_owned(),
            deadline: guidance.deadline,
            window: guidance.window().into(),
            clock_start: guidance.clock_start,
            clock_start_assumed: guidance.clock_start_assumed(),
            citation: guidance.rule.citation.clone(),
            source_url: guidance.rule.source_url.clone(),
            late: guidance.late(),
            notified_at: guidance.notice.as_ref().map(|n| n.notified_at),
            reference: guidance.notice.and_then(|n| n.reference),
        }
    }
}

/// The inventory types, as the paths name them.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InventoryTypeName {
    Assets,
    ProcessingActivities,
    Vendors,
    Entities,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryLinks {
    pub inventory_ids: Vec<Uuid>,
    pub external_ids: Vec<String>,
    #[schema(schema_with = source_type)]
    pub source_type: String,
}

/// Attribute values by attribute name.
pub(super) fn attribute_values(
    by_name: BTreeMap<String, Vec<AttributeValueView>>,
) -> BTreeMap<String, Vec<AttributeValue>> {
    by_name
        .into_iter()
        .map(|(name, values)| {
            let values = values
                .into_iter()
                .map(|v| AttributeValue {
                    attribute_name: v.attribute_name,
                    id: v.id,
                    display_label: v.value.clone(),
                    value: v.value,
                    value_key: v.value_key,
                    color_code: None,
                    option_selection_value: None,
                    disabled: v.disabled,
                })
                .collect();
            (name, values)
        })
        .collect()
}

impl From<JurisdictionView> for JurisdictionInformation {
    fn from(view: JurisdictionView) -> Self {
        let JurisdictionView {
            jurisdiction: j,
            affected_individuals,
            urgency,
            notify_individual,
            notify_individual_deadline,
            notify_authority,
            notify_authority_deadline,
            number_of_guidances,
            number_of_accepted_guidances,
            number_of_addressed_guidances,
            guidances,
        } = view;
        JurisdictionInformation {
            jurisdiction_id: j.id,
            region_name: j.region_name.to_owned(),
            country_name: j.country_name.to_owned(),
            country_code: j.country_code.to_owned(),
            state_province_name: j.state_province_name.map(str::to_owned),
            state_province_code: j.state_province_code.map(str::to_owned),
            urgency: urgency.as_str().to_owned(),
            notify_individual: notify_individual.map(|s| s.as_str().to_owned()),
            notify_individual_deadline,
            notify_authority: notify_authority.map(|s| s.as_str().to_owned()),
            notify_authority_deadline,
            number_of_guidances,
            number_of_accepted_guidances,
            number_of_addressed_guidances,
            guidances: guidances.into_iter().map(Into::into).collect(),
            affected_individuals,
        }
    }
}

impl From<IncidentView> for Incident {
    fn from(view: IncidentView) -> Self {
        let IncidentView {
            id,
            number,
            incident_type,
            name,
            description,
            source_type,
            organization,
            root_cause,
            date_occurred,
            date_closed,
            date_discovered,
            deadline,
            created_by,
            creator,
            assignee,
            created_at,
            updated_at,
            stage,
            notification_needed,
            status,
            schema_id,
            attribute_values: values,
            assignees,
            jurisdictions,
            closed_setting_on,
            linked_inventories,
            revision,
            etag,
        } = view;
        Incident {
            id,
            number,
            incident_type_id: incident_type.id,
            incident_type_name: incident_type.name,
            name,
            description,
            source_type: source_type.as_str().to_owned(),
            assessment_links: Vec::new(),
            org_group_id: organization.id,
            org_group_name: organization.name,
            root_cause,
            date_occurred,
            date_closed,
            date_discovered,
            deadline,
            created_by,
            creator,
            assignee_id: assignee.as_ref().map(|u| u.id),
            assignee_name: assignee.map(|u| u.name),
            created_dt: created_at,
            workflow_id: stage.workflow_id,
            workflow_name: stage.workflow_name,
            incident_stage_id: stage.stage_id,
            incident_stage_name: stage.stage_name,
            incident_stage_badge_color: stage.badge_color,
            notification_needed: notification_needed.as_str().to_owned(),
            incident_status: status.as_str().to_owned(),
            schema_id,
            updated_dt: updated_at,
            attribute_values: attribute_values(values),
            incident_assignee_information: assignees
                .into_iter()
                .map(|AssigneeView { id, name, kind }| AssigneeInformation {
                    assignee_id: id,
                    assignee_name: name,
                    r#type: kind.as_str().to_owned(),
                })
                .collect(),
            attachments: Vec::new(),
            jurisdictions: jurisdictions.into_iter().map(Into::into).collect(),
            closed_setting_on,
            linked_inventories: linked_inventories
                .into_iter()
                .map(|links| (links.inventory_type.as_str().to_owned(), links.into()))
                .collect(),
            revision,
            etag,
        }
    }
}

impl From<inventory::InventoryLinks> for InventoryLinks {
    fn from(links: inventory::InventoryLinks) -> Self {
        let inventory::InventoryLinks {
            inventory_type: _,
            inventory_ids,
            external_ids,
            source_type,
        } = links;
        InventoryLinks {
            inventory_ids,
            external_ids,
            source_type: source_type.as_str().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::extract::parse_json;

    #[test]
    fn wrong_types_inside_lists_keep_their_path() {
        let refused = parse_json::<IncidentUpdate>(br#"{"jurisdictions": [{"countryCode": 1}]}"#).unwrap_err();
        assert_eq!(refused.into_body().violations[0].field, "jurisdictions[0].countryCode");
    }

    #[test]
    fn unknown_keys_are_found_at_every_level_and_read_only_ones_are_not() {
        let body: IncidentUpdate = parse_json(
            br#"{"name": "x", "rootcause": "typo", "id": "ignored", "createdDT": "ignored",
                 "attributeValues": {"Ticket": [{"value": "A", "displayLabel": "A", "colour": 1}]},
                 "incidentAssigneeRequests": [{"assigneeId": "a", "assigneeName": "no"}],
                 "jurisdictions": [{"countryCode": "DEU", "countryName": "Germany", "state": "x"}]}"#,
        )
        .unwrap();
        let mut found = Vec::new();
        body.unknown_keys(&FieldPath::root(), &mut found);
        let found: Vec<String> = found.iter().map(crate::rest::error::rest_path).collect();
        assert_eq!(
            found,
            [
                "rootcause",
                "attributeValues.Ticket[0].colour",
                "incidentAssigneeRequests[0].assigneeName",
                "jurisdictions[0].state"
            ]
        );
    }
}
