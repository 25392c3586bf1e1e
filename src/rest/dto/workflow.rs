//! Workflows with their stages, and the original API's stage move: its body
//! and the stage it answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use utoipa::openapi::{ObjectBuilder, OneOfBuilder, Type, schema::SchemaType};

use super::*;
use crate::domain::workflow;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Workflow {
    pub id: Uuid,
    pub name: String,
    /// In order.
    pub stages: Vec<WorkflowStage>,
}

/// A stage of a workflow, as the original API's stage move answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowStage {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// 1 for the first stage, one more for each after it.
    pub sequence: i32,
    pub badge_color: Option<String>,
    /// Whether reaching it closes the incident.
    pub closes_incident: bool,
    /// Always false: incidentd has no stage approvals.
    pub approval_stage: bool,
    /// Always empty.
    pub stage_approvers: Vec<String>,
    /// Always empty: incidentd asks for no attributes or attachments to advance.
    pub advance_stage_actions: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewWorkflow {
    #[schema(schema_with = name, required = true)]
    pub name: Option<String>,
    /// 1..50, in the order incidents move through them; the first does not
    /// close, one at least does.
    #[serde(default)]
    #[schema(required = true)]
    pub stages: Vec<NewWorkflowStage>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewWorkflowStage {
    #[schema(schema_with = name, required = true)]
    pub name: Option<String>,
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// `#RRGGBB`.
    #[schema(pattern = "^#[0-9A-Fa-f]{6}$", example = "#2563EB")]
    pub badge_color: Option<String>,
    pub closes_incident: Option<bool>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

/// The original API's stage move.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StageUpdate {
    /// A stage of the incident's workflow, matched case-insensitively.
    #[schema(schema_with = name, required = true, example = "Investigation")]
    pub next_stage_name: Option<String>,
    /// `justification` (needed to reopen, to move back, and with
    /// `skipValidation`), `skipValidation`, and `executeRule` and
    /// `notifyUsers`, accepted only as false. Flags are booleans or the
    /// strings `"true"` and `"false"`; any other key is refused.
    #[schema(schema_with = parameters)]
    pub parameters: Option<BTreeMap<String, Parameter>>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Extra,
}

/// A parameter's value: a string, or a boolean for the flags.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Parameter {
    Text(String),
    Flag(bool),
}

/// The workflow types of `…/types/{type}/stage`: incidents have one.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum WorkflowType {
    IncidentWorkflowType,
}

/// The parameters there are, each with the values it takes.
fn parameters() -> OneOfBuilder {
    let string = || ObjectBuilder::new().schema_type(SchemaType::new(Type::String));
    let boolean = || ObjectBuilder::new().schema_type(SchemaType::new(Type::Boolean));
    let flag = |values: &[&str], flags: &[bool]| {
        OneOfBuilder::new()
            .item(string().enum_values(Some(values.iter().copied())))
            .item(boolean().enum_values(Some(flags.iter().copied())))
    };
    let object = ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Object))
        .property("justification", string().max_length(Some(workflow::JUSTIFICATION_MAX)))
        .property("skipValidation", flag(&["true", "false"], &[true, false]))
        .property("executeRule", flag(&["false"], &[false]))
        .property("notifyUsers", flag(&["false"], &[false]))
        .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)));
    nullable(object)
}

impl KnownKeys for NewWorkflow {
    fn unknown_keys(&self, at: &FieldPath, found: &mut Vec<FieldPath>) {
        self.extra.refuse(at, found);
        for (i, stage) in self.stages.iter().enumerate() {
            stage.extra.refuse(&at.clone().field("stages").index(i), found);
        }
    }
}

impl KnownKeys for StageUpdate {
    fn unknown_keys(&self, at: &FieldPath, found: &mut Vec<FieldPath>) {
        self.extra.refuse(at, found);
    }
}

impl From<NewWorkflowStage> for workflow::StageFields {
    fn from(stage: NewWorkflowStage) -> Self {
        let NewWorkflowStage {
            name,
            description,
            badge_color,
            closes_incident,
            extra: _,
        } = stage;
        workflow::StageFields {
            name: name.unwrap_or_default(),
            description,
            badge_color,
            closes_incident: closes_incident.unwrap_or_default(),
        }
    }
}

impl StageUpdate {
    /// The stage name and the parameters, as strings.
    pub fn into_parts(self) -> (String, BTreeMap<String, String>) {
        let StageUpdate {
            next_stage_name,
            parameters,
            extra: _,
        } = self;
        let parameters = parameters
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| match value {
                Parameter::Text(text) => (key, text),
                Parameter::Flag(flag) => (key, flag.to_string()),
            })
            .collect();
        (next_stage_name.unwrap_or_default(), parameters)
    }
}

impl From<workflow::Stage> for WorkflowStage {
    fn from(stage: workflow::Stage) -> Self {
        let workflow::Stage {
            id,
            name,
            description,
            sequence,
            badge_color,
            closes_incident,
        } = stage;
        WorkflowStage {
            id,
            name,
            description,
            sequence,
            badge_color,
            closes_incident,
            approval_stage: false,
            stage_approvers: Vec::new(),
            advance_stage_actions: Vec::new(),
        }
    }
}

impl From<workflow::Workflow> for Workflow {
    fn from(workflow: workflow::Workflow) -> Self {
        let workflow::Workflow { id, name, stages } = workflow;
        Workflow {
            id,
            name,
            stages: stages.into_iter().map(Into::into).collect(),
        }
    }
}
