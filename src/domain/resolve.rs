//! Resolving a parsed body against the tenant's reference data: the rules that
//! need to know what exists (incident types, organizations, the directory,
//! attributes and their options).

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::{
    enums::AttributeKind,
    error::{Error, Violations},
    incident::{AssignedTo, ChosenValue, IncidentDraft},
    input::{AttributeInput, IncidentInput, ValueChoice, attribute_path},
    path::FieldPath,
    reference::{Assignee, Attribute, IncidentType, Organization},
    text::{name_key, shorten},
};

/// The reference data one body refers to, loaded in the transaction that stores it.
#[derive(Debug, Default)]
pub struct ReferenceSnapshot {
    /// The type named by `incidentTypeName`, if the tenant has it.
    pub incident_type: Option<IncidentType>,
    /// The organization named by `orgGroupId`, if the tenant has it.
    pub organization: Option<Organization>,
    /// The named assignees that exist in the tenant's directory.
    pub assignees: HashMap<Uuid, Assignee>,
    /// The named attributes that the tenant defines, by case-insensitive name.
    pub attributes: HashMap<String, Attribute>,
    /// Options already on the incident being updated: they may stay even if disabled.
    pub already_chosen: HashSet<Uuid>,
}

/// Checks every reference of `input` that parsed, and reports its violations
/// together with those of parsing: the draft exists only if there are none.
pub fn resolve(mut input: IncidentInput, reference: ReferenceSnapshot) -> Result<IncidentDraft, Error> {
    let mut v = std::mem::take(&mut input.violations);
    if let (Some(name), None) = (&input.incident_type_name, &reference.incident_type) {
        v.add(
            "incidentTypeName",
            format!("{} is not an incident type of this tenant", shorten(name.as_str())),
        );
    }
    if input.org_group_id.is_some() && reference.organization.is_none() {
        v.add("orgGroupId", "is not an organization of this tenant");
    }
    let assignees = resolve_assignees(&mut v, &input, &reference.assignees);
    let attribute_values = resolve_attributes(&mut v, &input.attribute_values, &reference);
    match (input.name, reference.incident_type, reference.organization) {
        (Some(name), Some(incident_type), Some(organization)) if v.is_empty() => Ok(IncidentDraft {
            name,
            description: input.description,
            incident_type,
            organization,
            date_occurred: input.date_occurred,
            date_discovered: input.date_discovered,
            deadline: input.deadline,
            source_type: input.source_type,
            root_cause: input.root_cause,
            notification_needed: input.notification_needed,
            attribute_values,
            assignees,
            jurisdictions: input.jurisdictions,
        }),
        _ => Err(v.into_error()),
    }
}

fn resolve_assignees(
    v: &mut Violations,
    input: &IncidentInput,
    directory: &HashMap<Uuid, Assignee>,
) -> Vec<AssignedTo> {
    let mut resolved = Vec::with_capacity(input.assignees.len());
    for wanted in &input.assignees {
        let at = format!("incidentAssigneeRequests[{}]", wanted.index);
        let Some(found) = directory.get(&wanted.id) else {
            v.add(format!("{at}.assigneeId"), "is not a user or group of this tenant");
            continue;
        };
        if found.kind != wanted.kind {
            v.add(
                format!("{at}.type"),
                format!("the assignee is a {}", found.kind.as_str()),
            );
            continue;
        }
        if let Some(email) = &wanted.email
            && !found.email.as_deref().is_some_and(|known| email.matches(known))
        {
            v.add(
                format!("{at}.assigneeEmail"),
                "does not match the user's e-mail address",
            );
            continue;
        }
        resolved.push(AssignedTo {
            assignee: found.clone(),
            email: wanted.email.as_ref().map(|e| e.as_str().to_owned()),
        });
    }
    resolved
}

fn resolve_attributes(
    v: &mut Violations,
    wanted: &[AttributeInput],
    reference: &ReferenceSnapshot,
) -> Vec<ChosenValue> {
    let mut chosen = Vec::new();
    let mut seen = HashSet::new();
    for input in wanted {
        let path = attribute_path(&input.name);
        let key = name_key(&input.name);
        let Some(attribute) = reference.attributes.get(&key) else {
            v.add(path.clone(), "is not an attribute of this tenant");
            continue;
        };
        if !seen.insert(key) {
            v.add(
                path.clone(),
                format!("names the attribute {} a second time", shorten(&attribute.name)),
            );
            continue;
        }
        if attribute.kind != AttributeKind::MultiSelect && input.values.len() > 1 {
            v.add(
                path.values(),
                format!("a {} attribute takes at most one value", attribute.kind.as_str()),
            );
            continue;
        }
        let mut options_seen = HashSet::new();
        for (i, choice) in input.values.iter().enumerate() {
            let at = path.clone().values().index(i);
            let value = match attribute.kind {
                AttributeKind::Text => text_value(v, &at, attribute, choice),
                _ => option_value(v, &at, attribute, choice, &reference.already_chosen),
            };
            let Some(value) = value else { continue };
            if let Some(option) = &value.option
                && !options_seen.insert(option.id)
            {
                v.add(at, "repeats an earlier option");
                continue;
            }
            chosen.push(value);
        }
    }
    // Stable: values of one attribute keep the order given.
    chosen.sort_by_cached_key(|value| name_key(&value.attribute_name));
    chosen
}

