//! Reference data: create and list, uniqueness, tenant isolation, the catalogue.

use incidentd::pb;
use tonic::Code;

use crate::helpers::{reason, spawn_app, violations};

#[tokio::test]
async fn every_tenant_has_the_unknown_incident_type() {
    let mut app = spawn_app().await;
    let request = app.admin(pb::ListIncidentTypesRequest {});
    let types = app
        .reference
        .list_incident_types(request)
        .await
        .unwrap()
        .into_inner()
        .incident_types;
    let names: Vec<_> = types.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Unknown"]);
}

#[tokio::test]
async fn reference_data_is_listed_per_tenant() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let organizations = app
        .reference
        .list_organizations(app.admin(pb::ListOrganizationsRequest {}))
        .await
        .unwrap()
        .into_inner();
    let legal = organizations.organizations.iter().find(|o| o.name == "Legal").unwrap();
    assert_eq!(legal.parent_id.as_deref(), Some(seed.headquarters.as_str()));
    let types = app
        .reference
        .list_incident_types(app.admin(pb::ListIncidentTypesRequest {}))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = types.incident_types.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Lost Device", "Misdirected Email", "Unknown"]);
    let attributes = app
        .reference
        .list_attributes(app.admin(pb::ListAttributesRequest {}))
        .await
        .unwrap()
        .into_inner();
    let severity = attributes.attributes.iter().find(|a| a.name == "Severity").unwrap();
    assert_eq!(severity, &seed.severity);
    let options: Vec<_> = severity
        .options
        .iter()
        .map(|o| (o.value.as_str(), o.disabled))
        .collect();
    assert_eq!(options, [("Low", false), ("High", false), ("Unrated", true)]);
    let assignees = app
        .reference
        .list_assignees(app.admin(pb::ListAssigneesRequest {}))
        .await
        .unwrap()
        .into_inner();
    let group = assignees
        .assignees
        .iter()
        .find(|a| a.id == seed.privacy_office)
        .unwrap();
    assert_eq!(group.r#type, i32::from(pb::assignee_type::Value::Group));
    assert_eq!(group.email, None);

    app.tenant_id = uuid::Uuid::now_v7();
    let elsewhere = app
        .reference
        .list_organizations(app.admin(pb::ListOrganizationsRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(elsewhere.organizations.is_empty());
    let elsewhere = app
        .reference
        .list_assignees(app.admin(pb::ListAssigneesRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(elsewhere.assignees.is_empty());
}

#[tokio::test]
async fn names_are_unique_case_insensitively() {
    let mut app = spawn_app().await;
    app.incident_type("Lost Device").await;
    let status = app
        .reference
        .create_incident_type(app.admin(pb::CreateIncidentTypeRequest {
            name: "LOST device".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(reason(&status), "ALREADY_EXISTS");
    let status = app
        .reference
        .create_incident_type(app.admin(pb::CreateIncidentTypeRequest { name: "unknown".into() }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
}

#[tokio::test]
async fn invalid_reference_data_names_its_field() {
    let mut app = spawn_app().await;
    let status = app
        .reference
        .create_organization(app.admin(pb::CreateOrganizationRequest {
            name: "".into(),
            parent_id: Some("x".into()),
        }))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["name", "parentId"]);
    let unknown_parent = Some(uuid::Uuid::now_v7().to_string());
    let status = app
        .reference
        .create_organization(app.admin(pb::CreateOrganizationRequest {
            name: "Child".into(),
            parent_id: unknown_parent,
        }))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["parentId"]);
    let no_type = pb::CreateAttributeRequest {
        name: "Severity".into(),
        r#type: 0,
        options: vec![],
    };
    let status = app.reference.create_attribute(app.admin(no_type)).await.unwrap_err();
    assert_eq!(violations(&status), ["type"]);
    let group_email = pb::CreateAssigneeRequest {
        name: "Legal".into(),
        email: Some("legal@example.com".into()),
        r#type: pb::assignee_type::Value::Group.into(),
    };
    let status = app.reference.create_assignee(app.admin(group_email)).await.unwrap_err();
    assert_eq!(violations(&status), ["email"]);
    let status = app
        .reference
        .list_jurisdictions(app.admin(pb::ListJurisdictionsRequest {
            country_code: Some("XYZ".into()),
        }))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["countryCode"]);
}

#[tokio::test]
async fn jurisdictions_list_states_of_usa_and_provinces_of_canada() {
    let mut app = spawn_app().await;
    let request = app.admin(pb::ListJurisdictionsRequest {
        country_code: Some("CAN".into()),
    });
    let canada = app
        .reference
        .list_jurisdictions(request)
        .await
        .unwrap()
        .into_inner()
        .jurisdictions;
    assert!(
        canada
            .iter()
            .any(|j| j.state_province_code.as_deref() == Some("QC")
                && j.state_province_name.as_deref() == Some("Quebec"))
    );
    assert!(
        canada
            .iter()
            .all(|j| j.country_code == "CAN" && j.country_name == "Canada")
    );
    let all = app
        .reference
        .list_jurisdictions(app.admin(pb::ListJurisdictionsRequest { country_code: None }))
        .await
        .unwrap();
    let all = all.into_inner().jurisdictions;
    assert!(all.len() > 300);
    assert!(
        all.iter()
            .any(|j| j.country_code == "DEU" && j.state_province_code.is_none())
    );
    assert!(
        !all.iter()
            .any(|j| j.country_code == "USA" && j.state_province_code.is_none())
    );
}

#[tokio::test]
async fn names_that_grow_when_lower_cased_are_stored() {
    let mut app = spawn_app().await;
    // 'İ' lower-cases to two characters, so the key is longer than the name.
    let long = "İ".repeat(255);
    app.incident_type(&long).await;
    let attribute = app
        .attribute(
            &long,
            pb::attribute_type::Value::SingleSelect,
            &[(long.as_str(), false)],
        )
        .await;
    assert_eq!(attribute.options[0].value, long);
    let types = app
        .reference
        .list_incident_types(app.admin(pb::ListIncidentTypesRequest {}))
        .await
        .unwrap();
    assert!(types.into_inner().incident_types.iter().any(|t| t.name == long));
}

#[tokio::test]
async fn names_are_unique_as_people_read_them_and_invisible_tricks_are_refused() {
    let mut app = spawn_app().await;
    let cafe = app.incident_type("Caf\u{e9}").await;
    app.incident_type("Spam").await;
    for (same, why) in [("Cafe\u{301}", "NFD of an NFC name"), (" spam  ", "spaces around")] {
        let request = app.admin(pb::CreateIncidentTypeRequest { name: same.into() });
        let status = app.reference.create_incident_type(request).await.unwrap_err();
        assert_eq!(status.code(), Code::AlreadyExists, "{why}: {status:?}");
    }
    for invisible in [
        "Mal\u{200B}ware",
        "\u{202E}erawlaM",
        "\u{200B}\u{2060}",
        "\u{301}\u{302}",
    ] {
        let request = app.admin(pb::CreateOrganizationRequest {
            name: invisible.into(),
            parent_id: None,
        });
        let status = app.reference.create_organization(request).await.unwrap_err();
        assert_eq!(violations(&status), ["name"], "{invisible:?}");
    }
    let options = vec![
        pb::AttributeOptionInput {
            value: "Caf\u{e9}".into(),
            disabled: false,
        },
        pb::AttributeOptionInput {
            value: "CAFE\u{301}".into(),
            disabled: false,
        },
    ];
    let request = app.admin(pb::CreateAttributeRequest {
        name: "Venue".into(),
        r#type: pb::attribute_type::Value::SingleSelect.into(),
        options,
    });
    let status = app.reference.create_attribute(request).await.unwrap_err();
    assert_eq!(violations(&status), ["options[1].value"]);
    let filter = app.incident_type("  Spam   Filter ").await;
    let listed = app
        .reference
        .list_incident_types(app.admin(pb::ListIncidentTypesRequest {}))
        .await
        .unwrap()
        .into_inner()
        .incident_types;
    let shown = listed.iter().find(|t| t.id == filter).unwrap();
    assert_eq!(shown.name, "Spam Filter", "stored as people read it");
    // An incident names its type as people read it, whatever its form.
    let seed = app.seed().await;
    let mut body = seed.minimal("Typed in NFD");
    body.incident_type_name = "cafe\u{301}".into();
    let created = app.create(body).await.unwrap();
    assert_eq!(created.incident_type_id, cafe);
}

#[tokio::test]
async fn notification_rules_are_listed_with_their_sources_and_by_country() {
    let mut app = spawn_app().await;
    let list = |country: Option<&str>| pb::ListNotificationRulesRequest {
        country_code: country.map(Into::into),
    };
    let all = app
        .reference
        .list_notification_rules(app.with_token(&app.token("INCIDENT_READ"), list(None)))
        .await
        .expect("any incident scope lists them")
        .into_inner();
    assert_eq!(all.catalogue_version, "2026-12-02");
    assert!(
        all.rules
            .iter()
            .all(|r| r.source_url.starts_with("https://") && !r.citation.is_empty())
    );
    // A member state of the EU is covered by the GDPR's two rules, given in full.
    let germany = app
        .reference
        .list_notification_rules(app.admin(list(Some("deu"))))
        .await
        .unwrap()
        .into_inner()
        .rules;
    let ids: Vec<&str> = germany.iter().map(|r| r.rule_id.as_str()).collect();
    assert_eq!(ids, ["eu-gdpr-art-33", "eu-gdpr-art-34"]);
    let art33 = &germany[0];
    assert_eq!(art33.covers, "EEA");
    assert_eq!(art33.places.len(), 30);
    assert!(art33.places.iter().any(|p| p.country_code == "NOR"));
    assert_eq!(art33.recipient(), pb::recipient::Value::Authority);
    let window = art33.window.as_ref().expect("a window");
    assert_eq!((window.unit(), window.amount), (pb::window_unit::Value::Hours, 72));
    assert_eq!(art33.clock_start(), pb::clock_start::Value::Awareness);
    assert!(!art33.clock_start_assumed);
    assert_eq!(art33.effective_date, "2018-05-25");
    assert_eq!(germany[1].window.as_ref().unwrap().unit(), pb::window_unit::Value::None);
    // The US states' rules name their state; a threshold is inclusive.
    let usa = app
        .reference
        .list_notification_rules(app.admin(list(Some("USA"))))
        .await
        .unwrap()
        .into_inner()
        .rules;
    let texas_ag = usa
        .iter()
        .find(|r| r.rule_id == "us-tx-bcc-521-053-attorney-general")
        .expect("Texas");
    assert_eq!(texas_ag.places[0].state_province_code.as_deref(), Some("TX"));
    assert_eq!(texas_ag.min_affected_individuals, Some(250));
    assert!(texas_ag.clock_start_assumed, "determination: dateDiscovered stands in");
    assert!(usa.iter().all(|r| r.places.iter().all(|p| p.country_code == "USA")));
    // A country without a rule has none; a code that is no country is refused.
    let none = app
        .reference
        .list_notification_rules(app.admin(list(Some("ATA"))))
        .await
        .unwrap()
        .into_inner()
        .rules;
    assert!(none.is_empty());
    let status = app
        .reference
        .list_notification_rules(app.admin(list(Some("XYZ"))))
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["countryCode"]);
    // REST lists the same.
    let rest: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/api/incident/v1/reference/notification-rules?countryCode=DEU",
            app.base_url
        ))
        .bearer_auth(app.token("INCIDENT"))
        .send()
        .await
        .expect("REST")
        .json()
        .await
        .expect("JSON");
    assert_eq!(rest["catalogueVersion"], "2026-12-02");
    assert_eq!(rest["rules"][0]["ruleId"], "eu-gdpr-art-33");
    assert_eq!(
        rest["rules"][0]["window"],
        serde_json::json!({"unit": "HOURS", "amount": 72})
    );
    assert_eq!(rest["rules"][0]["recipient"], "AUTHORITY");
}
