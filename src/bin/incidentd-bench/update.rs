//! `incidentd-bench update`: UpdateIncident from concurrent clients over real
//! gRPC against the server in a process of its own, side by side with the two
//! floors that bound it, measured in the same run:
//!
//! - the **gRPC floor**: a bare tonic unary service that answers a request of
//!   the same bytes with a response of the same size, driven by the same loop;
//! - the **storage floor**: the very statements one UpdateIncident issues
//!   (recorded from the store), replayed as one transaction per update through
//!   the same driver, pool and writer discipline, with no gRPC, parsing or
//!   validation.
//!
//! `--operations update,get,create` mixes calls; `--tenants N` spreads the
//! incidents and the clients over N tenants.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::PathBuf,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use clap::Args;
use incidentd::{
    AuthConfig, AuthKey, Config, Limits,
    auth::{Principal, Scope, Signer, claims_for},
    domain::input::IncidentFields,
    pb::{
        self, incident_service_client::IncidentServiceClient, reference_data_service_client::ReferenceDataServiceClient,
    },
    service::{Service, UpdateRequest},
    store::Store,
};
use sea_orm::{DbBackend, Statement, Value};
use tokio::{process::Child, task::JoinSet};
use tonic::{Request, transport::Channel};
use uuid::Uuid;

use crate::{BenchDb, SECRET, percentile};

#[derive(Args)]
pub struct UpdateArgs {
    /// A PostgreSQL server URL; the bench creates and drops a database of its own
    /// there. Default: a SQLite file in a temporary directory.
    #[arg(long)]
    database_url: Option<String>,
    /// Incidents each client updates in turn (the floor gets as many of its own).
    #[arg(long, default_value_t = 100)]
    incidents_per_client: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// How long each measurement runs, after its warm-up.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Calls before each measurement that are not counted.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// The calls each client makes in turn: update, get, create. The floors are
    /// measured for `update` alone.
    #[arg(long, value_delimiter = ',', default_value = "update")]
    operations: Vec<Operation>,
    /// Calls per second of all clients together, evenly paced (an open load, for
    /// latency below saturation). Default: each client calls again at once.
    #[arg(long)]
    rate: Option<f64>,
    /// Tenants the incidents and clients are spread over.
    #[arg(long, default_value_t = 1)]
    tenants: usize,
    /// Skip the two floors.
    #[arg(long)]
    no_floors: bool,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Update,
    Get,
    Create,
}

/// `incidentd-bench serve-child`: the server, in a process the bench measures.
#[derive(Args)]
pub struct ChildArgs {
    #[arg(long)]
    listen: SocketAddr,
    #[arg(long)]
    database_url: String,
    #[arg(long)]
    data_dir: PathBuf,
}

pub async fn serve_child(args: ChildArgs) -> anyhow::Result<()> {
    let config = Config {
        database_url: Some(args.database_url),
        data_dir: args.data_dir,
        auth: AuthConfig {
            key: AuthKey::Hs256Secret(SECRET.to_vec()),
            issuer: None,
            audience: None,
        },
        rate_limit: None,
        // The bench's clients are few; nothing of theirs is to be shed.
        limits: Limits {
            max_concurrent_calls: 4096,
            ..Limits::default()
        },
    };
    let app = incidentd::build(&config).await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    incidentd::serve(app, listener, std::future::pending()).await
}

/// `incidentd-bench echo-child`: the gRPC floor's server.
#[derive(Args)]
pub struct EchoArgs {
    #[arg(long)]
    listen: SocketAddr,
    /// The answer, as hex of an encoded `Incident`.
    #[arg(long)]
    answer: String,
}

pub async fn echo_child(args: EchoArgs) -> anyhow::Result<()> {
    use prost::Message;
    let answer = pb::Incident::decode(hex::decode(args.answer)?.as_slice())?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(echo::EchoServer { answer })
        .serve_with_incoming(incoming)
        .await?;
    Ok(())
}

/// A bare unary gRPC service: `/bench.Echo/Update` takes an
/// `UpdateIncidentRequest` and answers a fixed `Incident`.
mod echo {
    use std::{
        convert::Infallible,
        future::Future,
        pin::Pin,
        task::{Context, Poll},
    };

