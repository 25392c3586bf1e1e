//! Starts the real server on 127.0.0.1:0 with a database of its own (a SQLite
//! file in a temp dir, or a fresh PostgreSQL database when
//! `INCIDENTD_TEST_POSTGRES_URL` is set) and talks to it through the generated
//! clients.

use std::time::Duration;

use incidentd::{
    AuthConfig, AuthKey, Config,
    auth::{Claims, Signer, claims_for},
    pb::{
        self, incident_service_client::IncidentServiceClient, reference_data_service_client::ReferenceDataServiceClient,
    },
};
use sea_orm::{ConnectionTrait, Database};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::{
    Code, Request, Status,
    transport::{Channel, Endpoint},
};
use tonic_types::StatusExt;
use uuid::Uuid;

pub const SECRET: &[u8] = b"integration-test-secret-of-at-least-32-bytes";

/// A database that lives as long as the test: removed when dropped.
pub struct TestDb {
    url: String,
    dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match std::env::var("INCIDENTD_TEST_POSTGRES_URL") {
            Ok(base) if !base.is_empty() => {
                let name = format!("incidentd_test_{}", Uuid::new_v4().simple());
                let admin = Database::connect(&base)
                    .await
                    .expect("INCIDENTD_TEST_POSTGRES_URL must be reachable");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let url = incidentd::bench::with_database(&base, &name);
                Self {
                    url,
                    dir,
                    postgres: Some((base, name)),
                }
            }
            _ => {
                let url = format!("sqlite://{}", dir.path().join("incidents.db").display());
                Self {
                    url,
                    dir,
                    postgres: None,
                }
            }
        }
    }
}

impl TestDb {
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The data directory of a server on this database.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The host and port of the PostgreSQL server (default 127.0.0.1:5432).
    pub fn postgres_address(&self) -> std::net::SocketAddr {
        let (_, authority) = self
            .url
            .split_once('@')
            .or_else(|| self.url.split_once("://"))
            .expect("a URL");
        let host_port = authority.split('/').next().expect("a host");
        let host_port = if host_port.contains(':') {
            host_port.to_owned()
        } else {
            format!("{host_port}:5432")
        };
        let host_port = host_port.replace("localhost", "127.0.0.1");
        host_port.parse().expect("PostgreSQL at an IP address and port")
    }

    /// Points the database URL at `address` instead of the server itself.
    pub fn route_through(&mut self, address: std::net::SocketAddr) {
        let server = self.postgres_address().to_string();
        let original = if self.url.contains(&server) {
            server
        } else {
            server.trim_end_matches(":5432").to_owned()
        };
        self.url = self.url.replacen(&original, &address.to_string(), 1);
    }
}

/// Another client of the database holding its write lock (SQLite's, or an
/// exclusive lock on PostgreSQL's incident table) until released: the server's
/// writes wait, its reads go on.
pub struct WriteLock(sea_orm::DatabaseConnection);

impl TestDb {
    pub async fn hold_writes(&self) -> WriteLock {
        let mut options = sea_orm::ConnectOptions::new(self.url.clone());
        options.max_connections(1).sqlx_logging(false);
        let connection = Database::connect(options).await.expect("a second client");
        let statement = if self.is_postgres() {
            "BEGIN; LOCK TABLE incident IN EXCLUSIVE MODE"
        } else {
            "BEGIN IMMEDIATE"
        };
        connection
            .execute_unprepared(statement)
            .await
            .expect("take the write lock");
        WriteLock(connection)
    }
}

