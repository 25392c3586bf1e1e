//! Reference data: organizations, incident types, custom attributes, assignees
//! and the jurisdiction catalogue, and the bodies that add them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::*;
use crate::domain::{jurisdiction, notification, reference};

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewOrganization {
    #[schema(schema_with = name, required = true)]
    pub name: Option<String>,
    #[schema(schema_with = optional_id)]
    pub parent_id: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

impl From<reference::Organization> for Organization {
    fn from(o: reference::Organization) -> Self {
        Organization {
            id: o.id,
            name: o.name,
            parent_id: o.parent_id,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IncidentType {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewIncidentType {
    #[schema(schema_with = name, required = true)]
    pub name: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

impl From<reference::IncidentType> for IncidentType {
    fn from(t: reference::IncidentType) -> Self {
        IncidentType { id: t.id, name: t.name }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attribute {
    pub id: Uuid,
    pub name: String,
    #[schema(schema_with = attribute_type)]
    pub r#type: String,
    pub options: Vec<AttributeOption>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttributeOption {
    pub id: Uuid,
    pub value: String,
    pub disabled: bool,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewAttribute {
    #[schema(schema_with = name, required = true)]
    pub name: Option<String>,
    /// Absent: `TEXT`.
    #[schema(schema_with = optional_attribute_type)]
    pub r#type: Option<String>,
    pub options: Option<Vec<NewAttributeOption>>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewAttributeOption {
    #[schema(value_type = String, required = true)]
    pub value: Option<String>,
    pub disabled: Option<bool>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

impl From<reference::Attribute> for Attribute {
    fn from(a: reference::Attribute) -> Self {
        Attribute {
            id: a.id,
            name: a.name,
            r#type: a.kind.as_str().to_owned(),
            options: a
                .options
                .into_iter()
                .map(|o| AttributeOption {
                    id: o.id,
                    value: o.value,
                    disabled: o.disabled,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Assignee {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    #[schema(schema_with = assignee_type)]
    pub r#type: String,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewAssignee {
    #[schema(schema_with = name, required = true)]
    pub name: Option<String>,
    pub email: Option<String>,
    /// Absent: `USER`.
    #[schema(schema_with = optional_assignee_type)]
    pub r#type: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

impl From<reference::Assignee> for Assignee {
    fn from(a: reference::Assignee) -> Self {
        Assignee {
            id: a.id,
            name: a.name,
            email: a.email,
            r#type: a.kind.as_str().to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Jurisdiction {
    pub jurisdiction_id: Uuid,
    pub country_code: String,
    pub country_name: String,
    pub state_province_code: Option<String>,
    pub state_province_name: Option<String>,
    pub region_name: String,
}

impl From<jurisdiction::Jurisdiction> for Jurisdiction {
    fn from(j: jurisdiction::Jurisdiction) -> Self {
        Jurisdiction {
            jurisdiction_id: j.id,
            country_code: j.country_code.to_owned(),
            country_name: j.country_name.to_owned(),
            state_province_code: j.state_province_code.map(str::to_owned),
            state_province_name: j.state_province_name.map(str::to_owned),
            region_name: j.region_name.to_owned(),
        }
    }
}

/// The notification rules the service knows, with the catalogue's version.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRules {
    /// The date the catalogue's rules were last reviewed.
    pub catalogue_version: String,
    pub rules: Vec<NotificationRule>,
}

/// One rule of one law, for one recipient, with its source.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRule {
    /// Stable, for guidances and audits.
    pub rule_id: String,
    /// What the rule covers as the catalogue names it: a group (`EEA`), a
    /// country (`GBR`), or a state or province (`USA-CA`).
    pub covers: String,
    /// The places it covers, a group expanded to its members.
    pub places: Vec<NotificationRulePlace>,
    #[schema(schema_with = recipient)]
    pub recipient: String,
    pub window: NotificationWindow,
    #[schema(schema_with = clock_start)]
    pub clock_start: String,
    /// Whether `dateDiscovered` stands in for a moment the incident does not record.
    pub clock_start_assumed: bool,
    /// The rule applies from this many affected individuals (inclusive);
    /// absent when it applies whatever the count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_affected_individuals: Option<u64>,
    /// When the version of the law this rule encodes took effect.
    pub effective_date: chrono::NaiveDate,
    /// The article or section.
    pub citation: String,
    /// Where the law, or its regulator's statement of it, is read.
    pub source_url: String,
    /// What the law makes the duty depend on, in its own terms.
    pub condition: String,
    /// What the encoding assumes or leaves out.
    pub note: String,
}

/// A place a rule covers: a country (all its states or provinces), or one of them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRulePlace {
    pub country_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_province_code: Option<String>,
}

/// The time a law gives from its clock start.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationWindow {
    #[schema(schema_with = window_unit)]
    pub unit: String,
    /// Hours or days; 0 when the unit is `NONE`.
    pub amount: u32,
}

impl From<notification::Window> for NotificationWindow {
    fn from(window: notification::Window) -> Self {
        NotificationWindow {
            unit: window.unit.as_str().to_owned(),
            amount: window.amount,
        }
    }
}

impl From<&notification::Rule> for NotificationRule {
    fn from(rule: &notification::Rule) -> Self {
        NotificationRule {
            rule_id: rule.id.clone(),
            covers: rule.covers.clone(),
            places: rule
                .places
                .iter()
                .map(|place| NotificationRulePlace {
                    country_code: place.country_code.to_owned(),
                    state_province_code: place.state_province_code.map(str::to_owned),
                })
                .collect(),
            recipient: rule.recipient.as_str().to_owned(),
            window: rule.window.into(),
            clock_start: rule.clock_start.as_str().to_owned(),
            clock_start_assumed: rule.clock_start_assumed(),
            min_affected_individuals: rule.min_affected,
            effective_date: rule.effective,
            citation: rule.citation.clone(),
            source_url: rule.source_url.clone(),
            condition: rule.condition.clone(),
            note: rule.note.clone(),
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

impl KnownKeys for NewOrganization {
    fn unknown_keys(&self, at: &FieldPath, found: &mut Vec<FieldPath>) {
        self.extra.refuse(at, found);
    }
}

impl KnownKeys for NewIncidentType {
    fn unknown_keys(&self, at: &FieldPath, found: &mut Vec<FieldPath>) {
        self.extra.refuse(at, found);
    }
}

impl KnownKeys for NewAttribute {
    fn unknown_keys(&self, at: &FieldPath, found: &mut Vec<FieldPath>) {
        self.extra.refuse(at, found);
        for (i, option) in self.options.iter().flatten().enumerate() {
            option.extra.refuse(&at.clone().field("options").index(i), found);
        }
    }
}

impl KnownKeys for NewAssignee {
    fn unknown_keys(&self, at: &FieldPath, found: &mut Vec<FieldPath>) {
        self.extra.refuse(at, found);
    }
}
