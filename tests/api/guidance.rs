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

fn notification(
    id: &str,
    country: &str,
    state: Option<&str>,
    recipient: pb::recipient::Value,
    sent: i64,
) -> pb::RecordNotificationRequest {
    pb::RecordNotificationRequest {
        incident_id: id.into(),
        country_code: country.into(),
        state_province_code: state.map(str::to_owned),
        recipient: recipient.into(),
        notified_at: at(sent),
        reference: None,
        request_id: String::new(),
        etag: String::new(),
    }
}

async fn record(app: &mut TestApp, request: pb::RecordNotificationRequest) -> Result<pb::Incident, tonic::Status> {
    let request = app.admin(request);
    app.incidents.record_notification(request).await.map(|r| r.into_inner())
}

#[tokio::test]
async fn a_notification_recorded_addresses_its_guidance_moves_the_etag_and_stays_when_the_facts_change() {
    use pb::{
        notify_state::Value::NotificationNotRequired,
        recipient::Value::{Authority, Individuals},
    };
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let mut body = seed.minimal("Laptop left on a train");
    body.notification_needed = pb::notification_needed::Value::Yes.into();
    body.date_discovered = at(DISCOVERED);
    body.jurisdictions = vec![jurisdiction("DEU", None), jurisdiction("BRA", None)];
    let created = app.create(body).await.expect("create");

    // The authority within its 72 hours, with its case number.
    let mut to_authority = notification(&created.id, "DEU", None, Authority, DISCOVERED + 48 * HOUR);
    to_authority.reference = Some("BfDI-2025-17".into());
    let notified = record(&mut app, to_authority.clone()).await.expect("record");
    assert_eq!(notified.revision, 2);
    assert_ne!(notified.etag, created.etag);
    let germany = place(&notified, "DEU", None);
    let art33 = &germany.guidances[0];
    assert_eq!(art33.notified_at, at(DISCOVERED + 48 * HOUR));
    assert_eq!(art33.reference.as_deref(), Some("BfDI-2025-17"));
    assert_eq!(art33.late, Some(false));
    assert_eq!(germany.number_of_addressed_guidances, 1);
    // Individuals are still owed a notice without a fixed deadline.
    assert_eq!(germany.urgency, i32::from(pb::urgency::Value::Low));
    assert_eq!(germany.guidances[1].notified_at, None);
    assert_eq!(germany.guidances[1].late, None);

    // The same record again changes nothing; individuals notified close the
    // jurisdiction; Brazil's individuals a day after their 3 business days
    // (Tuesday) is late.
    let again = record(&mut app, to_authority.clone()).await.expect("record");
    assert_eq!((again.revision, &again.etag), (2, &notified.etag));
    // Under an etag that is no longer current: ABORTED, and nothing written.
    let mut stale = notification(&created.id, "DEU", None, Individuals, DISCOVERED + 100 * HOUR);
    stale.etag = created.etag.clone();
    let status = record(&mut app, stale.clone()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Aborted);
    assert_eq!(crate::helpers::reason(&status), "STALE_ETAG");
    assert_eq!(app.get(&created.id).await.expect("get").revision, 2);
    // A request id makes a retry safe, and is refused for another request.
    let mut retried = to_authority;
    retried.request_id = uuid::Uuid::now_v7().to_string();
    retried.notified_at = at(DISCOVERED + 47 * HOUR);
    let first = record(&mut app, retried.clone()).await.expect("record");
    assert_eq!(first.revision, 3);
    assert_eq!(record(&mut app, retried.clone()).await.expect("retry"), first);
    retried.reference = Some("another".into());
    let status = record(&mut app, retried).await.unwrap_err();
    assert_eq!(crate::helpers::reason(&status), "REQUEST_ID_REUSED");
    stale.etag = first.etag.clone();
    record(&mut app, stale).await.expect("record under the current etag");
    let late = record(
        &mut app,
        notification(&created.id, "bra", None, Individuals, DISCOVERED + 6 * DAY),
    )
    .await
    .expect("record");
    assert_eq!(late.revision, 5);
    let germany = place(&late, "DEU", None);
    assert_eq!(germany.number_of_addressed_guidances, 2);
    assert_eq!(germany.urgency, i32::from(pb::urgency::Value::None));
    assert_eq!(germany.guidances[1].late, None, "no deadline to be late for");
    let brazil = place(&late, "BRA", None);
    let individuals = brazil
        .guidances
        .iter()
        .find(|g| g.recipient() == Individuals)
        .expect("individuals");
    assert_eq!(individuals.late, Some(true));
    assert_eq!(brazil.number_of_addressed_guidances, 1);

    // The history names the change, and a read shows the same as the answer.
    let history = app.history(&created.id).await;
    assert_eq!(history[0].changes.len(), 1);
    assert_eq!(history[0].changes[0].field, "notifications");
    let after = format!("{:?}", history[0].changes[0].after);
    assert!(after.contains("BRA") && after.contains("INDIVIDUALS"), "{after}");
    assert_eq!(
        app.get(&created.id).await.expect("get").jurisdictions,
        late.jurisdictions
    );

    // Set to NO, the records stay and the duties are not required.
    let mut update = crate::incidents::full_update(&seed);
    update.notification_needed = pb::notification_needed::Value::No.into();
    update.date_occurred = None;
    update.date_discovered = at(DISCOVERED);
    update.deadline = None;
    update.jurisdictions = vec![jurisdiction("DEU", None), jurisdiction("BRA", None)];
    let no = app.update(&created.id, update).await.expect("update");
    let germany = place(&no, "DEU", None);
    assert_eq!(germany.notify_authority, state(NotificationNotRequired));
    assert_eq!(germany.guidances[0].state, state(NotificationNotRequired));
    assert_eq!(germany.guidances[0].notified_at, at(DISCOVERED + 47 * HOUR));
    assert_eq!(germany.number_of_addressed_guidances, 2);
}

