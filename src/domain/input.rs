//! An incident body as it arrives (plain fields from any transport) and its
//! parsed form: every field checked on its own, every violation recorded with
//! its path inside the body. References to reference data are checked next, by
//! `resolve`.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use uuid::Uuid;

use super::{
    enums::{AssigneeKind, NotificationNeeded, SourceType, parse_choice},
    error::Violations,
    jurisdiction::{self, AFFECTED_INDIVIDUALS_MAX, Impacted, JurisdictionRef},
    path::FieldPath,
    reference::UNKNOWN_INCIDENT_TYPE,
    text::{ATTRIBUTE_TEXT_MAX, Email, LONG_TEXT_MAX, NAME_MAX, Name, Text, parse_uuid},
};

/// Most custom attributes one request may set.
pub const ATTRIBUTES_MAX: usize = 100;
/// Most values one attribute may hold.
pub const ATTRIBUTE_VALUES_MAX: usize = 100;
/// Most attribute values of one incident, all attributes together.
pub const ATTRIBUTE_VALUES_TOTAL_MAX: usize = 1_000;
/// Most assignees of one incident.
pub const ASSIGNEES_MAX: usize = 50;
/// Most jurisdictions of one incident.
pub const JURISDICTIONS_MAX: usize = 300;

/// A point in time as it travels: seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct WireTime {
    pub seconds: i64,
    pub nanos: i32,
}

impl From<DateTime<Utc>> for WireTime {
    fn from(at: DateTime<Utc>) -> Self {
        Self {
            seconds: at.timestamp(),
            nanos: at.timestamp_subsec_nanos() as i32,
        }
    }
}

/// Turns a wire time into a stored one: years 1..=9999, kept to the microsecond
/// (the precision both databases store).
pub fn parse_time(time: WireTime) -> Result<DateTime<Utc>, String> {
    let parsed = u32::try_from(time.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .and_then(|nanos| DateTime::from_timestamp(time.seconds, nanos / 1_000 * 1_000));
    match parsed {
        Some(at) if (1..=9999).contains(&at.year()) => Ok(at),
        _ => Err("must be a time between 0001-01-01 and 9999-12-31 UTC".into()),
    }
}

/// The editable body of an incident as it arrives, every field still unchecked.
/// Enumerations carry their original names (`MANUAL`); absent means default.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IncidentFields {
    pub name: String,
    pub description: Option<String>,
    pub incident_type_name: String,
    pub org_group_id: String,
    pub date_occurred: Option<WireTime>,
    pub date_discovered: Option<WireTime>,
    pub deadline: Option<WireTime>,
    pub source_type: Option<String>,
    pub root_cause: Option<String>,
    pub notification_needed: Option<String>,
    pub attribute_values: BTreeMap<String, Vec<AttributeValueRef>>,
    pub assignees: Vec<AssigneeRef>,
    pub jurisdictions: Vec<JurisdictionRef>,
}

/// One attribute value as it arrives: an option by id, by value, or free text.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AttributeValueRef {
    pub id: Option<String>,
    pub value: Option<String>,
}

/// One assignee as it arrives.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AssigneeRef {
    pub assignee_id: String,
    pub assignee_email: Option<String>,
    pub kind: Option<String>,
}

/// A body with every field parsed that could be, and the violations of those that
/// could not. References are checked next (`resolve`), so that syntax and
/// reference violations are reported together; only a complete, valid draft
/// comes out of that.
#[derive(Debug)]
pub struct IncidentInput {
    pub name: Option<Name>,
    pub description: Option<Text>,
    pub incident_type_name: Option<Name>,
    pub org_group_id: Option<Uuid>,
    pub date_occurred: Option<DateTime<Utc>>,
    pub date_discovered: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub source_type: SourceType,
    pub root_cause: Option<Text>,
    pub notification_needed: NotificationNeeded,
    pub attribute_values: Vec<AttributeInput>,
    pub assignees: Vec<AssigneeInput>,
    pub jurisdictions: Vec<Impacted>,
    /// What could not be parsed, with paths inside the body.
    pub violations: Violations,
}

