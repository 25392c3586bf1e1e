//! An incident: the draft resolved against the tenant's reference data, ready to
//! be stored, and the stored incident that is shown.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    enums::{AssigneeKind, IncidentStatus, NotificationNeeded, SourceType},
    inventory::InventoryLinks,
    jurisdiction::Impacted,
    notice::Notice,
    reference::{Assignee, AttributeOption, IncidentType, Organization},
    text::{Name, Text, name_key},
    workflow::Placement,
};

/// One value of one attribute on an incident: an option or a text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChosenValue {
    pub attribute_id: Uuid,
    pub attribute_name: String,
    pub option: Option<AttributeOption>,
    pub text: Option<String>,
}

impl ChosenValue {
    /// What is shown as the value: the option's value or the text.
    pub fn value(&self) -> &str {
        match (&self.option, &self.text) {
            (Some(option), _) => &option.value,
            (None, Some(text)) => text,
            (None, None) => "",
        }
    }

    /// The chosen option's key (its value as a key); none for free text.
    pub fn value_key(&self) -> Option<String> {
        self.option.as_ref().map(|o| name_key(&o.value))
    }

    /// Whether the chosen option has been disabled since it was chosen.
    pub fn disabled(&self) -> bool {
        self.option.as_ref().is_some_and(|o| o.disabled)
    }
}

/// A body resolved against the tenant's reference data: valid and complete, ready
/// to be stored as the editable part of an incident.
#[derive(Debug, Clone)]
pub struct IncidentDraft {
    pub name: Name,
    pub description: Option<Text>,
    pub incident_type: IncidentType,
    pub organization: Organization,
    pub date_occurred: Option<DateTime<Utc>>,
    pub date_discovered: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub source_type: SourceType,
    pub root_cause: Option<Text>,
    pub notification_needed: NotificationNeeded,
    pub attribute_values: Vec<ChosenValue>,
    pub assignees: Vec<AssignedTo>,
    pub jurisdictions: Vec<Impacted>,
}

impl IncidentDraft {
    /// The incident this draft makes, with what the store recorded beside it.
    pub fn into_incident(self, record: Record) -> Incident {
        let Record {
            id,
            tenant_id,
            number,
            stage,
            status,
            date_closed,
            created_by,
            creator,
            created_at,
            updated_at,
            revision,
            linked_inventories,
            notices,
        } = record;
        Incident {
            id,
            tenant_id,
            number,
            name: self.name.into_inner(),
            description: self.description.map(Text::into_inner),
            incident_type: self.incident_type,
            organization: self.organization,
            date_occurred: self.date_occurred,
            date_discovered: self.date_discovered,
            deadline: self.deadline,
            date_closed,
            source_type: self.source_type,
            root_cause: self.root_cause.map(Text::into_inner),
            notification_needed: self.notification_needed,
            stage,
            status,
            created_by,
            creator,
            created_at,
            updated_at,
            revision,
            attribute_values: self.attribute_values,
            assignees: self.assignees,
            jurisdictions: self.jurisdictions,
            linked_inventories,
            notices,
        }
    }
}

/// What the store records about an incident beside its editable body.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub number: i64,
    pub stage: Placement,
    pub status: IncidentStatus,
    pub date_closed: Option<DateTime<Utc>>,
    pub created_by: Uuid,
    pub creator: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub revision: i64,
    pub linked_inventories: Vec<InventoryLinks>,
    pub notices: Vec<Notice>,
}

/// An assignee of an incident, with the e-mail address the request gave.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AssignedTo {
    pub assignee: Assignee,
    pub email: Option<String>,
}

/// An incident as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Incident {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub number: i64,
    pub name: String,
    pub description: Option<String>,
    pub incident_type: IncidentType,
    pub organization: Organization,
    pub date_occurred: Option<DateTime<Utc>>,
    pub date_discovered: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub date_closed: Option<DateTime<Utc>>,
    pub source_type: SourceType,
    pub root_cause: Option<String>,
    pub notification_needed: NotificationNeeded,
    /// The workflow and the stage reached; `status` is CLOSED exactly when
    /// that stage closes the incident.
    pub stage: Placement,
    pub status: IncidentStatus,
    pub created_by: Uuid,
    pub creator: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// 1 at creation, one more with every update.
    pub revision: i64,
    /// Ordered by attribute name, then as given.
    pub attribute_values: Vec<ChosenValue>,
    pub assignees: Vec<AssignedTo>,
    #[serde(with = "super::jurisdiction::by_ids")]
    pub jurisdictions: Vec<Impacted>,
    /// Given at creation, by inventory type.
    pub linked_inventories: Vec<InventoryLinks>,
    /// The notifications recorded as sent, one per recipient of a jurisdiction
    /// (the one recorded last).
    #[serde(default)]
    pub notices: Vec<Notice>,
}

impl Incident {
    /// Everything but the editable body.
    pub fn record(&self) -> Record {
        Record {
            id: self.id,
            tenant_id: self.tenant_id,
            number: self.number,
            stage: self.stage.clone(),
            status: self.status,
            date_closed: self.date_closed,
            created_by: self.created_by,
            creator: self.creator.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            revision: self.revision,
            linked_inventories: self.linked_inventories.clone(),
            notices: self.notices.clone(),
        }
    }

    /// The options chosen on this incident: they may stay even when disabled.
    pub fn chosen_options(&self) -> std::collections::HashSet<Uuid> {
        self.attribute_values
            .iter()
            .filter_map(|v| v.option.as_ref().map(|o| o.id))
            .collect()
    }

    /// The first user among the assignees: the original API's `assigneeId`.
    pub fn user_assignee(&self) -> Option<&Assignee> {
        self.assignees
            .iter()
            .map(|a| &a.assignee)
            .find(|a| a.kind == AssigneeKind::User)
    }

    /// The custom-attribute schema of the tenant: one per tenant, stable.
    pub fn schema_id(&self) -> Uuid {
        Uuid::new_v5(&self.tenant_id, b"attribute-schema")
    }
}