impl WriteLock {
    pub async fn release(self) {
        self.0
            .execute_unprepared("ROLLBACK")
            .await
            .expect("release the write lock");
        self.0.close().await.expect("close");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((base, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, so the cleanup gets a thread and runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(&base).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

pub struct TestApp {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub incidents: IncidentServiceClient<Channel>,
    pub reference: ReferenceDataServiceClient<Channel>,
    /// The connection to the server, for other clients (health, reflection).
    pub channel: Channel,
    /// Where the server listens.
    pub address: std::net::SocketAddr,
    /// `http://<address>`: where the REST gateway answers too.
    pub base_url: String,
    pub db: TestDb,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_on(TestDb::new().await).await
}

/// The HS256 configuration every test uses unless it says otherwise.
pub fn shared_secret() -> AuthConfig {
    AuthConfig {
        key: AuthKey::Hs256Secret(SECRET.to_vec()),
        issuer: None,
        audience: None,
    }
}

pub async fn spawn_on(db: TestDb) -> TestApp {
    spawn_with(db, shared_secret()).await
}

/// The configuration of a server on `db`.
pub fn config_for(db: &TestDb, auth: AuthConfig) -> Config {
    Config {
        database_url: Some(db.url.clone()),
        data_dir: db.dir.path().to_path_buf(),
        auth,
        rate_limit: None,
        limits: incidentd::Limits::default(),
        events: incidentd::EventsConfig::default(),
        metrics_listen: None,
        tls: None,
    }
}

pub async fn spawn_with(db: TestDb, auth: AuthConfig) -> TestApp {
    let config = config_for(&db, auth);
    spawn_configured(db, config).await
}

/// A server on `db` started from `config` (made by `config_for`, then changed).
pub async fn spawn_configured(db: TestDb, config: Config) -> TestApp {
    spawn_reached(db, config, plaintext).await
}

/// A server on `db` started from `config`, its clients connected through the
/// endpoint `reach` makes of its address (over TLS, say).
pub async fn spawn_reached(
    db: TestDb,
    config: Config,
    reach: impl FnOnce(std::net::SocketAddr) -> Endpoint,
) -> TestApp {
    let app = incidentd::build(&config).await.expect("app builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(incidentd::serve(app, listener, async move {
        let _ = stopped.await;
    }));
    let channel = reach(address).connect().await.expect("connect");
    let mut app = TestApp::on(channel, address, db);
    app.stop = Some(stop);
    app.server = Some(server);
    app
}

/// The plaintext endpoint of a server at `address`.
pub fn plaintext(address: std::net::SocketAddr) -> Endpoint {
    Channel::from_shared(format!("http://{address}")).expect("uri")
}

/// Clients of a server already listening at `address` on `db`, for a new
/// tenant; a server started elsewhere (another process) is not stopped by them.
pub async fn connect_to(address: std::net::SocketAddr, db: TestDb) -> TestApp {
    let channel = plaintext(address).connect().await.expect("connect");
    TestApp::on(channel, address, db)
}

impl TestApp {
    /// Clients on `channel` of the server at `address`, for a new tenant.
    fn on(channel: Channel, address: std::net::SocketAddr, db: TestDb) -> TestApp {
        TestApp {
            tenant_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            incidents: IncidentServiceClient::new(channel.clone()),
            reference: ReferenceDataServiceClient::new(channel.clone()),
            channel,
            address,
            base_url: format!("http://{address}"),
            db,
            stop: None,
            server: None,
        }
    }
}

impl TestApp {
    /// Stops the server and starts a new one on the same database.
    pub async fn restart(self) -> TestApp {
        self.restart_with(|_| {}).await
    }

    /// Stops the server and starts a new one on the same database, with its
    /// configuration changed by `change`.
    pub async fn restart_with(mut self, change: impl FnOnce(&mut Config)) -> TestApp {
        self.stop_server().await;
        let (tenant_id, user_id) = (self.tenant_id, self.user_id);
        let db = std::mem::replace(&mut self.db, TestDb::placeholder());
        let mut config = config_for(&db, shared_secret());
        change(&mut config);
        let mut app = spawn_configured(db, config).await;
        app.tenant_id = tenant_id;
        app.user_id = user_id;
        app
    }

    /// Clients of the same server for a new tenant; the server and its
    /// database stay this app's.
    pub async fn another_tenant(&self) -> TestApp {
        connect_to(self.address, TestDb::placeholder()).await
    }

    /// Asks the server to stop as SIGTERM would, and waits until it has.
    pub async fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("the server task")
                .expect("the server stops cleanly");
        }
    }

