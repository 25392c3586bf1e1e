//! The REST gateway, black-box: a real HTTP client against the running server
//! (the gRPC port), with the original API's JSON.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{Seed, TestApp, spawn_app};

const API: &str = "/api/incident/v1";

/// An HTTP client of the gateway with one token.
struct Http {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// What came back.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {self:?}"))
            .to_str()
            .unwrap()
    }

    /// The fields of the violations, asserting a 400.
    fn violations(&self) -> Vec<&str> {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{self:?}");
        assert_eq!(self.body["reason"], "INVALID_ARGUMENT", "{self:?}");
        self.body["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["field"].as_str().unwrap())
            .collect()
    }

    /// The first violation's description.
    fn description(&self) -> &str {
        self.body["violations"][0]["description"].as_str().unwrap()
    }

    fn reason(&self) -> &str {
        self.body["reason"].as_str().unwrap_or_default()
    }
}

impl Http {
    fn new(app: &TestApp, scope: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: app.base_url.clone(),
            token: Some(app.token(scope)),
        }
    }

    fn anonymous(app: &TestApp) -> Self {
        Self {
            token: None,
            ..Self::new(app, "")
        }
    }

    fn with_token(app: &TestApp, token: String) -> Self {
        Self {
            token: Some(token),
            ..Self::new(app, "")
        }
    }

    /// Sends `body` as JSON (when given) to `path` under the API prefix, or to
    /// `path` itself when it is already under `/api/` or is a health check.
    async fn send(&self, method: Method, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.request(method, path, headers);
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request).await
    }

    /// Sends `body` as it is, with `content_type`.
    async fn send_raw(&self, method: Method, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Answer {
        let request = self
            .request(method, path, &[])
            .header(header::CONTENT_TYPE, content_type)
            .body(body);
        answer(request).await
    }

    fn request(&self, method: Method, path: &str, headers: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let own = path.starts_with("/api/") || path == "/healthz" || path == "/readyz";
        let url = if !own {
            format!("{}{API}{path}", self.base)
        } else {
            format!("{}{path}", self.base)
        };
        let mut request = self.client.request(method, url);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, &[]).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    async fn put(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> Answer {
        self.send(Method::PUT, path, Some(body), headers).await
    }

    async fn patch(&self, path: &str, patch: Value, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.request(Method::PATCH, path, headers);
        request = request
            .header(header::CONTENT_TYPE, "application/merge-patch+json")
            .body(patch.to_string());
        answer(request).await
    }

    /// Creates an incident and returns its id.
    async fn create(&self, body: Value) -> String {
        let created = self.post("/incidents", body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
        created.body.as_str().unwrap().to_owned()
    }
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Answer { status, headers, body }
}

async fn setup() -> (TestApp, Seed, Http) {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let http = Http::new(&app, "INCIDENT INCIDENT_ADMIN");
    (app, seed, http)
}

/// A body as the original API's documentation shows one.
fn spec_body(seed: &Seed) -> Value {
    json!({
        "name": "Joe sent an email to the wrong client",
        "description": "A customer list was e-mailed to the wrong client.",
        "incidentTypeName": "Misdirected Email",
        "orgGroupId": seed.headquarters,
        "dateOccurred": "2026-11-20T09:30:00Z",
        "dateDiscovered": "2026-11-21T10:00:00.250Z",
        "deadline": "2026-12-01T00:00:00Z",
        "sourceType": "MANUAL",
        "rootCause": "Autocomplete picked the wrong address",
        "notificationNeeded": "YES",
        "attributeValues": {
            "Severity": [{"value": "High"}],
            "Data Categories": [{"value": "Health"}, {"value": "Financial"}]
        },
        "incidentAssigneeRequests": [
            {"assigneeId": seed.alice, "assigneeEmail": "alice@example.com", "type": "USER"},
            {"assigneeId": seed.privacy_office, "type": "GROUP"}
        ],
        "jurisdictions": [
            {"countryCode": "CAN", "stateProvinceCode": "ON"},
            {"countryCode": "DEU"}
        ]
    })
}

fn minimal(seed: &Seed, name: &str) -> Value {
    json!({"name": name, "orgGroupId": seed.headquarters})
}

#[tokio::test]
async fn create_takes_the_spec_body_and_answers_201_with_the_id_and_its_location() {
    let (_app, seed, http) = setup().await;
    let created = http.post("/incidents", spec_body(&seed)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let id = created.body.as_str().expect("the id as a JSON string");
    assert_eq!(created.header("location"), format!("{API}/incidents/{id}"));

    let shown = http.get(created.header("location")).await;
    assert_eq!(shown.status, StatusCode::OK, "{shown:?}");
    assert_eq!(shown.header("etag"), created.header("etag"));
    let incident = &shown.body;
    assert_eq!(incident["id"], id);
    assert_eq!(incident["number"], 1);
    assert_eq!(incident["name"], "Joe sent an email to the wrong client");
    assert_eq!(incident["incidentTypeName"], "Misdirected Email");
    assert_eq!(incident["orgGroupName"], "Headquarters");
    assert_eq!(incident["dateDiscovered"], "2026-11-21T10:00:00.250Z");
    assert_eq!(incident["notificationNeeded"], "YES");
    assert_eq!(incident["incidentStatus"], "OPEN");
    assert_eq!(incident["assigneeName"], "Alice");
    assert_eq!(incident["attributeValues"]["Severity"][0]["value"], "High");
    assert_eq!(
        incident["attributeValues"]["Data Categories"].as_array().unwrap().len(),
        2
    );
    assert_eq!(incident["incidentAssigneeInformation"][1]["type"], "GROUP");
    assert_eq!(incident["jurisdictions"][0]["stateProvinceName"], "Ontario");
    assert_eq!(incident["jurisdictions"][1]["countryName"], "Germany");
    assert_eq!(incident["createdDT"], incident["updatedDT"]);
    assert_eq!(incident["revision"], 1);
    assert_eq!(
        shown.header("etag"),
        format!("\"{}\"", incident["etag"].as_str().unwrap())
    );
}

#[tokio::test]
async fn every_violation_of_a_body_is_named_by_its_json_path() {
    let (_app, seed, http) = setup().await;
    let body = json!({
        "name": " ",
        "orgGroupId": "not-a-uuid",
        "sourceType": "FAX",
        "incidentAssigneeRequests": [{"assigneeId": seed.alice, "type": "ROBOT"}],
        "jurisdictions": [{"countryCode": "USA"}]
    });
    let refused = http.post("/incidents", body).await;
    assert_eq!(
        refused.violations(),
        [
            "name",
            "orgGroupId",
            "sourceType",
            "incidentAssigneeRequests[0].type",
            "jurisdictions[0].stateProvinceCode"
        ]
    );
    let listed = http.post("/incidents/search", json!({})).await;
    assert_eq!(listed.body["totalElements"], 0, "nothing was stored");
}

#[tokio::test]
async fn attribute_value_paths_are_those_of_the_rest_body_in_one_syntax() {
    let (_app, seed, http) = setup().await;
    let mut body = minimal(&seed, "Attribute paths");
    body["attributeValues"] = json!({
        "Data Categories": [{}, {"id": "not-a-uuid"}],
        "Severity": [{"value": "Catastrophic"}]
    });
    let refused = http.post("/incidents", body.clone()).await;
    assert_eq!(
        refused.violations(),
        [
            "attributeValues.Data Categories[0]",
            "attributeValues.Data Categories[1].id",
            "attributeValues.Severity[0].value"
        ]
    );
    body["attributeValues"] = json!({"Severity": [{"value": "Low"}, {"value": "High"}]});
    assert_eq!(
        http.post("/incidents", body.clone()).await.violations(),
        ["attributeValues.Severity"]
    );
    // A wrong JSON type, found by the gateway, is named in the same syntax.
    body["attributeValues"] = json!({"Severity": [{"value": 3}]});
    assert_eq!(
        http.post("/incidents", body).await.violations(),
        ["attributeValues.Severity[0].value"]
    );

    let created = http.post("/incidents", minimal(&seed, "Patched")).await;
    let id = created.body.as_str().unwrap();
    let patch = json!({"attributeValues": {"Severity": [{"value": "Catastrophic"}]}});
    let patched = http.patch(&format!("/incidents/{id}"), patch, &[]).await;
    assert_eq!(patched.violations(), ["attributeValues.Severity[0].value"]);
}

#[tokio::test]
async fn malformed_json_and_wrong_types_are_400_with_their_place() {
    let (_app, seed, http) = setup().await;
    let malformed = http
        .send_raw(
            Method::POST,
            "/incidents",
            "application/json",
            "{\"name\": \"x\",\n \"orgGroupId\": }",
        )
        .await;
    assert_eq!(malformed.violations(), ["body"]);
    assert!(malformed.description().contains("line 2 column"), "{malformed:?}");

    let mut body = minimal(&seed, "Wrong types");
    body["jurisdictions"] = json!([{"countryCode": 840}]);
    let wrong = http.post("/incidents", body).await;
    assert_eq!(wrong.violations(), ["jurisdictions[0].countryCode"]);
    assert!(wrong.description().contains("expected a string"), "{wrong:?}");

    let mut body = minimal(&seed, "Bad time");
    body["dateOccurred"] = json!("yesterday");
    assert_eq!(http.post("/incidents", body).await.violations(), ["dateOccurred"]);

    let not_an_object = http.post("/incidents", json!(["a list"])).await;
    assert_eq!(not_an_object.violations(), ["body"]);

    let truncated = http.send_raw(Method::POST, "/incidents", "application/json", "").await;
    assert_eq!(truncated.violations(), ["body"]);

    let trailing = http
        .send_raw(Method::POST, "/incidents/search", "application/json", "{} {}")
        .await;
    assert_eq!(trailing.violations(), ["body"]);
    let nested_array = http
        .post("/incidents/search", json!({"filters": {"updatedDT": [null, null]}}))
        .await;
    assert_eq!(nested_array.violations(), ["filters.updatedDT"]);
    assert!(nested_array.description().contains("expected"), "{nested_array:?}");
    let top_array = http.post("/incidents/search", json!([null, null])).await;
    assert_eq!(top_array.violations(), ["body"]);
    assert_eq!(top_array.description(), "must be a JSON object, not an array");
}

#[tokio::test]
async fn headers_and_path_ids_that_are_not_text_are_400_naming_them() {
    let (_app, seed, http) = setup().await;
    let id = http.create(minimal(&seed, "Headers")).await;
    let path = format!("/incidents/{id}");
    let binary = reqwest::header::HeaderValue::from_bytes(b"\"\xffabc\"").unwrap();
    let if_match = http
        .request(Method::PUT, &path, &[])
        .header("If-Match", binary.clone())
        .json(&minimal(&seed, "Not written"));
    let refused = answer(if_match).await;
    assert_eq!(refused.violations(), ["If-Match"]);
    assert_eq!(refused.description(), "must be visible ASCII");
    let key = http
        .request(Method::POST, "/incidents", &[])
        .header("Idempotency-Key", binary)
        .json(&minimal(&seed, "Not created"));
    assert_eq!(answer(key).await.violations(), ["Idempotency-Key"]);
    assert_eq!(http.get(&path).await.body["name"], "Headers", "nothing was written");

    let not_utf8 = http.get("/incidents/%FF%FE").await;
    assert_eq!(not_utf8.violations(), ["incidentId"]);
    let listed = http.post("/incidents/search", json!({})).await;
    assert_eq!(listed.body["totalElements"], 1, "nothing was created");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415_and_one_over_the_limit_413() {
    let (_app, seed, http) = setup().await;
    let form = http
        .send_raw(
            Method::POST,
            "/incidents",
            "application/x-www-form-urlencoded",
            "name=x",
        )
        .await;
    assert_eq!(form.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{form:?}");
    assert_eq!(form.reason(), "UNSUPPORTED_MEDIA_TYPE");
    let untyped = http
        .send(Method::PUT, &format!("/incidents/{}", uuid::Uuid::now_v7()), None, &[])
        .await;
    assert_eq!(untyped.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{untyped:?}");

    let mut body = minimal(&seed, "Huge");
    body["description"] = json!("x".repeat(5 * 1024 * 1024));
    let huge = http.post("/incidents", body).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE, "{:?}", huge.status);
    assert_eq!(huge.reason(), "BODY_TOO_LARGE");
    // The server still serves.
    http.create(minimal(&seed, "After the huge one")).await;
}

#[tokio::test]
async fn get_answers_404_for_an_unknown_incident_and_400_for_a_malformed_id() {
    let (app, seed, http) = setup().await;
    let missing = http.get(&format!("/incidents/{}", uuid::Uuid::now_v7())).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{missing:?}");
    assert_eq!(missing.reason(), "INCIDENT_NOT_FOUND");
    assert_eq!(http.get("/incidents/42").await.violations(), ["incidentId"]);

    // Another tenant's incident is as unknown as one that does not exist.
    let id = http.create(minimal(&seed, "Ours")).await;
    let stranger = Http::with_token(&app, app.token_for(uuid::Uuid::now_v7(), "INCIDENT"));
    assert_eq!(
        stranger.get(&format!("/incidents/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn put_replaces_the_whole_body_and_honours_if_match() {
    let (_app, seed, http) = setup().await;
    let id = http.create(spec_body(&seed)).await;
    let path = format!("/incidents/{id}");
    let first = http.get(&path).await;
    let etag = first.header("etag").to_owned();

    let replaced = http.put(&path, minimal(&seed, "Renamed"), &[("If-Match", &etag)]).await;
    assert_eq!(replaced.status, StatusCode::OK, "{replaced:?}");
    assert_eq!(replaced.body["name"], "Renamed");
    assert_eq!(
        replaced.body["attributeValues"],
        json!({}),
        "omitted attributes end up empty"
    );
    assert_eq!(replaced.body["description"], Value::Null);
    assert_eq!(replaced.body["revision"], 2);
    assert_ne!(replaced.header("etag"), etag);

    let stale = http.put(&path, minimal(&seed, "Lost"), &[("If-Match", &etag)]).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{stale:?}");
    assert_eq!(stale.reason(), "STALE_ETAG");
    assert_eq!(http.get(&path).await.body["name"], "Renamed", "nothing was written");

    let any = http.put(&path, minimal(&seed, "Any"), &[("If-Match", "*")]).await;
    assert_eq!(any.status, StatusCode::OK, "{any:?}");
    let two = http
        .put(&path, minimal(&seed, "Two"), &[("If-Match", "\"a\", \"b\"")])
        .await;
    assert_eq!(two.violations(), ["If-Match"]);

    let missing = http
        .put(
            &format!("/incidents/{}", uuid::Uuid::now_v7()),
            minimal(&seed, "x"),
            &[],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_unknown_key_is_400_naming_it_and_the_incident_is_untouched() {
    let (_app, seed, http) = setup().await;
    let id = http.create(spec_body(&seed)).await;
    let path = format!("/incidents/{id}");
    let mut body = spec_body(&seed);
    body["rootcause"] = json!("a typo that would have cleared rootCause");
    body["jurisdictions"][1]["stateProvince"] = json!("x");
    body["attributeValues"]["Severity"][0]["colour"] = json!("red");
    let refused = http.put(&path, body, &[]).await;
    assert_eq!(
        refused.violations(),
        [
            "rootcause",
            "attributeValues.Severity[0].colour",
            "jurisdictions[1].stateProvince"
        ]
    );
    assert_eq!(refused.description(), "is not a field of this object");
    let stored = http.get(&path).await;
    assert_eq!(stored.body["rootCause"], "Autocomplete picked the wrong address");
    assert_eq!(stored.body["revision"], 1, "nothing was written");

    let mut create = minimal(&seed, "Typo");
    create["linkedInventories"] = json!({"assets": {"inventoryIds": [], "externalIds": ["A-1"], "kind": 1}});
    create["autoAssess"] = json!(true);
    assert_eq!(
        http.post("/incidents", create).await.violations(),
        ["autoAssess", "linkedInventories.assets.kind"]
    );
    let search = http.post("/incidents/search", json!({"filter": {}})).await;
    assert_eq!(search.violations(), ["filter"]);
    let option = json!({"name": "Colour", "type": "SINGLE_SELECT", "options": [{"value": "Red", "colour": "red"}]});
    assert_eq!(
        http.post("/reference/attributes", option).await.violations(),
        ["options[0].colour"]
    );
}

#[tokio::test]
async fn a_put_of_the_incident_as_read_ignores_its_read_only_fields() {
    let (_app, seed, http) = setup().await;
    let id = http.create(spec_body(&seed)).await;
    let path = format!("/incidents/{id}");
    let mut read = http.get(&path).await.body;
    read["rootCause"] = json!("Edited where it was read");
    // The answer names attributes' lists of values and assignees otherwise.
    read["incidentAssigneeRequests"] = json!([{"assigneeId": seed.alice}]);
    let written = http.put(&path, read.clone(), &[]).await;
    assert_eq!(written.status, StatusCode::OK, "{written:?}");
    assert_eq!(written.body["rootCause"], "Edited where it was read");
    assert_eq!(written.body["number"], read["number"]);
    assert_eq!(written.body["revision"], 2);
    assert_eq!(written.body["attributeValues"], read["attributeValues"]);
    assert_eq!(written.body["jurisdictions"], read["jurisdictions"]);

    let renumbered = http.patch(&path, json!({"number": 7}), &[]).await;
    assert_eq!(
        renumbered.violations(),
        ["number"],
        "a patch cannot change a read-only field"
    );
}

#[tokio::test]
async fn a_time_without_an_offset_is_refused_saying_so_and_codes_are_taken_in_any_case() {
    let (_app, seed, http) = setup().await;
    let mut body = minimal(&seed, "Times");
    body["deadline"] = json!("2026-11-20T09:30:00");
    let refused = http.post("/incidents", body.clone()).await;
    assert_eq!(refused.violations(), ["deadline"]);
    assert!(
        refused.description().starts_with("needs an offset (Z or ±hh:mm)"),
        "{refused:?}"
    );
    for form in [
        "2026-11-20T09:30:00+0200",
        "2026-11-20 09:30:00Z",
        "2026-11-20t09:30:00z",
    ] {
        body["deadline"] = json!(form);
        assert_eq!(
            http.post("/incidents", body.clone()).await.violations(),
            ["deadline"],
            "{form}"
        );
    }
    body["deadline"] = json!("2026-11-20T09:30:00.123456+02:00");
    body["jurisdictions"] = json!([{"countryCode": "can", "stateProvinceCode": "on"}]);
    let id = http.create(body).await;
    let shown = http.get(&format!("/incidents/{id}")).await;
    assert_eq!(shown.body["deadline"], "2026-11-20T07:30:00.123456Z");
    assert_eq!(shown.body["jurisdictions"][0]["countryCode"], "CAN");
    assert_eq!(shown.body["jurisdictions"][0]["stateProvinceCode"], "ON");
    let listed = http.get("/reference/jurisdictions?countryCode=deu").await;
    assert_eq!(listed.body[0]["countryCode"], "DEU", "{listed:?}");
}

#[tokio::test]
async fn patch_merges_clears_with_null_and_honours_if_match() {
    let (_app, seed, http) = setup().await;
    let id = http.create(spec_body(&seed)).await;
    let path = format!("/incidents/{id}");
    let etag = http.get(&path).await.header("etag").to_owned();

    let patch = json!({
        "description": null,
        "rootCause": "Autocomplete turned off",
        "attributeValues": {"Severity": [{"value": "Low"}]}
    });
    let patched = http.patch(&path, patch, &[("If-Match", &etag)]).await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    let incident = &patched.body;
    assert_eq!(incident["description"], Value::Null, "null clears a field");
    assert_eq!(incident["rootCause"], "Autocomplete turned off");
    assert_eq!(incident["attributeValues"]["Severity"][0]["value"], "Low");
    assert_eq!(
        incident["attributeValues"]["Data Categories"].as_array().unwrap().len(),
        2,
        "attributes left out of the patch stay"
    );
    assert_eq!(incident["name"], "Joe sent an email to the wrong client");
    assert_eq!(incident["jurisdictions"].as_array().unwrap().len(), 2);
    assert_eq!(incident["revision"], 2);

    let cleared = http
        .patch(&path, json!({"attributeValues": {"Data Categories": null}}), &[])
        .await;
    assert_eq!(
        cleared.body["attributeValues"].get("Data Categories"),
        None,
        "{cleared:?}"
    );
    assert_eq!(cleared.body["attributeValues"]["Severity"][0]["value"], "Low");

    let stale = http.patch(&path, json!({"name": "Lost"}), &[("If-Match", &etag)]).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{stale:?}");

    let empty = http.patch(&path, json!({}), &[]).await;
    assert_eq!(empty.status, StatusCode::OK, "{empty:?}");
    assert_eq!(empty.body["revision"], 3, "an empty patch changes nothing");

    let not_editable = http.patch(&path, json!({"number": 7, "name": "x"}), &[]).await;
    assert_eq!(not_editable.violations(), ["number"], "a key that is no editable field");
    let bad = http.patch(&path, json!({"name": null, "sourceType": "FAX"}), &[]).await;
    assert_eq!(bad.violations(), ["name", "sourceType"]);
    let wrong_type = http
        .patch(&path, json!({"jurisdictions": [{"countryCode": 1}]}), &[])
        .await;
    assert_eq!(wrong_type.violations(), ["jurisdictions[0].countryCode"]);
    let array = http.patch(&path, json!([{"name": "x"}]), &[]).await;
    assert_eq!(array.violations(), ["body"]);
    assert_eq!(http.get(&path).await.body["revision"], 3, "nothing was written");
}

#[tokio::test]
async fn a_retried_create_with_its_idempotency_key_creates_once() {
    let (_app, seed, http) = setup().await;
    let key = uuid::Uuid::new_v4().to_string();
    let headers = [("Idempotency-Key", key.as_str())];
    let body = minimal(&seed, "Once");
    let first = http
        .send(Method::POST, "/incidents", Some(body.clone()), &headers)
        .await;
    let again = http.send(Method::POST, "/incidents", Some(body), &headers).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    let other = http
        .send(Method::POST, "/incidents", Some(minimal(&seed, "Other")), &headers)
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY, "{other:?}");
    assert_eq!(other.reason(), "REQUEST_ID_REUSED");
    let bad = http
        .send(
            Method::POST,
            "/incidents",
            Some(minimal(&seed, "x")),
            &[("Idempotency-Key", "abc")],
        )
        .await;
    assert_eq!(bad.violations(), ["Idempotency-Key"]);
    let listed = http.post("/incidents/search", json!({})).await;
    assert_eq!(listed.body["totalElements"], 1);
}

#[tokio::test]
async fn search_filters_pages_and_sorts_with_query_parameters() {
    let (_app, seed, http) = setup().await;
    for name in ["Alpha laptop", "Bravo email", "Charlie laptop"] {
        http.create(minimal(&seed, name)).await;
    }
    let mut typed = minimal(&seed, "Delta");
    typed["incidentTypeName"] = json!("Lost Device");
    http.create(typed).await;

    let found = http
        .post("/incidents/search?sort=name,asc&size=1", json!({"fullText": "LAPT"}))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{found:?}");
    assert_eq!(found.body["totalElements"], 2);
    assert_eq!(found.body["totalPages"], 2);
    assert_eq!(found.body["content"][0]["name"], "Alpha laptop");
    assert!(found.body["content"][0]["incidentId"].is_string());
    let token = found.body["nextPageToken"].as_str().unwrap();
    let next = http
        .post(
            &format!("/incidents/search?sort=name,asc&size=1&pageToken={token}"),
            json!({"fullText": "LAPT"}),
        )
        .await;
    assert_eq!(next.body["content"][0]["name"], "Charlie laptop", "{next:?}");
    assert_eq!(next.body["last"], true);

    let by_type = http
        .post(
            "/incidents/search",
            json!({"filters": {"incidentTypeIds": [seed.lost_device], "createdDT": {"from": "2000-01-01T00:00:00Z"}}}),
        )
        .await;
    assert_eq!(by_type.body["totalElements"], 1, "{by_type:?}");
    assert_eq!(by_type.body["content"][0]["name"], "Delta");

    let page = http.post("/incidents/search?page=1&size=3", json!({})).await;
    assert_eq!(page.body["number"], 1);
    assert_eq!(page.body["numberOfElements"], 1);

    let bad = http
        .post(
            "/incidents/search?size=5000&sort=priority,asc",
            json!({"filters": {"assigneeIds": ["nope"]}}),
        )
        .await;
    let mut fields = bad.violations();
    fields.sort();
    assert_eq!(fields, ["filters.assigneeIds[0]", "size", "sort"]);
    assert_eq!(
        http.post("/incidents/search?size=0", json!({})).await.violations(),
        ["size"]
    );
    assert_eq!(
        http.post("/incidents/search?page=two", json!({})).await.violations(),
        ["page"]
    );
}

#[tokio::test]
async fn revisions_list_the_history_newest_first() {
    let (_app, seed, http) = setup().await;
    let id = http.create(minimal(&seed, "First")).await;
    http.patch(&format!("/incidents/{id}"), json!({"name": "Second"}), &[])
        .await;
    let history = http.get(&format!("/incidents/{id}/revisions?pageSize=1")).await;
    assert_eq!(history.status, StatusCode::OK, "{history:?}");
    let newest = &history.body["revisions"][0];
    assert_eq!(newest["revision"], 2);
    assert_eq!(newest["actorName"], "Test User");
    assert_eq!(
        newest["changes"],
        json!([{"field": "name", "before": "First", "after": "Second"}])
    );
    let token = history.body["nextPageToken"].as_str().unwrap();
    let older = http
        .get(&format!("/incidents/{id}/revisions?pageSize=1&pageToken={token}"))
        .await;
    assert_eq!(older.body["revisions"][0]["revision"], 1);
    assert_eq!(older.body["nextPageToken"], Value::Null);
    let unknown = http
        .get(&format!("/incidents/{}/revisions", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn reference_data_is_listed_and_added_by_admins() {
    let (app, seed, http) = setup().await;
    let organizations = http.get("/reference/organizations").await;
    assert_eq!(organizations.status, StatusCode::OK);
    let legal = organizations
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Legal")
        .unwrap();
    assert_eq!(legal["parentId"], seed.headquarters);
    let types = http.get("/reference/incident-types").await;
    let names: Vec<&str> = types
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Unknown") && names.contains(&"Misdirected Email"),
        "{names:?}"
    );
    let attributes = http.get("/reference/attributes").await;
    let severity = attributes
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "Severity")
        .unwrap();
    assert_eq!(severity["type"], "SINGLE_SELECT");
    assert_eq!(severity["options"][2]["disabled"], true);
    let assignees = http.get("/reference/assignees").await;
    assert_eq!(assignees.body.as_array().unwrap().len(), 3);
    let canada = http.get("/reference/jurisdictions?countryCode=CAN").await;
    assert!(
        canada
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["stateProvinceName"] == "Ontario")
    );
    assert_eq!(
        http.get("/reference/jurisdictions?countryCode=XX").await.violations(),
        ["countryCode"]
    );

    let created = http
        .post(
            "/reference/organizations",
            json!({"name": "Sales", "parentId": seed.headquarters}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.body["parentId"], seed.headquarters);
    let taken = http
        .post("/reference/incident-types", json!({"name": "Lost Device"}))
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{taken:?}");
    assert_eq!(taken.reason(), "ALREADY_EXISTS");
    let attribute = http
        .post(
            "/reference/attributes",
            json!({"name": "Region", "type": "MULTI_SELECT", "options": [{"value": "EU"}, {"value": "US"}]}),
        )
        .await;
    assert_eq!(attribute.status, StatusCode::CREATED, "{attribute:?}");
    let group = http
        .post("/reference/assignees", json!({"name": "Security", "type": "GROUP"}))
        .await;
    assert_eq!(group.body["type"], "GROUP");
    assert_eq!(
        http.post("/reference/assignees", json!({"name": ""}))
            .await
            .violations(),
        ["name"]
    );

    let reader = Http::new(&app, "INCIDENT_READ");
    let forbidden = reader.post("/reference/organizations", json!({"name": "Nope"})).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn calls_without_a_valid_token_are_401_and_without_the_scope_403() {
    let (app, seed, http) = setup().await;
    let id = http.create(minimal(&seed, "Guarded")).await;
    let path = format!("/incidents/{id}");

    let anonymous = Http::anonymous(&app).get(&path).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{anonymous:?}");
    assert_eq!(anonymous.header("www-authenticate"), "Bearer realm=\"incidentd\"");
    assert_eq!(anonymous.reason(), "INVALID_TOKEN");
    let forged = Http::with_token(&app, "not.a.token".into()).get(&path).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert!(forged.header("www-authenticate").contains("error=\"invalid_token\""));
    // Authentication comes before the body is looked at.
    let unauthenticated_garbage = Http::anonymous(&app)
        .send_raw(Method::POST, "/incidents", "text/plain", "garbage")
        .await;
    assert_eq!(unauthenticated_garbage.status, StatusCode::UNAUTHORIZED);

    let reader = Http::new(&app, "INCIDENT_READ");
    assert_eq!(reader.get(&path).await.status, StatusCode::OK);
    let denied = reader.put(&path, minimal(&seed, "Not allowed"), &[]).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{denied:?}");
    assert_eq!(denied.reason(), "MISSING_SCOPE");
    assert!(
        denied.body["error"].as_str().unwrap().contains("INCIDENT"),
        "{denied:?}"
    );
    assert!(denied.header("www-authenticate").contains("insufficient_scope"));
    let creator = Http::new(&app, "INCIDENT_CREATE");
    assert_eq!(creator.get(&path).await.status, StatusCode::FORBIDDEN);
    assert_eq!(http.get(&path).await.body["name"], "Guarded", "nothing was written");
}

#[tokio::test]
async fn unknown_paths_are_404_and_unknown_methods_405() {
    let (_app, _seed, http) = setup().await;
    let unknown = http.get("/api/incident/v2/incidents").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{unknown:?}");
    assert_eq!(unknown.reason(), "NOT_FOUND");
    let method = http
        .send(
            Method::DELETE,
            &format!("/incidents/{}", uuid::Uuid::now_v7()),
            None,
            &[],
        )
        .await;
    assert_eq!(method.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn health_and_readiness_answer_without_a_token() {
    let app = spawn_app().await;
    let http = Http::anonymous(&app);
    let health = http.get("/healthz").await;
    assert_eq!(
        (health.status, health.body["status"].as_str()),
        (StatusCode::OK, Some("UP"))
    );
    let ready = http.get("/readyz").await;
    assert_eq!(
        (ready.status, ready.body["status"].as_str()),
        (StatusCode::OK, Some("UP"))
    );
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_the_gateway_serves() {
    let app = spawn_app().await;
    let http = Http::anonymous(&app);
    let document = http.get("/api/openapi.json").await;
    assert_eq!(document.status, StatusCode::OK);
    assert_eq!(document.body["openapi"], "3.1.0");
    let mut listed: Vec<String> = document.body["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    listed.sort();
    let mut expected = vec![
        "POST /api/incident/v1/incidents",
        "GET /api/incident/v1/incidents/{incidentId}",
        "PUT /api/incident/v1/incidents/{incidentId}",
        "PATCH /api/incident/v1/incidents/{incidentId}",
        "POST /api/incident/v1/incidents/{incidentId}/notifications",
        "POST /api/incident/v1/incidents/search",
        "GET /api/incident/v1/incidents/{incidentId}/revisions",
        "GET /api/incident/v1/reference/organizations",
        "POST /api/incident/v1/reference/organizations",
        "GET /api/incident/v1/reference/incident-types",
        "POST /api/incident/v1/reference/incident-types",
        "GET /api/incident/v1/reference/attributes",
        "POST /api/incident/v1/reference/attributes",
        "GET /api/incident/v1/reference/assignees",
        "POST /api/incident/v1/reference/assignees",
        "GET /api/incident/v1/reference/jurisdictions",
        "GET /api/incident/v1/reference/notification-rules",
        "GET /api/incident/v1/reference/workflows",
        "POST /api/incident/v1/reference/workflows",
        "POST /api/incident/v1/assignments/entities/{entityId}/stage",
        "POST /api/incident/v1/assignments/entities/{entityId}/types/{type}/stage",
        "POST /api/incident/v1/incidents/{incidentId}/inventory-links/{inventoryType}",
        "DELETE /api/incident/v1/incidents/{incidentId}/inventory-links/{inventoryType}/{id}",
        "GET /healthz",
        "GET /readyz",
    ];
    expected.sort();
    assert_eq!(listed, expected);
    // Every route the document lists is served (none answers 404 for its path).
    for route in &listed {
        let (method, path) = route.split_once(' ').unwrap();
        let id = uuid::Uuid::now_v7().to_string();
        let path = path
            .replace("{incidentId}", &id)
            .replace("{entityId}", &id)
            .replace("{type}", "IncidentWorkflowType")
            .replace("{inventoryType}", "assets")
            .replace("{id}", "A-1");
        let answer = http.send(method.parse().unwrap(), &path, None, &[]).await;
        assert!(
            answer.status != StatusCode::NOT_FOUND || answer.reason() == "INCIDENT_NOT_FOUND",
            "{route}: {answer:?}"
        );
        assert_ne!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{route}");
    }
    let schemas = document.body["components"]["schemas"].as_object().unwrap();
    assert_eq!(
        schemas["SourceTypeInput"]["enum"],
        json!(["MANUAL", "ASSESSMENT", "WEBFORM", "INTEGRATION"])
    );
}

#[tokio::test]
async fn a_failure_inside_is_500_without_its_cause_and_the_server_serves_on() {
    use sea_orm::{ConnectionTrait, Database};
    let (app, seed, http) = setup().await;
    let id = http.create(minimal(&seed, "Before the fault")).await;
    // A real fault, not a mock: the full-text table goes away under the server.
    let db = Database::connect(app.db.url()).await.unwrap();
    db.execute_unprepared("DROP TABLE incident_search").await.unwrap();
    db.close().await.unwrap();

    let failed = http.post("/incidents", minimal(&seed, "During the fault")).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR, "{failed:?}");
    assert_eq!(failed.reason(), "INTERNAL");
    assert_eq!(failed.body["error"], "internal error");
    let text = failed.body.to_string().to_lowercase();
    assert!(!text.contains("incident_search") && !text.contains("sqlx"), "{text}");

    let shown = http.get(&format!("/incidents/{id}")).await;
    assert_eq!(shown.status, StatusCode::OK, "reads still work: {shown:?}");
}

#[tokio::test]
async fn hostile_bodies_are_400_naming_their_place_and_the_server_serves_on() {
    let (_app, seed, http) = setup().await;
    let id = http.create(minimal(&seed, "Untouched")).await;
    let before = http.get(&format!("/incidents/{id}")).await.body;
    let path = format!("/incidents/{id}");
    let raw = |body: Vec<u8>| http.send_raw(Method::PUT, &path, "application/json", body);

    let not_utf8 = raw(b"{\"name\": \"caf\xe9\"}".to_vec()).await;
    assert_eq!(not_utf8.violations(), ["body"], "invalid UTF-8");
    let deep = format!("{{\"name\": {}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let deep = raw(deep.into_bytes()).await;
    assert_eq!(deep.violations(), ["name"], "100,000 levels of nesting");
    let deep_objects = format!("{}{}", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    assert_eq!(raw(deep_objects.into_bytes()).await.violations(), ["body"]);
    let lone_surrogate = raw(br#"{"name": "\ud800"}"#.to_vec()).await;
    assert_eq!(lone_surrogate.violations(), ["body"], "a lone surrogate");
    assert!(lone_surrogate.description().contains("escape"), "{lone_surrogate:?}");
    let byte_order_mark = raw(b"\xef\xbb\xbf{}".to_vec()).await;
    assert_eq!(byte_order_mark.violations(), ["body"], "a byte order mark");

    let body = |change: fn(&mut Value)| {
        let mut body = minimal(&seed, "Valid");
        change(&mut body);
        body
    };
    let cases: [(&str, Value, &str); 8] = [
        ("NUL in a name", body(|b| b["name"] = json!("a\u{0}b")), "name"),
        (
            "an escape in a name",
            body(|b| b["name"] = json!("a\u{1b}[31mb")),
            "name",
        ),
        (
            "a number past f64",
            json!({"name": "x", "orgGroupId": 1e308}),
            "orgGroupId",
        ),
        (
            "year 10000",
            body(|b| b["deadline"] = json!("+10000-01-01T00:00:00Z")),
            "deadline",
        ),
        (
            "before year 1",
            body(|b| b["deadline"] = json!("-0001-12-31T23:59:59Z")),
            "deadline",
        ),
        (
            "a leap second",
            body(|b| b["deadline"] = json!("2016-12-31T23:59:60Z")),
            "deadline",
        ),
        (
            "a time without a zone",
            body(|b| b["deadline"] = json!("2026-01-01T00:00:00")),
            "deadline",
        ),
        (
            "10,000 jurisdictions",
            body(|b| b["jurisdictions"] = json!(vec![json!({"countryCode": "FRA"}); 10_000])),
            "jurisdictions",
        ),
    ];
    for (case, body, field) in cases {
        let answer = http.put(&format!("/incidents/{id}"), body, &[]).await;
        assert_eq!(answer.violations(), [field], "{case}");
    }
    let duplicate = raw(br#"{"name": "a", "name": "b"}"#.to_vec()).await;
    assert_eq!(duplicate.violations(), ["body"], "a key twice");
    assert!(duplicate.description().contains("duplicate field"), "{duplicate:?}");

    // The ends of the time range are stored exactly.
    let extremes = body(|b| {
        b["dateOccurred"] = json!("0001-01-01T00:00:00Z");
        b["deadline"] = json!("9999-12-31T23:59:59.999999Z");
    });
    let stored = http.put(&format!("/incidents/{id}"), extremes, &[]).await;
    assert_eq!(stored.status, StatusCode::OK, "{stored:?}");
    assert_eq!(stored.body["dateOccurred"], "0001-01-01T00:00:00Z");
    assert_eq!(stored.body["deadline"], "9999-12-31T23:59:59.999999Z");
    assert_ne!(stored.body, before);
    assert_eq!(
        http.get(&format!("/incidents/{id}")).await.body,
        stored.body,
        "nothing else was written"
    );
}