fn text_value(v: &mut Violations, at: &FieldPath, attribute: &Attribute, choice: &ValueChoice) -> Option<ChosenValue> {
    if choice.option_id.is_some() {
        v.add(
            at.clone().field("id"),
            "a TEXT attribute has no options; give the text as value",
        );
        return None;
    }
    let text = choice.value.as_ref()?;
    Some(ChosenValue {
        attribute_id: attribute.id,
        attribute_name: attribute.name.clone(),
        option: None,
        text: Some(text.as_str().to_owned()),
    })
}

fn option_value(
    v: &mut Violations,
    at: &FieldPath,
    attribute: &Attribute,
    choice: &ValueChoice,
    already_chosen: &HashSet<Uuid>,
) -> Option<ChosenValue> {
    let by_id = match choice.option_id {
        None => None,
        Some(id) => match attribute.options.iter().find(|o| o.id == id) {
            Some(option) => Some(option),
            None => {
                v.add(at.clone().field("id"), "is not an option of this attribute");
                return None;
            }
        },
    };
    let by_value = match &choice.value {
        None => None,
        Some(value) => {
            let key = name_key(value.as_str());
            match attribute.options.iter().find(|o| name_key(&o.value) == key) {
                Some(option) => Some(option),
                None => {
                    v.add(
                        at.clone().field("value"),
                        format!("{} is not an option of this attribute", shorten(value.as_str())),
                    );
                    return None;
                }
            }
        }
    };
    let option = match (by_id, by_value) {
        (Some(a), Some(b)) if a.id != b.id => {
            v.add(at.clone().field("value"), "names another option than id");
            return None;
        }
        (Some(option), _) | (None, Some(option)) => option,
        (None, None) => return None,
    };
    if option.disabled && !already_chosen.contains(&option.id) {
        v.add(
            at.clone(),
            format!(
                "the option {} is disabled and cannot be newly chosen",
                shorten(&option.value)
            ),
        );
        return None;
    }
    Some(ChosenValue {
        attribute_id: attribute.id,
        attribute_name: attribute.name.clone(),
        option: Some(option.clone()),
        text: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        enums::AssigneeKind,
        input::{AttributeValueRef, IncidentFields},
        reference::AttributeOption,
    };

    fn severity() -> Attribute {
        let option = |value: &str, disabled| AttributeOption {
            id: Uuid::now_v7(),
            value: value.into(),
            disabled,
        };
        Attribute {
            id: Uuid::now_v7(),
            name: "Severity".into(),
            kind: AttributeKind::SingleSelect,
            options: vec![option("Low", false), option("Unrated", true)],
        }
    }

    fn snapshot(attribute: &Attribute, already_chosen: HashSet<Uuid>) -> ReferenceSnapshot {
        ReferenceSnapshot {
            incident_type: Some(IncidentType {
                id: Uuid::now_v7(),
                name: "Unknown".into(),
            }),
            organization: Some(Organization {
                id: Uuid::now_v7(),
                name: "HQ".into(),
                parent_id: None,
            }),
            assignees: HashMap::new(),
            attributes: [("severity".to_owned(), attribute.clone())].into(),
            already_chosen,
        }
    }

    fn choosing(value: &str) -> IncidentInput {
        let mut fields = IncidentFields {
            name: "Incident".into(),
            org_group_id: Uuid::now_v7().to_string(),
            ..Default::default()
        };
        let choice = AttributeValueRef {
            id: None,
            value: Some(value.into()),
        };
        fields.attribute_values.insert("severity".into(), vec![choice]);
        IncidentInput::parse(fields)
    }

    #[test]
    fn a_disabled_option_cannot_be_newly_chosen() {
        let attribute = severity();
        let Err(Error::InvalidArgument(violations)) =
            resolve(choosing("Unrated"), snapshot(&attribute, HashSet::new()))
        else {
            panic!("a disabled option was accepted");
        };
        assert_eq!(
            violations[0].field.to_string(),
            "attributeValues[\"severity\"].values[0]"
        );
    }

    #[test]
    fn a_disabled_option_already_chosen_may_stay() {
        let attribute = severity();
        let unrated = attribute.options[1].id;
        let draft = resolve(choosing("unrated"), snapshot(&attribute, [unrated].into())).unwrap();
        assert_eq!(draft.attribute_values[0].option.as_ref().map(|o| o.id), Some(unrated));
        assert_eq!(
            draft.attribute_values[0].attribute_name, "Severity",
            "shown under its canonical name"
        );
    }

    #[test]
    fn an_assignee_must_exist_with_the_given_type() {
        let attribute = severity();
        let mut fields = IncidentFields {
            name: "Incident".into(),
            org_group_id: Uuid::now_v7().to_string(),
            ..Default::default()
        };
        let group = Uuid::now_v7();
        fields.assignees = vec![crate::domain::input::AssigneeRef {
            assignee_id: group.to_string(),
            ..Default::default()
        }];
        let mut reference = snapshot(&attribute, HashSet::new());
        reference.assignees.insert(
            group,
            crate::domain::reference::Assignee {
                id: group,
                name: "Office".into(),
                email: None,
                kind: AssigneeKind::Group,
            },
        );
        let Err(Error::InvalidArgument(violations)) = resolve(IncidentInput::parse(fields), reference) else {
            panic!("a group was accepted as a user");
        };
        assert_eq!(violations[0].field.to_string(), "incidentAssigneeRequests[0].type");
    }
}
