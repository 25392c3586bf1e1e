//! What an incident shows, decided once for both transports: the original API's
//! answer (`IncidentInformation`) and its search summary, with the read-only
//! fields derived from the stored incident. `grpc/` and `rest/` map these field
//! by field and decide nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    enums::{AssigneeKind, IncidentStatus, NotificationNeeded, NotifyState, Recipient, SourceType, Urgency},
    guidance::{self, Facts, Guidance},
    incident::{ChosenValue, Incident},
    inventory::InventoryLinks,
    jurisdiction::{Impacted, Jurisdiction},
    notification,
    reference::{Assignee, IncidentType, Organization},
    workflow::Placement,
};

/// An incident as both transports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentView {
    pub id: Uuid,
    pub number: i64,
    pub incident_type: IncidentType,
    pub name: String,
    pub description: Option<String>,
    pub source_type: SourceType,
    pub organization: Organization,
    pub root_cause: Option<String>,
    pub date_occurred: Option<DateTime<Utc>>,
    pub date_closed: Option<DateTime<Utc>>,
    pub date_discovered: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub creator: String,
    /// The first user among the assignees: the original API's `assigneeId` and
    /// `assigneeName`.
    pub assignee: Option<Assignee>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The workflow and the stage the incident has reached.
    pub stage: StageView,
    pub notification_needed: NotificationNeeded,
    pub status: IncidentStatus,
    /// The tenant's custom-attribute schema: one per tenant, stable.
    pub schema_id: Uuid,
    /// Values by attribute name, in the order given; attributes without values
    /// are left out.
    pub attribute_values: BTreeMap<String, Vec<AttributeValueView>>,
    pub assignees: Vec<AssigneeView>,
    pub jurisdictions: Vec<JurisdictionView>,
    /// Whether closing is configured to need settings: never in incidentd,
    /// where closing waits for the notifications the law requires instead.
    pub closed_setting_on: bool,
    /// By inventory type.
    pub linked_inventories: Vec<InventoryLinks>,
    pub revision: i64,
    /// The tag of this revision, for conditional updates.
    pub etag: String,
}

/// The workflow stage an incident is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageView {
    pub workflow_id: Uuid,
    pub workflow_name: String,
    pub stage_id: Uuid,
    pub stage_name: String,
    pub badge_color: Option<String>,
}

impl From<Placement> for StageView {
    fn from(placement: Placement) -> Self {
        let Placement {
            workflow_id,
            workflow_name,
            stage,
        } = placement;
        StageView {
            workflow_id,
            workflow_name,
            stage_id: stage.id,
            stage_name: stage.name,
            badge_color: stage.badge_color,
        }
    }
}

/// One value of one attribute, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeValueView {
    pub attribute_name: String,
    /// The option's id; none for free text.
    pub id: Option<Uuid>,
    /// The option's value or the text; also the display label.
    pub value: String,
    /// The option's value as a key; none for free text.
    pub value_key: Option<String>,
    /// Whether the chosen option is disabled now.
    pub disabled: bool,
}

/// An assignee, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssigneeView {
    pub id: Uuid,
    pub name: String,
    pub kind: AssigneeKind,
}

/// An impacted jurisdiction with its notification guidance: the catalogue's
/// rules applied to the incident as it is now, each recipient's state and
/// earliest open deadline, and the urgency at the moment it is shown. A
/// jurisdiction no rule covers has no guidance: its states are absent and its
/// urgency is `NONE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JurisdictionView {
    pub jurisdiction: &'static Jurisdiction,
    /// The individuals affected there, when the team knows their number.
    pub affected_individuals: Option<u64>,
    pub urgency: Urgency,
    pub notify_individual: Option<NotifyState>,
    pub notify_individual_deadline: Option<DateTime<Utc>>,
    pub notify_authority: Option<NotifyState>,
    pub notify_authority_deadline: Option<DateTime<Utc>>,
    /// The rules that apply, in the catalogue's order.
    pub number_of_guidances: i32,
    /// Those whose notification is required.
    pub number_of_accepted_guidances: i32,
    /// Those whose recipient has been notified (`RecordNotification`).
    pub number_of_addressed_guidances: i32,
    /// One per rule that applies: how each deadline was reached.
    pub guidances: Vec<Guidance>,
}

/// An incident as a search shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentSummaryView {
    pub id: Uuid,
    pub number: i64,
    pub incident_type: IncidentType,
    pub name: String,
    pub description: Option<String>,
    pub source_type: SourceType,
    pub organization: Organization,
    pub date_occurred: Option<DateTime<Utc>>,
    pub date_discovered: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub date_closed: Option<DateTime<Utc>>,
    pub assignee: Option<Assignee>,
    /// Assessments are not kept here: always zero.
    pub total_assessment: i32,
    pub open_assessment: i32,
    /// Deadlines are not extended here: always false.
    pub is_extended: bool,
    /// Incidents are never deleted: always false.
    pub is_deleted: bool,
    pub created_by: Uuid,
    pub creator: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub stage: StageView,
    pub notification_needed: NotificationNeeded,
    pub status: IncidentStatus,
    pub attribute_values: BTreeMap<String, Vec<AttributeValueView>>,
    pub revision: i64,
    /// The earliest deadline still due (open, nobody notified yet), in any
    /// jurisdiction.
    pub notification_deadline: Option<DateTime<Utc>>,
}

