//! Workflows: the ordered stages an incident moves through, and the rules of
//! moving it. A stage that closes the incident makes it read-only until it is
//! reopened; closing waits for every notification the law requires.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use super::{
    enums::{IncidentStatus, NotifyState, Recipient},
    error::{Error, Precondition, Violations},
    guidance::{self, Facts},
    incident::Incident,
    notification,
    path::FieldPath,
    text::{Name, Text, name_key},
};

/// The workflow every tenant has, and new incidents follow unless they name one.
pub const DEFAULT_WORKFLOW: &str = "Incident Workflow";
/// Most stages one workflow may have.
pub const STAGES_MAX: usize = 50;
/// Longest stage description, in characters.
pub const DESCRIPTION_MAX: usize = 1_000;
/// Longest justification of a stage move, in characters.
pub const JUSTIFICATION_MAX: usize = 4_000;
/// The workflow type of the REST path `…/types/{type}/stage`: incidents have one.
pub const WORKFLOW_TYPE: &str = "IncidentWorkflowType";

/// The default workflow's stages: name, description, badge colour, whether it
/// closes the incident.
const DEFAULT_STAGES: [(&str, &str, &str, bool); 5] = [
    ("Intake", "The incident is reported and recorded.", "#6B7280", false),
    (
        "Investigation",
        "What happened, to which data and whom, is established.",
        "#2563EB",
        false,
    ),
    (
        "Remediation",
        "The cause is contained and the harm mitigated.",
        "#D97706",
        false,
    ),
    (
        "Notification",
        "Authorities and individuals are notified where the law requires it.",
        "#7C3AED",
        false,
    ),
    ("Closed", "The incident is closed.", "#16A34A", true),
];

/// One stage of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stage {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// 1 for the first stage, one more for each after it.
    pub sequence: i32,
    /// `#RRGGBB`.
    pub badge_color: Option<String>,
    /// Whether reaching this stage closes the incident.
    pub closes_incident: bool,
}

/// A workflow with its stages in order: at least one, and one that closes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Workflow {
    pub id: Uuid,
    pub name: String,
    pub stages: Vec<Stage>,
}

/// Where an incident is: its workflow and the stage it has reached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Placement {
    pub workflow_id: Uuid,
    pub workflow_name: String,
    pub stage: Stage,
}

impl Workflow {
    /// The tenant's default workflow. Its ids are fixed, so it is known before
    /// the tenant's first write stores it.
    pub fn default_for(tenant_id: Uuid) -> Self {
        let stages = DEFAULT_STAGES
            .iter()
            .zip(1..)
            .map(|(&(name, description, color, closes), sequence)| Stage {
                id: Uuid::new_v5(
                    &tenant_id,
                    format!("workflow-stage:default:{}", name_key(name)).as_bytes(),
                ),
                name: name.to_owned(),
                description: Some(description.to_owned()),
                sequence,
                badge_color: Some(color.to_owned()),
                closes_incident: closes,
            })
            .collect();
        Self {
            id: Uuid::new_v5(&tenant_id, b"workflow:default"),
            name: DEFAULT_WORKFLOW.to_owned(),
            stages,
        }
    }

    /// Where a new incident of this workflow starts: its first stage.
    pub fn start(&self) -> Option<Placement> {
        self.stages.first().map(|stage| self.at(stage))
    }

    fn at(&self, stage: &Stage) -> Placement {
        Placement {
            workflow_id: self.id,
            workflow_name: self.name.clone(),
            stage: stage.clone(),
        }
    }

    /// The stage named `name`, compared case-insensitively; INVALID_ARGUMENT
    /// on `field` listing the names there are.
    fn stage_named(&self, field: &str, name: &str) -> Result<&Stage, Error> {
        let key = name_key(name);
        self.stages.iter().find(|s| name_key(&s.name) == key).ok_or_else(|| {
            let names: Vec<&str> = self.stages.iter().map(|s| s.name.as_str()).collect();
            let description = if name.trim().is_empty() {
                "is required".to_owned()
            } else {
                format!("is not a stage of the workflow {:?}", self.name)
            };
            Error::invalid(field, format!("{description}; its stages are {}", names.join(", ")))
        })
    }
}

