//! The revision history of an incident: who changed which fields of its body,
//! when, from what to what. Values are JSON in the shape of the update body, so
//! a change reads like the request that made it.

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use strum::IntoEnumIterator;
use uuid::Uuid;

use super::{error::Violations, incident::Incident, inventory::InventoryType, token::PageTokens, update::BodyField};

/// Revisions per page when the caller does not say.
pub const PAGE_SIZE_DEFAULT: u64 = 20;
/// Most revisions per page; larger requests get this many.
pub const PAGE_SIZE_MAX: u64 = 100;

/// One field of the body, before and after a revision (`null` when unset).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// One revision: made by a create (revision 1) or by an update that changed something.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision {
    pub revision: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Uuid,
    pub actor_name: String,
    pub request_id: Option<Uuid>,
    pub changes: Vec<FieldChange>,
    /// Why, when the change was a stage move that gave a justification.
    pub justification: Option<String>,
}

/// One page of an incident's history, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionList {
    pub revisions: Vec<Revision>,
    /// The token of the next (older) page; `None` on the last page.
    pub next_page_token: Option<String>,
}

/// The fields a revision changes besides the body's: a stage move's, a
/// notification's and a link's.
const OTHER_FIELDS: [&str; 5] = [
    "incidentStageName",
    "incidentStatus",
    "dateClosed",
    "notifications",
    "linkedInventories",
];

/// The fields whose before and after are maps, narrowed to the keys that
/// changed (attribute names, inventory types).
pub const MAP_FIELDS: [&str; 2] = ["attributeValues", "linkedInventories"];

/// Every field name a change can carry.
pub fn changed_field_names() -> impl Iterator<Item = &'static str> {
    BodyField::iter().map(BodyField::json_name).chain(OTHER_FIELDS)
}

/// The fields that differ between `before` and `after`, in the body's order. A new
/// incident (`before` is `None`) lists every field it sets.
pub fn changes(before: Option<&Incident>, after: &Incident) -> Vec<FieldChange> {
    BodyField::iter()
        .filter_map(|field| {
            let new = value_of(after, field);
            let old = before.map_or(Value::Null, |b| value_of(b, field));
            let unchanged = match before {
                Some(_) => old == new,
                None => is_unset(&new),
            };
            let (before, after) = match (field, before) {
                (BodyField::AttributeValues, Some(_)) => changed_attributes(old, new),
                _ => (old, new),
            };
            (!unchanged).then(|| FieldChange {
                field: field.json_name().to_owned(),
                before,
                after,
            })
        })
        .collect()
}

/// Two `attributeValues` maps narrowed to the attributes whose values differ; an
/// attribute without values on one side shows there with an empty list.
fn changed_attributes(before: Value, after: Value) -> (Value, Value) {
    let (Value::Object(mut before), Value::Object(mut after)) = (before, after) else {
        return (Value::Null, Value::Null);
    };
    let names: BTreeSet<String> = before.keys().chain(after.keys()).cloned().collect();
    let (mut old, mut new) = (Map::new(), Map::new());
    for name in names {
        let empty = || json!({"values": []});
        let was = before.remove(&name).unwrap_or_else(empty);
        let is = after.remove(&name).unwrap_or_else(empty);
        if was != is {
            old.insert(name.clone(), was);
            new.insert(name, is);
        }
    }
    (Value::Object(old), Value::Object(new))
}

/// What a stage move changed: `incidentStageName`, and `incidentStatus` and
/// `dateClosed` where they moved.
pub fn stage_changes(before: &Incident, after: &Incident) -> Vec<FieldChange> {
    [
        (
            "incidentStageName",
            json!(before.stage.stage.name),
            json!(after.stage.stage.name),
        ),
        (
            "incidentStatus",
            json!(before.status.as_str()),
            json!(after.status.as_str()),
        ),
        (
            "dateClosed",
            time_value(before.date_closed),
            time_value(after.date_closed),
        ),
    ]
    .into_iter()
    .filter(|(_, before, after)| before != after)
    .map(|(field, before, after)| FieldChange {
        field: field.to_owned(),
        before,
        after,
    })
    .collect()
}

/// What a link or an unlink changed: `linkedInventories`, narrowed to the
/// inventory types whose links differ (`null` on the side without any).
pub fn link_changes(before: &Incident, after: &Incident) -> Vec<FieldChange> {
    let shown = |incident: &Incident, kind| {
        incident
            .linked_inventories
            .iter()
            .find(|l| l.inventory_type == kind)
            .map(|l| json!({"inventoryIds": l.inventory_ids, "externalIds": l.external_ids, "sourceType": l.source_type.as_str()}))
    };
    let (mut old, mut new) = (Map::new(), Map::new());
    for kind in InventoryType::iter() {
        let (was, is) = (shown(before, kind), shown(after, kind));
        if was != is {
            old.insert(kind.as_str().to_owned(), was.unwrap_or(Value::Null));
            new.insert(kind.as_str().to_owned(), is.unwrap_or(Value::Null));
        }
    }
    if old.is_empty() {
        return Vec::new();
    }
    vec![FieldChange {
        field: "linkedInventories".to_owned(),
        before: Value::Object(old),
        after: Value::Object(new),
    }]
}

/// A time as the bodies write it; `null` when unset.
fn time_value(at: Option<DateTime<Utc>>) -> Value {
    json!(at.map(|at| at.to_rfc3339_opts(SecondsFormat::AutoSi, true)))
}

fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// One field of an incident's body as JSON, as an update request would give it.
fn value_of(incident: &Incident, field: BodyField) -> Value {
    let time = time_value;
    match field {
        BodyField::Name => json!(incident.name),
        BodyField::Description => json!(incident.description),
        BodyField::IncidentTypeName => json!(incident.incident_type.name),
        BodyField::OrgGroupId => json!(incident.organization.id),
        BodyField::DateOccurred => time(incident.date_occurred),
        BodyField::DateDiscovered => time(incident.date_discovered),
        BodyField::Deadline => time(incident.deadline),
        BodyField::SourceType => json!(incident.source_type.as_str()),
        BodyField::RootCause => json!(incident.root_cause),
        BodyField::NotificationNeeded => json!(incident.notification_needed.as_str()),
        BodyField::AttributeValues => {
            let mut by_name = Map::new();
            for value in &incident.attribute_values {
                let entry = match &value.option {
                    Some(option) => json!({"id": option.id, "value": option.value}),
                    None => json!({"value": value.text}),
                };
                let values = by_name
                    .entry(value.attribute_name.clone())
                    .or_insert_with(|| json!({"values": []}));
                if let Some(Value::Array(list)) = values.get_mut("values") {
                    list.push(entry);
                }
            }
            Value::Object(by_name)
        }
        BodyField::IncidentAssigneeRequests => incident
            .assignees
            .iter()
            .map(|a| {
                let mut entry = json!({"assigneeId": a.assignee.id, "type": a.assignee.kind.as_str()});
                if let Some(email) = &a.email {
                    entry["assigneeEmail"] = json!(email);
                }
                entry
            })
            .collect(),
        BodyField::Jurisdictions => incident
            .jurisdictions
            .iter()
            .map(|impacted| {
                let j = impacted.jurisdiction;
                let mut entry = json!({"jurisdictionId": j.id, "countryCode": j.country_code});
                if let Some(state) = j.state_province_code {
                    entry["stateProvinceCode"] = json!(state);
                }
                if let Some(count) = impacted.affected_individuals {
                    entry["affectedIndividuals"] = json!(count);
                }
                entry
            })
            .collect(),
    }
}

/// Which page of an incident's history to read: newest first, `size` revisions
/// older than `before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevisionPage {
    pub size: u64,
    pub before: Option<i64>,
}

impl RevisionPage {
    /// Parses `pageSize` (0: the default; above the maximum: the maximum) and
    /// `pageToken` (from an earlier page of the same incident), recording violations.
    pub fn parse(
        v: &mut Violations,
        tokens: &PageTokens,
        incident_id: Option<Uuid>,
        page_size: i32,
        page_token: &str,
    ) -> Option<Self> {
        let size = match u64::try_from(page_size) {
            Ok(0) => Some(PAGE_SIZE_DEFAULT),
            Ok(size) => Some(size.min(PAGE_SIZE_MAX)),
            Err(_) => {
                v.add("pageSize", "must not be negative");
                None
            }
        };
        let before = if page_token.is_empty() {
            Some(None)
        } else {
            let decoded = decode_token(tokens, page_token);
            match (decoded, incident_id) {
                (Some((token_incident, revision)), Some(id)) if token_incident == id => Some(Some(revision)),
                (Some(_), None) => None,
                _ => {
                    v.add("pageToken", "is not a page token of this incident's revisions");
                    None
                }
            }
        };
        Some(Self {
            size: size?,
            before: before?,
        })
    }

    /// The token of the page after one that ended with `last_revision`.
    pub fn next_token(tokens: &PageTokens, incident_id: Uuid, last_revision: i64) -> String {
        tokens.seal(PURPOSE, format!("{incident_id}:{last_revision}").as_bytes())
    }
}

/// What revision tokens are sealed for.
const PURPOSE: &str = "revisions";

fn decode_token(tokens: &PageTokens, token: &str) -> Option<(Uuid, i64)> {
    let text = String::from_utf8(tokens.open(PURPOSE, token)?).ok()?;
    let (id, revision) = text.split_once(':')?;
    let revision: i64 = revision.parse().ok()?;
    Some((id.parse().ok()?, revision)).filter(|_| revision > 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip_for_their_own_incident_only() {
        let id = Uuid::now_v7();
        let tokens = crate::domain::token::for_tests(Uuid::now_v7());
        let token = RevisionPage::next_token(&tokens, id, 7);
        let mut v = Violations::new();
        let page = RevisionPage::parse(&mut v, &tokens, Some(id), 0, &token);
        assert_eq!(
            page,
            Some(RevisionPage {
                size: PAGE_SIZE_DEFAULT,
                before: Some(7)
            })
        );
        let other = RevisionPage::parse(&mut v, &tokens, Some(Uuid::now_v7()), 5, &token);
        assert_eq!(other, None);
        let garbage = RevisionPage::parse(&mut v, &tokens, Some(id), 5, "zz");
        assert_eq!(garbage, None);
        let unsealed = hex::encode(format!("{id}:3"));
        assert_eq!(RevisionPage::parse(&mut v, &tokens, Some(id), 5, &unsealed), None);
        let fields: Vec<_> = v.into_vec().into_iter().map(|v| v.field.to_string()).collect();
        assert_eq!(fields, ["pageToken", "pageToken", "pageToken"]);
    }

    #[test]
    fn page_sizes_default_cap_and_refuse_negatives() {
        let mut v = Violations::new();
        let t = &crate::domain::token::for_tests(Uuid::nil());
        assert_eq!(
            RevisionPage::parse(&mut v, t, None, 1000, "").map(|p| p.size),
            Some(PAGE_SIZE_MAX)
        );
        assert_eq!(RevisionPage::parse(&mut v, t, None, 3, "").map(|p| p.size), Some(3));
        assert_eq!(RevisionPage::parse(&mut v, t, None, -1, ""), None);
        assert_eq!(v.into_vec().len(), 1);
    }
}
