//! Translation between the generated proto types and the domain's plain types.
//! Requests are destructured field by field, so a new proto field does not
//! compile until it is handled here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use uuid::Uuid;

use crate::{
    domain::{
        enums::{AssigneeKind, NotifyState},
        event::{Event, WatchFields},
        guidance::Guidance,
        input::{AssigneeRef, AttributeValueRef, IncidentFields, WireTime},
        inventory::{CreateOnlyFields, InventoryLinkRef, InventoryLinks},
        jurisdiction::{Jurisdiction, JurisdictionRef},
        notice::NoticeFields,
        notification::{Rule, Window},
        reference::{Assignee, Attribute, IncidentType, Organization},
        revision::{FieldChange, Revision, RevisionList},
        search::{FilterFields, RangeFields, SearchFields, SearchPage},
        view::{AttributeValueView, IncidentSummaryView, IncidentView, JurisdictionView, StageView},
        workflow::{Stage as WorkflowStage, StageFields, Workflow},
    },
    pb,
    service::{LinkRequest, NotificationRequest, StageRequest, UnlinkRequest, UpdateRequest, WatchItem},
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
fn vocabulary<E>(name: &str, from_name: impl Fn(&str) -> Option<E>) -> i32
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
pub fn notification_request(request: pb::RecordNotificationRequest) -> NotificationRequest {
    let pb::RecordNotificationRequest {
        incident_id,
        country_code,
        state_province_code,
        recipient,
        notified_at,
        reference,
        request_id,
        etag,
    } = request;
    NotificationRequest {
        incident_id,
        notice: NoticeFields {
            country_code,
            state_province_code,
            // Unset is "not given"; an unknown number is refused by name.
            recipient: enum_name(recipient, pb::recipient::Value::as_str_name).unwrap_or_default(),
            notified_at: notified_at.map(wire_time),
            reference,
        },
        etag,
        request_id,
    }
}

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
        workflow_id,
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
            workflow_id,
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
        affected_individuals,
    } = jurisdiction;
    JurisdictionRef {
        jurisdiction_id,
        country_code,
        state_province_code,
        affected_individuals,
    }
}

/// The proto name of an assignee kind: requests and directory entries alike.
pub fn assignee_type(kind: AssigneeKind) -> i32 {
    vocabulary(kind.as_str(), pb::assignee_type::Value::from_str_name)
}

/// The name of a request's enum value, for the domain to parse.
pub fn assignee_kind_name(raw: i32) -> Option<String> {
    enum_name(raw, pb::assignee_type::Value::as_str_name)
}

pub fn attribute_kind_name(raw: i32) -> Option<String> {
    enum_name(raw, pb::attribute_type::Value::as_str_name)
}

impl From<IncidentView> for pb::Incident {
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
            attribute_values,
            assignees,
            jurisdictions,
            closed_setting_on,
            linked_inventories,
            revision,
            etag,
        } = view;
        let stage = Stage::from(stage);
        pb::Incident {
            id: id.to_string(),
            number,
            incident_type_id: incident_type.id.to_string(),
            incident_type_name: incident_type.name,
            name,
            description,
            source_type: vocabulary(source_type.as_str(), pb::source_type::Value::from_str_name),
            assessment_links: Vec::new(),
            org_group_id: organization.id.to_string(),
            org_group_name: organization.name,
            root_cause,
            date_occurred: date_occurred.map(timestamp),
            date_closed: date_closed.map(timestamp),
            date_discovered: date_discovered.map(timestamp),
            deadline: deadline.map(timestamp),
            created_by: created_by.to_string(),
            creator,
            assignee_id: assignee.as_ref().map(|u| u.id.to_string()),
            assignee_name: assignee.map(|u| u.name),
            created_dt: Some(timestamp(created_at)),
            workflow_id: stage.workflow_id,
            workflow_name: stage.workflow_name,
            incident_stage_id: stage.stage_id,
            incident_stage_name: stage.stage_name,
            incident_stage_badge_color: stage.badge_color,
            notification_needed: vocabulary(
                notification_needed.as_str(),
                pb::notification_needed::Value::from_str_name,
            ),
            incident_status: vocabulary(status.as_str(), pb::incident_status::Value::from_str_name),
            schema_id: schema_id.to_string(),
            updated_dt: Some(timestamp(updated_at)),
            attribute_values: attribute_values_by_name(attribute_values),
            incident_assignee_information: assignees
                .into_iter()
                .map(|a| pb::AssigneeInformation {
                    assignee_id: a.id.to_string(),
                    assignee_name: a.name,
                    r#type: assignee_type(a.kind),
                })
                .collect(),
            attachments: Vec::new(),
            jurisdictions: jurisdictions.into_iter().map(jurisdiction_information).collect(),
            closed_setting_on,
            linked_inventories: linked_inventories
                .into_iter()
                .map(|links| (links.inventory_type.as_str().to_owned(), links.into()))
                .collect(),
            etag,
            revision,
        }
    }
}

