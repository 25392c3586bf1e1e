//! SearchIncidents: every filter, full text, sorting, both kinds of paging,
//! tenant isolation and bad input, on whichever database the run uses.

use std::collections::BTreeSet;

use incidentd::pb;
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{Seed, TestApp, spawn_app, timestamp, violations};

async fn search(
    app: &mut TestApp,
    request: pb::SearchIncidentsRequest,
) -> Result<pb::SearchIncidentsResponse, tonic::Status> {
    let request = app.with_token(&app.token("INCIDENT_READ"), request);
    app.incidents.search_incidents(request).await.map(|r| r.into_inner())
}

fn filtered(filters: pb::SearchFilters) -> pb::SearchIncidentsRequest {
    pb::SearchIncidentsRequest {
        filters: Some(filters),
        size: 100,
        ..Default::default()
    }
}

fn names(page: &pb::SearchIncidentsResponse) -> BTreeSet<String> {
    page.incidents.iter().map(|i| i.name.clone()).collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Three incidents that differ in every filtered field.
async fn register() -> (TestApp, Seed, Vec<pb::Incident>) {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let train = pb::IncidentCreate {
        name: "Laptop left on a train".into(),
        description: Some("Unencrypted disk".into()),
        incident_type_name: "Lost Device".into(),
        org_group_id: seed.legal.clone(),
        date_occurred: Some(timestamp(1_700_000_000)),
        source_type: pb::source_type::Value::Webform.into(),
        notification_needed: pb::notification_needed::Value::Yes.into(),
        incident_assignee_requests: vec![pb::AssigneeInput {
            assignee_id: seed.alice.clone(),
            assignee_email: None,
            r#type: pb::assignee_type::Value::User.into(),
        }],
        ..Default::default()
    };
    let email = pb::IncidentCreate {
        name: "Joe sent an email to the wrong client".into(),
        incident_type_name: "Misdirected Email".into(),
        org_group_id: seed.headquarters.clone(),
        date_occurred: Some(timestamp(1_710_000_000)),
        root_cause: Some("Autocomplete".into()),
        incident_assignee_requests: vec![pb::AssigneeInput {
            assignee_id: seed.privacy_office.clone(),
            assignee_email: None,
            r#type: pb::assignee_type::Value::Group.into(),
        }],
        ..Default::default()
    };
    let plain = seed.minimal("Printer tray");
    let mut created = Vec::new();
    for body in [train, email, plain] {
        created.push(app.create(body).await.unwrap());
    }
    (app, seed, created)
}

#[tokio::test]
async fn each_filter_selects_its_incidents() {
    let (mut app, seed, created) = register().await;
    let (train, email) = (&created[0], &created[1]);
    let range = |from: i64, to: i64| {
        Some(pb::TimeRange {
            from: Some(timestamp(from)),
            to: Some(timestamp(to)),
        })
    };
    let cases: Vec<(pb::SearchFilters, Vec<&str>)> = vec![
        (
            pb::SearchFilters::default(),
            vec![train.name.as_str(), email.name.as_str(), "Printer tray"],
        ),
        (
            pb::SearchFilters {
                incident_ids: vec![train.id.clone(), email.id.clone()],
                ..Default::default()
            },
            vec![train.name.as_str(), email.name.as_str()],
        ),
        (
            pb::SearchFilters {
                numbers: vec![2, 3],
                ..Default::default()
            },
            vec![email.name.as_str(), "Printer tray"],
        ),
        (
            pb::SearchFilters {
                assignee_ids: vec![seed.alice.clone(), seed.bob.clone()],
                ..Default::default()
            },
            vec![train.name.as_str()],
        ),
        (
            pb::SearchFilters {
                incident_type_ids: vec![seed.misdirected.clone()],
                ..Default::default()
            },
            vec![email.name.as_str()],
        ),
        (
            pb::SearchFilters {
                org_group_ids: vec![seed.headquarters.clone()],
                ..Default::default()
            },
            vec![email.name.as_str(), "Printer tray"],
        ),
        (
            pb::SearchFilters {
                org_group_ids: vec![seed.headquarters.clone()],
                include_descendant_orgs: true,
                ..Default::default()
            },
            vec![train.name.as_str(), email.name.as_str(), "Printer tray"],
        ),
        (
            pb::SearchFilters {
                created_by: vec![Uuid::now_v7().to_string()],
                ..Default::default()
            },
            vec![],
        ),
        (
            pb::SearchFilters {
                created_by: vec![app.user_id.to_string()],
                ..Default::default()
            },
            vec![train.name.as_str(), email.name.as_str(), "Printer tray"],
        ),
        (
            pb::SearchFilters {
                notification_needed: vec![pb::notification_needed::Value::Yes.into()],
                ..Default::default()
            },
            vec![train.name.as_str()],
        ),
        (
            pb::SearchFilters {
                incident_status: vec![pb::incident_status::Value::Open.into()],
                ..Default::default()
            },
            vec![train.name.as_str(), email.name.as_str(), "Printer tray"],
        ),
        (
            pb::SearchFilters {
                source_type: vec![pb::source_type::Value::Manual.into()],
                ..Default::default()
            },
            vec![email.name.as_str(), "Printer tray"],
        ),
        (
            pb::SearchFilters {
                date_occurred: range(1_699_999_999, 1_700_000_000),
                ..Default::default()
            },
            vec![train.name.as_str()],
        ),
        (
            pb::SearchFilters {
                date_occurred: Some(pb::TimeRange {
                    from: Some(timestamp(1_705_000_000)),
                    to: None,
                }),
                ..Default::default()
            },
            vec![email.name.as_str()],
        ),
        (
            pb::SearchFilters {
                created_dt: range(0, 1),
                ..Default::default()
            },
            vec![],
        ),
        (
            pb::SearchFilters {
                updated_dt: Some(pb::TimeRange {
                    from: Some(timestamp(1_700_000_000)),
                    to: None,
                }),
                ..Default::default()
            },
            vec![train.name.as_str(), email.name.as_str(), "Printer tray"],
        ),
    ];
    for (filters, expected) in cases {
        let page = search(&mut app, filtered(filters.clone())).await.unwrap();
        assert_eq!(names(&page), set(&expected), "{filters:?}");
        assert_eq!(page.total_elements as usize, expected.len());
    }
}

#[tokio::test]
async fn full_text_matches_word_prefixes_in_any_field_and_any_case() {
    let (mut app, _, created) = register().await;
    let train = created[0].name.as_str();
    let email = created[1].name.as_str();
    for (text, expected) in [
        ("LAPTOP", vec![train]),
        ("lapt", vec![train]),
        ("unencrypt", vec![train]),
        ("device", vec![train]),
        ("ali", vec![train]),
        ("legal", vec![train]),
        ("autocomplete", vec![email]),
        ("privacy office", vec![email]),
        ("misdirected EMA", vec![email]),
        ("test user", vec![train, email, "Printer tray"]),
        ("wrong laptop", vec![]),
        ("aptop", vec![]),
    ] {
        let request = pb::SearchIncidentsRequest {
            full_text: text.into(),
            ..Default::default()
        };
        let page = search(&mut app, request).await.unwrap();
        assert_eq!(names(&page), set(&expected), "fullText {text:?}");
    }
}

#[tokio::test]
async fn full_text_follows_updates() {
    let (mut app, seed, created) = register().await;
    let request = |text: &str| pb::SearchIncidentsRequest {
        full_text: text.into(),
        ..Default::default()
    };
    app.update(
        &created[2].id,
        pb::IncidentUpdate {
            name: "Shredder jammed".into(),
            org_group_id: seed.headquarters.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(search(&mut app, request("printer")).await.unwrap().incidents.is_empty());
    let found = search(&mut app, request("shred")).await.unwrap();
    assert_eq!(found.incidents[0].incident_id, created[2].id);
}

#[tokio::test]
async fn summaries_carry_the_incident() {
    let (mut app, _, created) = register().await;
    let page = search(
        &mut app,
        filtered(pb::SearchFilters {
            incident_ids: vec![created[0].id.clone()],
            ..Default::default()
        }),
    )
    .await
    .unwrap();
    let summary = &page.incidents[0];
    let incident = &created[0];
    assert_eq!(summary.incident_id, incident.id);
    assert_eq!(summary.number, incident.number);
    assert_eq!(summary.incident_type_name, "Lost Device");
    assert_eq!(summary.org_group_name, "Legal");
    assert_eq!(summary.assignee_name.as_deref(), Some("Alice"));
    assert_eq!(summary.creator, "Test User");
    assert_eq!(summary.created_date, incident.created_dt);
    assert_eq!(summary.description, incident.description);
    assert_eq!(summary.revision, 1);
}

/// Twelve incidents, the names repeating so that sorting by name has ties.
async fn many() -> (TestApp, Vec<pb::Incident>) {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let mut created = Vec::new();
    for i in 0..12 {
        created.push(app.create(seed.minimal(&format!("Incident {}", i % 4))).await.unwrap());
    }
    (app, created)
}

#[tokio::test]
async fn pages_by_token_and_by_offset_never_overlap_or_skip() {
    let (mut app, created) = many().await;
    for sort in [
        "name,asc",
        "name,desc",
        "createdDate,asc",
        "createdDate,desc",
        "number,desc",
        "updatedDT,asc",
    ] {
        let (mut by_token, mut token) = (Vec::new(), String::new());
        loop {
            let page = search(
                &mut app,
                pb::SearchIncidentsRequest {
                    size: 5,
                    sort: sort.into(),
                    page_token: token.clone(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            assert_eq!((page.total_elements, page.total_pages), (12, 3));
            by_token.extend(page.incidents.iter().cloned());
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        let mut by_offset = Vec::new();
        for number in 0..3 {
            let page = search(
                &mut app,
                pb::SearchIncidentsRequest {
                    size: 5,
                    page: number,
                    sort: sort.into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            assert_eq!(page.number, number);
            by_offset.extend(page.incidents);
        }
        let ids: Vec<_> = by_token.iter().map(|i| i.incident_id.clone()).collect();
        assert_eq!(
            ids,
            by_offset.iter().map(|i| i.incident_id.clone()).collect::<Vec<_>>(),
            "{sort}"
        );
        assert_eq!(
            ids.iter().collect::<BTreeSet<_>>().len(),
            created.len(),
            "{sort}: overlap or skip"
        );
        // Sorted by the key, ties by id, in the asked direction.
        let keys: Vec<(String, String)> = by_token
            .iter()
            .map(|i| {
                let key = match sort.split(',').next().unwrap() {
                    "name" => i.name.clone(),
                    "number" => format!("{:08}", i.number),
                    _ => {
                        let at = i.created_date.unwrap_or_default();
                        format!("{:012}.{:09}", at.seconds, at.nanos)
                    }
                };
                (key, i.incident_id.clone())
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        if sort.ends_with("desc") {
            sorted.reverse();
        }
        if !sort.starts_with("updatedDT") {
            assert_eq!(keys, sorted, "{sort}");
        }
    }
}

#[tokio::test]
async fn token_pages_report_the_total_of_their_first_page() {
    let (mut app, created) = many().await;
    let first = search(
        &mut app,
        pb::SearchIncidentsRequest {
            size: 5,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(first.total_elements, 12);
    let org = created[0].org_group_id.clone();
    app.create(pb::IncidentCreate {
        name: "Arrived during the scan".into(),
        org_group_id: org,
        ..Default::default()
    })
    .await
    .unwrap();
    let second = search(
        &mut app,
        pb::SearchIncidentsRequest {
            size: 5,
            page_token: first.next_page_token,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((second.total_elements, second.number), (12, 1));
    let fresh = search(&mut app, pb::SearchIncidentsRequest::default()).await.unwrap();
    assert_eq!(fresh.total_elements, 13);
}

#[tokio::test]
async fn a_page_token_belongs_to_its_search() {
    let (mut app, _) = many().await;
    let first = search(
        &mut app,
        pb::SearchIncidentsRequest {
            size: 5,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let other_sort = pb::SearchIncidentsRequest {
        size: 5,
        sort: "name,asc".into(),
        page_token: first.next_page_token.clone(),
        ..Default::default()
    };
    assert_eq!(
        violations(&search(&mut app, other_sort).await.unwrap_err()),
        ["pageToken"]
    );
    let with_page = pb::SearchIncidentsRequest {
        size: 5,
        page: 1,
        page_token: first.next_page_token,
        ..Default::default()
    };
    assert_eq!(violations(&search(&mut app, with_page).await.unwrap_err()), ["page"]);
}

#[tokio::test]
async fn an_edited_forged_or_another_tenants_page_token_is_refused() {
    let (mut app, _) = many().await;
    let request = || pb::SearchIncidentsRequest {
        size: 5,
        ..Default::default()
    };
    let first = search(&mut app, request()).await.unwrap();
    let token = first.next_page_token.clone();
    let (payload, tag) = token.split_once('.').expect("a sealed token");
    // What an attacker would write: the same token with `total` and `page` raised.
    let text = String::from_utf8(hex::decode(payload).unwrap()).unwrap();
    let mut fields: serde_json::Value = serde_json::from_str(&text).unwrap();
    fields["total"] = serde_json::json!(u64::MAX);
    fields["page"] = serde_json::json!(u64::MAX);
    let edited = format!("{}.{tag}", hex::encode(fields.to_string()));
    let unsealed = hex::encode(fields.to_string());
    for forged in [edited, unsealed, format!("{payload}.{}", "0".repeat(32))] {
        let status = search(
            &mut app,
            pb::SearchIncidentsRequest {
                page_token: forged,
                ..request()
            },
        )
        .await
        .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(violations(&status), ["pageToken"]);
    }
    // Another tenant's search of the same shape cannot use it either.
    let stranger = app.token_for(uuid::Uuid::now_v7(), "INCIDENT");
    let theirs = app.with_token(
        &stranger,
        pb::SearchIncidentsRequest {
            page_token: token.clone(),
            ..request()
        },
    );
    let status = app.incidents.search_incidents(theirs).await.unwrap_err();
    assert_eq!(violations(&status), ["pageToken"]);
    // The token as handed out still reads the next page.
    let next = pb::SearchIncidentsRequest {
        page_token: token,
        ..request()
    };
    assert_eq!(search(&mut app, next).await.unwrap().number, 1);
}

#[tokio::test]
async fn size_zero_over_grpc_means_the_default_page_size() {
    let (mut app, _) = many().await;
    let page = search(&mut app, pb::SearchIncidentsRequest::default()).await.unwrap();
    assert_eq!(page.size, 20);
    assert_eq!(page.total_elements, 12);
    assert_eq!(page.incidents.len(), 12, "all twelve fit in a default page");
}

#[tokio::test]
async fn only_the_callers_tenant_is_searched() {
    let (mut app, _, _) = register().await;
    let stranger = app.token_for(Uuid::now_v7(), "INCIDENT");
    let request = app.with_token(
        &stranger,
        pb::SearchIncidentsRequest {
            full_text: "laptop".into(),
            ..Default::default()
        },
    );
    let page = app.incidents.search_incidents(request).await.unwrap().into_inner();
    assert_eq!((page.incidents.len(), page.total_elements), (0, 0));
    let creator_only = app.with_token(&app.token("INCIDENT_CREATE"), pb::SearchIncidentsRequest::default());
    let status = app.incidents.search_incidents(creator_only).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn bad_searches_name_their_field() {
    let (mut app, _, _) = register().await;
    let cases: Vec<(pb::SearchIncidentsRequest, &[&str])> = vec![
        (
            filtered(pb::SearchFilters {
                incident_ids: vec!["nope".into()],
                assignee_ids: vec![Uuid::now_v7().to_string(), "x".into()],
                ..Default::default()
            }),
            &["filters.incidentIds[0]", "filters.assigneeIds[1]"],
        ),
        (
            filtered(pb::SearchFilters {
                notification_needed: vec![0],
                source_type: vec![42],
                ..Default::default()
            }),
            &["filters.notificationNeeded[0]", "filters.sourceType[0]"],
        ),
        (
            filtered(pb::SearchFilters {
                created_dt: Some(pb::TimeRange {
                    from: Some(timestamp(10)),
                    to: Some(timestamp(5)),
                }),
                ..Default::default()
            }),
            &["filters.createdDT.to"],
        ),
        (
            pb::SearchIncidentsRequest {
                size: 5000,
                ..Default::default()
            },
            &["size"],
        ),
        (
            pb::SearchIncidentsRequest {
                size: -1,
                ..Default::default()
            },
            &["size"],
        ),
        (
            pb::SearchIncidentsRequest {
                sort: "severity,asc".into(),
                ..Default::default()
            },
            &["sort"],
        ),
        (
            pb::SearchIncidentsRequest {
                sort: "name,up".into(),
                ..Default::default()
            },
            &["sort"],
        ),
        (
            pb::SearchIncidentsRequest {
                page: 600,
                size: 20,
                ..Default::default()
            },
            &["page"],
        ),
        (
            pb::SearchIncidentsRequest {
                page_token: "garbage".into(),
                ..Default::default()
            },
            &["pageToken"],
        ),
        (
            pb::SearchIncidentsRequest {
                full_text: "x ".repeat(300),
                ..Default::default()
            },
            &["fullText"],
        ),
        (
            pb::SearchIncidentsRequest {
                full_text: (0..17).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" "),
                ..Default::default()
            },
            &["fullText"],
        ),
        (
            filtered(pb::SearchFilters {
                numbers: vec![1, 0, -3],
                ..Default::default()
            }),
            &["filters.numbers[1]", "filters.numbers[2]"],
        ),
        (
            filtered(pb::SearchFilters {
                created_by: vec![Uuid::now_v7().to_string(); 1001],
                ..Default::default()
            }),
            &["filters.createdBy"],
        ),
    ];
    for (request, fields) in cases {
        let status = search(&mut app, request.clone()).await.unwrap_err();
        assert_eq!(violations(&status), fields, "{request:?}");
    }
    // Size 2000 and a query of SQL metacharacters are fine.
    let fine = pb::SearchIncidentsRequest {
        size: 2000,
        full_text: "'; DROP TABLE incident; -- \" * :* & |".into(),
        ..Default::default()
    };
    assert!(search(&mut app, fine).await.unwrap().incidents.is_empty());
}
