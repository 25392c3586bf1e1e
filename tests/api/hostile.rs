//! Hostile input over gRPC: text that looks like SQL or markup is stored and
//! read back literally; input far over a limit is refused naming its field,
//! writes nothing and costs the server nothing lasting; times at the ends of
//! their range are stored exactly, one step past them is refused.

use incidentd::pb;
use prost_types::Timestamp;
use tonic::Code;

use crate::helpers::{Seed, TestApp, spawn_app, values, violations};

const MEBIBYTE: usize = 1024 * 1024;

async fn setup() -> (TestApp, Seed, pb::Incident) {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let created = app.create(seed.minimal("Untouched")).await.unwrap();
    (app, seed, created)
}

fn update(seed: &Seed, change: impl FnOnce(&mut pb::IncidentUpdate)) -> pb::IncidentUpdate {
    let mut body = pb::IncidentUpdate {
        name: "Valid".into(),
        org_group_id: seed.headquarters.clone(),
        ..Default::default()
    };
    change(&mut body);
    body
}

#[tokio::test]
async fn text_that_looks_like_code_is_stored_and_read_back_literally() {
    let (mut app, seed, created) = setup().await;
    let texts = [
        "Robert'); DROP TABLE incident;--",
        "100% of _all_ rows \\ LIKE '%'",
        "\" OR 1=1 -- /* */ ; SELECT * FROM tenant",
        "<script>alert('x')</script> & &amp;",
        "{{template}} ${env:HOME} %s %n",
        "emoji 🔥, combining é, right-to-left \u{202E}txet, zero width \u{200B}",
        "incident_fts MATCH 'a' NEAR(b c) OR *",
    ];
    for text in texts {
        let body = update(&seed, |b| {
            b.name = text.into();
            b.description = Some(format!("{text}\n\t{text}"));
            b.root_cause = Some(text.into());
        });
        let stored = app.update(&created.id, body).await.expect(text);
        let read = app.get(&created.id).await.unwrap();
        assert_eq!(read, stored, "{text}");
        assert_eq!(read.name, text);
        assert_eq!(read.description.as_deref(), Some(format!("{text}\n\t{text}").as_str()));
        assert_eq!(read.root_cause.as_deref(), Some(text));
    }
    // The reference data keeps such names literally too.
    let name = "Legal'; DELETE FROM organization; --";
    let id = app.organization(name, None).await;
    let request = app.admin(pb::ListOrganizationsRequest {});
    let listed = app.reference.list_organizations(request).await.unwrap().into_inner();
    assert!(listed.organizations.iter().any(|o| o.id == id && o.name == name));
    assert_eq!(listed.organizations.len(), 3, "nothing was deleted");
}

