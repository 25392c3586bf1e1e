//! Change events: what other services are told of every committed change of
//! an incident. An event is the revision the change made, with its kind and
//! its place in the tenant's sequence (gap-free, in commit order), and a
//! watch is a cursor in that sequence with filters on what it is sent.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use strum::IntoEnumIterator;
use uuid::Uuid;

use super::{
    Error, Violations,
    enums::IncidentStatus,
    incident::Incident,
    revision::{FieldChange, MAP_FIELDS, changed_field_names},
    text::parse_uuid,
};

/// What kind of change an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, strum::EnumIter, strum::IntoStaticStr)]
pub enum EventType {
    #[strum(serialize = "incident.created")]
    Created,
    #[strum(serialize = "incident.updated")]
    Updated,
    #[strum(serialize = "incident.stage_changed")]
    StageChanged,
    #[strum(serialize = "incident.closed")]
    Closed,
    #[strum(serialize = "incident.reopened")]
    Reopened,
    #[strum(serialize = "incident.notification_recorded")]
    NotificationRecorded,
    #[strum(serialize = "incident.inventory_linked")]
    InventoryLinked,
    #[strum(serialize = "incident.inventory_unlinked")]
    InventoryUnlinked,
}

impl EventType {
    /// `incident.stage_changed`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// What follows `incident.`: `stage_changed`.
    pub fn suffix(self) -> &'static str {
        self.as_str().trim_start_matches("incident.")
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::iter().find(|kind| kind.as_str() == name)
    }

    /// The kind of a stage move from `before` to `after`: it closes the
    /// incident, reopens it, or only changes its stage.
    pub fn of_stage_move(before: &Incident, after: &Incident) -> Self {
        match (before.status, after.status) {
            (IncidentStatus::Open, IncidentStatus::Closed) => Self::Closed,
            (IncidentStatus::Closed, IncidentStatus::Open) => Self::Reopened,
            _ => Self::StageChanged,
        }
    }
}

/// One committed change of an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event_id: Uuid,
    /// Its place in the tenant's events: 1, 2, 3… with no gap, in commit order.
    pub sequence: i64,
    pub kind: EventType,
    pub tenant_id: Uuid,
    pub incident_id: Uuid,
    /// The revision the change made.
    pub revision: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Uuid,
    pub actor_name: String,
    /// The revision's changes.
    pub changes: Vec<FieldChange>,
}

impl Event {
    /// About the bytes the event takes to send: what a watch's buffer counts.
    pub fn approximate_size(&self) -> usize {
        const FIXED: usize = 200;
        let changes: usize = self
            .changes
            .iter()
            .map(|change| change.field.len() + json_size(&change.before) + json_size(&change.after))
            .sum();
        FIXED + self.actor_name.len() + changes
    }
}

/// About the bytes of a JSON value, without writing it out.
fn json_size(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 10,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(|v| json_size(v) + 1).sum::<usize>(),
        Value::Object(map) => 2 + map.iter().map(|(k, v)| k.len() + 4 + json_size(v)).sum::<usize>(),
    }
}

/// Most event types, changed fields and incident ids one watch may filter on.
pub const MAX_EVENT_TYPES: usize = 8;
pub const MAX_CHANGED_FIELDS: usize = 50;
pub const MAX_INCIDENT_IDS: usize = 100;

/// A watch as a transport receives it, every field unchecked.
#[derive(Debug, Default, Clone)]
pub struct WatchFields {
    /// The last sequence the caller has seen; `None`: from now on.
    pub after_sequence: Option<i64>,
    pub event_types: Vec<String>,
    pub changed_fields: Vec<String>,
    pub incident_ids: Vec<String>,
}

/// A watch, checked: where it starts and which events it is sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Watch {
    pub after_sequence: Option<i64>,
    pub filter: EventFilter,
}

/// Which events a watch is sent: those of any of the types, that changed
/// any of the fields, of any of the incidents; an empty list filters nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventFilter {
    types: HashSet<EventType>,
    fields: Vec<ChangedField>,
    incidents: HashSet<Uuid>,
}

/// A changed-field filter: a field (`notificationNeeded`), or a key inside a
/// field that is a map (`attributeValues.Severity`).
#[derive(Debug, Clone, PartialEq)]
struct ChangedField {
    field: &'static str,
    key: Option<String>,
}