    async fn stop_server(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            // Open client connections can hold graceful shutdown back; the server
            // bounds that with its grace period, and the test does not wait for it.
            server.abort();
            let _ = server.await;
        }
    }

    /// A token of this app's tenant and user with `scope`.
    pub fn token(&self, scope: &str) -> String {
        self.token_for(self.tenant_id, scope)
    }

    pub fn token_for(&self, tenant_id: Uuid, scope: &str) -> String {
        let claims = claims_for(
            tenant_id,
            self.user_id,
            scope,
            Some("Test User".into()),
            Duration::from_secs(600),
        );
        sign(&claims)
    }

    /// `message` with `authorization: Bearer <token>`.
    pub fn with_token<T>(&self, token: &str, message: T) -> Request<T> {
        authorized(token, message)
    }

    /// `message` with a token holding every scope.
    pub fn admin<T>(&self, message: T) -> Request<T> {
        self.with_token(&self.token("INCIDENT INCIDENT_ADMIN"), message)
    }

    pub async fn create(&mut self, body: pb::IncidentCreate) -> Result<pb::Incident, Status> {
        let request = self.admin(pb::CreateIncidentRequest {
            incident: Some(body),
            ..Default::default()
        });
        self.incidents.create_incident(request).await.map(|r| r.into_inner())
    }

    pub async fn update(&mut self, id: &str, body: pb::IncidentUpdate) -> Result<pb::Incident, Status> {
        let request = self.admin(pb::UpdateIncidentRequest {
            incident_id: id.to_owned(),
            incident: Some(body),
            ..Default::default()
        });
        self.incidents.update_incident(request).await.map(|r| r.into_inner())
    }

    /// Sends an update request as it is, with every scope.
    pub async fn send_update(&mut self, request: pb::UpdateIncidentRequest) -> Result<pb::Incident, Status> {
        let request = self.admin(request);
        self.incidents.update_incident(request).await.map(|r| r.into_inner())
    }

    /// Opens a watch of this tenant's events, with every scope.
    pub async fn watch(
        &mut self,
        request: pb::WatchIncidentsRequest,
    ) -> Result<tonic::Streaming<pb::WatchIncidentsResponse>, Status> {
        let request = self.admin(request);
        self.incidents.watch_incidents(request).await.map(|r| r.into_inner())
    }

    /// One page of an incident's revisions.
    pub async fn revisions(
        &mut self,
        id: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<pb::ListIncidentRevisionsResponse, Status> {
        let request = self.admin(pb::ListIncidentRevisionsRequest {
            incident_id: id.to_owned(),
            page_size,
            page_token: page_token.to_owned(),
        });
        self.incidents
            .list_incident_revisions(request)
            .await
            .map(|r| r.into_inner())
    }

    /// Every revision of an incident, newest first, read page by page.
    pub async fn history(&mut self, id: &str) -> Vec<pb::IncidentRevision> {
        let (mut all, mut token) = (Vec::new(), String::new());
        loop {
            let page = self.revisions(id, 100, &token).await.expect("list revisions");
            all.extend(page.revisions);
            if page.next_page_token.is_empty() {
                return all;
            }
            token = page.next_page_token;
        }
    }

    /// The first page of every incident of the tenant, by the default search.
    pub async fn search_all(&mut self) -> pb::SearchIncidentsResponse {
        let request = self.admin(pb::SearchIncidentsRequest::default());
        self.incidents
            .search_incidents(request)
            .await
            .expect("search")
            .into_inner()
    }

    /// What the health service says of the incident service.
    pub async fn health(&self) -> tonic_health::pb::health_check_response::ServingStatus {
        use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
        let request = HealthCheckRequest {
            service: "incident.v1.IncidentService".into(),
        };
        let answer = HealthClient::new(self.channel.clone()).check(request).await;
        answer.expect("health answers").into_inner().status()
    }

    pub async fn get(&mut self, id: &str) -> Result<pb::Incident, Status> {
        let request = self.admin(pb::GetIncidentRequest {
            incident_id: id.to_owned(),
        });
        self.incidents.get_incident(request).await.map(|r| r.into_inner())
    }

    /// Creates the reference data most tests need, returning their ids.
    pub async fn seed(&mut self) -> Seed {
        let headquarters = self.organization("Headquarters", None).await;
        let legal = self.organization("Legal", Some(headquarters.clone())).await;
        let misdirected = self.incident_type("Misdirected Email").await;
        let lost_device = self.incident_type("Lost Device").await;
        let severity = self
            .attribute(
                "Severity",
                pb::attribute_type::Value::SingleSelect,
                &[("Low", false), ("High", false), ("Unrated", true)],
            )
            .await;
        let categories = self
            .attribute(
                "Data Categories",
                pb::attribute_type::Value::MultiSelect,
                &[("Health", false), ("Financial", false)],
            )
            .await;
        let ticket = self.attribute("Ticket", pb::attribute_type::Value::Text, &[]).await;
        let alice = self
            .assignee("Alice", Some("alice@example.com"), pb::assignee_type::Value::User)
            .await;
        let bob = self
            .assignee("Bob", Some("bob@example.com"), pb::assignee_type::Value::User)
            .await;
        let privacy_office = self
            .assignee("Privacy Office", None, pb::assignee_type::Value::Group)
            .await;
        Seed {
            headquarters,
            legal,
            misdirected,
            lost_device,
            severity,
            categories,
            ticket,
            alice,
            bob,
            privacy_office,
        }
    }

    pub async fn organization(&mut self, name: &str, parent_id: Option<String>) -> String {
        let request = self.admin(pb::CreateOrganizationRequest {
            name: name.into(),
            parent_id,
        });
        self.reference
            .create_organization(request)
            .await
            .expect("create organization")
            .into_inner()
            .id
    }

    pub async fn incident_type(&mut self, name: &str) -> String {
        let request = self.admin(pb::CreateIncidentTypeRequest { name: name.into() });
        self.reference
            .create_incident_type(request)
            .await
            .expect("create incident type")
            .into_inner()
            .id
    }

    pub async fn attribute(
        &mut self,
        name: &str,
        kind: pb::attribute_type::Value,
        options: &[(&str, bool)],
    ) -> pb::Attribute {
        let options = options
            .iter()
            .map(|(value, disabled)| pb::AttributeOptionInput {
                value: (*value).into(),
                disabled: *disabled,
            })
            .collect();
        let request = self.admin(pb::CreateAttributeRequest {
            name: name.into(),
            r#type: kind.into(),
            options,
        });
        self.reference
            .create_attribute(request)
            .await
            .expect("create attribute")
            .into_inner()
    }

    pub async fn assignee(&mut self, name: &str, email: Option<&str>, kind: pb::assignee_type::Value) -> String {
        let request = self.admin(pb::CreateAssigneeRequest {
            name: name.into(),
            email: email.map(Into::into),
            r#type: kind.into(),
        });
        self.reference
            .create_assignee(request)
            .await
            .expect("create assignee")
            .into_inner()
            .id
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

impl TestDb {
    /// Stands in for a database that has moved to a restarted app.
    /// No database: for clients of a server whose database another app owns.
    pub fn placeholder() -> Self {
        Self {
            url: String::new(),
            dir: tempfile::tempdir().expect("temp dir"),
            postgres: None,
        }
    }
}

#[allow(dead_code)] // each test uses the part of the seed it needs
pub struct Seed {
    pub headquarters: String,
    pub legal: String,
    pub misdirected: String,
    pub lost_device: String,
    pub severity: pb::Attribute,
    pub categories: pb::Attribute,
    pub ticket: pb::Attribute,
    pub alice: String,
    pub bob: String,
    pub privacy_office: String,
}

impl Seed {
    /// The smallest valid create body.
    pub fn minimal(&self, name: &str) -> pb::IncidentCreate {
        pb::IncidentCreate {
            name: name.into(),
            org_group_id: self.headquarters.clone(),
            ..Default::default()
        }
    }
}

/// `message` with `token` as its bearer.
pub fn authorized<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().expect("ascii token"));
    request
}

