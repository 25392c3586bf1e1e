//! Benchmarks of incidentd over real gRPC, on a fresh database of their own.
//!
//! `incidentd-bench search --incidents 1000000` loads a synthetic register into one
//! tenant, starts the server and measures SearchIncidents: a selective filter, a
//! full-text term, what is due (`notificationDue`), the first page by
//! createdDate and by notificationDeadline, and page 50 by token. The rare
//! incidents are also the only ones with notifications still due: every other
//! one has been notified, as most of a register a year old has.
//!
//! `incidentd-bench update` drives UpdateIncident from concurrent clients against
//! the server in a process of its own, beside its gRPC and storage floors (see
//! `update/mod.rs`).
//!
//! `incidentd-bench events` measures the change events' way out to NATS
//! JetStream: how fast the publisher drains a filled outbox, and the latency
//! from an update's commit to JetStream at a paced rate (see `events/mod.rs`).

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::Context;
use chrono::{TimeDelta, Utc};
use clap::{Args, Parser, Subcommand};
use incidentd::{
    AuthConfig, AuthKey, Config,
    auth::{Principal, Scope, Signer, claims_for},
    domain::{
        enums::{IncidentStatus, NotificationNeeded, Recipient, SourceType},
        incident::{AssignedTo, ChosenValue, Incident},
        jurisdiction,
        notice::Notice,
        reference::{Assignee, Attribute, IncidentType, Organization},
        workflow::Workflow,
    },
    pb::{self, incident_service_client::IncidentServiceClient},
    service::Service,
};
use sea_orm::{ConnectionTrait, Database};
use tokio::{net::TcpListener, sync::oneshot};
use tonic::{Request, transport::Channel};
use uuid::Uuid;

mod events;
mod update;

#[derive(Parser)]
#[command(about = "Benchmarks of incidentd over real gRPC")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Loads a synthetic register and measures SearchIncidents.
    Search(SearchArgs),
    /// Drives UpdateIncident (or a mix with GetIncident and CreateIncident) from
    /// concurrent clients, beside the gRPC and storage floors.
    Update(update::UpdateArgs),
    /// Measures publishing change events to NATS JetStream: how fast a filled
    /// outbox drains, and the latency from commit to JetStream under updates.
    Events(events::EventsArgs),
    /// The server, in a process of its own (started by `update`).
    #[command(hide = true)]
    ServeChild(update::ChildArgs),
    /// The gRPC floor's bare service (started by `update`).
    #[command(hide = true)]
    EchoChild(update::EchoArgs),
}

#[derive(Args)]
struct SearchArgs {
    /// Incidents to load into the tenant.
    #[arg(long, default_value_t = 1_000_000)]
    incidents: usize,
    /// A PostgreSQL server URL; the bench creates and drops a database of its own
    /// there. Default: a SQLite file in a temporary directory.
    #[arg(long)]
    database_url: Option<String>,
    /// Timed calls of each query.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Print the figures as JSON.
    #[arg(long)]
    json: bool,
    /// Keep the database afterwards (its URL is printed), to look into it.
    #[arg(long)]
    keep_database: bool,
    /// How many incidents, spread evenly, have the rare type and the rare word:
    /// the same number at every register size, so the selective queries find as
    /// many matches at 10k as at 1M.
    #[arg(long, default_value_t = 100)]
    rare: usize,
}

const RARE_WORD: &str = "zephyrine";
const BATCH: usize = 10_000;
const SECRET: &[u8] = b"incidentd-bench-secret-of-32-bytes-or-more";

/// mimalloc: the service allocates many small, short-lived values per call.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr: stdout is for the figures, which `--json` makes parseable.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Search(args) => search(args).await,
        Command::Update(args) => update::update(args).await,
        Command::Events(args) => events::events(args).await,
        Command::ServeChild(args) => update::serve_child(args).await,
        Command::EchoChild(args) => update::echo_child(args).await,
    }
}

/// A database of the bench's own, dropped when the bench ends.
struct BenchDb {
    url: String,
    dir: PathBuf,
    postgres: Option<(String, String)>,
}