/// A stage of a new workflow, as a transport receives it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct StageFields {
    pub name: String,
    pub description: Option<String>,
    pub badge_color: Option<String>,
    pub closes_incident: bool,
}

/// A valid new workflow: 1..=50 stages with distinct names, one at least that
/// closes the incident.
#[derive(Debug)]
pub struct NewWorkflow {
    pub name: Name,
    pub stages: Vec<NewStage>,
}

#[derive(Debug)]
pub struct NewStage {
    pub name: Name,
    pub description: Option<Text>,
    pub badge_color: Option<String>,
    pub closes_incident: bool,
}

impl NewWorkflow {
    pub fn parse(name: String, stages: Vec<StageFields>) -> Result<Self, Error> {
        let mut violations = Violations::new();
        let name = violations.check("name", Name::parse_unique(name));
        match stages.len() {
            0 => violations.add("stages", "needs at least one stage"),
            n if n > STAGES_MAX => violations.add("stages", format!("at most {STAGES_MAX} stages, got {n}")),
            _ if !stages.iter().any(|s| s.closes_incident) => {
                violations.add("stages", "needs a stage that closes the incident (closesIncident true)")
            }
            _ => {}
        }
        if stages.first().is_some_and(|s| s.closes_incident) {
            violations.add(
                "stages[0].closesIncident",
                "must be false: new incidents start in the first stage, open",
            );
        }
        let mut seen = HashSet::new();
        let mut parsed = Vec::with_capacity(stages.len());
        for (i, fields) in stages.into_iter().enumerate() {
            let at = |field: &str| format!("stages[{i}].{field}");
            let StageFields {
                name,
                description,
                badge_color,
                closes_incident,
            } = fields;
            let name = violations.check(at("name"), Name::parse_unique(name));
            if let Some(name) = &name
                && !seen.insert(name.key())
            {
                violations.add(
                    at("name"),
                    "repeats an earlier stage (names are compared case-insensitively)",
                );
            }
            let description = violations.check(at("description"), Text::parse_optional(description, DESCRIPTION_MAX));
            let badge_color = match badge_color.filter(|c| !c.is_empty()) {
                None => Some(None),
                Some(raw) => violations.check(at("badgeColor"), parse_color(raw)).map(Some),
            };
            if let (Some(name), Some(description), Some(badge_color)) = (name, description, badge_color) {
                parsed.push(NewStage {
                    name,
                    description,
                    badge_color,
                    closes_incident,
                });
            }
        }
        match name {
            Some(name) if violations.is_empty() => Ok(Self { name, stages: parsed }),
            _ => Err(violations.into_error()),
        }
    }

    /// The workflow this makes, with `id`; its stages get ids of their own, in order.
    pub fn into_workflow(self, id: Uuid, mut stage_id: impl FnMut() -> Uuid) -> Workflow {
        Workflow {
            id,
            name: self.name.into_inner(),
            stages: self
                .stages
                .into_iter()
                .zip(1..)
                .map(|(stage, sequence)| Stage {
                    id: stage_id(),
                    name: stage.name.into_inner(),
                    description: stage.description.map(Text::into_inner),
                    sequence,
                    badge_color: stage.badge_color,
                    closes_incident: stage.closes_incident,
                })
                .collect(),
        }
    }
}

/// A colour as `#RRGGBB`, kept in upper case.
fn parse_color(raw: String) -> Result<String, String> {
    match raw.strip_prefix('#') {
        Some(hex) if hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()) => Ok(raw.to_ascii_uppercase()),
        _ => Err("must be a colour as #RRGGBB".into()),
    }
}

/// The parameters of a stage move that incidentd acts on. The original API's
/// `executeRule` and `notifyUsers` are accepted when `false`: incidentd runs no
/// rules and sends no mail, so `true` is refused rather than ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageParameters {
    pub justification: Option<Text>,
    pub skip_validation: bool,
}

/// The parameter keys there are.
const PARAMETERS: [&str; 4] = ["justification", "skipValidation", "executeRule", "notifyUsers"];

