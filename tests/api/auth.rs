//! Tokens and scopes: every way in that must be refused, and every scope rule.

use std::{path::PathBuf, time::Duration};

use incidentd::{
    AuthConfig, AuthKey,
    auth::{Signer, claims_for},
    pb,
};
use tonic::{Code, Request, Status};

use crate::helpers::{TestApp, TestDb, reason, sign, spawn_app, spawn_with};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Calls every RPC with `token` (or none) and returns each status code by name.
async fn call_every_rpc(app: &mut TestApp, token: Option<&str>, incident_id: &str) -> Vec<(&'static str, Code)> {
    fn req<T>(app: &TestApp, token: Option<&str>, message: T) -> Request<T> {
        match token {
            Some(token) => app.with_token(token, message),
            None => Request::new(message),
        }
    }
    fn code<T>(result: Result<T, Status>) -> Code {
        result.map(|_| Code::Ok).unwrap_or_else(|s| s.code())
    }
    let body = pb::IncidentUpdate {
        name: "x".into(),
        ..Default::default()
    };
    let create = pb::IncidentCreate {
        name: "x".into(),
        ..Default::default()
    };
    let mut out = Vec::new();
    let (i, r) = (&mut app.incidents.clone(), &mut app.reference.clone());
    out.push((
        "CreateIncident",
        code(
            i.create_incident(req(
                app,
                token,
                pb::CreateIncidentRequest {
                    incident: Some(create),
                    ..Default::default()
                },
            ))
            .await,
        ),
    ));
    out.push((
        "GetIncident",
        code(
            i.get_incident(req(
                app,
                token,
                pb::GetIncidentRequest {
                    incident_id: incident_id.into(),
                },
            ))
            .await,
        ),
    ));
    out.push((
        "UpdateIncident",
        code(
            i.update_incident(req(
                app,
                token,
                pb::UpdateIncidentRequest {
                    incident_id: incident_id.into(),
                    incident: Some(body),
                    ..Default::default()
                },
            ))
            .await,
        ),
    ));
    out.push((
        "ListIncidentRevisions",
        code(
            i.list_incident_revisions(req(
                app,
                token,
                pb::ListIncidentRevisionsRequest {
                    incident_id: incident_id.into(),
                    ..Default::default()
                },
            ))
            .await,
        ),
    ));
    out.push((
        "SearchIncidents",
        code(
            i.search_incidents(req(app, token, pb::SearchIncidentsRequest::default()))
                .await,
        ),
    ));
    out.push((
        "CreateOrganization",
        code(
            r.create_organization(req(
                app,
                token,
                pb::CreateOrganizationRequest {
                    name: "Org".into(),
                    parent_id: None,
                },
            ))
            .await,
        ),
    ));
    out.push((
        "ListOrganizations",
        code(
            r.list_organizations(req(app, token, pb::ListOrganizationsRequest {}))
                .await,
        ),
    ));
    out.push((
        "CreateIncidentType",
        code(
            r.create_incident_type(req(app, token, pb::CreateIncidentTypeRequest { name: "T".into() }))
                .await,
        ),
    ));
    out.push((
        "ListIncidentTypes",
        code(
            r.list_incident_types(req(app, token, pb::ListIncidentTypesRequest {}))
                .await,
        ),
    ));
    let attribute = pb::CreateAttributeRequest {
        name: "A".into(),
        r#type: pb::attribute_type::Value::Text.into(),
        options: vec![],
    };
    out.push((
        "CreateAttribute",
        code(r.create_attribute(req(app, token, attribute)).await),
    ));
    out.push((
        "ListAttributes",
        code(r.list_attributes(req(app, token, pb::ListAttributesRequest {})).await),
    ));
    let assignee = pb::CreateAssigneeRequest {
        name: "Ann".into(),
        email: None,
        r#type: 0,
    };
    out.push((
        "CreateAssignee",
        code(r.create_assignee(req(app, token, assignee)).await),
    ));
    out.push((
        "ListAssignees",
        code(r.list_assignees(req(app, token, pb::ListAssigneesRequest {})).await),
    ));
    out.push((
        "ListJurisdictions",
        code(
            r.list_jurisdictions(req(app, token, pb::ListJurisdictionsRequest { country_code: None }))
                .await,
        ),
    ));
    out
}