/// The values asked for one attribute, under the name the caller used.
#[derive(Debug, Clone)]
pub struct AttributeInput {
    pub name: String,
    pub values: Vec<ValueChoice>,
}

/// An option by id and/or value, or a text; which one fits depends on the attribute.
#[derive(Debug, Clone)]
pub struct ValueChoice {
    pub option_id: Option<Uuid>,
    pub value: Option<Text>,
}

#[derive(Debug, Clone)]
pub struct AssigneeInput {
    /// Its position in `incidentAssigneeRequests`, for violation paths.
    pub index: usize,
    pub id: Uuid,
    pub email: Option<Email>,
    pub kind: AssigneeKind,
}

/// The source types a request may give (`NONE` is only ever shown).
pub const REQUEST_SOURCE_TYPES: [SourceType; 4] = [
    SourceType::Manual,
    SourceType::Assessment,
    SourceType::Webform,
    SourceType::Integration,
];
const NOTIFICATION_CHOICES: [NotificationNeeded; 3] = [
    NotificationNeeded::Yes,
    NotificationNeeded::No,
    NotificationNeeded::Unknown,
];

impl IncidentInput {
    /// Parses a body, recording every violation with its path inside the body.
    pub fn parse(fields: IncidentFields) -> Self {
        let mut v = Violations::new();
        let IncidentFields {
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
            assignees,
            jurisdictions,
        } = fields;
        let name = v.check("name", Name::parse(name));
        let description = v.check("description", Text::parse_optional(description, LONG_TEXT_MAX));
        let incident_type_name = if incident_type_name.is_empty() {
            Name::parse(UNKNOWN_INCIDENT_TYPE.to_owned()).ok()
        } else {
            v.check("incidentTypeName", Name::parse(incident_type_name))
        };
        let org_group_id = v.check("orgGroupId", parse_uuid(&org_group_id));
        let mut time = |field: &str, raw: Option<WireTime>| raw.and_then(|t| v.check(field, parse_time(t)));
        let date_occurred = time("dateOccurred", date_occurred);
        let date_discovered = time("dateDiscovered", date_discovered);
        let deadline = time("deadline", deadline);
        if let (Some(occurred), Some(discovered)) = (date_occurred, date_discovered)
            && discovered < occurred
        {
            v.add("dateDiscovered", "must not be before dateOccurred");
        }
        let source_type = v.check(
            "sourceType",
            parse_choice(source_type.as_deref(), SourceType::Manual, &REQUEST_SOURCE_TYPES),
        );
        let root_cause = v.check("rootCause", Text::parse_optional(root_cause, LONG_TEXT_MAX));
        let notification_needed = v.check(
            "notificationNeeded",
            parse_choice(
                notification_needed.as_deref(),
                NotificationNeeded::Unknown,
                &NOTIFICATION_CHOICES,
            ),
        );
        let attribute_values = parse_attributes(&mut v, attribute_values);
        let assignees = parse_assignees(&mut v, assignees);
        let jurisdictions = parse_jurisdictions(&mut v, jurisdictions);
        Self {
            name,
            description: description.flatten(),
            incident_type_name,
            org_group_id,
            date_occurred,
            date_discovered,
            deadline,
            source_type: source_type.unwrap_or(SourceType::Manual),
            root_cause: root_cause.flatten(),
            notification_needed: notification_needed.unwrap_or(NotificationNeeded::Unknown),
            attribute_values,
            assignees,
            jurisdictions,
            violations: v,
        }
    }

    /// The assignee ids the body refers to, for loading exactly the reference
    /// data needed to resolve it.
    pub fn assignee_ids(&self) -> Vec<Uuid> {
        self.assignees.iter().map(|a| a.id).collect()
    }