impl From<Incident> for IncidentView {
    fn from(incident: Incident) -> Self {
        let assignee = incident.user_assignee().cloned();
        let schema_id = incident.schema_id();
        let etag = incident.etag();
        // Urgency is relative to the moment the incident is shown.
        let now = Utc::now();
        let jurisdiction_views: Vec<JurisdictionView> = incident
            .jurisdictions
            .iter()
            .map(|impacted| JurisdictionView::assessed(*impacted, Facts::of(&incident), now))
            .collect();
        let Incident {
            id,
            tenant_id: _,
            number,
            name,
            description,
            incident_type,
            organization,
            date_occurred,
            date_discovered,
            deadline,
            date_closed,
            source_type,
            root_cause,
            notification_needed,
            stage,
            status,
            created_by,
            creator,
            created_at,
            updated_at,
            revision,
            attribute_values,
            assignees,
            jurisdictions: _,
            linked_inventories,
            notices: _,
        } = incident;
        IncidentView {
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
            stage: StageView::from(stage),
            notification_needed,
            status,
            schema_id,
            attribute_values: by_name(&attribute_values),
            assignees: assignees
                .into_iter()
                .map(|a| AssigneeView {
                    id: a.assignee.id,
                    name: a.assignee.name,
                    kind: a.assignee.kind,
                })
                .collect(),
            jurisdictions: jurisdiction_views,
            closed_setting_on: false,
            linked_inventories,
            revision,
            etag,
        }
    }
}

impl From<IncidentView> for IncidentSummaryView {
    fn from(view: IncidentView) -> Self {
        let IncidentView {
            id,
            number,
            incident_type,
            name,
            description,
            source_type,
            organization,
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
            attribute_values,
            revision,
            root_cause: _,
            schema_id: _,
            assignees: _,
            jurisdictions,
            closed_setting_on: _,
            linked_inventories: _,
            etag: _,
        } = view;
        IncidentSummaryView {
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
            total_assessment: 0,
            open_assessment: 0,
            is_extended: false,
            is_deleted: false,
            created_by,
            creator,
            created_at,
            updated_at,
            stage,
            notification_needed,
            status,
            attribute_values,
            revision,
            notification_deadline: jurisdictions
                .iter()
                .flat_map(|j| &j.guidances)
                .filter(|g| g.is_due())
                .filter_map(|g| g.deadline)
                .min(),
        }
    }
}

impl From<Incident> for IncidentSummaryView {
    fn from(incident: Incident) -> Self {
        IncidentView::from(incident).into()
    }
}

impl JurisdictionView {
    /// A jurisdiction with the guidance of every rule that applies in it.
    fn assessed(impacted: Impacted, facts: Facts<'_>, now: DateTime<Utc>) -> Self {
        let guidances = guidance::assess(notification::catalogue(), impacted, facts);
        let Impacted {
            jurisdiction,
            affected_individuals,
        } = impacted;
        let (notify_authority, notify_authority_deadline) = guidance::summary(&guidances, Recipient::Authority).unzip();
        let (notify_individual, notify_individual_deadline) =
            guidance::summary(&guidances, Recipient::Individuals).unzip();
        let count = |keep: fn(&Guidance) -> bool| i32::try_from(guidances.iter().filter(|g| keep(g)).count());
        JurisdictionView {
            jurisdiction,
            affected_individuals,
            urgency: guidance::urgency(&guidances, now),
            notify_individual,
            notify_individual_deadline: notify_individual_deadline.flatten(),
            notify_authority,
            notify_authority_deadline: notify_authority_deadline.flatten(),
            number_of_guidances: count(|_| true).unwrap_or(i32::MAX),
            number_of_accepted_guidances: count(|g| g.state == NotifyState::NotificationRequired).unwrap_or(i32::MAX),
            number_of_addressed_guidances: count(|g| g.notice.is_some()).unwrap_or(i32::MAX),
            guidances,
        }
    }
}

/// Attribute values grouped by attribute name, each group in the order stored.
fn by_name(chosen: &[ChosenValue]) -> BTreeMap<String, Vec<AttributeValueView>> {
    let mut grouped = BTreeMap::<String, Vec<AttributeValueView>>::new();
    for value in chosen {
        grouped
            .entry(value.attribute_name.clone())
            .or_default()
            .push(AttributeValueView {
                attribute_name: value.attribute_name.clone(),
                id: value.option.as_ref().map(|o| o.id),
                value: value.value().to_owned(),
                value_key: value.value_key(),
                disabled: value.disabled(),
            });
    }
    grouped
}
