//! What an update replaces: the fields of the editable body by their JSON names,
//! the update mask that names some of them, and the etag that guards against
//! overwriting a change the caller has not seen.

use std::collections::{BTreeMap, BTreeSet};

use strum::{EnumIter, IntoEnumIterator, IntoStaticStr};
use uuid::Uuid;

use super::{
    error::Violations,
    incident::Incident,
    input::{AssigneeRef, AttributeValueRef, IncidentFields, WireTime},
    jurisdiction::JurisdictionRef,
    request::RequestKey,
    text::{name_key, shorten},
};

/// An update as asked for: a body, which of its fields to take, and its guards.
#[derive(Debug)]
pub struct Update {
    pub body: IncidentFields,
    pub mask: UpdateMask,
    /// When given, the update applies only to the revision it tags.
    pub etag: Option<String>,
    pub request: Option<RequestKey>,
}

/// A field of the editable body, named as in JSON (`rootCause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, EnumIter, IntoStaticStr, serde::Serialize)]
#[strum(serialize_all = "camelCase")]
pub enum BodyField {
    Name,
    Description,
    IncidentTypeName,
    OrgGroupId,
    DateOccurred,
    DateDiscovered,
    Deadline,
    SourceType,
    RootCause,
    NotificationNeeded,
    AttributeValues,
    IncidentAssigneeRequests,
    Jurisdictions,
}

impl BodyField {
    pub fn json_name(self) -> &'static str {
        self.into()
    }

    /// The field named by `path`: its JSON name (`rootCause`) or its proto name
    /// (`root_cause`, which is how JSON clients' field masks reach a gRPC server).
    fn from_path(path: &str) -> Option<Self> {
        Self::iter().find(|f| f.json_name() == path || proto_name(f.json_name()) == path)
    }
}

/// `rootCause` → `root_cause`.
fn proto_name(json_name: &str) -> String {
    let mut name = String::with_capacity(json_name.len() + 4);
    for c in json_name.chars() {
        if c.is_ascii_uppercase() {
            name.push('_');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

/// Which fields an update replaces.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum UpdateMask {
    /// The whole body, as the original PUT: no mask, an empty one, or `*`.
    All,
    /// Only these fields, and these attributes alone (by name, as given).
    Only {
        fields: BTreeSet<BodyField>,
        attributes: BTreeSet<String>,
    },
}

impl UpdateMask {
    /// The mask of a request, for every transport: none replaces the whole body
    /// (the original PUT), no path replaces nothing (an empty merge patch), and
    /// paths name what to replace. Each bad path is recorded under `field`
    /// (`updateMask.paths[2]`). A path is a body field's JSON or proto name, `*`
    /// alone (the whole body), or `attributeValues.<name>` for one custom
    /// attribute, the name in backticks when it is not a plain word
    /// (`` attributeValues.`Data Category` ``).
    pub fn parse(v: &mut Violations, field: &str, paths: Option<Vec<String>>) -> Self {
        let Some(paths) = paths else {
            return UpdateMask::All;
        };
        let mut fields = BTreeSet::new();
        let mut attributes = BTreeSet::new();
        let all = paths.iter().any(|p| p == "*");
        for (i, path) in paths.iter().enumerate() {
            let at = format!("{field}.paths[{i}]");
            if path == "*" {
                if paths.len() > 1 {
                    v.add(at, "`*` must be the only path");
                }
            } else if let Some(found) = BodyField::from_path(path) {
                fields.insert(found);
            } else if let Some(name) = attribute_in_path(path) {
                match name {
                    Some(name) => {
                        attributes.insert(name);
                    }
                    None => v.add(at, "names no attribute; write attributeValues.`<attribute name>`"),
                }
            } else {
                v.add(
                    at,
                    format!(
                        "{} is not a field of the incident body; the fields are {}",
                        shorten(path),
                        field_list()
                    ),
                );
            }
        }
        if all {
            return UpdateMask::All;
        }
        if fields.contains(&BodyField::AttributeValues) {
            attributes.clear();
        }
        UpdateMask::Only { fields, attributes }
    }

    /// The body an update with this mask asks for: `current` with the masked
    /// fields taken from `body`, so that the whole result is checked as one. A
    /// masked attribute that `body` leaves out ends with no values.
    pub fn apply(&self, current: IncidentFields, mut body: IncidentFields) -> IncidentFields {
        let UpdateMask::Only { fields, attributes } = self else {
            return body;
        };
        let mut result = current;
        for field in fields {
            match field {
                BodyField::Name => result.name = std::mem::take(&mut body.name),
                BodyField::Description => result.description = body.description.take(),
                BodyField::IncidentTypeName => result.incident_type_name = std::mem::take(&mut body.incident_type_name),
                BodyField::OrgGroupId => result.org_group_id = std::mem::take(&mut body.org_group_id),
                BodyField::DateOccurred => result.date_occurred = body.date_occurred.take(),
                BodyField::DateDiscovered => result.date_discovered = body.date_discovered.take(),
                BodyField::Deadline => result.deadline = body.deadline.take(),
                BodyField::SourceType => result.source_type = body.source_type.take(),
                BodyField::RootCause => result.root_cause = body.root_cause.take(),
                BodyField::NotificationNeeded => result.notification_needed = body.notification_needed.take(),
                BodyField::AttributeValues => result.attribute_values = std::mem::take(&mut body.attribute_values),
                BodyField::IncidentAssigneeRequests => result.assignees = std::mem::take(&mut body.assignees),
                BodyField::Jurisdictions => result.jurisdictions = std::mem::take(&mut body.jurisdictions),
            }
        }
        for name in attributes {
            let key = name_key(name);
            result.attribute_values.retain(|k, _| name_key(k) != key);
            let given = body.attribute_values.iter().find(|(k, _)| name_key(k) == key);
            let (name, values) = given.map_or_else(|| (name.clone(), Vec::new()), |(k, v)| (k.clone(), v.clone()));
            // An empty list still names the attribute, so an unknown one is refused.
            result.attribute_values.insert(name, values);
        }
        result
    }
}

/// `Some(Some(name))` for `attributeValues.<name>` (or `` .`<name>` ``), `Some(None)`
/// when the name is missing, `None` when the path is about something else.
fn attribute_in_path(path: &str) -> Option<Option<String>> {
    let rest = ["attributeValues.", "attribute_values."]
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix))?;
    let name = rest.strip_prefix('`').and_then(|r| r.strip_suffix('`')).unwrap_or(rest);
    Some((!name.trim().is_empty()).then(|| name.to_owned()))
}

