//! Reference data of a tenant: organizations, incident types, custom attributes
//! with options, and the directory of assignees. New entries are parsed here.

use uuid::Uuid;

use super::{
    enums::{AssigneeKind, AttributeKind, parse_choice},
    error::{Error, Violations},
    text::{Email, Name, parse_uuid},
};

/// The incident type every tenant has.
pub const UNKNOWN_INCIDENT_TYPE: &str = "Unknown";
/// Most options one select attribute may have.
pub const OPTIONS_MAX: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IncidentType {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttributeOption {
    pub id: Uuid,
    pub value: String,
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub id: Uuid,
    pub name: String,
    pub kind: AttributeKind,
    pub options: Vec<AttributeOption>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Assignee {
    pub id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub kind: AssigneeKind,
}

/// A valid new organization.
#[derive(Debug)]
pub struct NewOrganization {
    pub name: Name,
    pub parent_id: Option<Uuid>,
}

impl NewOrganization {
    pub fn parse(name: String, parent_id: Option<String>) -> Result<Self, Error> {
        let mut violations = Violations::new();
        let name = violations.check("name", Name::parse_unique(name));
        let parent_id = match parent_id.filter(|p| !p.is_empty()) {
            None => Some(None),
            Some(raw) => violations.check("parentId", parse_uuid(&raw)).map(Some),
        };
        match (name, parent_id) {
            (Some(name), Some(parent_id)) if violations.is_empty() => Ok(Self { name, parent_id }),
            _ => Err(violations.into_error()),
        }
    }
}

/// A valid new incident type.
#[derive(Debug)]
pub struct NewIncidentType {
    pub name: Name,
}

impl NewIncidentType {
    pub fn parse(name: String) -> Result<Self, Error> {
        let name = Name::parse_unique(name).map_err(|e| Error::invalid("name", e))?;
        Ok(Self { name })
    }
}

/// A valid new attribute: select kinds have 1..=500 distinct options, text has none.
#[derive(Debug)]
pub struct NewAttribute {
    pub name: Name,
    pub kind: AttributeKind,
    pub options: Vec<(Name, bool)>,
}

impl NewAttribute {
    /// `options` are `(value, disabled)` pairs in the order given.
    pub fn parse(name: String, kind: Option<&str>, options: Vec<(String, bool)>) -> Result<Self, Error> {
        let mut violations = Violations::new();
        let name = violations.check("name", Name::parse_unique(name));
        let all = [
            AttributeKind::Text,
            AttributeKind::SingleSelect,
            AttributeKind::MultiSelect,
        ];
        let kind = match kind {
            None => {
                violations.add("type", "is required: TEXT, SINGLE_SELECT or MULTI_SELECT");
                None
            }
            Some(raw) => violations.check("type", parse_choice(Some(raw), AttributeKind::Text, &all)),
        };
        match kind {
            Some(AttributeKind::Text) if !options.is_empty() => {
                violations.add("options", "a TEXT attribute takes no options")
            }
            Some(AttributeKind::SingleSelect | AttributeKind::MultiSelect) if options.is_empty() => {
                violations.add("options", "a select attribute needs at least one option")
            }
            _ if options.len() > OPTIONS_MAX => violations.add(
                "options",
                format!("at most {OPTIONS_MAX} options, got {}", options.len()),
            ),
            _ => {}
        }
        let mut seen = std::collections::HashSet::new();
        let mut parsed = Vec::with_capacity(options.len());
        for (i, (value, disabled)) in options.into_iter().enumerate() {
            let field = format!("options[{i}].value");
            if let Some(value) = violations.check(field.clone(), Name::parse_unique(value)) {
                if seen.insert(value.key()) {
                    parsed.push((value, disabled));
                } else {
                    violations.add(
                        field,
                        "repeats an earlier option (values are compared case-insensitively)",
                    );
                }
            }
        }
        match (name, kind) {
            (Some(name), Some(kind)) if violations.is_empty() => Ok(Self {
                name,
                kind,
                options: parsed,
            }),
            _ => Err(violations.into_error()),
        }
    }
}

/// A valid new directory entry; only users have an e-mail address.
#[derive(Debug)]
pub struct NewAssignee {
    pub name: Name,
    pub email: Option<Email>,
    pub kind: AssigneeKind,
}

impl NewAssignee {
    pub fn parse(name: String, email: Option<String>, kind: Option<&str>) -> Result<Self, Error> {
        let mut violations = Violations::new();
        let name = violations.check("name", Name::parse_unique(name));
        let kind = violations.check(
            "type",
            parse_choice(kind, AssigneeKind::User, &[AssigneeKind::User, AssigneeKind::Group]),
        );
        let email = match email.filter(|e| !e.is_empty()) {
            None => Some(None),
            Some(_) if kind == Some(AssigneeKind::Group) => {
                violations.add("email", "is allowed only for type USER");
                None
            }
            Some(raw) => violations.check("email", Email::parse(raw)).map(Some),
        };
        match (name, email, kind) {
            (Some(name), Some(email), Some(kind)) if violations.is_empty() => Ok(Self { name, email, kind }),
            _ => Err(violations.into_error()),
        }
    }
}

/// Reference data created together, each entry with the id it gets.
#[derive(Debug, Default)]
pub struct ReferenceBatch {
    pub organizations: Vec<(Uuid, NewOrganization)>,
    pub incident_types: Vec<(Uuid, NewIncidentType)>,
    pub attributes: Vec<(Uuid, NewAttribute)>,
    pub assignees: Vec<(Uuid, NewAssignee)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(error: Error) -> Vec<String> {
        match error {
            Error::InvalidArgument(list) => list.into_iter().map(|v| v.field.to_string()).collect(),
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn select_attributes_need_distinct_options() {
        let options = vec![("High".into(), false), ("high".into(), false)];
        let error = NewAttribute::parse("Severity".into(), Some("SINGLE_SELECT"), options).unwrap_err();
        assert_eq!(fields(error), ["options[1].value"]);
        let error = NewAttribute::parse("Severity".into(), Some("MULTI_SELECT"), vec![]).unwrap_err();
        assert_eq!(fields(error), ["options"]);
    }

    #[test]
    fn text_attributes_take_no_options() {
        let error = NewAttribute::parse("Notes".into(), Some("TEXT"), vec![("x".into(), false)]).unwrap_err();
        assert_eq!(fields(error), ["options"]);
        assert!(NewAttribute::parse("Notes".into(), None, vec![]).is_err());
    }

    #[test]
    fn groups_have_no_email() {
        let error = NewAssignee::parse("Legal".into(), Some("legal@example.com".into()), Some("GROUP")).unwrap_err();
        assert_eq!(fields(error), ["email"]);
        let user = NewAssignee::parse("Ann".into(), Some("ann@example.com".into()), None).unwrap();
        assert_eq!(user.kind, AssigneeKind::User);
    }
}