    /// The case-insensitive keys of the attribute names the body uses.
    pub fn attribute_keys(&self) -> Vec<String> {
        self.attribute_values
            .iter()
            .map(|a| super::text::name_key(&a.name))
            .collect()
    }
}

/// The path of one attribute's entry in `attributeValues`.
pub fn attribute_path(name: &str) -> FieldPath {
    FieldPath::root().field("attributeValues").key(name)
}

fn parse_attributes(v: &mut Violations, raw: BTreeMap<String, Vec<AttributeValueRef>>) -> Vec<AttributeInput> {
    if raw.len() > ATTRIBUTES_MAX {
        v.add(
            "attributeValues",
            format!("at most {ATTRIBUTES_MAX} attributes, got {}", raw.len()),
        );
        return Vec::new();
    }
    let total: usize = raw.values().map(Vec::len).sum();
    if total > ATTRIBUTE_VALUES_TOTAL_MAX {
        v.add(
            "attributeValues",
            format!("at most {ATTRIBUTE_VALUES_TOTAL_MAX} values in all, got {total}"),
        );
        return Vec::new();
    }
    let mut parsed = Vec::with_capacity(raw.len());
    for (name, values) in raw {
        // A key too long to be a name is reported at the map, not echoed back.
        if name.chars().count() > NAME_MAX {
            v.add(
                "attributeValues",
                format!("attribute names are at most {NAME_MAX} characters"),
            );
            continue;
        }
        let path = attribute_path(&name);
        if let Err(problem) = Name::parse(name.clone()) {
            v.add(path, format!("an attribute name {problem}"));
            continue;
        }
        if values.len() > ATTRIBUTE_VALUES_MAX {
            v.add(
                path.values(),
                format!("at most {ATTRIBUTE_VALUES_MAX} values, got {}", values.len()),
            );
            continue;
        }
        let mut choices = Vec::with_capacity(values.len());
        for (i, AttributeValueRef { id, value }) in values.into_iter().enumerate() {
            let at = path.clone().values().index(i);
            let (id, value) = (id.filter(|s| !s.is_empty()), value.filter(|s| !s.is_empty()));
            if id.is_none() && value.is_none() {
                v.add(at, "needs an option id or a value");
                continue;
            }
            let option_id = id.map(|raw| v.check(at.clone().field("id"), parse_uuid(&raw)));
            let value = value.map(|raw| v.check(at.clone().field("value"), Text::parse(raw, ATTRIBUTE_TEXT_MAX)));
            match (option_id, value) {
                (Some(None), _) | (_, Some(None)) => {}
                (option_id, value) => choices.push(ValueChoice {
                    option_id: option_id.flatten(),
                    value: value.flatten(),
                }),
            }
        }
        parsed.push(AttributeInput { name, values: choices });
    }
    parsed
}

fn parse_assignees(v: &mut Violations, raw: Vec<AssigneeRef>) -> Vec<AssigneeInput> {
    if raw.len() > ASSIGNEES_MAX {
        v.add(
            "incidentAssigneeRequests",
            format!("at most {ASSIGNEES_MAX} assignees, got {}", raw.len()),
        );
        return Vec::new();
    }
    let mut parsed: Vec<AssigneeInput> = Vec::with_capacity(raw.len());
    for (
        i,
        AssigneeRef {
            assignee_id,
            assignee_email,
            kind,
        },
    ) in raw.into_iter().enumerate()
    {
        let at = format!("incidentAssigneeRequests[{i}]");
        let id = v.check(format!("{at}.assigneeId"), parse_uuid(&assignee_id));
        let kind = v.check(
            format!("{at}.type"),
            parse_choice(
                kind.as_deref(),
                AssigneeKind::User,
                &[AssigneeKind::User, AssigneeKind::Group],
            ),
        );
        let email = match assignee_email.filter(|e| !e.is_empty()) {
            None => Some(None),
            Some(_) if kind == Some(AssigneeKind::Group) => {
                v.add(format!("{at}.assigneeEmail"), "is allowed only for type USER");
                None
            }
            Some(raw) => v.check(format!("{at}.assigneeEmail"), Email::parse(raw)).map(Some),
        };
        let (Some(id), Some(kind), Some(email)) = (id, kind, email) else {
            continue;
        };
        if parsed.iter().any(|a| a.id == id) {
            v.add(format!("{at}.assigneeId"), "repeats an earlier assignee");
            continue;
        }
        parsed.push(AssigneeInput {
            index: i,
            id,
            email,
            kind,
        });
    }
    parsed
}