/// A stage's fields as the messages carry them.
struct Stage {
    workflow_id: Option<String>,
    workflow_name: Option<String>,
    stage_id: Option<String>,
    stage_name: Option<String>,
    badge_color: Option<String>,
}

impl From<StageView> for Stage {
    fn from(stage: StageView) -> Self {
        let StageView {
            workflow_id,
            workflow_name,
            stage_id,
            stage_name,
            badge_color,
        } = stage;
        Stage {
            workflow_id: Some(workflow_id.to_string()),
            workflow_name: Some(workflow_name),
            stage_id: Some(stage_id.to_string()),
            stage_name: Some(stage_name),
            badge_color,
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
            justification,
        } = revision;
        pb::IncidentRevision {
            revision,
            time: Some(timestamp(at)),
            actor_id: actor_id.to_string(),
            actor_name,
            request_id: request_id.map(|id| id.to_string()),
            changes: all_changes(changes),
            justification,
        }
    }
}

fn all_changes(changes: Vec<FieldChange>) -> Vec<pb::FieldChange> {
    changes
        .into_iter()
        .map(|FieldChange { field, before, after }| pb::FieldChange {
            field,
            before: Some(json_value(before)),
            after: Some(json_value(after)),
        })
        .collect()
}

pub fn watch_fields(request: pb::WatchIncidentsRequest) -> WatchFields {
    let pb::WatchIncidentsRequest {
        after_sequence,
        event_types,
        changed_fields,
        incident_ids,
    } = request;
    WatchFields {
        after_sequence,
        event_types,
        changed_fields,
        incident_ids,
    }
}

impl From<WatchItem> for pb::WatchIncidentsResponse {
    fn from(item: WatchItem) -> Self {
        use pb::watch_incidents_response::Message;
        let message = match item {
            WatchItem::Event(event) => Message::Event((*event).into()),
            WatchItem::Bookmark(sequence) => Message::Bookmark(pb::Bookmark { sequence }),
        };
        pb::WatchIncidentsResponse { message: Some(message) }
    }
}