fn field_list() -> String {
    let names: Vec<_> = BodyField::iter().map(BodyField::json_name).collect();
    format!("{} and attributeValues.`<attribute name>`", names.join(", "))
}

impl Incident {
    /// The incident's editable body in the form a request gives it, so that a
    /// partial update can be checked as a whole.
    pub fn fields(&self) -> IncidentFields {
        let mut attribute_values: BTreeMap<String, Vec<AttributeValueRef>> = BTreeMap::new();
        for value in &self.attribute_values {
            attribute_values
                .entry(value.attribute_name.clone())
                .or_default()
                .push(AttributeValueRef {
                    id: value.option.as_ref().map(|o| o.id.to_string()),
                    value: value.text.clone(),
                });
        }
        IncidentFields {
            name: self.name.clone(),
            description: self.description.clone(),
            incident_type_name: self.incident_type.name.clone(),
            org_group_id: self.organization.id.to_string(),
            date_occurred: self.date_occurred.map(WireTime::from),
            date_discovered: self.date_discovered.map(WireTime::from),
            deadline: self.deadline.map(WireTime::from),
            source_type: Some(self.source_type.as_str().to_owned()),
            root_cause: self.root_cause.clone(),
            notification_needed: Some(self.notification_needed.as_str().to_owned()),
            attribute_values,
            assignees: self
                .assignees
                .iter()
                .map(|a| AssigneeRef {
                    assignee_id: a.assignee.id.to_string(),
                    assignee_email: a.email.clone(),
                    kind: Some(a.assignee.kind.as_str().to_owned()),
                })
                .collect(),
            jurisdictions: self
                .jurisdictions
                .iter()
                .map(|impacted| {
                    let j = impacted.jurisdiction;
                    JurisdictionRef {
                        jurisdiction_id: Some(j.id.to_string()),
                        country_code: j.country_code.to_owned(),
                        state_province_code: j.state_province_code.map(str::to_owned),
                        affected_individuals: impacted.affected_individuals.and_then(|n| i64::try_from(n).ok()),
                    }
                })
                .collect(),
        }
    }