fn parse_jurisdictions(v: &mut Violations, raw: Vec<JurisdictionRef>) -> Vec<Impacted> {
    if raw.len() > JURISDICTIONS_MAX {
        v.add(
            "jurisdictions",
            format!("at most {JURISDICTIONS_MAX} jurisdictions, got {}", raw.len()),
        );
        return Vec::new();
    }
    let mut parsed: Vec<Impacted> = Vec::with_capacity(raw.len());
    for (i, request) in raw.iter().enumerate() {
        let affected_individuals = match request.affected_individuals {
            None => None,
            Some(count @ 0..=AFFECTED_INDIVIDUALS_MAX) => u64::try_from(count).ok(),
            Some(count) => {
                v.add(
                    format!("jurisdictions[{i}].affectedIndividuals"),
                    format!("must be a count from 0 to {AFFECTED_INDIVIDUALS_MAX}, got {count}"),
                );
                None
            }
        };
        match jurisdiction::resolve(request) {
            Ok(found) if parsed.iter().any(|j| j.jurisdiction.id == found.id) => {
                v.add(format!("jurisdictions[{i}]"), "repeats an earlier jurisdiction");
            }
            Ok(found) => parsed.push(Impacted {
                jurisdiction: found,
                affected_individuals,
            }),
            Err(problems) => {
                for (field, description) in problems {
                    v.add(format!("jurisdictions[{i}].{field}"), description);
                }
            }
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_fields() -> IncidentFields {
        IncidentFields {
            name: "Joe sent an email to the wrong client".into(),
            org_group_id: Uuid::now_v7().to_string(),
            ..Default::default()
        }
    }

    fn fields_of(input: IncidentInput) -> Vec<String> {
        input
            .violations
            .into_vec()
            .into_iter()
            .map(|v| v.field.to_string())
            .collect()
    }

    #[test]
    fn defaults_fill_absent_fields() {
        let input = IncidentInput::parse(valid_fields());
        assert!(input.violations.is_empty());
        assert_eq!(input.incident_type_name.unwrap().as_str(), "Unknown");
        assert_eq!(input.source_type, SourceType::Manual);
        assert_eq!(input.notification_needed, NotificationNeeded::Unknown);
    }

    #[test]
    fn every_violation_is_reported_with_its_path() {
        let fields = IncidentFields {
            name: String::new(),
            org_group_id: "nope".into(),
            source_type: Some("NONE".into()),
            date_occurred: Some(WireTime {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            date_discovered: Some(WireTime {
                seconds: 1_600_000_000,
                nanos: 0,
            }),
            jurisdictions: vec![JurisdictionRef {
                country_code: "USA".into(),
                ..Default::default()
            }],
            assignees: vec![AssigneeRef {
                assignee_id: "x".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            fields_of(IncidentInput::parse(fields)),
            [
                "name",
                "orgGroupId",
                "dateDiscovered",
                "sourceType",
                "incidentAssigneeRequests[0].assigneeId",
                "jurisdictions[0].stateProvinceCode"
            ]
        );
    }

    #[test]
    fn a_count_of_affected_individuals_is_0_to_the_maximum() {
        let counted = |count| JurisdictionRef {
            country_code: "DEU".into(),
            affected_individuals: Some(count),
            ..Default::default()
        };
        for bad in [-1, AFFECTED_INDIVIDUALS_MAX + 1, i64::MAX] {
            let fields = IncidentFields {
                jurisdictions: vec![counted(bad)],
                ..valid_fields()
            };
            assert_eq!(
                fields_of(IncidentInput::parse(fields)),
                ["jurisdictions[0].affectedIndividuals"],
                "{bad}"
            );
        }
        for good in [0, 500, AFFECTED_INDIVIDUALS_MAX] {
            let fields = IncidentFields {
                jurisdictions: vec![counted(good)],
                ..valid_fields()
            };
            let parsed = IncidentInput::parse(fields);
            assert!(parsed.violations.is_empty(), "{good}");
            assert_eq!(parsed.jurisdictions[0].affected_individuals, u64::try_from(good).ok());
        }
    }

    #[test]
    fn duplicates_are_refused() {
        let id = Uuid::now_v7().to_string();
        let assignee = AssigneeRef {
            assignee_id: id,
            ..Default::default()
        };
        let ny = JurisdictionRef {
            country_code: "USA".into(),
            state_province_code: Some("NY".into()),
            ..Default::default()
        };
        let fields = IncidentFields {
            assignees: vec![assignee.clone(), assignee],
            jurisdictions: vec![ny.clone(), ny],
            ..valid_fields()
        };
        assert_eq!(
            fields_of(IncidentInput::parse(fields)),
            ["incidentAssigneeRequests[1].assigneeId", "jurisdictions[1]"]
        );
    }

    #[test]
    fn group_assignees_take_no_email() {
        let fields = IncidentFields {
            assignees: vec![AssigneeRef {
                assignee_id: Uuid::now_v7().to_string(),
                assignee_email: Some("a@example.com".into()),
                kind: Some("GROUP".into()),
            }],
            ..valid_fields()
        };
        assert_eq!(
            fields_of(IncidentInput::parse(fields)),
            ["incidentAssigneeRequests[0].assigneeEmail"]
        );
    }

    #[test]
    fn times_are_bounded_and_kept_to_the_microsecond() {
        assert!(
            parse_time(WireTime {
                seconds: i64::MAX,
                nanos: 0
            })
            .is_err()
        );
        assert!(parse_time(WireTime { seconds: 0, nanos: -1 }).is_err());
        let at = parse_time(WireTime {
            seconds: 0,
            nanos: 123_456_789,
        })
        .unwrap();
        assert_eq!(at.timestamp_subsec_nanos(), 123_456_000);
    }

    #[test]
    fn attribute_names_are_names() {
        let value = AttributeValueRef {
            id: None,
            value: Some("x".into()),
        };
        let attribute_values = [
            ("a\u{0}b".to_owned(), vec![value.clone()]),
            ("x".repeat(256), vec![value]),
        ]
        .into();
        let fields = IncidentFields {
            attribute_values,
            ..valid_fields()
        };
        assert_eq!(
            fields_of(IncidentInput::parse(fields)),
            ["attributeValues[\"a\\0b\"]", "attributeValues"]
        );
    }

    #[test]
    fn attribute_values_are_bounded_in_all() {
        let value = || AttributeValueRef {
            id: None,
            value: Some("x".into()),
        };
        let attribute_values = (0..11).map(|i| (format!("A{i}"), vec![value(); 100])).collect();
        let fields = IncidentFields {
            attribute_values,
            ..valid_fields()
        };
        assert_eq!(fields_of(IncidentInput::parse(fields)), ["attributeValues"]);
    }

    #[test]
    fn attribute_values_need_an_id_or_a_value() {
        let mut attribute_values = BTreeMap::new();
        attribute_values.insert("Severity".to_owned(), vec![AttributeValueRef::default()]);
        let fields = IncidentFields {
            attribute_values,
            ..valid_fields()
        };
        assert_eq!(
            fields_of(IncidentInput::parse(fields)),
            ["attributeValues[\"Severity\"].values[0]"]
        );
    }
}