impl Watch {
    pub fn parse(fields: WatchFields) -> Result<Self, Violations> {
        let WatchFields {
            after_sequence,
            event_types,
            changed_fields,
            incident_ids,
        } = fields;
        let mut violations = Violations::new();
        if let Some(after) = after_sequence
            && after < 0
        {
            violations.add("afterSequence", "must be 0 or more (0: from the first event kept)");
        }
        let types = parse_list(&mut violations, "eventTypes", &event_types, MAX_EVENT_TYPES, |name| {
            EventType::parse(name).ok_or_else(|| {
                let known: Vec<_> = EventType::iter().map(EventType::as_str).collect();
                format!("must be one of {}", known.join(", "))
            })
        });
        let fields = parse_list(
            &mut violations,
            "changedFields",
            &changed_fields,
            MAX_CHANGED_FIELDS,
            ChangedField::parse,
        );
        let incidents = parse_list(&mut violations, "incidentIds", &incident_ids, MAX_INCIDENT_IDS, |id| {
            parse_uuid(id)
        });
        if !violations.is_empty() {
            return Err(violations);
        }
        Ok(Self {
            after_sequence,
            filter: EventFilter {
                types: types.into_iter().collect(),
                fields,
                incidents: incidents.into_iter().collect(),
            },
        })
    }
}

impl Watch {
    /// The sequence the watch starts after, given where the tenant's kept
    /// events begin (`first`, `None` when none is kept) and end (`last`):
    /// from now on when no cursor is given; a cursor past the last event is
    /// one this database never gave; one whose next event is no longer kept
    /// has expired.
    pub fn start(&self, first: Option<i64>, last: i64) -> Result<i64, Error> {
        let Some(after) = self.after_sequence else {
            return Ok(last);
        };
        if after > last {
            return Err(Error::invalid(
                "afterSequence",
                format!("is after the tenant's latest event, {last}"),
            ));
        }
        let kept = after == last || first.is_some_and(|first| first <= after + 1);
        if !kept {
            return Err(Error::EventsExpired { after, oldest: first });
        }
        Ok(after)
    }

    /// Whether events read after `cursor`, beginning at `next`, follow on
    /// from it: sequences have no gap, so one means that those between were
    /// pruned while the watch was behind them.
    pub fn follows(cursor: i64, next: i64) -> Result<(), Error> {
        if next == cursor + 1 {
            Ok(())
        } else {
            Err(Error::EventsExpired {
                after: cursor,
                oldest: Some(next),
            })
        }
    }
}

/// Parses each item of a list of at most `max`, each violation at its index.
fn parse_list<T>(
    violations: &mut Violations,
    name: &str,
    items: &[String],
    max: usize,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Vec<T> {
    if items.len() > max {
        violations.add(name, format!("must have at most {max} items, has {}", items.len()));
        return Vec::new();
    }
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| violations.check(format!("{name}[{i}]"), parse(item)))
        .collect()
}

impl ChangedField {
    fn parse(path: &str) -> Result<Self, String> {
        let (head, key) = match path.split_once('.') {
            Some((head, key)) => (head, Some(key)),
            None => (path, None),
        };
        let Some(field) = changed_field_names().find(|name| *name == head) else {
            let known: Vec<_> = changed_field_names().collect();
            return Err(format!(
                "must be a field a change can name: one of {}",
                known.join(", ")
            ));
        };
        match key {
            Some("") => Err(format!("names nothing after {head}.")),
            Some(_) if !MAP_FIELDS.contains(&field) => Err(format!(
                "{head} has no keys to name; only {} do",
                MAP_FIELDS.join(" and ")
            )),
            key => Ok(Self {
                field,
                key: key.map(str::to_owned),
            }),
        }
    }

    fn matches(&self, change: &FieldChange) -> bool {
        change.field == self.field
            && self.key.as_deref().is_none_or(|key| {
                [&change.before, &change.after]
                    .iter()
                    .any(|side| side.as_object().is_some_and(|map| map.contains_key(key)))
            })
    }
}

