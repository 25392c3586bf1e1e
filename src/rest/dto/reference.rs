//! Reference data: organizations, incident types, custom attributes, assignees
//! and the jurisdiction catalogue, and the bodies that add them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::*;
use crate::domain::{jurisdiction, reference};

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