impl BenchDb {
    async fn new(server: Option<&str>) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("incidentd-bench-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        match server {
            Some(base) => {
                let name = format!("incidentd_bench_{}", Uuid::new_v4().simple());
                let admin = Database::connect(base).await.context("connecting to PostgreSQL")?;
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
                admin.close().await?;
                Ok(Self {
                    url: incidentd::bench::with_database(base, &name),
                    dir,
                    postgres: Some((base.to_owned(), name)),
                })
            }
            None => Ok(Self {
                url: format!("sqlite://{}", dir.join("incidents.db").display()),
                dir,
                postgres: None,
            }),
        }
    }

    async fn drop_it(self) -> anyhow::Result<()> {
        if let Some((base, name)) = self.postgres {
            let admin = Database::connect(&base).await?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await?;
            admin.close().await?;
        }
        std::fs::remove_dir_all(&self.dir).ok();
        Ok(())
    }
}

/// The reference data the synthetic incidents refer to.
struct Reference {
    organizations: Vec<Organization>,
    types: Vec<IncidentType>,
    rare_type: IncidentType,
    assignees: Vec<Assignee>,
    severity: Attribute,
}

async fn reference(service: &Service, admin: &Principal) -> anyhow::Result<Reference> {
    let mut organizations = Vec::new();
    for i in 0..20 {
        let parent = organizations.first().map(|o: &Organization| o.id.to_string());
        organizations.push(
            service
                .create_organization(admin, format!("Business Unit {i}"), parent)
                .await?,
        );
    }
    let mut types = Vec::new();
    for name in [
        "Misdirected Email",
        "Lost Device",
        "Phishing",
        "Unauthorised Access",
        "Stolen Laptop",
    ] {
        types.push(service.create_incident_type(admin, name.into()).await?);
    }
    let rare_type = service.create_incident_type(admin, "Rare Event".into()).await?;
    let mut assignees = Vec::new();
    for i in 0..50 {
        let email = Some(format!("person{i}@example.com"));
        assignees.push(
            service
                .create_assignee(admin, format!("Person {i}"), email, Some("USER"))
                .await?,
        );
    }
    let options = ["Low", "Medium", "High"].map(|o| (o.to_owned(), false)).to_vec();
    let severity = service
        .create_attribute(admin, "Severity".into(), Some("SINGLE_SELECT"), options)
        .await?;
    Ok(Reference {
        organizations,
        types,
        rare_type,
        assignees,
        severity,
    })
}

const WORDS: [&str; 16] = [
    "email",
    "laptop",
    "client",
    "spreadsheet",
    "contract",
    "invoice",
    "badge",
    "server",
    "backup",
    "printer",
    "phone",
    "courier",
    "portal",
    "password",
    "payroll",
    "archive",
];