    use incidentd::pb;
    use tonic::{
        Request, Response, Status,
        body::Body,
        codegen::http,
        server::{Grpc, NamedService, UnaryService},
    };
    use tonic_prost::ProstCodec;

    pub const PATH: &str = "/bench.Echo/Update";

    #[derive(Clone)]
    pub struct EchoServer {
        pub answer: pb::Incident,
    }

    impl NamedService for EchoServer {
        const NAME: &'static str = "bench.Echo";
    }

    struct Call(pb::Incident);

    impl UnaryService<pb::UpdateIncidentRequest> for Call {
        type Response = pb::Incident;
        type Future = std::future::Ready<Result<Response<pb::Incident>, Status>>;

        fn call(&mut self, _request: Request<pb::UpdateIncidentRequest>) -> Self::Future {
            std::future::ready(Ok(Response::new(self.0.clone())))
        }
    }

    impl tower::Service<http::Request<Body>> for EchoServer {
        type Response = http::Response<Body>;
        type Error = Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: http::Request<Body>) -> Self::Future {
            let answer = self.answer.clone();
            Box::pin(async move {
                if request.uri().path() != PATH {
                    return Ok(Status::unimplemented("").into_http());
                }
                let mut grpc = Grpc::new(ProstCodec::<pb::Incident, pb::UpdateIncidentRequest>::default());
                Ok(grpc.unary(Call(answer), request).await)
            })
        }
    }
}

/// A child process of this binary, killed when dropped.
async fn child(args: &[String]) -> anyhow::Result<Child> {
    let exe = std::env::current_exe()?;
    Ok(tokio::process::Command::new(exe)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?)
}