impl EventFilter {
    pub fn matches(&self, event: &Event) -> bool {
        (self.types.is_empty() || self.types.contains(&event.kind))
            && (self.incidents.is_empty() || self.incidents.contains(&event.incident_id))
            && (self.fields.is_empty()
                || event
                    .changes
                    .iter()
                    .any(|change| self.fields.iter().any(|field| field.matches(change))))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(kind: EventType, changes: Vec<FieldChange>) -> Event {
        Event {
            event_id: Uuid::nil(),
            sequence: 1,
            kind,
            tenant_id: Uuid::nil(),
            incident_id: Uuid::from_u128(7),
            revision: 2,
            occurred_at: DateTime::UNIX_EPOCH,
            actor_id: Uuid::nil(),
            actor_name: "A".into(),
            changes,
        }
    }

    fn change(field: &str, before: serde_json::Value, after: serde_json::Value) -> FieldChange {
        FieldChange {
            field: field.into(),
            before,
            after,
        }
    }

    fn watch(types: &[&str], fields: &[&str], ids: &[&str]) -> Result<Watch, Vec<String>> {
        let owned = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        Watch::parse(WatchFields {
            after_sequence: Some(0),
            event_types: owned(types),
            changed_fields: owned(fields),
            incident_ids: owned(ids),
        })
        .map_err(|v| v.into_vec().into_iter().map(|v| v.field.to_string()).collect())
    }

    #[test]
    fn types_read_as_their_names() {
        for kind in EventType::iter() {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
            assert_eq!(format!("incident.{}", kind.suffix()), kind.as_str());
        }
        assert_eq!(EventType::StageChanged.suffix(), "stage_changed");
    }

    #[test]
    fn a_changed_field_filter_matches_the_field_or_a_key_inside_it() {
        let severity = change(
            "attributeValues",
            json!({"Severity": {"values": []}}),
            json!({"Severity": {"values": [{"value": "High"}]}}),
        );
        let updated = event(EventType::Updated, vec![severity]);
        let filter = |fields: &[&str]| watch(&[], fields, &[]).unwrap().filter;
        assert!(filter(&["attributeValues"]).matches(&updated));
        assert!(filter(&["attributeValues.Severity"]).matches(&updated));
        assert!(!filter(&["attributeValues.Ticket"]).matches(&updated));
        assert!(!filter(&["notificationNeeded"]).matches(&updated));
        assert!(filter(&["notificationNeeded", "attributeValues.Severity"]).matches(&updated));
        assert!(filter(&[]).matches(&updated));
    }

    #[test]
    fn type_and_incident_filters_each_narrow() {
        let closed = event(
            EventType::Closed,
            vec![change("incidentStatus", json!("OPEN"), json!("CLOSED"))],
        );
        let id = Uuid::from_u128(7).to_string();
        let other = Uuid::from_u128(8).to_string();
        assert!(watch(&["incident.closed"], &[], &[]).unwrap().filter.matches(&closed));
        assert!(!watch(&["incident.updated"], &[], &[]).unwrap().filter.matches(&closed));
        assert!(watch(&[], &[], &[&id]).unwrap().filter.matches(&closed));
        assert!(!watch(&[], &[], &[&other]).unwrap().filter.matches(&closed));
        assert!(
            !watch(&["incident.closed"], &["name"], &[&id])
                .unwrap()
                .filter
                .matches(&closed)
        );
    }

    #[test]
    fn a_cursor_starts_where_the_kept_events_follow_on_from_it() {
        let at = |after| Watch {
            after_sequence: after,
            filter: EventFilter::default(),
        };
        // From now on: the last sequence, whatever is kept.
        assert_eq!(at(None).start(None, 0).unwrap(), 0);
        assert_eq!(at(None).start(Some(40), 90).unwrap(), 90);
        // Within what is kept, or at its end.
        assert_eq!(at(Some(0)).start(Some(1), 9).unwrap(), 0);
        assert_eq!(at(Some(39)).start(Some(40), 90).unwrap(), 39);
        assert_eq!(at(Some(90)).start(Some(40), 90).unwrap(), 90);
        assert_eq!(at(Some(90)).start(None, 90).unwrap(), 90);
        assert_eq!(at(Some(0)).start(None, 0).unwrap(), 0);
        // Expired: the next event is gone.
        assert!(matches!(
            at(Some(38)).start(Some(40), 90),
            Err(Error::EventsExpired {
                after: 38,
                oldest: Some(40)
            })
        ));
        assert!(matches!(
            at(Some(5)).start(None, 90),
            Err(Error::EventsExpired { after: 5, oldest: None })
        ));
        // Never given.
        assert!(matches!(
            at(Some(91)).start(Some(40), 90),
            Err(Error::InvalidArgument(_))
        ));
        assert!(Watch::follows(4, 5).is_ok());
        assert!(matches!(
            Watch::follows(4, 7),
            Err(Error::EventsExpired {
                after: 4,
                oldest: Some(7)
            })
        ));
    }

    #[test]
    fn every_bad_item_is_named_by_its_index() {
        assert_eq!(
            watch(
                &["incident.created", "incident.deleted"],
                &["name", "nmae", "name.first", "attributeValues."],
                &["x"]
            ),
            Err(vec![
                "eventTypes[1]".to_owned(),
                "changedFields[1]".into(),
                "changedFields[2]".into(),
                "changedFields[3]".into(),
                "incidentIds[0]".into(),
            ])
        );
        let many: Vec<String> = (0..=MAX_INCIDENT_IDS)
            .map(|i| Uuid::from_u128(i as u128).to_string())
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(watch(&[], &[], &many), Err(vec!["incidentIds".to_owned()]));
        let negative = Watch::parse(WatchFields {
            after_sequence: Some(-1),
            ..WatchFields::default()
        });
        assert_eq!(negative.unwrap_err().into_vec()[0].field.to_string(), "afterSequence");
    }
}