/// The `i`th synthetic incident: every field set, about 1 KB shown; one in
/// `rare_every` has the rare type and the rare word, needs notifying and has
/// not been notified. Every other one has notified each recipient of its
/// jurisdictions, or needs no notification.
fn synthetic(
    i: usize,
    rare_every: usize,
    reference: &Reference,
    actor: &Principal,
    start: chrono::DateTime<Utc>,
) -> Incident {
    let rare = i % rare_every == rare_every / 2;
    let word = |k: usize| WORDS[(i / k + k) % WORDS.len()];
    let name = if rare {
        format!("{} {} {RARE_WORD} {i}", word(1), word(3))
    } else {
        format!("{} {} {} {i}", word(1), word(3), word(7))
    };
    let at = start + TimeDelta::seconds(i as i64);
    let assignee = |k: usize| AssignedTo {
        assignee: reference.assignees[(i * k + k) % reference.assignees.len()].clone(),
        email: None,
    };
    let option = reference.severity.options[i % reference.severity.options.len()].clone();
    let jurisdictions = ["USA-CA", "DEU", "CAN-ON", "FRA", "USA-NY"];
    let jurisdiction = |k: usize| {
        let code = jurisdictions[(i + k) % jurisdictions.len()];
        let (country, state) = code.split_once('-').map_or((code, None), |(c, s)| (c, Some(s)));
        jurisdiction::by_code(country, state)
            .map(|jurisdiction| jurisdiction::Impacted {
                jurisdiction,
                affected_individuals: None,
            })
            .expect("catalogue has the code")
    };
    let jurisdictions = vec![jurisdiction(0), jurisdiction(2)];
    let discovered = at - TimeDelta::hours(6);
    let notices = if rare {
        Vec::new()
    } else {
        jurisdictions
            .iter()
            .flat_map(|impacted| {
                [Recipient::Authority, Recipient::Individuals].map(|recipient| Notice {
                    jurisdiction: impacted.jurisdiction,
                    recipient,
                    notified_at: discovered + TimeDelta::hours(1),
                    reference: None,
                })
            })
            .collect()
    };
    Incident {
        id: Uuid::now_v7(),
        tenant_id: actor.tenant_id,
        number: 0,
        name,
        description: Some(format!(
            "A {} with personal data was sent to the wrong recipient; {} records affected.",
            word(5),
            i % 977
        )),
        incident_type: if rare {
            reference.rare_type.clone()
        } else {
            reference.types[i % reference.types.len()].clone()
        },
        organization: reference.organizations[i % reference.organizations.len()].clone(),
        date_occurred: Some(at - TimeDelta::hours(30)),
        date_discovered: Some(discovered),
        deadline: Some(at + TimeDelta::hours(66)),
        date_closed: None,
        stage: Workflow::default_for(actor.tenant_id)
            .start()
            .expect("the default workflow has stages"),
        source_type: SourceType::Manual,
        root_cause: Some(format!("{} not encrypted", word(11))),
        notification_needed: if rare {
            NotificationNeeded::Yes
        } else {
            [
                NotificationNeeded::Yes,
                NotificationNeeded::No,
                NotificationNeeded::Unknown,
            ][i % 3]
        },
        status: IncidentStatus::Open,
        created_by: actor.subject,
        creator: actor.display_name(),
        created_at: at,
        updated_at: at,
        revision: 1,
        attribute_values: vec![ChosenValue {
            attribute_id: reference.severity.id,
            attribute_name: reference.severity.name.clone(),
            option: Some(option),
            text: None,
        }],
        assignees: vec![assignee(1), assignee(7)],
        jurisdictions,
        linked_inventories: Vec::new(),
        notices,
    }
}

/// Latencies of one query, in milliseconds.
struct Figures {
    query: &'static str,
    matches: i64,
    millis: Vec<f64>,
}

impl Figures {
    fn percentile(&self, p: f64) -> f64 {
        percentile(&mut self.millis.clone(), p)
    }
}

/// The `p`th percentile (nearest rank) of `values`; 0 when there are none.
fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.saturating_sub(1).min(values.len() - 1)]
}

async fn timed(
    client: &mut IncidentServiceClient<Channel>,
    token: &str,
    request: &pb::SearchIncidentsRequest,
) -> anyhow::Result<(f64, pb::SearchIncidentsResponse)> {
    let mut call = Request::new(request.clone());
    call.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let started = Instant::now();
    let answer = client.search_incidents(call).await?.into_inner();
    Ok((started.elapsed().as_secs_f64() * 1000.0, answer))
}

