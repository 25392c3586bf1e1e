//! The bodies the clients send: realistic, about 1 KB, each differing from the
//! last as an edit of a case would.

use std::collections::BTreeMap;

use incidentd::pb;

use super::tenant::Tenant;

/// A realistic body, about 1 KB: every field set, three attributes, two
/// assignees, two jurisdictions. `n` makes each call's body differ, as an
/// edit of a case would: the name, the description, the severity, the ticket
/// and a state change; the type, the organization and the people stay.
pub(super) fn body(tenant: &Tenant, n: u64) -> pb::IncidentUpdate {
    let pick = (n % 2) as usize;
    let at = |s: i64| Some(prost_types::Timestamp { seconds: s, nanos: 0 });
    pb::IncidentUpdate {
        name: format!("Customer list e-mailed to the wrong client, take {n}"),
        description: Some(format!(
            "A spreadsheet with {} customer names, postal addresses, phone numbers and account balances was \
             attached to an e-mail meant for the finance team of another client. The recipient confirmed \
             deletion by phone the same afternoon; the message was recalled where the mail system allowed it, \
             and the sender's autocomplete entries were cleared. Marketing and support were told not to reuse \
             the list until the review closes. Revision note {n}.",
            100 + n % 900
        )),
        incident_type_name: "Misdirected Email".into(),
        org_group_id: tenant.organizations[0].clone(),
        date_occurred: at(1_795_000_000),
        date_discovered: at(1_795_003_600),
        deadline: at(1_795_259_200),
        source_type: pb::source_type::Value::Webform.into(),
        root_cause: Some("Autocomplete picked a recipient with a similar name".into()),
        notification_needed: pb::notification_needed::Value::Yes.into(),
        attribute_values: attribute_values(n, pick),
        incident_assignee_requests: assignees(tenant),
        jurisdictions: jurisdictions(pick),
    }
}

/// The severity (`pick`), two data categories and a ticket that differs by `n`.
fn attribute_values(n: u64, pick: usize) -> BTreeMap<String, pb::AttributeValuesInput> {
    let value = |v: &str| pb::AttributeValueInput {
        id: None,
        value: Some(v.into()),
    };
    let values = |list: Vec<pb::AttributeValueInput>| pb::AttributeValuesInput { values: list };
    BTreeMap::from([
        ("Severity".to_owned(), values(vec![value(["Low", "High"][pick])])),
        (
            "Data Categories".to_owned(),
            values(vec![value("Contact Details"), value("Financial")]),
        ),
        ("Ticket".to_owned(), values(vec![value(&format!("INC-{}", 1000 + n))])),
    ])
}

/// The tenant's first user and its group.
fn assignees(tenant: &Tenant) -> Vec<pb::AssigneeInput> {
    let (user, email) = &tenant.assignees[0];
    vec![
        pb::AssigneeInput {
            assignee_id: user.clone(),
            assignee_email: Some(email.clone()),
            r#type: pb::assignee_type::Value::User.into(),
        },
        pb::AssigneeInput {
            assignee_id: tenant.group.clone(),
            assignee_email: None,
            r#type: pb::assignee_type::Value::Group.into(),
        },
    ]
}

/// A US state (`pick`) and Ontario.
fn jurisdictions(pick: usize) -> Vec<pb::JurisdictionInput> {
    vec![
        pb::JurisdictionInput {
            country_code: "USA".into(),
            state_province_code: Some(["CA", "NY"][pick].into()),
            jurisdiction_id: None,
            affected_individuals: None,
        },
        pb::JurisdictionInput {
            country_code: "CAN".into(),
            state_province_code: Some("ON".into()),
            jurisdiction_id: None,
            affected_individuals: None,
        },
    ]
}

pub(super) fn create_body(tenant: &Tenant, n: u64) -> pb::IncidentCreate {
    let b = body(tenant, n);
    pb::IncidentCreate {
        name: b.name,
        description: b.description,
        incident_type_name: b.incident_type_name,
        org_group_id: b.org_group_id,
        date_occurred: b.date_occurred,
        date_discovered: b.date_discovered,
        deadline: b.deadline,
        source_type: b.source_type,
        root_cause: b.root_cause,
        notification_needed: b.notification_needed,
        attribute_values: b.attribute_values,
        incident_assignee_requests: b.incident_assignee_requests,
        jurisdictions: b.jurisdictions,
        ..Default::default()
    }
}