impl From<Event> for pb::IncidentEvent {
    fn from(event: Event) -> Self {
        let Event {
            event_id,
            sequence,
            kind,
            tenant_id: _,
            incident_id,
            revision,
            occurred_at,
            actor_id,
            actor_name,
            changes,
        } = event;
        pb::IncidentEvent {
            event_id: event_id.to_string(),
            sequence,
            r#type: kind.as_str().to_owned(),
            incident_id: incident_id.to_string(),
            revision,
            occurred_at: Some(timestamp(occurred_at)),
            actor: Some(pb::EventActor {
                id: actor_id.to_string(),
                name: actor_name,
            }),
            changes: all_changes(changes),
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
fn attribute_values_by_name(
    by_name: BTreeMap<String, Vec<AttributeValueView>>,
) -> BTreeMap<String, pb::AttributeValueList> {
    by_name
        .into_iter()
        .map(|(name, values)| {
            let values = values
                .into_iter()
                .map(|v| pb::AttributeValue {
                    attribute_name: v.attribute_name,
                    id: v.id.map(|id| id.to_string()),
                    display_label: v.value.clone(),
                    value: v.value,
                    value_key: v.value_key,
                    color_code: None,
                    option_selection_value: None,
                    disabled: v.disabled,
                })
                .collect();
            (name, pb::AttributeValueList { values })
        })
        .collect()
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
        notification_due,
        stage_names,
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
            notification_due: range(notification_due),
            stage_names,
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
            total_elements: i64::try_from(page.total_elements).unwrap_or(i64::MAX),
            total_pages: i32::try_from(total_pages).unwrap_or(i32::MAX),
            number: i32::try_from(page.page).unwrap_or(i32::MAX),
            size: i32::try_from(page.size).unwrap_or(i32::MAX),
            next_page_token: page.next_page_token.unwrap_or_default(),
            incidents: page.incidents.into_iter().map(|i| summary(i.into())).collect(),
        }
    }
}

fn summary(view: IncidentSummaryView) -> pb::IncidentSummary {
    let IncidentSummaryView {
        id,
        number,
        incident_type,
        name,
        description,
        source_type,
        organization,
        date_occurred,
        date_discovered,
        deadline,
        date_closed,
        assignee,
        total_assessment,
        open_assessment,
        is_extended,
        is_deleted,
        created_by,
        creator,
        created_at,
        updated_at,
        stage,
        notification_needed,
        status,
        attribute_values,
        revision,
        notification_deadline,
    } = view;
    let stage = Stage::from(stage);
    pb::IncidentSummary {
        incident_id: id.to_string(),
        number,
        incident_type_id: incident_type.id.to_string(),
        incident_type_name: incident_type.name,
        name,
        description,
        source_type: vocabulary(source_type.as_str(), pb::source_type::Value::from_str_name),
        org_group_id: organization.id.to_string(),
        org_group_name: organization.name,
        date_occurred: date_occurred.map(timestamp),
        date_discovered: date_discovered.map(timestamp),
        deadline: deadline.map(timestamp),
        date_closed: date_closed.map(timestamp),
        assignee_id: assignee.as_ref().map(|u| u.id.to_string()),
        assignee_name: assignee.map(|u| u.name),
        total_assessment,
        open_assessment,
        is_extended,
        is_deleted,
        created_by: created_by.to_string(),
        creator,
        created_date: Some(timestamp(created_at)),
        updated_dt: Some(timestamp(updated_at)),
        workflow_id: stage.workflow_id,
        workflow_name: stage.workflow_name,
        incident_stage_id: stage.stage_id,
        incident_stage_name: stage.stage_name,
        notification_needed: vocabulary(
            notification_needed.as_str(),
            pb::notification_needed::Value::from_str_name,
        ),
        incident_status: vocabulary(status.as_str(), pb::incident_status::Value::from_str_name),
        attribute_values: attribute_values_by_name(attribute_values),
        revision,
        notification_deadline: notification_deadline.map(timestamp),
    }
}

fn jurisdiction_information(view: JurisdictionView) -> pb::JurisdictionInformation {
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
    let notify = |state: Option<NotifyState>| {
        state.map_or(0, |s| vocabulary(s.as_str(), pb::notify_state::Value::from_str_name))
    };
    pb::JurisdictionInformation {
        jurisdiction_id: j.id.to_string(),
        region_name: j.region_name.to_owned(),
        country_name: j.country_name.to_owned(),
        country_code: j.country_code.to_owned(),
        state_province_name: j.state_province_name.map(str::to_owned),
        state_province_code: j.state_province_code.map(str::to_owned),
        urgency: vocabulary(urgency.as_str(), pb::urgency::Value::from_str_name),
        notify_individual: notify(notify_individual),
        notify_individual_deadline: notify_individual_deadline.map(timestamp),
        notify_authority: notify(notify_authority),
        notify_authority_deadline: notify_authority_deadline.map(timestamp),
        number_of_guidances,
        number_of_accepted_guidances,
        number_of_addressed_guidances,
        guidances: guidances.into_iter().map(guidance).collect(),
        affected_individuals: affected_individuals.and_then(|n| i64::try_from(n).ok()),
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
            r#type: vocabulary(a.kind.as_str(), pb::attribute_type::Value::from_str_name),
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

fn guidance(guidance: Guidance) -> pb::Guidance {
    pb::Guidance {
        rule_id: guidance.rule.id.clone(),
        recipient: vocabulary(guidance.recipient().as_str(), pb::recipient::Value::from_str_name),
        state: vocabulary(guidance.state.as_str(), pb::notify_state::Value::from_str_name),
        deadline: guidance.deadline.map(timestamp),
        window: Some(window(guidance.window())),
        clock_start: guidance.clock_start.map(timestamp),
        clock_start_assumed: guidance.clock_start_assumed(),
        citation: guidance.rule.citation.clone(),
        source_url: guidance.rule.source_url.clone(),
        late: guidance.late(),
        notified_at: guidance.notice.as_ref().map(|n| timestamp(n.notified_at)),
        reference: guidance.notice.and_then(|n| n.reference),
    }
}

fn window(window: Window) -> pb::NotificationWindow {
    pb::NotificationWindow {
        unit: vocabulary(window.unit.as_str(), pb::window_unit::Value::from_str_name),
        amount: i32::try_from(window.amount).unwrap_or(i32::MAX),
    }
}

impl From<&Rule> for pb::NotificationRule {
    fn from(rule: &Rule) -> Self {
        pb::NotificationRule {
            rule_id: rule.id.clone(),
            covers: rule.covers.clone(),
            places: rule
                .places
                .iter()
                .map(|place| pb::NotificationRulePlace {
                    country_code: place.country_code.to_owned(),
                    state_province_code: place.state_province_code.map(str::to_owned),
                })
                .collect(),
            recipient: vocabulary(rule.recipient.as_str(), pb::recipient::Value::from_str_name),
            window: Some(window(rule.window)),
            clock_start: vocabulary(rule.clock_start.as_str(), pb::clock_start::Value::from_str_name),
            clock_start_assumed: rule.clock_start_assumed(),
            min_affected_individuals: rule.min_affected.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            effective_date: rule.effective.to_string(),
            citation: rule.citation.clone(),
            source_url: rule.source_url.clone(),
            condition: rule.condition.clone(),
            note: rule.note.clone(),
        }
    }
}

pub fn stage_request(request: pb::UpdateIncidentStageRequest) -> StageRequest {
    let pb::UpdateIncidentStageRequest {
        incident_id,
        next_stage_name,
        parameters,
        etag,
        request_id,
    } = request;
    StageRequest {
        incident_id,
        next_stage_name,
        parameters: parameters.into_iter().collect(),
        etag,
        request_id,
    }
}

pub fn stage_fields(stage: pb::WorkflowStageInput) -> StageFields {
    let pb::WorkflowStageInput {
        name,
        description,
        badge_color,
        closes_incident,
    } = stage;
    StageFields {
        name,
        description,
        badge_color,
        closes_incident,
    }
}

impl From<WorkflowStage> for pb::WorkflowStage {
    fn from(stage: WorkflowStage) -> Self {
        let WorkflowStage {
            id,
            name,
            description,
            sequence,
            badge_color,
            closes_incident,
        } = stage;
        pb::WorkflowStage {
            id: id.to_string(),
            name,
            description,
            sequence,
            badge_color,
            closes_incident,
        }
    }
}

impl From<Workflow> for pb::Workflow {
    fn from(workflow: Workflow) -> Self {
        let Workflow { id, name, stages } = workflow;
        pb::Workflow {
            id: id.to_string(),
            name,
            stages: stages.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<(IncidentView, WorkflowStage)> for pb::UpdateIncidentStageResponse {
    fn from((incident, stage): (IncidentView, WorkflowStage)) -> Self {
        pb::UpdateIncidentStageResponse {
            incident: Some(incident.into()),
            stage: Some(stage.into()),
        }
    }
}

impl From<InventoryLinks> for pb::InventoryLinks {
    fn from(links: InventoryLinks) -> Self {
        let InventoryLinks {
            inventory_type: _,
            inventory_ids,
            external_ids,
            source_type,
        } = links;
        pb::InventoryLinks {
            inventory_ids: inventory_ids.iter().map(Uuid::to_string).collect(),
            external_ids,
            source_type: vocabulary(source_type.as_str(), pb::source_type::Value::from_str_name),
        }
    }
}

impl From<(IncidentView, InventoryLinks)> for pb::LinkInventoryResponse {
    fn from((incident, links): (IncidentView, InventoryLinks)) -> Self {
        pb::LinkInventoryResponse {
            incident: Some(incident.into()),
            links: Some(links.into()),
        }
    }
}

pub fn link_request(request: pb::LinkInventoryRequest) -> LinkRequest {
    let pb::LinkInventoryRequest {
        incident_id,
        inventory_type,
        inventory_ids,
        external_ids,
        source_type,
        etag,
        request_id,
    } = request;
    LinkRequest {
        incident_id,
        inventory_type,
        link: InventoryLinkRef {
            inventory_ids,
            external_ids,
            source_type: enum_name(source_type, pb::source_type::Value::as_str_name),
        },
        etag,
        request_id,
    }
}

pub fn unlink_request(request: pb::UnlinkInventoryRequest) -> UnlinkRequest {
    let pb::UnlinkInventoryRequest {
        incident_id,
        inventory_type,
        id,
        etag,
        request_id,
    } = request;
    UnlinkRequest {
        incident_id,
        inventory_type,
        id,
        etag,
        request_id,
    }
}