async fn search(args: SearchArgs) -> anyhow::Result<()> {
    let db = BenchDb::new(args.database_url.as_deref()).await?;
    let config = Config {
        database_url: Some(db.url.clone()),
        data_dir: db.dir.clone(),
        auth: AuthConfig {
            key: AuthKey::Hs256Secret(SECRET.to_vec()),
            issuer: None,
            audience: None,
        },
        rate_limit: None,
        limits: incidentd::Limits::default(),
        events: incidentd::EventsConfig::default(),
        metrics_listen: None,
        tls: None,
    };
    let app = incidentd::build(&config).await?;
    let actor = Principal {
        tenant_id: Uuid::now_v7(),
        subject: Uuid::now_v7(),
        name: Some("Bench Loader".into()),
        scopes: vec![Scope::Incident, Scope::IncidentAdmin],
    };
    let reference = reference(&app.service, &actor).await?;
    let loading = Instant::now();
    let start = Utc::now() - TimeDelta::seconds(args.incidents as i64 + 86_400);
    let rare_every = (args.incidents / args.rare.max(1)).max(1);
    let mut loaded = 0;
    while loaded < args.incidents {
        let batch: Vec<Incident> = (loaded..(loaded + BATCH).min(args.incidents))
            .map(|i| synthetic(i, rare_every, &reference, &actor, start))
            .collect();
        loaded += batch.len();
        app.service.store().import_incidents(&actor, batch).await?;
        if loaded % 100_000 == 0 {
            eprintln!("loaded {loaded} incidents in {:.0?}", loading.elapsed());
        }
    }
    // Planner statistics, as the server's maintenance (SQLite) or autovacuum
    // (PostgreSQL) would gather them soon after a load.
    app.service.store().optimize().await?;
    let load_seconds = loading.elapsed().as_secs_f64();
    eprintln!("loaded {loaded} incidents in {load_seconds:.1} s");

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(incidentd::serve(app, listener, async move {
        let _ = stopped.await;
    }));
    let channel = Channel::from_shared(format!("http://{address}"))?.connect().await?;
    let mut client = IncidentServiceClient::new(channel);
    let claims = claims_for(
        actor.tenant_id,
        actor.subject,
        "INCIDENT_READ",
        None,
        Duration::from_secs(3600),
    );
    let token = Signer::hs256(SECRET).sign(&claims)?;

    // Page 50 by token: walk there once, then read it again and again.
    let mut page = pb::SearchIncidentsRequest {
        size: 20,
        ..Default::default()
    };
    for _ in 0..50 {
        let (_, answer) = timed(&mut client, &token, &page).await?;
        page.page_token = answer.next_page_token;
    }
    let time = |at: chrono::DateTime<Utc>| prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    };
    let queries: [(&'static str, pb::SearchIncidentsRequest); 6] = [
        (
            "selective filter (rare incident type)",
            pb::SearchIncidentsRequest {
                filters: Some(pb::SearchFilters {
                    incident_type_ids: vec![reference.rare_type.id.to_string()],
                    ..Default::default()
                }),
                ..Default::default()
            },
        ),
        (
            "full text (rare word)",
            pb::SearchIncidentsRequest {
                full_text: RARE_WORD.into(),
                ..Default::default()
            },
        ),
        (
            "due in the next 60 days (notificationDue)",
            pb::SearchIncidentsRequest {
                filters: Some(pb::SearchFilters {
                    notification_due: Some(pb::TimeRange {
                        from: Some(time(start)),
                        to: Some(time(Utc::now() + TimeDelta::days(60))),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ),
        ("first page by createdDate", pb::SearchIncidentsRequest::default()),
        (
            "first page by notificationDeadline",
            pb::SearchIncidentsRequest {
                sort: "notificationDeadline,asc".into(),
                ..Default::default()
            },
        ),
        ("page 50 by token", page),
    ];
    let mut figures = Vec::new();
    for (query, request) in queries {
        let mut millis = Vec::with_capacity(args.samples);
        let mut matches = 0;
        // One untimed call warms the caches the timed ones will find warm too.
        timed(&mut client, &token, &request).await?;
        for _ in 0..args.samples {
            let (ms, answer) = timed(&mut client, &token, &request).await?;
            anyhow::ensure!(!answer.incidents.is_empty(), "{query} found nothing");
            matches = answer.total_elements;
            millis.push(ms);
        }
        figures.push(Figures { query, matches, millis });
    }
    let _ = stop.send(());
    server.abort();
    let backend = if db.postgres.is_some() { "PostgreSQL" } else { "SQLite" };
    if args.keep_database {
        eprintln!("kept the database: {}", db.url);
    } else {
        db.drop_it().await?;
    }

    if args.json {
        let rows: Vec<_> = figures
            .iter()
            .map(|f| {
                serde_json::json!({
                    "query": f.query,
                    "matches": f.matches,
                    "samples": f.millis.len(),
                    "p50_ms": f.percentile(50.0),
                    "p99_ms": f.percentile(99.0),
                    "max_ms": f.percentile(100.0),
                })
            })
            .collect();
        let out = serde_json::json!({
            "database": backend,
            "incidents": args.incidents,
            "load_seconds": load_seconds,
            "queries": rows,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "SearchIncidents on {backend}, {} incidents in one tenant (loaded in {load_seconds:.1} s), {} calls each:",
            args.incidents, args.samples
        );
        println!(
            "{:<40} {:>9} {:>9} {:>9} {:>9}",
            "query", "matches", "p50 ms", "p99 ms", "max ms"
        );
        for f in &figures {
            println!(
                "{:<40} {:>9} {:>9.2} {:>9.2} {:>9.2}",
                f.query,
                f.matches,
                f.percentile(50.0),
                f.percentile(99.0),
                f.percentile(100.0)
            );
        }
    }
    Ok(())
}