/// A move of the incident to the stage named `next`, with `parameters`.
pub fn stage_move(id: &str, next: &str, parameters: &[(&str, &str)]) -> pb::UpdateIncidentStageRequest {
    pb::UpdateIncidentStageRequest {
        incident_id: id.into(),
        next_stage_name: next.into(),
        parameters: parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Default::default()
    }
}

/// An update of the incident's name alone.
pub fn rename(id: &str, name: &str) -> pb::UpdateIncidentRequest {
    pb::UpdateIncidentRequest {
        incident_id: id.to_owned(),
        incident: Some(pb::IncidentUpdate {
            name: name.to_owned(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["name".into()],
        }),
        ..Default::default()
    }
}

pub fn sign(claims: &Claims) -> String {
    Signer::hs256(SECRET).sign(claims).expect("sign")
}

/// The field paths of an INVALID_ARGUMENT's BadRequest, asserting the code.
pub fn violations(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let bad_request = details.bad_request().expect("BadRequest details");
    bad_request.field_violations.iter().map(|v| v.field.clone()).collect()
}

/// The ErrorInfo reason of a status.
pub fn reason(status: &Status) -> String {
    status
        .get_error_details()
        .error_info()
        .expect("ErrorInfo details")
        .reason
        .clone()
}

pub fn timestamp(seconds: i64) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds, nanos: 0 }
}

/// Attribute values from `(option id, value)` pairs.
pub fn values(list: &[(Option<&str>, Option<&str>)]) -> pb::AttributeValuesInput {
    pb::AttributeValuesInput {
        values: list
            .iter()
            .map(|(id, value)| pb::AttributeValueInput {
                id: id.map(Into::into),
                value: value.map(Into::into),
            })
            .collect(),
    }
}

/// A jurisdiction by country and state codes.
pub fn jurisdiction(country: &str, state: Option<&str>) -> pb::JurisdictionInput {
    pb::JurisdictionInput {
        jurisdiction_id: None,
        country_code: country.into(),
        state_province_code: state.map(Into::into),
        affected_individuals: None,
    }
}