impl StageParameters {
    pub fn parse(v: &mut Violations, raw: BTreeMap<String, String>) -> Self {
        let mut parsed = Self::default();
        for (key, value) in raw {
            let field = FieldPath::from("parameters").key(&key);
            match key.as_str() {
                "justification" => {
                    parsed.justification = v
                        .check(field, Text::parse_optional(Some(value), JUSTIFICATION_MAX))
                        .flatten();
                }
                "skipValidation" => {
                    parsed.skip_validation = v.check(field, parse_flag(&value)).unwrap_or(false);
                }
                "executeRule" | "notifyUsers" => match parse_flag(&value) {
                    Ok(false) => {}
                    Ok(true) => v.add(field, "incidentd runs no workflow rules and sends no mail: only false"),
                    Err(e) => v.add(field, e),
                },
                _ if key.chars().count() > super::text::NAME_MAX => v.add(
                    "parameters",
                    format!("has a key that is not a parameter: {}", PARAMETERS.join(", ")),
                ),
                _ => v.add(field, format!("is not a parameter: {}", PARAMETERS.join(", "))),
            }
        }
        parsed
    }
}

fn parse_flag(raw: &str) -> Result<bool, String> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("must be \"true\" or \"false\"".into()),
    }
}

/// The path of the justification parameter.
fn justification_path() -> FieldPath {
    FieldPath::from("parameters").key("justification")
}

/// `incident` moved to the stage of its workflow named `next`, at `at`: its
/// stage, status and closing date. `None` when it is in that stage already.
///
/// Leaving a closing stage (reopening), and moving back to an earlier stage,
/// need a justification. Closing is refused while a notification the law
/// requires has not been recorded, unless `skipValidation` comes with a
/// justification.
pub fn move_to(
    incident: &Incident,
    workflow: &Workflow,
    next: &str,
    parameters: &StageParameters,
    at: DateTime<Utc>,
) -> Result<Option<Incident>, Error> {
    let current = &incident.stage.stage;
    let target = workflow.stage_named("nextStageName", next)?;
    if target.id == current.id {
        return Ok(None);
    }
    let justified = parameters.justification.is_some();
    if current.closes_incident && !target.closes_incident && !justified {
        return Err(Error::invalid(
            justification_path(),
            "is required to reopen a closed incident",
        ));
    }
    if target.sequence < current.sequence && !justified {
        return Err(Error::invalid(
            justification_path(),
            "is required to move back to an earlier stage",
        ));
    }
    let closing = target.closes_incident && !current.closes_incident;
    if closing {
        let open = unaddressed(incident);
        match (open.is_empty(), parameters.skip_validation, justified) {
            (true, _, _) | (false, true, true) => {}
            (false, true, false) => {
                return Err(Error::invalid(
                    justification_path(),
                    "is required to close with skipValidation while notifications are required",
                ));
            }
            (false, false, _) => return Err(Error::ObligationsOpen(open)),
        }
    }
    let date_closed = match (target.closes_incident, closing) {
        (false, _) => None,
        (true, true) => Some(at),
        (true, false) => incident.date_closed,
    };
    Ok(Some(Incident {
        stage: workflow.at(target),
        status: if target.closes_incident {
            IncidentStatus::Closed
        } else {
            IncidentStatus::Open
        },
        date_closed,
        ..incident.clone()
    }))
}

/// The notifications the law requires of `incident` that are not recorded as
/// sent, one per rule and jurisdiction.
fn unaddressed(incident: &Incident) -> Vec<Precondition> {
    let catalogue = notification::catalogue();
    incident
        .jurisdictions
        .iter()
        .flat_map(|impacted| {
            let place = impacted.jurisdiction.code();
            guidance::assess(catalogue, *impacted, Facts::of(incident))
                .into_iter()
                .filter(|g| g.state == NotifyState::NotificationRequired && g.notice.is_none())
                .map(move |g| {
                    let by = g.deadline.map_or_else(String::new, |d| {
                        format!(" by {}", d.to_rfc3339_opts(SecondsFormat::Secs, true))
                    });
                    let whom = match g.recipient() {
                        Recipient::Authority => "the authority",
                        Recipient::Individuals => "the individuals",
                    };
                    Precondition {
                        kind: "NOTIFICATION_REQUIRED",
                        subject: format!("{place}/{}", g.recipient().as_str()),
                        description: format!(
                            "{} ({}) requires notifying {whom}{by}: record it with RecordNotification first",
                            g.rule.citation, g.rule.id,
                        ),
                    }
                })
        })
        .collect()
}

