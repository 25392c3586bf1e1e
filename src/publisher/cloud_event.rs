//! A change event as a CloudEvent 1.0 in the JSON event format (structured
//! content mode, the only one the NATS binding defines), and the subject it
//! is published on.

use chrono::SecondsFormat;
use serde_json::json;

use crate::domain::event::Event;

/// The NATS subject of `event`: `{prefix}.{tenantId}.incident.{type}`, so a
/// consumer can take one tenant's events, or one type of every tenant's.
pub fn subject(prefix: &str, event: &Event) -> String {
    format!("{prefix}.{}.incident.{}", event.tenant_id, event.kind.suffix())
}

/// `event` as a CloudEvent in JSON: the context attributes, then the event
/// itself as `data`, in the field names of WatchIncidents.
pub fn cloud_event(event: &Event) -> serde_json::Value {
    json!({
        "specversion": "1.0",
        "id": event.event_id,
        "source": format!("/incidentd/tenants/{}", event.tenant_id),
        "type": event.kind.as_str(),
        "subject": event.incident_id,
        "time": event.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "datacontenttype": "application/json",
        "data": {
            "eventId": event.event_id,
            "sequence": event.sequence,
            "type": event.kind.as_str(),
            "tenantId": event.tenant_id,
            "incidentId": event.incident_id,
            "revision": event.revision,
            "occurredAt": event.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            "actor": {"id": event.actor_id, "name": event.actor_name},
            "changes": event.changes,
        },
    })
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use uuid::Uuid;

    use super::*;
    use crate::domain::{event::EventType, revision::FieldChange};

    #[test]
    fn an_event_is_a_cloud_event_with_itself_as_data() {
        let event = Event {
            event_id: Uuid::from_u128(1),
            sequence: 42,
            kind: EventType::StageChanged,
            tenant_id: Uuid::from_u128(2),
            incident_id: Uuid::from_u128(3),
            revision: 7,
            occurred_at: "2026-12-03T10:00:00.000250Z".parse::<DateTime<Utc>>().unwrap(),
            actor_id: Uuid::from_u128(4),
            actor_name: "Ada".into(),
            changes: vec![FieldChange {
                field: "incidentStageName".into(),
                before: json!("Intake"),
                after: json!("Investigation"),
            }],
        };
        assert_eq!(
            subject("incidentd", &event),
            "incidentd.00000000-0000-0000-0000-000000000002.incident.stage_changed"
        );
        assert_eq!(
            cloud_event(&event),
            json!({
                "specversion": "1.0",
                "id": "00000000-0000-0000-0000-000000000001",
                "source": "/incidentd/tenants/00000000-0000-0000-0000-000000000002",
                "type": "incident.stage_changed",
                "subject": "00000000-0000-0000-0000-000000000003",
                "time": "2026-12-03T10:00:00.000250Z",
                "datacontenttype": "application/json",
                "data": {
                    "eventId": "00000000-0000-0000-0000-000000000001",
                    "sequence": 42,
                    "type": "incident.stage_changed",
                    "tenantId": "00000000-0000-0000-0000-000000000002",
                    "incidentId": "00000000-0000-0000-0000-000000000003",
                    "revision": 7,
                    "occurredAt": "2026-12-03T10:00:00.000250Z",
                    "actor": {"id": "00000000-0000-0000-0000-000000000004", "name": "Ada"},
                    "changes": [{"field": "incidentStageName", "before": "Intake", "after": "Investigation"}],
                },
            })
        );
    }
}