async fn wait_for(address: SocketAddr) -> anyhow::Result<Channel> {
    for _ in 0..600 {
        if let Ok(channel) = Channel::from_shared(format!("http://{address}"))?.connect().await {
            return Ok(channel);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("nothing listens at {address}")
}

fn free_address() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// One tenant's token and reference data, by id.
#[derive(Clone)]
struct Tenant {
    principal: Principal,
    token: String,
    organizations: [String; 2],
    assignees: [(String, String); 2],
    group: String,
}

/// A refused call, as the report prints it: its code and message.
fn status_text(status: tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

fn authorized<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let value = format!("Bearer {token}").parse().expect("ascii");
    request.metadata_mut().insert("authorization", value);
    request
}

async fn tenant(channel: &Channel) -> anyhow::Result<Tenant> {
    let principal = Principal {
        tenant_id: Uuid::now_v7(),
        subject: Uuid::now_v7(),
        name: Some("Bench Client".into()),
        scopes: vec![Scope::Incident, Scope::IncidentAdmin],
    };
    let claims = claims_for(
        principal.tenant_id,
        principal.subject,
        "INCIDENT INCIDENT_ADMIN",
        principal.name.clone(),
        Duration::from_secs(24 * 3600),
    );
    let token = Signer::hs256(SECRET).sign(&claims)?;
    let mut reference = ReferenceDataServiceClient::new(channel.clone());
    let mut organizations = Vec::new();
    for name in ["Headquarters", "Legal"] {
        let request = pb::CreateOrganizationRequest {
            name: name.into(),
            parent_id: organizations.first().cloned(),
        };
        organizations.push(
            reference
                .create_organization(authorized(&token, request))
                .await?
                .into_inner()
                .id,
        );
    }
    for name in ["Misdirected Email", "Lost Device"] {
        let request = pb::CreateIncidentTypeRequest { name: name.into() };
        reference.create_incident_type(authorized(&token, request)).await?;
    }
    let option = |value: &str| pb::AttributeOptionInput {
        value: value.into(),
        disabled: false,
    };
    let attributes = [
        (
            "Severity",
            pb::attribute_type::Value::SingleSelect,
            vec![option("Low"), option("High")],
        ),
        (
            "Data Categories",
            pb::attribute_type::Value::MultiSelect,
            vec![option("Contact Details"), option("Financial"), option("Health")],
        ),
        ("Ticket", pb::attribute_type::Value::Text, vec![]),
    ];
    for (name, kind, options) in attributes {
        let request = pb::CreateAttributeRequest {
            name: name.into(),
            r#type: kind.into(),
            options,
        };
        reference.create_attribute(authorized(&token, request)).await?;
    }
    let mut assignees = Vec::new();
    for name in ["Alice", "Bob"] {
        let email = format!("{}@example.com", name.to_lowercase());
        let request = pb::CreateAssigneeRequest {
            name: name.into(),
            email: Some(email.clone()),
            r#type: pb::assignee_type::Value::User.into(),
        };
        assignees.push((
            reference
                .create_assignee(authorized(&token, request))
                .await?
                .into_inner()
                .id,
            email,
        ));
    }
    let request = pb::CreateAssigneeRequest {
        name: "Privacy Office".into(),
        email: None,
        r#type: pb::assignee_type::Value::Group.into(),
    };
    let group = reference
        .create_assignee(authorized(&token, request))
        .await?
        .into_inner()
        .id;
    Ok(Tenant {
        principal,
        token,
        organizations: [organizations[0].clone(), organizations[1].clone()],
        assignees: [assignees[0].clone(), assignees[1].clone()],
        group,
    })
}

/// A realistic body, about 1 KB: every field set, three attributes, two
/// assignees, two jurisdictions. `n` makes each call's body differ, as an
/// edit of a case would: the name, the description, the severity, the ticket
/// and a state change; the type, the organization and the people stay.
fn body(tenant: &Tenant, n: u64) -> pb::IncidentUpdate {
    let value = |v: &str| pb::AttributeValueInput {
        id: None,
        value: Some(v.into()),
    };
    let values = |list: Vec<pb::AttributeValueInput>| pb::AttributeValuesInput { values: list };
    let pick = (n % 2) as usize;
    let at = |s: i64| Some(prost_types::Timestamp { seconds: s, nanos: 0 });
    let (user, email) = &tenant.assignees[0];
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
        attribute_values: BTreeMap::from([
            ("Severity".to_owned(), values(vec![value(["Low", "High"][pick])])),
            (
                "Data Categories".to_owned(),
                values(vec![value("Contact Details"), value("Financial")]),
            ),
            ("Ticket".to_owned(), values(vec![value(&format!("INC-{}", 1000 + n))])),
        ]),
        incident_assignee_requests: vec![
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
        ],
        jurisdictions: vec![
            pb::JurisdictionInput {
                country_code: "USA".into(),
                state_province_code: Some(["CA", "NY"][pick].into()),
                jurisdiction_id: None,
            },
            pb::JurisdictionInput {
                country_code: "CAN".into(),
                state_province_code: Some("ON".into()),
                jurisdiction_id: None,
            },
        ],
    }
}

fn create_body(tenant: &Tenant, n: u64) -> pb::IncidentCreate {
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

/// What one measurement found.
#[derive(Default)]
struct Run {
    /// Milliseconds per counted call, by operation.
    millis: BTreeMap<Operation, Vec<f64>>,
    errors: Vec<String>,
    seconds: f64,
}

impl Run {
    fn calls(&self) -> usize {
        self.millis.values().map(Vec::len).sum()
    }

    fn throughput(&self) -> f64 {
        self.calls() as f64 / self.seconds
    }

    fn all_millis(&self) -> Vec<f64> {
        self.millis.values().flatten().copied().collect()
    }
}

/// One client's state: which of its incidents it calls next, at which revision.
#[derive(Clone)]
struct Client {
    tenant: Tenant,
    incidents: Vec<(String, i64)>,
    next: usize,
    n: u64,
}

/// Runs `call` from `clients.len()` concurrent tasks for `warmup`, then counts
/// for `duration`; with a `rate`, the calls of all clients together are paced
/// to it, each at its scheduled time. A call that starts late because its
/// client's previous call overran its slot is timed from its slot, so waiting
/// for a slow server counts.
async fn drive<C, F, Fut>(clients: Vec<C>, pace: Pace, call: F) -> Run
where
    C: Send + 'static,
    F: Fn(C) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = (C, Operation, Result<(), String>)> + Send,
{
    let Pace { warmup, duration, rate } = pace;
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = JoinSet::new();
    let interval = rate.map(|rate| Duration::from_secs_f64(clients.len() as f64 / rate));
    let begin = tokio::time::Instant::now();
    let count = clients.len() as f64;
    for (c, client) in clients.into_iter().enumerate() {
        let (call, counting, stop) = (call.clone(), counting.clone(), stop.clone());
        // Clients take turns evenly within each interval.
        let mut next = interval.map(|every| begin + every.mul_f64(c as f64 / count));
        tasks.spawn(async move {
            let mut run = Run::default();
            let mut client = client;
            while !stop.load(Ordering::Relaxed) {
                let started = match (next.as_mut(), interval) {
                    (Some(at), Some(every)) => {
                        let scheduled = *at;
                        *at += every;
                        if tokio::time::Instant::now() < scheduled {
                            // On time: the call goes out when tokio's timer fires, up
                            // to a millisecond after its slot. That lateness is the
                            // client's own, so the call is timed from when it goes out.
                            tokio::time::sleep_until(scheduled).await;
                            Instant::now()
                        } else {
                            // Behind: the previous call overran this one's slot, and
                            // the wait counts against the server.
                            scheduled.into_std()
                        }
                    }
                    _ => Instant::now(),
                };
                let (back, operation, result) = call(client).await;
                client = back;
                let millis = started.elapsed().as_secs_f64() * 1000.0;
                if !counting.load(Ordering::Relaxed) {
                    continue;
                }
                match result {
                    Ok(()) => run.millis.entry(operation).or_default().push(millis),
                    Err(error) => run.errors.push(error),
                }
            }
            run
        });
    }
    tokio::time::sleep(warmup).await;
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    counting.store(false, Ordering::Relaxed);
    let seconds = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut total = Run {
        seconds,
        ..Run::default()
    };
    while let Some(run) = tasks.join_next().await {
        let run = run.expect("a client task");
        for (operation, millis) in run.millis {
            total.millis.entry(operation).or_default().extend(millis);
        }
        total.errors.extend(run.errors);
    }
    total
}

/// How long to warm up and measure, and at which rate.
#[derive(Clone, Copy)]
struct Pace {
    warmup: Duration,
    duration: Duration,
    rate: Option<f64>,
}

impl UpdateArgs {
    fn pace(&self) -> Pace {
        Pace {
            warmup: self.warmup,
            duration: self.duration,
            rate: self.rate,
        }
    }
}

/// CPU seconds and resident memory of a process, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses: utime and stime
    // are the 12th and 13th, in clock ticks (USER_HZ, 100 on Linux).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Samples a process's resident memory every second until told to stop.
fn sample_memory(pid: u32, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<f64>> {
    tokio::spawn(async move {
        let mut samples = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            samples.push(memory_mib(pid, "VmRSS:"));
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        samples
    })
}

/// The service measured: throughput, latency, errors, CPU and memory.
struct Measured {
    run: Run,
    cpu_seconds: f64,
    rss_samples: Vec<f64>,
    peak_mib: f64,
}

async fn measure_service(
    args: &UpdateArgs,
    channel: &Channel,
    server: &Child,
    clients: Vec<Client>,
) -> anyhow::Result<Measured> {
    let pid = server.id().context("the server runs")?;
    let operations = args.operations.clone();
    let incidents = IncidentServiceClient::new(channel.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_memory(pid, stop.clone());
    let cpu_before = cpu_seconds(pid);
    let cpu_started = Instant::now();
    let run = drive(clients, args.pace(), move |mut client: Client| {
        let (mut incidents, operations) = (incidents.clone(), operations.clone());
        async move {
            let operation = operations[client.n as usize % operations.len()];
            client.n += 1;
            let result = one_call(&mut incidents, &mut client, operation).await;
            (client, operation, result)
        }
    })
    .await;
    // The CPU of the warm-up and the measurement, over the same wall time.
    let cpu = (cpu_seconds(pid) - cpu_before) / cpu_started.elapsed().as_secs_f64() * run.seconds;
    stop.store(true, Ordering::Relaxed);
    let rss_samples = sampler.await?;
    Ok(Measured {
        run,
        cpu_seconds: cpu,
        rss_samples,
        peak_mib: memory_mib(pid, "VmHWM:"),
    })
}

/// One call, its answer checked: an update must advance the revision by one.
async fn one_call(
    incidents: &mut IncidentServiceClient<Channel>,
    client: &mut Client,
    operation: Operation,
) -> Result<(), String> {
    let token = client.tenant.token.clone();
    let slot = client.next % client.incidents.len();
    client.next += 1;
    let (id, revision) = client.incidents[slot].clone();
    match operation {
        Operation::Update => {
            let request = pb::UpdateIncidentRequest {
                incident_id: id,
                incident: Some(body(&client.tenant, client.n)),
                ..Default::default()
            };
            let answer = incidents
                .update_incident(authorized(&token, request))
                .await
                .map_err(status_text)?
                .into_inner();
            if answer.revision != revision + 1 {
                return Err(format!("revision {} after {revision}", answer.revision));
            }
            client.incidents[slot].1 = answer.revision;
        }
        Operation::Get => {
            let request = pb::GetIncidentRequest { incident_id: id };
            let answer = incidents
                .get_incident(authorized(&token, request))
                .await
                .map_err(status_text)?
                .into_inner();
            if answer.revision != revision {
                return Err(format!("read revision {} of {revision}", answer.revision));
            }
        }
        Operation::Create => {
            let request = pb::CreateIncidentRequest {
                incident: Some(create_body(&client.tenant, client.n)),
                ..Default::default()
            };
            let answer = incidents
                .create_incident(authorized(&token, request))
                .await
                .map_err(status_text)?
                .into_inner();
            if answer.revision != 1 || answer.id.is_empty() {
                return Err(format!("created at revision {}", answer.revision));
            }
        }
    }
    Ok(())
}

/// Creates `count` incidents for each client, returning each client.
async fn clients(
    channel: &Channel,
    tenants: &[Tenant],
    concurrency: usize,
    count: usize,
) -> anyhow::Result<Vec<Client>> {
    let mut incidents = IncidentServiceClient::new(channel.clone());
    let mut clients = Vec::new();
    for c in 0..concurrency {
        let tenant = tenants[c % tenants.len()].clone();
        let mut owned = Vec::new();
        for n in 0..count {
            let request = pb::CreateIncidentRequest {
                incident: Some(create_body(&tenant, n as u64)),
                ..Default::default()
            };
            let created = incidents
                .create_incident(authorized(&tenant.token, request))
                .await?
                .into_inner();
            owned.push((created.id, created.revision));
        }
        clients.push(Client {
            tenant,
            incidents: owned,
            next: 0,
            n: 0,
        });
    }
    Ok(clients)
}

/// The gRPC floor: the same requests, answered at once with a response of the
/// same size, by a bare tonic service in a process of its own.
async fn grpc_floor(args: &UpdateArgs, clients: Vec<Client>, answer: &pb::Incident) -> anyhow::Result<Run> {
    use prost::Message;
    let address = free_address()?;
    let _echo = child(&[
        "echo-child".into(),
        "--listen".into(),
        address.to_string(),
        "--answer".into(),
        hex::encode(answer.encode_to_vec()),
    ])
    .await?;
    let channel = wait_for(address).await?;
    let grpc = tonic::client::Grpc::new(channel);
    let run = drive(clients, args.pace(), move |mut client: Client| {
        let mut grpc = grpc.clone();
        async move {
            client.n += 1;
            let request = pb::UpdateIncidentRequest {
                incident_id: client.incidents[client.next % client.incidents.len()].0.clone(),
                incident: Some(body(&client.tenant, client.n)),
                ..Default::default()
            };
            client.next += 1;
            let result = async {
                grpc.ready().await.map_err(|e| e.to_string())?;
                let codec = tonic_prost::ProstCodec::<pb::UpdateIncidentRequest, pb::Incident>::default();
                let path = tonic::codegen::http::uri::PathAndQuery::from_static(echo::PATH);
                let answer = grpc
                    .unary(authorized(&client.tenant.token, request), path, codec)
                    .await
                    .map_err(status_text)?;
                (answer.get_ref().revision > 0)
                    .then_some(())
                    .ok_or_else(|| "empty answer".to_owned())
            }
            .await;
            (client, Operation::Update, result)
        }
    })
    .await;
    Ok(run)
}

/// One floor client: its incidents, each with the statements of one update
/// and the revision they wrote.
struct Replayer {
    store: Store,
    tenant_id: Uuid,
    updates: Vec<(Vec<Statement>, i64)>,
    next: usize,
    round: i64,
}

/// The storage floor: records the statements of one real update of each floor
/// incident, then replays them, each replay moving the revision on by one.
async fn storage_floor(args: &UpdateArgs, url: &str, clients: Vec<Client>) -> anyhow::Result<(Run, usize)> {
    let mut recording = Store::connect(url).await?;
    let log = recording.record_statements();
    let recorder = Service::new(recording, None);
    let store = Store::connect(url).await?;
    let mut replayers = Vec::new();
    let mut statements_per_update = 0;
    for client in clients {
        let principal = client.tenant.principal.clone();
        // The first write of a tenant through a new store also makes sure of
        // the tenant's row, which is no part of an update: done unrecorded.
        let (first, _) = &client.incidents[0];
        recorded_update(&recorder, &principal, &client.tenant, first, 0).await?;
        let mut updates = Vec::new();
        for (i, (id, _)) in client.incidents.iter().enumerate() {
            log.lock().expect("log").clear();
            let revision = recorded_update(&recorder, &principal, &client.tenant, id, 1 + i as u64).await?;
            let statements = std::mem::take(&mut *log.lock().expect("log"));
            statements_per_update = statements.len();
            updates.push((statements, revision));
        }
        replayers.push(Replayer {
            store: store.clone(),
            tenant_id: principal.tenant_id,
            updates,
            next: 0,
            round: 0,
        });
    }
    let run = drive(replayers, args.pace(), |mut replayer: Replayer| async move {
        let slot = replayer.next % replayer.updates.len();
        replayer.next += 1;
        if slot == 0 {
            replayer.round += 1;
        }
        let (statements, revision) = &replayer.updates[slot];
        let shifted = with_revision(statements, *revision, *revision + replayer.round);
        let result = replayer
            .store
            .replay(replayer.tenant_id, &shifted)
            .await
            .map_err(|e| e.to_string());
        (replayer, Operation::Update, result)
    })
    .await;
    Ok((run, statements_per_update))
}

/// One real update through `service` (over the recording store), returning
/// the revision it wrote.
async fn recorded_update(
    service: &Service,
    principal: &Principal,
    tenant: &Tenant,
    id: &str,
    n: u64,
) -> anyhow::Result<i64> {
    let fields: IncidentFields = body(tenant, 1_000_000 + n).into();
    let request = UpdateRequest {
        incident_id: id.to_owned(),
        body: Some(fields),
        ..UpdateRequest::default()
    };
    let updated = service
        .update_incident(principal, request)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(updated.revision)
}

/// `statements` of an update that wrote `recorded` (from `recorded - 1`),
/// made to write `revision` instead: the revision the incident row is checked
/// against and set to, and the revision of the history row.
fn with_revision(statements: &[Statement], recorded: i64, revision: i64) -> Vec<Statement> {
    statements
        .iter()
        .map(|statement| {
            let mut statement = statement.clone();
            let sql = statement.sql.clone();
            let targets: Vec<(usize, i64)> = if sql.starts_with("UPDATE \"incident\"") {
                placeholders_after(&sql, "\"revision\" = ", statement.db_backend)
                    .into_iter()
                    .zip([revision, revision - 1])
                    .collect()
            } else if sql.starts_with("INSERT INTO \"incident_revision\"") {
                vec![(2, revision)]
            } else {
                Vec::new()
            };
            if let Some(sea_orm::Values(values)) = &mut statement.values {
                for (index, value) in targets {
                    if let Some(slot) = values.get_mut(index) {
                        debug_assert!(matches!(slot, Value::BigInt(Some(v)) if *v == recorded || *v == recorded - 1));
                        *slot = Value::BigInt(Some(value));
                    }
                }
            }
            statement
        })
        .collect()
}

/// The value indexes of the placeholders that follow each `marker` in `sql`.
fn placeholders_after(sql: &str, marker: &str, backend: DbBackend) -> Vec<usize> {
    sql.match_indices(marker)
        .map(|(at, _)| {
            let after = &sql[at + marker.len()..];
            match backend {
                DbBackend::Postgres => {
                    let digits: String = after
                        .trim_start_matches('$')
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    digits.parse::<usize>().unwrap_or(1) - 1
                }
                _ => sql[..at].matches('?').count(),
            }
        })
        .collect()
}

pub async fn update(args: UpdateArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.concurrency > 0 && args.tenants > 0 && args.incidents_per_client > 0);
    let db = BenchDb::new(args.database_url.as_deref()).await?;
    let address = free_address()?;
    let server = child(&[
        "serve-child".into(),
        "--listen".into(),
        address.to_string(),
        "--database-url".into(),
        db.url.clone(),
        "--data-dir".into(),
        db.dir.display().to_string(),
    ])
    .await?;
    let channel = wait_for(address).await?;
    let mut tenants = Vec::new();
    for _ in 0..args.tenants {
        tenants.push(tenant(&channel).await?);
    }
    eprintln!("seeding {} incidents", 2 * args.concurrency * args.incidents_per_client);
    let service_clients = clients(&channel, &tenants, args.concurrency, args.incidents_per_client).await?;
    let floor_clients = if args.no_floors {
        Vec::new()
    } else {
        clients(&channel, &tenants, args.concurrency, args.incidents_per_client).await?
    };
    // A real answer, for the gRPC floor to send back, and the request's size.
    let sample = {
        let client = &floor_clients.first().unwrap_or(&service_clients[0]);
        let request = pb::UpdateIncidentRequest {
            incident_id: client.incidents[0].0.clone(),
            incident: Some(body(&client.tenant, 1)),
            ..Default::default()
        };
        let mut incidents = IncidentServiceClient::new(channel.clone());
        let answer = incidents.get_incident(authorized(
            &client.tenant.token,
            pb::GetIncidentRequest {
                incident_id: client.incidents[0].0.clone(),
            },
        ));
        (prost::Message::encoded_len(&request), answer.await?.into_inner())
    };

    eprintln!("measuring the service for {:?}", args.duration);
    let service = measure_service(&args, &channel, &server, service_clients).await?;
    let mut floors = None;
    if !args.no_floors && args.operations == [Operation::Update] {
        eprintln!("measuring the gRPC floor");
        let grpc = grpc_floor(&args, floor_clients.clone(), &sample.1).await?;
        eprintln!("measuring the storage floor");
        let (storage, statements) = storage_floor(&args, &db.url, floor_clients).await?;
        floors = Some((grpc, storage, statements));
    }
    drop(server);
    let backend = if db.postgres.is_some() { "PostgreSQL" } else { "SQLite" };
    db.drop_it().await?;
    report(
        &args,
        backend,
        sample.0,
        prost::Message::encoded_len(&sample.1),
        &service,
        floors.as_ref(),
    )
}

fn report(
    args: &UpdateArgs,
    backend: &str,
    request_bytes: usize,
    response_bytes: usize,
    service: &Measured,
    floors: Option<&(Run, Run, usize)>,
) -> anyhow::Result<()> {
    let summary = |run: &Run| {
        let mut all = run.all_millis();
        serde_json::json!({
            "calls": run.calls(),
            "per_second": run.throughput(),
            "p50_ms": percentile(&mut all, 50.0),
            "p90_ms": percentile(&mut all, 90.0),
            "p99_ms": percentile(&mut all, 99.0),
            "max_ms": percentile(&mut all, 100.0),
            "errors": run.errors.len(),
        })
    };
    let by_operation: BTreeMap<_, _> = service
        .run
        .millis
        .iter()
        .map(|(operation, millis)| {
            let mut millis = millis.clone();
            (
                format!("{operation:?}").to_lowercase(),
                serde_json::json!({
                    "calls": millis.len(),
                    "p50_ms": percentile(&mut millis, 50.0),
                    "p99_ms": percentile(&mut millis, 99.0),
                }),
            )
        })
        .collect();
    let settled: Vec<f64> = service
        .rss_samples
        .iter()
        .skip(args.warmup.as_secs() as usize)
        .copied()
        .collect();
    let (low, high) = settled
        .iter()
        .fold((f64::MAX, 0.0f64), |(low, high), &m| (low.min(m), high.max(m)));
    let mut figures = serde_json::json!({
        "backend": backend,
        "concurrency": args.concurrency,
        "tenants": args.tenants,
        "operations": args.operations,
        "seconds": service.run.seconds,
        "request_bytes": request_bytes,
        "response_bytes": response_bytes,
        "service": summary(&service.run),
        "service_by_operation": by_operation,
        "server_cpu_cores": service.cpu_seconds / service.run.seconds,
        "server_rss_mib": {"min": low, "max": high, "peak": service.peak_mib, "each_second": service.rss_samples},
        "first_errors": service.run.errors.iter().take(5).collect::<Vec<_>>(),
    });
    if let Some((grpc, storage, statements)) = floors {
        let ratio = |floor: &Run| service.run.throughput() / floor.throughput();
        figures["grpc_floor"] = summary(grpc);
        figures["storage_floor"] = summary(storage);
        figures["storage_statements_per_update"] = (*statements).into();
        figures["service_over_grpc_floor"] = ratio(grpc).into();
        figures["service_over_storage_floor"] = ratio(storage).into();
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
        return Ok(());
    }
    println!(
        "{backend}: {} clients, {} tenant(s), {:?}, {:.0} s measured; request {request_bytes} B, response {response_bytes} B",
        args.concurrency, args.tenants, args.operations, service.run.seconds
    );
    println!("| | calls/s | p50 ms | p90 ms | p99 ms | max ms | errors |");
    println!("|---|---|---|---|---|---|---|");
    let row = |name: &str, f: &serde_json::Value| {
        println!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            f["per_second"].as_f64().unwrap_or(0.0),
            f["p50_ms"].as_f64().unwrap_or(0.0),
            f["p90_ms"].as_f64().unwrap_or(0.0),
            f["p99_ms"].as_f64().unwrap_or(0.0),
            f["max_ms"].as_f64().unwrap_or(0.0),
            f["errors"]
        );
    };
    row("service", &figures["service"]);
    if floors.is_some() {
        row("gRPC floor", &figures["grpc_floor"]);
        row(
            &format!(
                "storage floor ({} statements)",
                figures["storage_statements_per_update"]
            ),
            &figures["storage_floor"],
        );
        println!(
            "service / gRPC floor: {:.0}%; service / storage floor: {:.0}%",
            figures["service_over_grpc_floor"].as_f64().unwrap_or(0.0) * 100.0,
            figures["service_over_storage_floor"].as_f64().unwrap_or(0.0) * 100.0
        );
    }
    if service.run.millis.len() > 1 {
        for (operation, f) in figures["service_by_operation"].as_object().into_iter().flatten() {
            println!(
                "  {operation}: {} calls, p50 {:.2} ms, p99 {:.2} ms",
                f["calls"],
                f["p50_ms"].as_f64().unwrap_or(0.0),
                f["p99_ms"].as_f64().unwrap_or(0.0)
            );
        }
    }
    println!(
        "server: {:.2} cores busy; resident memory {:.1}–{:.1} MiB after the warm-up (peak {:.1} MiB)",
        figures["server_cpu_cores"].as_f64().unwrap_or(0.0),
        low,
        high,
        service.peak_mib
    );
    for error in service.run.errors.iter().take(5) {
        println!("error: {error}");
    }
    Ok(())
}