impl Incident {
    /// A closed incident is read-only: FAILED_PRECONDITION until it is reopened.
    pub fn ensure_open(&self) -> Result<(), Error> {
        match self.status {
            IncidentStatus::Open => Ok(()),
            IncidentStatus::Closed => Err(Error::Closed { id: self.id }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str, closes: bool) -> StageFields {
        StageFields {
            name: name.into(),
            closes_incident: closes,
            ..Default::default()
        }
    }

    fn fields(error: Error) -> Vec<String> {
        match error {
            Error::InvalidArgument(list) => list.into_iter().map(|v| v.field.to_string()).collect(),
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn the_default_workflow_is_the_same_for_a_tenant_and_its_own() {
        let tenant = Uuid::now_v7();
        let workflow = Workflow::default_for(tenant);
        assert_eq!(workflow, Workflow::default_for(tenant));
        assert_ne!(workflow.id, Workflow::default_for(Uuid::now_v7()).id);
        let names: Vec<&str> = workflow.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["Intake", "Investigation", "Remediation", "Notification", "Closed"]
        );
        let closing: Vec<bool> = workflow.stages.iter().map(|s| s.closes_incident).collect();
        assert_eq!(closing, [false, false, false, false, true]);
        assert_eq!(workflow.start().map(|p| p.stage.name), Some("Intake".to_owned()));
    }

    #[test]
    fn a_workflow_needs_distinct_stages_and_one_that_closes() {
        let error = NewWorkflow::parse("Breach".into(), vec![]).unwrap_err();
        assert_eq!(fields(error), ["stages"]);
        let error = NewWorkflow::parse("Breach".into(), vec![stage("Open", false)]).unwrap_err();
        assert_eq!(fields(error), ["stages"]);
        let stages = vec![stage("Triage", false), stage("Done", true), stage(" done", false)];
        assert_eq!(
            fields(NewWorkflow::parse("Breach".into(), stages).unwrap_err()),
            ["stages[2].name"]
        );
        let error = NewWorkflow::parse("Breach".into(), vec![stage("Done", true)]).unwrap_err();
        assert_eq!(fields(error), ["stages[0].closesIncident"], "new incidents start open");
        let colored = StageFields {
            badge_color: Some("red".into()),
            ..stage("Done", true)
        };
        let stages = vec![stage("Triage", false), colored];
        assert_eq!(
            fields(NewWorkflow::parse("B".into(), stages).unwrap_err()),
            ["stages[1].badgeColor"]
        );
    }

    #[test]
    fn stages_are_numbered_in_order() {
        let new = NewWorkflow::parse("Breach".into(), vec![stage("Triage", false), stage("Done", true)]).unwrap();
        let workflow = new.into_workflow(Uuid::now_v7(), Uuid::now_v7);
        let sequences: Vec<i32> = workflow.stages.iter().map(|s| s.sequence).collect();
        assert_eq!(sequences, [1, 2]);
    }

    #[test]
    fn parameters_are_named_and_flags_are_true_or_false() {
        let mut v = Violations::new();
        let raw = BTreeMap::from([
            ("skipValidation".to_owned(), "yes".to_owned()),
            ("notifyUsers".to_owned(), "true".to_owned()),
            ("colour".to_owned(), "x".to_owned()),
            ("executeRule".to_owned(), "false".to_owned()),
        ]);
        StageParameters::parse(&mut v, raw);
        let found: Vec<String> = v.into_vec().into_iter().map(|v| v.field.to_string()).collect();
        assert_eq!(
            found,
            [
                r#"parameters["colour"]"#,
                r#"parameters["notifyUsers"]"#,
                r#"parameters["skipValidation"]"#
            ]
        );
    }
}
