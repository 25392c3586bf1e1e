//! Notification guidance on every incident: the catalogue's rules applied to
//! `notificationNeeded` and `dateDiscovered` in each impacted jurisdiction,
//! the same over gRPC and REST, following every change of the incident. The
//! incidents here were discovered in November 2025, so that every deadline has
//! passed and urgency does not depend on the day the test runs.

use incidentd::pb;
use prost_types::Timestamp;
use serde_json::Value;

use crate::helpers::{TestApp, jurisdiction, spawn_app, timestamp};

/// Thursday 2025-11-20 09:15 UTC.
const DISCOVERED: i64 = 1_763_630_100;
const HOUR: i64 = 3_600;
const DAY: i64 = 24 * HOUR;

fn at(seconds: i64) -> Option<Timestamp> {
    Some(timestamp(seconds))
}

fn state(value: pb::notify_state::Value) -> i32 {
    value.into()
}

fn place<'a>(incident: &'a pb::Incident, country: &str, state: Option<&str>) -> &'a pb::JurisdictionInformation {
    incident
        .jurisdictions
        .iter()
        .find(|j| j.country_code == country && j.state_province_code.as_deref() == state)
        .expect("the jurisdiction is shown")
}

async fn rest_incident(app: &TestApp, id: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}/api/incident/v1/incidents/{id}", app.base_url))
        .bearer_auth(app.token("INCIDENT"))
        .send()
        .await
        .expect("REST")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn each_jurisdiction_shows_its_rules_deadlines_and_sources_and_follows_every_change() {
    use pb::notify_state::Value::{NeedsMoreInfo, NotificationNotRequired, NotificationRequired};
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let mut body = seed.minimal("Misdirected payroll file");
    body.notification_needed = pb::notification_needed::Value::Yes.into();
    body.date_discovered = at(DISCOVERED);
    body.jurisdictions = vec![
        jurisdiction("DEU", None),
        jurisdiction("BRA", None),
        jurisdiction("USA", Some("TX")),
        jurisdiction("USA", Some("WY")),
    ];
    let created = app.create(body).await.expect("create");

    // The GDPR: 72 hours to the authority, no fixed window to individuals.
    let germany = place(&created, "DEU", None);
    assert_eq!(germany.notify_authority, state(NotificationRequired));
    assert_eq!(germany.notify_authority_deadline, at(DISCOVERED + 72 * HOUR));
    assert_eq!(germany.notify_individual, state(NotificationRequired));
    assert_eq!(germany.notify_individual_deadline, None);
    assert_eq!(
        germany.urgency,
        i32::from(pb::urgency::Value::High),
        "the deadline has passed"
    );
    assert_eq!(
        (
            germany.number_of_guidances,
            germany.number_of_accepted_guidances,
            germany.number_of_addressed_guidances
        ),
        (2, 2, 0)
    );
    let art33 = &germany.guidances[0];
    assert_eq!(art33.rule_id, "eu-gdpr-art-33");
    assert_eq!(art33.recipient, i32::from(pb::recipient::Value::Authority));
    assert_eq!(art33.clock_start, at(DISCOVERED));
    assert!(!art33.clock_start_assumed);
    assert_eq!(art33.citation, "Regulation (EU) 2016/679 (GDPR), art. 33(1)");
    assert_eq!(art33.source_url, "https://eur-lex.europa.eu/eli/reg/2016/679/oj");
    let window = art33.window.as_ref().expect("window");
    assert_eq!((window.unit(), window.amount), (pb::window_unit::Value::Hours, 72));

    // Brazil: 3 business days from a Thursday is the next Tuesday.
    let brazil = place(&created, "BRA", None);
    assert_eq!(brazil.notify_authority_deadline, at(DISCOVERED + 5 * DAY));
    assert_eq!(brazil.notify_individual_deadline, at(DISCOVERED + 5 * DAY));

    // Texas counts from a determination (assumed to be the discovery), and its
    // attorney general's rule needs a count of residents that is not given.
    let texas = place(&created, "USA", Some("TX"));
    assert_eq!(texas.notify_individual, state(NotificationRequired));
    assert_eq!(texas.notify_individual_deadline, at(DISCOVERED + 60 * DAY));
    assert_eq!(texas.notify_authority, state(NeedsMoreInfo));
    assert_eq!(texas.notify_authority_deadline, at(DISCOVERED + 30 * DAY));
    assert!(texas.guidances.iter().all(|g| g.clock_start_assumed));
    assert_eq!(texas.number_of_accepted_guidances, 1);

    // Wyoming has no rule in the catalogue: nothing is guessed.
    let wyoming = place(&created, "USA", Some("WY"));
    assert!(wyoming.guidances.is_empty());
    assert_eq!(wyoming.notify_authority, 0);
    assert_eq!(wyoming.urgency, i32::from(pb::urgency::Value::None));

    // A search's summary carries the earliest open deadline: the GDPR's.
    let found = app.search_all().await;
    assert_eq!(found.incidents[0].notification_deadline, at(DISCOVERED + 72 * HOUR));

    // A read shows the same, over gRPC and REST.
    let read = app.get(&created.id).await.expect("get");
    assert_eq!(read.jurisdictions, created.jurisdictions);
    let rest = rest_incident(&app, &created.id).await;
    let rest_germany = rest["jurisdictions"]
        .as_array()
        .expect("jurisdictions")
        .iter()
        .find(|j| j["countryCode"] == "DEU")
        .expect("DEU")
        .clone();
    assert_eq!(rest_germany["notifyAuthority"], "NOTIFICATION_REQUIRED");
    assert_eq!(rest_germany["notifyAuthorityDeadline"], "2025-11-23T09:15:00Z");
    assert_eq!(rest_germany["urgency"], "HIGH");
    assert_eq!(rest_germany["guidances"][0]["ruleId"], "eu-gdpr-art-33");
    assert_eq!(rest_germany["guidances"][0]["window"]["unit"], "HOURS");
    assert_eq!(rest_germany["guidances"][1]["deadline"], Value::Null);

    // A later discovery moves every deadline; a jurisdiction removed takes its
    // guidance with it.
    let mut update = crate::incidents::full_update(&seed);
    update.notification_needed = pb::notification_needed::Value::Yes.into();
    update.date_occurred = at(DISCOVERED - DAY);
    update.date_discovered = at(DISCOVERED + DAY);
    update.deadline = None;
    update.jurisdictions = vec![jurisdiction("DEU", None), jurisdiction("USA", Some("TX"))];
    let moved = app.update(&created.id, update.clone()).await.expect("update");
    assert_eq!(moved.jurisdictions.len(), 2);
    assert_eq!(
        place(&moved, "DEU", None).notify_authority_deadline,
        at(DISCOVERED + DAY + 72 * HOUR)
    );
    assert_eq!(
        place(&moved, "USA", Some("TX")).notify_individual_deadline,
        at(DISCOVERED + DAY + 60 * DAY)
    );

    // UNKNOWN keeps the clock running; NO stops it.
    update.notification_needed = pb::notification_needed::Value::Unknown.into();
    let unknown = app.update(&created.id, update.clone()).await.expect("update");
    let germany = place(&unknown, "DEU", None);
    assert_eq!(germany.notify_authority, state(NeedsMoreInfo));
    assert_eq!(germany.notify_authority_deadline, at(DISCOVERED + DAY + 72 * HOUR));
    assert_eq!(germany.number_of_accepted_guidances, 0);
    update.notification_needed = pb::notification_needed::Value::No.into();
    let no = app.update(&created.id, update).await.expect("update");
    for shown in &no.jurisdictions {
        assert_eq!(shown.notify_authority, state(NotificationNotRequired));
        assert_eq!(shown.notify_authority_deadline, None);
        assert_eq!(shown.urgency, i32::from(pb::urgency::Value::None));
    }
    let found = app.search_all().await;
    assert_eq!(found.incidents[0].notification_deadline, None, "nothing is open");
}