async fn app_with_incident() -> (TestApp, String) {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let id = app.create(seed.minimal("Guarded")).await.unwrap().id;
    (app, id)
}

#[tokio::test]
async fn every_rpc_refuses_a_missing_or_bad_token() {
    let (mut app, id) = app_with_incident().await;
    let expired = {
        let mut claims = claims_for(
            app.tenant_id,
            app.user_id,
            "INCIDENT INCIDENT_ADMIN",
            None,
            Duration::ZERO,
        );
        claims.exp -= 300;
        sign(&claims)
    };
    let wrong_key = Signer::hs256(b"another-secret-that-is-32-bytes-long!!")
        .sign(&claims_for(
            app.tenant_id,
            app.user_id,
            "INCIDENT",
            None,
            Duration::from_secs(60),
        ))
        .unwrap();
    let good = app.token("INCIDENT INCIDENT_ADMIN");
    let payload = good.split('.').nth(1).unwrap();
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    let not_yet = {
        let mut claims = claims_for(app.tenant_id, app.user_id, "INCIDENT", None, Duration::from_secs(600));
        claims.nbf = Some(jsonwebtoken::get_current_timestamp() + 300);
        sign(&claims)
    };
    let bad_tenant = {
        let mut claims = claims_for(app.tenant_id, app.user_id, "INCIDENT", None, Duration::from_secs(60));
        claims.tenant_id = "acme".into();
        sign(&claims)
    };
    for (case, token) in [
        ("none", None),
        ("garbage", Some("garbage")),
        ("expired", Some(expired.as_str())),
        ("not yet valid", Some(not_yet.as_str())),
        ("wrong key", Some(wrong_key.as_str())),
        ("alg none", Some(unsigned.as_str())),
        ("tenant not a uuid", Some(bad_tenant.as_str())),
    ] {
        for (rpc, code) in call_every_rpc(&mut app, token, &id).await {
            assert_eq!(code, Code::Unauthenticated, "{rpc} with a {case} token");
        }
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let (mut app, id) = app_with_incident().await;
    let mut request = Request::new(pb::GetIncidentRequest { incident_id: id });
    let header = format!("BEARER {}", app.token("INCIDENT_READ"));
    request.metadata_mut().insert("authorization", header.parse().unwrap());
    assert!(app.incidents.get_incident(request).await.is_ok());
}

#[tokio::test]
async fn a_non_bearer_authorization_is_refused_with_its_reason() {
    let (mut app, id) = app_with_incident().await;
    let mut request = Request::new(pb::GetIncidentRequest { incident_id: id });
    request
        .metadata_mut()
        .insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
    let status = app.incidents.get_incident(request).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), "INVALID_TOKEN");
}

#[tokio::test]
async fn each_rpc_needs_its_scope() {
    let (mut app, id) = app_with_incident().await;
    use Code::{Ok as Allowed, PermissionDenied as Denied};
    // (scope, [Create, Get, Update, ListRevisions, Search, CreateOrg, ListOrg, CreateType, ListType, CreateAttr,
    //          ListAttr, CreateAssignee, ListAssignee, ListJurisdictions])
    let matrix: [(&str, [Code; 14]); 6] = [
        (
            "INCIDENT",
            [
                Allowed, Allowed, Allowed, Allowed, Allowed, Denied, Allowed, Denied, Allowed, Denied, Allowed, Denied,
                Allowed, Allowed,
            ],
        ),
        (
            "INCIDENT_READ",
            [
                Denied, Allowed, Denied, Allowed, Allowed, Denied, Allowed, Denied, Allowed, Denied, Allowed, Denied,
                Allowed, Allowed,
            ],
        ),
        (
            "INCIDENT_CREATE",
            [
                Allowed, Denied, Denied, Denied, Denied, Denied, Allowed, Denied, Allowed, Denied, Allowed, Denied,
                Allowed, Allowed,
            ],
        ),
        (
            "INCIDENT_ADMIN",
            [
                Denied, Denied, Denied, Denied, Denied, Allowed, Allowed, Allowed, Allowed, Allowed, Allowed, Allowed,
                Allowed, Allowed,
            ],
        ),
        ("INCIDENT_READX incident INCIDENT,INCIDENT_READ", [Denied; 14]),
        ("", [Denied; 14]),
    ];
    for (scope, expected) in matrix {
        let token = app.token(scope);
        let results = call_every_rpc(&mut app, Some(&token), &id).await;
        for ((rpc, code), want) in results.into_iter().zip(expected) {
            // The probe bodies are deliberately incomplete: an allowed create or
            // update gets past the scope check and stops at validation.
            let code = if code == Code::InvalidArgument || code == Code::AlreadyExists {
                Code::Ok
            } else {
                code
            };
            assert_eq!(code, want, "{rpc} with scope {scope:?}");
        }
    }
}