#[tokio::test]
async fn input_far_over_its_limit_is_refused_naming_its_field_and_writes_nothing() {
    let (mut app, seed, created) = setup().await;
    let huge = "x".repeat(MEBIBYTE);
    let many_attributes: Vec<(String, pb::AttributeValuesInput)> = (0..10_000)
        .map(|n| (format!("Attribute {n}"), values(&[(None, Some("v"))])))
        .collect();
    let cases: Vec<(&str, pb::IncidentUpdate, &str)> = vec![
        ("1 MiB name", update(&seed, |b| b.name = huge.clone()), "incident.name"),
        (
            "1 MiB name of control characters",
            update(&seed, |b| b.name = "\u{0}".repeat(MEBIBYTE)),
            "incident.name",
        ),
        (
            "1 MiB description",
            update(&seed, |b| b.description = Some(huge.clone())),
            "incident.description",
        ),
        (
            "1 MiB incident type name",
            update(&seed, |b| b.incident_type_name = huge.clone()),
            "incident.incidentTypeName",
        ),
        (
            "1 MiB organization id",
            update(&seed, |b| b.org_group_id = huge.clone()),
            "incident.orgGroupId",
        ),
        (
            "10,000 attributes",
            update(&seed, |b| {
                b.attribute_values = many_attributes.iter().cloned().collect()
            }),
            "incident.attributeValues",
        ),
        (
            "10,000 values of one attribute",
            update(&seed, |b| {
                let chosen: Vec<_> = (0..10_000).map(|_| (None, Some("v"))).collect();
                b.attribute_values.insert(seed.categories.name.clone(), values(&chosen));
            }),
            "incident.attributeValues",
        ),
        (
            "1 MiB attribute name",
            update(&seed, |b| {
                b.attribute_values.insert(huge.clone(), values(&[(None, Some("v"))]));
            }),
            "incident.attributeValues",
        ),
        (
            "10,000 assignees",
            update(&seed, |b| {
                b.incident_assignee_requests = (0..10_000)
                    .map(|_| pb::AssigneeInput {
                        assignee_id: seed.alice.clone(),
                        ..Default::default()
                    })
                    .collect();
            }),
            "incident.incidentAssigneeRequests",
        ),
        (
            "10,000 jurisdictions",
            update(&seed, |b| {
                b.jurisdictions = (0..10_000)
                    .map(|_| pb::JurisdictionInput {
                        country_code: "FRA".into(),
                        ..Default::default()
                    })
                    .collect();
            }),
            "incident.jurisdictions",
        ),
    ];
    for (case, body, field) in cases {
        let status = app.update(&created.id, body).await.expect_err(case);
        assert_eq!(violations(&status), [field], "{case}");
        assert!(
            status.message().len() < 4096,
            "{case}: the answer does not echo the input back"
        );
        assert_eq!(app.get(&created.id).await.unwrap(), created, "{case} wrote something");
    }
    // Searches and reference data refuse oversized text the same way.
    let request = app.admin(pb::SearchIncidentsRequest {
        full_text: huge.clone(),
        ..Default::default()
    });
    let status = app.incidents.search_incidents(request).await.unwrap_err();
    assert_eq!(violations(&status), ["fullText"]);
    let request = app.admin(pb::CreateOrganizationRequest {
        name: huge.clone(),
        parent_id: None,
    });
    let status = app.reference.create_organization(request).await.unwrap_err();
    assert_eq!(violations(&status), ["name"]);
}

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the ends of the range.
const FIRST_SECOND: i64 = -62_135_596_800;
const LAST_SECOND: i64 = 253_402_300_799;

fn at(seconds: i64, nanos: i32) -> Option<Timestamp> {
    Some(Timestamp { seconds, nanos })
}

#[tokio::test]
async fn times_at_the_ends_of_their_range_are_stored_exactly_and_past_them_refused() {
    let (mut app, seed, created) = setup().await;
    let body = update(&seed, |b| {
        b.date_occurred = at(FIRST_SECOND, 0);
        b.date_discovered = at(LAST_SECOND, 999_999_000);
        b.deadline = at(LAST_SECOND, 0);
    });
    let stored = app.update(&created.id, body).await.expect("the ends of the range");
    let read = app.get(&created.id).await.unwrap();
    assert_eq!(read, stored);
    assert_eq!(
        (read.date_occurred, read.date_discovered, read.deadline),
        (at(FIRST_SECOND, 0), at(LAST_SECOND, 999_999_000), at(LAST_SECOND, 0))
    );

    let before = app.get(&created.id).await.unwrap();
    let past = [
        ("a second before year 1", at(FIRST_SECOND - 1, 0)),
        ("a second after year 9999", at(LAST_SECOND + 1, 0)),
        ("the smallest timestamp", at(i64::MIN, 0)),
        ("the largest timestamp", at(i64::MAX, 999_999_999)),
        ("negative nanos", at(0, -1)),
        ("a whole second of nanos", at(0, 1_000_000_000)),
    ];
    for (case, time) in past {
        let status = app
            .update(&created.id, update(&seed, |b| b.deadline = time))
            .await
            .expect_err(case);
        assert_eq!(status.code(), Code::InvalidArgument, "{case}");
        assert_eq!(violations(&status), ["incident.deadline"], "{case}");
        assert_eq!(app.get(&created.id).await.unwrap(), before, "{case} wrote something");
    }
}