#[tokio::test]
async fn a_notification_that_cannot_be_recorded_names_its_field_and_changes_nothing() {
    use pb::recipient::Value::Authority;
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let mut body = seed.minimal("Misdirected letter");
    body.notification_needed = pb::notification_needed::Value::Yes.into();
    body.date_discovered = at(DISCOVERED);
    body.jurisdictions = vec![jurisdiction("DEU", None), jurisdiction("USA", Some("CA"))];
    let created = app.create(body).await.expect("create");
    let id = created.id.as_str();
    let future = jsonwebtoken::get_current_timestamp() as i64 + DAY;
    let mut unknown_recipient = notification(id, "DEU", None, Authority, DISCOVERED);
    unknown_recipient.recipient = 7;
    let mut without_time = notification(id, "DEU", None, Authority, DISCOVERED);
    without_time.notified_at = None;
    let mut long_reference = notification(id, "DEU", None, Authority, DISCOVERED);
    long_reference.reference = Some("r".repeat(256));
    let cases = [
        (notification(id, "FRA", None, Authority, DISCOVERED), "countryCode"),
        (
            notification(id, "USA", Some("TX"), Authority, DISCOVERED),
            "stateProvinceCode",
        ),
        (notification(id, "ZZZ", None, Authority, DISCOVERED), "countryCode"),
        (notification(id, "DEU", None, Authority, future), "notifiedAt"),
        (without_time, "notifiedAt"),
        (long_reference, "reference"),
        (
            notification(id, "DEU", None, pb::recipient::Value::RecipientUnspecified, DISCOVERED),
            "recipient",
        ),
        (unknown_recipient, "recipient"),
        (
            notification("not-a-uuid", "DEU", None, Authority, DISCOVERED),
            "incidentId",
        ),
    ];
    for (request, field) in cases {
        let status = record(&mut app, request).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{field}");
        assert_eq!(crate::helpers::violations(&status), [field]);
    }
    let unknown = notification(&uuid::Uuid::now_v7().to_string(), "DEU", None, Authority, DISCOVERED);
    assert_eq!(
        record(&mut app, unknown).await.unwrap_err().code(),
        tonic::Code::NotFound
    );
    let stored = app.get(id).await.expect("get");
    assert_eq!((stored.revision, stored.etag), (1, created.etag));

    // REST: the route takes the same fields, refuses an unknown key by name,
    // and answers the incident with its new ETag.
    let url = format!("{}/api/incident/v1/incidents/{id}/notifications", app.base_url);
    let post = |body: &'static str| {
        reqwest::Client::new()
            .post(&url)
            .bearer_auth(app.token("INCIDENT"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let refused = post(
        r#"{"countryCode": "DEU", "recipient": "AUTHORITY", "notifiedAt": "2025-11-21T10:00:00Z", "sentBy": "me"}"#,
    )
    .await
    .expect("REST");
    assert_eq!(refused.status(), reqwest::StatusCode::BAD_REQUEST);
    let refused: Value = refused.json().await.expect("JSON");
    assert_eq!(refused["violations"][0]["field"], "sentBy");
    let refused: Value = post(r#"{"countryCode": "DEU", "recipient": "PRESS", "notifiedAt": "2025-11-21T10:00:00Z"}"#)
        .await
        .expect("REST")
        .json()
        .await
        .expect("JSON");
    assert_eq!(refused["violations"][0]["field"], "recipient");
    let answer = post(r#"{"countryCode": "deu", "recipient": "AUTHORITY", "notifiedAt": "2025-11-21T10:00:00+01:00", "reference": "A-1"}"#)
        .await
        .expect("REST");
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    let etag = answer.headers()["etag"].to_str().expect("etag").to_owned();
    let answer: Value = answer.json().await.expect("JSON");
    assert_eq!(etag, format!("\"{}\"", answer["etag"].as_str().expect("etag")));
    let art33 = &answer["jurisdictions"][0]["guidances"][0];
    assert_eq!(art33["notifiedAt"], "2025-11-21T09:00:00Z");
    assert_eq!(art33["reference"], "A-1");
    assert_eq!(art33["late"], false);
    assert_eq!(answer["jurisdictions"][0]["numberOfAddressedGuidances"], 1);
}

/// An incident discovered `after` seconds past DISCOVERED, that needs
/// notifying in `places`.
fn due(seed: &crate::helpers::Seed, name: &str, after: i64, places: &[(&str, Option<&str>)]) -> pb::IncidentCreate {
    let mut body = seed.minimal(name);
    body.notification_needed = pb::notification_needed::Value::Yes.into();
    body.date_discovered = at(DISCOVERED + after);
    body.jurisdictions = places.iter().map(|(c, s)| jurisdiction(c, *s)).collect();
    body
}

async fn search(app: &mut TestApp, request: pb::SearchIncidentsRequest) -> Result<Vec<String>, tonic::Status> {
    let request = app.admin(request);
    let found = app.incidents.search_incidents(request).await?.into_inner();
    Ok(found.incidents.into_iter().map(|i| i.name).collect())
}

fn due_between(from: i64, to: i64) -> pb::SearchIncidentsRequest {
    pb::SearchIncidentsRequest {
        filters: Some(pb::SearchFilters {
            notification_due: Some(pb::TimeRange {
                from: at(from),
                to: at(to),
            }),
            ..Default::default()
        }),
        sort: "notificationDeadline,asc".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_search_finds_what_is_due_in_a_range_and_sorts_by_the_earliest_deadline_still_due() {
    use pb::recipient::Value::Authority;
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    app.create(due(&seed, "gdpr", 0, &[("DEU", None)]))
        .await
        .expect("create");
    // Also due 30 days on in Texas (its attorney general, to be decided).
    app.create(due(
        &seed,
        "gdpr and texas",
        HOUR,
        &[("FRA", None), ("USA", Some("TX"))],
    ))
    .await
    .expect("create");
    app.create(due(&seed, "brazil", 0, &[("BRA", None)]))
        .await
        .expect("create");
    let mut no = due(&seed, "not needed", 0, &[("DEU", None)]);
    no.notification_needed = pb::notification_needed::Value::No.into();
    app.create(no).await.expect("create");
    let notified = app
        .create(due(&seed, "notified", -DAY, &[("DEU", None)]))
        .await
        .expect("create");
    record(&mut app, notification(&notified.id, "DEU", None, Authority, DISCOVERED))
        .await
        .expect("record");

    // The GDPR's 72 hours, and Brazil's 3 business days from a Thursday.
    assert_eq!(
        search(&mut app, due_between(DISCOVERED, DISCOVERED + 6 * DAY))
            .await
            .unwrap(),
        ["gdpr", "gdpr and texas", "brazil"]
    );
    assert_eq!(
        search(&mut app, due_between(DISCOVERED + 4 * DAY, DISCOVERED + 6 * DAY))
            .await
            .unwrap(),
        ["brazil"]
    );
    // Any deadline still due in the range counts, not only the earliest.
    assert_eq!(
        search(&mut app, due_between(DISCOVERED + 29 * DAY, DISCOVERED + 31 * DAY))
            .await
            .unwrap(),
        ["gdpr and texas"]
    );
    // Both ends are included.
    assert_eq!(
        search(&mut app, due_between(DISCOVERED + 72 * HOUR, DISCOVERED + 72 * HOUR))
            .await
            .unwrap(),
        ["gdpr"]
    );

    // Sorted by the earliest deadline still due; those with none come last
    // (by id), and descending is the exact reverse.
    let all = ["gdpr", "gdpr and texas", "brazil", "not needed", "notified"];
    let sorted = |direction: &str| pb::SearchIncidentsRequest {
        sort: format!("notificationDeadline,{direction}"),
        ..Default::default()
    };
    assert_eq!(search(&mut app, sorted("asc")).await.unwrap(), all);
    let mut reversed = all;
    reversed.reverse();
    assert_eq!(search(&mut app, sorted("desc")).await.unwrap(), reversed);
    // Page tokens walk the same order.
    let mut walked = Vec::new();
    let mut request = pb::SearchIncidentsRequest {
        size: 2,
        ..sorted("asc")
    };
    loop {
        let call = app.admin(request.clone());
        let page = app.incidents.search_incidents(call).await.expect("search").into_inner();
        walked.extend(page.incidents.into_iter().map(|i| i.name));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(walked, all);

    // A range that ends before it starts is refused by its path.
    let status = search(&mut app, due_between(DISCOVERED, DISCOVERED - 1))
        .await
        .unwrap_err();
    assert_eq!(crate::helpers::violations(&status), ["filters.notificationDue.to"]);
    // So is an unknown key of the range over REST.
    let refused = reqwest::Client::new()
        .post(format!("{}/api/incident/v1/incidents/search", app.base_url))
        .bearer_auth(app.token("INCIDENT"))
        .json(&serde_json::json!({"filters": {"notificationDue": {"since": "2025-11-25T00:00:00Z"}}}))
        .send()
        .await
        .expect("REST");
    assert_eq!(refused.status(), reqwest::StatusCode::BAD_REQUEST);
    let refused: Value = refused.json().await.expect("JSON");
    assert_eq!(refused["violations"][0]["field"], "filters.notificationDue.since");
    // REST takes the same filter.
    let found: Value = reqwest::Client::new()
        .post(format!(
            "{}/api/incident/v1/incidents/search?sort=notificationDeadline,asc",
            app.base_url
        ))
        .bearer_auth(app.token("INCIDENT"))
        .json(&serde_json::json!({"filters": {"notificationDue": {"from": "2025-11-25T00:00:00Z"}}}))
        .send()
        .await
        .expect("REST")
        .json()
        .await
        .expect("JSON");
    let names: Vec<&str> = found["content"]
        .as_array()
        .expect("content")
        .iter()
        .map(|i| i["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["gdpr and texas", "brazil"]);
    assert_eq!(found["content"][0]["notificationDeadline"], "2025-11-23T10:15:00Z");
}

#[tokio::test]
async fn incidents_whose_stored_guidance_is_missing_are_assessed_again_at_start() {
    use sea_orm::{ConnectionTrait, Database};
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    app.create(due(&seed, "gdpr", 0, &[("DEU", None)]))
        .await
        .expect("create");
    // As a database written before guidance was stored would be.
    let db = Database::connect(app.db.url()).await.expect("connect");
    db.execute_unprepared("UPDATE incident SET notification_due = NULL, guidance_version = NULL")
        .await
        .expect("forget");
    db.execute_unprepared("DELETE FROM incident_deadline")
        .await
        .expect("forget");
    db.close().await.expect("close");
    let window = due_between(DISCOVERED, DISCOVERED + DAY * 6);
    assert!(search(&mut app, window.clone()).await.unwrap().is_empty());
    let mut app = app.restart().await;
    assert_eq!(search(&mut app, window).await.unwrap(), ["gdpr"]);
}