#[tokio::test]
async fn permission_denied_names_the_scopes_that_would_allow_the_call() {
    let (mut app, id) = app_with_incident().await;
    let request = app.with_token(
        &app.token("INCIDENT_READ"),
        pb::UpdateIncidentRequest {
            incident_id: id,
            incident: None,
            ..Default::default()
        },
    );
    let status = app.incidents.update_incident(request).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(reason(&status), "MISSING_SCOPE");
    assert!(status.message().contains("INCIDENT"), "{}", status.message());
    let request = app.with_token(
        &app.token("INCIDENT_ADMIN"),
        pb::GetIncidentRequest {
            incident_id: uuid::Uuid::now_v7().to_string(),
        },
    );
    let status = app.incidents.get_incident(request).await.unwrap_err();
    assert!(
        status.message().contains("INCIDENT_READ, INCIDENT"),
        "{}",
        status.message()
    );
}

async fn public_key_app(public: &str) -> TestApp {
    let auth = AuthConfig {
        key: AuthKey::PublicKeyPem(fixture(public)),
        issuer: Some("https://issuer.example".into()),
        audience: Some("incidentd".into()),
    };
    spawn_with(TestDb::new().await, auth).await
}

fn signed_with(private: &str, app: &TestApp, issuer: &str, audience: &str) -> String {
    let mut claims = claims_for(
        app.tenant_id,
        app.user_id,
        "INCIDENT_READ",
        None,
        Duration::from_secs(60),
    );
    claims.iss = Some(issuer.into());
    claims.aud = Some(audience.into());
    let pem = std::fs::read(fixture(private)).unwrap();
    Signer::from_private_pem(&pem).unwrap().sign(&claims).unwrap()
}

async fn list_types(app: &mut TestApp, token: &str) -> Code {
    let request = app.with_token(token, pb::ListIncidentTypesRequest {});
    app.reference
        .list_incident_types(request)
        .await
        .map(|_| Code::Ok)
        .unwrap_or_else(|s| s.code())
}

#[tokio::test]
async fn rs256_and_es256_tokens_verify_with_issuer_and_audience_checked() {
    for (public, private, other_private) in [
        ("rs256-public.pem", "rs256-private.pem", "es256-private.pem"),
        ("es256-public.pem", "es256-private.pem", "rs256-private.pem"),
    ] {
        let mut app = public_key_app(public).await;
        let good = signed_with(private, &app, "https://issuer.example", "incidentd");
        assert_eq!(list_types(&mut app, &good).await, Code::Ok, "{public}");
        let wrong_issuer = signed_with(private, &app, "https://evil.example", "incidentd");
        assert_eq!(
            list_types(&mut app, &wrong_issuer).await,
            Code::Unauthenticated,
            "{public} issuer"
        );
        let wrong_audience = signed_with(private, &app, "https://issuer.example", "other");
        assert_eq!(
            list_types(&mut app, &wrong_audience).await,
            Code::Unauthenticated,
            "{public} audience"
        );
        let other_algorithm = signed_with(other_private, &app, "https://issuer.example", "incidentd");
        assert_eq!(
            list_types(&mut app, &other_algorithm).await,
            Code::Unauthenticated,
            "{public} algorithm"
        );
        // HS/RS confusion: an HS256 token keyed with the public key itself.
        let public_pem = std::fs::read(fixture(public)).unwrap();
        let mut claims = claims_for(
            app.tenant_id,
            app.user_id,
            "INCIDENT_READ",
            None,
            Duration::from_secs(60),
        );
        claims.iss = Some("https://issuer.example".into());
        claims.aud = Some("incidentd".into());
        let confused = Signer::hs256(&public_pem).sign(&claims).unwrap();
        assert_eq!(
            list_types(&mut app, &confused).await,
            Code::Unauthenticated,
            "{public} HS/RS confusion"
        );
    }
}