    /// An opaque tag of this revision of the incident: it changes with every
    /// update that changes something, and only then.
    pub fn etag(&self) -> String {
        Uuid::new_v5(&self.id, &self.revision.to_be_bytes())
            .simple()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(paths: &[&str]) -> (UpdateMask, Vec<String>) {
        let mut v = Violations::new();
        let paths = paths.iter().map(|p| p.to_string()).collect();
        let mask = UpdateMask::parse(&mut v, "updateMask", Some(paths));
        (mask, v.into_vec().into_iter().map(|v| v.field.to_string()).collect())
    }

    #[test]
    fn json_and_proto_names_name_the_same_field() {
        let (mask, bad) = parse(&["rootCause", "incident_assignee_requests", "name"]);
        assert!(bad.is_empty(), "{bad:?}");
        let UpdateMask::Only { fields, attributes } = mask else {
            panic!("expected a partial mask")
        };
        assert_eq!(
            fields.into_iter().collect::<Vec<_>>(),
            [
                BodyField::Name,
                BodyField::RootCause,
                BodyField::IncidentAssigneeRequests
            ]
        );
        assert!(attributes.is_empty());
    }

    #[test]
    fn no_mask_or_a_star_replace_everything_and_no_path_nothing() {
        assert_eq!(
            UpdateMask::parse(&mut Violations::new(), "updateMask", None),
            UpdateMask::All
        );
        assert_eq!(parse(&["*"]).0, UpdateMask::All);
        let nothing = UpdateMask::Only {
            fields: BTreeSet::new(),
            attributes: BTreeSet::new(),
        };
        assert_eq!(parse(&[]).0, nothing);
        assert_eq!(parse(&["number"]).0, nothing, "bad paths alone replace nothing");
    }

    #[test]
    fn unknown_paths_and_a_star_among_others_are_named() {
        let (_, bad) = parse(&["name", "nmae", "*", "attributeValues.``", "number"]);
        assert_eq!(
            bad,
            [
                "updateMask.paths[1]",
                "updateMask.paths[2]",
                "updateMask.paths[3]",
                "updateMask.paths[4]"
            ]
        );
    }

    #[test]
    fn one_attribute_replaces_only_that_attribute() {
        let (mask, bad) = parse(&["attributeValues.`data category`"]);
        assert!(bad.is_empty());
        let value = |v: &str| AttributeValueRef {
            id: None,
            value: Some(v.to_owned()),
        };
        let current = IncidentFields {
            name: "current".into(),
            attribute_values: BTreeMap::from([
                ("Data Category".to_owned(), vec![value("Health")]),
                ("Severity".to_owned(), vec![value("Low")]),
            ]),
            ..Default::default()
        };
        let body = IncidentFields {
            name: "ignored".into(),
            attribute_values: BTreeMap::from([
                ("DATA CATEGORY".to_owned(), vec![value("Financial")]),
                ("Severity".to_owned(), vec![value("High")]),
            ]),
            ..Default::default()
        };
        let result = mask.apply(current, body);
        assert_eq!(result.name, "current");
        let values: BTreeMap<_, _> = result
            .attribute_values
            .iter()
            .map(|(k, v)| (k.as_str(), v[0].value.as_deref()))
            .collect();
        assert_eq!(
            values,
            BTreeMap::from([("DATA CATEGORY", Some("Financial")), ("Severity", Some("Low"))])
        );
    }

    #[test]
    fn a_masked_attribute_left_out_of_the_body_is_cleared() {
        let (mask, _) = parse(&["attribute_values.Severity"]);
        let current = IncidentFields {
            attribute_values: BTreeMap::from([(
                "severity".to_owned(),
                vec![AttributeValueRef {
                    id: None,
                    value: Some("Low".into()),
                }],
            )]),
            ..Default::default()
        };
        let result = mask.apply(current, IncidentFields::default());
        assert_eq!(result.attribute_values.len(), 1);
        assert!(result.attribute_values["Severity"].is_empty());
    }
}