#[tokio::test]
async fn without_a_discovery_date_more_information_is_needed_and_at_year_9999_nothing_overflows() {
    use pb::notify_state::Value::{NeedsMoreInfo, NotificationRequired};
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let mut body = seed.minimal("Not yet dated");
    body.notification_needed = pb::notification_needed::Value::Yes.into();
    body.jurisdictions = vec![jurisdiction("FRA", None)];
    let undated = app.create(body.clone()).await.expect("create");
    let france = place(&undated, "FRA", None);
    assert_eq!(france.notify_authority, state(NeedsMoreInfo));
    assert_eq!(france.notify_authority_deadline, None);
    assert_eq!(
        france.urgency,
        i32::from(pb::urgency::Value::Low),
        "open, with no deadline yet"
    );
    // 9999-12-30: 72 hours later is past the last time the register keeps.
    body.date_discovered = at(253_402_128_000);
    let late = app.create(body).await.expect("create");
    let france = place(&late, "FRA", None);
    assert_eq!(france.notify_authority, state(NotificationRequired));
    assert_eq!(france.notify_authority_deadline, None);
    assert_eq!(france.guidances[0].clock_start, at(253_402_128_000));
}

#[tokio::test]
async fn a_count_of_affected_individuals_decides_a_threshold_and_is_kept_in_the_history() {
    use pb::notify_state::Value::NotificationRequired;
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let mut body = seed.minimal("Stolen customer list");
    body.notification_needed = pb::notification_needed::Value::Yes.into();
    body.date_discovered = at(DISCOVERED);
    let mut texas = jurisdiction("USA", Some("TX"));
    texas.affected_individuals = Some(300);
    body.jurisdictions = vec![texas.clone()];
    let created = app.create(body).await.expect("create");
    let shown = place(&created, "USA", Some("TX"));
    assert_eq!(shown.affected_individuals, Some(300));
    // At least 250 residents: the attorney general must be told, within 30 days.
    assert_eq!(shown.notify_authority, state(NotificationRequired));
    assert_eq!(shown.notify_authority_deadline, at(DISCOVERED + 30 * DAY));
    assert_eq!(shown.number_of_accepted_guidances, 2);

    // Fewer than 250: the attorney general's rule does not apply.
    let mut update = crate::incidents::full_update(&seed);
    update.notification_needed = pb::notification_needed::Value::Yes.into();
    update.date_occurred = None;
    update.date_discovered = at(DISCOVERED);
    update.deadline = None;
    texas.affected_individuals = Some(100);
    update.jurisdictions = vec![texas.clone()];
    let fewer = app.update(&created.id, update.clone()).await.expect("update");
    let shown = place(&fewer, "USA", Some("TX"));
    assert_eq!(shown.affected_individuals, Some(100));
    assert_eq!(shown.notify_authority, 0, "no rule for the authority applies");
    let ids: Vec<&str> = shown.guidances.iter().map(|g| g.rule_id.as_str()).collect();
    assert_eq!(ids, ["us-tx-bcc-521-053-individuals"]);
    // The history shows the count change.
    let history = app.history(&created.id).await;
    let change = history[0]
        .changes
        .iter()
        .find(|c| c.field == "jurisdictions")
        .expect("jurisdictions changed");
    let after = format!("{:?}", change.after);
    assert!(
        after.contains("affectedIndividuals") && after.contains("100"),
        "{after}"
    );

    // A count below 0 is refused naming it, and nothing is written.
    texas.affected_individuals = Some(-1);
    update.jurisdictions = vec![texas];
    let status = app.update(&created.id, update).await.unwrap_err();
    assert_eq!(
        crate::helpers::violations(&status),
        ["incident.jurisdictions[0].affectedIndividuals"]
    );
    let stored = app.get(&created.id).await.expect("get");
    assert_eq!(stored.revision, fewer.revision);
    // REST names it in its own syntax, and shows the count.
    let refused = reqwest::Client::new()
        .patch(format!("{}/api/incident/v1/incidents/{}", app.base_url, created.id))
        .bearer_auth(app.token("INCIDENT"))
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"jurisdictions": [{"countryCode": "USA", "stateProvinceCode": "TX", "affectedIndividuals": -5}]}"#)
        .send()
        .await
        .expect("REST");
    assert_eq!(refused.status(), reqwest::StatusCode::BAD_REQUEST);
    let refused: Value = refused.json().await.expect("JSON");
    assert_eq!(
        refused["violations"][0]["field"],
        "jurisdictions[0].affectedIndividuals"
    );
    let rest = rest_incident(&app, &created.id).await;
    assert_eq!(rest["jurisdictions"][0]["affectedIndividuals"], 100);
}
