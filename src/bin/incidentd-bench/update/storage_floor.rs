//! The storage floor: the very statements one UpdateIncident issues (recorded
//! from the store), replayed as one transaction per update through the same
//! driver, pool and writer discipline, with no gRPC, parsing or validation.

use std::sync::{
    Mutex,
    atomic::{AtomicI64, Ordering},
};

use incidentd::{
    auth::Principal,
    domain::input::IncidentFields,
    service::{Service, UpdateRequest},
    store::Store,
};
use sea_orm::{DbBackend, Statement, Value};
use uuid::Uuid;

use super::{
    Operation, UpdateArgs,
    body::body,
    clients::Client,
    drive::{Run, drive},
    tenant::Tenant,
};

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
pub(super) async fn storage_floor(args: &UpdateArgs, url: &str, clients: Vec<Client>) -> anyhow::Result<(Run, usize)> {
    let mut recording = Store::connect(url).await?;
    let log = recording.record_statements();
    let recorder = Service::new(recording, None, Default::default());
    let store = Store::connect(url).await?;
    let mut replayers = Vec::new();
    let mut statements_per_update = 0;
    for client in clients {
        let updates = record(&recorder, &log, &client).await?;
        if let Some((statements, _)) = updates.last() {
            statements_per_update = statements.len();
        }
        replayers.push(Replayer {
            store: store.clone(),
            tenant_id: client.tenant.principal.tenant_id,
            updates,
            next: 0,
            round: 0,
        });
    }
    let run = drive(replayers, args.pace(), replay_next).await;
    Ok((run, statements_per_update))
}

/// The statements of one real update of each of the client's incidents, and
/// the revision each wrote.
async fn record(
    recorder: &Service,
    log: &Mutex<Vec<Statement>>,
    client: &Client,
) -> anyhow::Result<Vec<(Vec<Statement>, i64)>> {
    let principal = &client.tenant.principal;
    // The first write of a tenant through a new store also makes sure of
    // the tenant's row, which is no part of an update: done unrecorded.
    let (first, _) = &client.incidents[0];
    recorded_update(recorder, principal, &client.tenant, first, 0).await?;
    let mut updates = Vec::new();
    for (i, (id, _)) in client.incidents.iter().enumerate() {
        log.lock().expect("log").clear();
        let revision = recorded_update(recorder, principal, &client.tenant, id, 1 + i as u64).await?;
        let statements = std::mem::take(&mut *log.lock().expect("log"));
        updates.push((statements, revision));
    }
    Ok(updates)
}

/// Replays the replayer's next update, one revision further on each round.
async fn replay_next(mut replayer: Replayer) -> (Replayer, Operation, Result<(), String>) {
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
/// against and set to, and the revision of the history row and of the event,
/// which also gets an id and a number of its own.
fn with_revision(statements: &[Statement], recorded: i64, revision: i64) -> Vec<Statement> {
    statements
        .iter()
        .map(|statement| {
            let mut statement = statement.clone();
            let targets = revision_targets(&statement, revision);
            if let Some(sea_orm::Values(values)) = &mut statement.values {
                for (index, value) in targets {
                    if let Some(slot) = values.get_mut(index) {
                        debug_assert!(matches!(slot, Value::BigInt(Some(v)) if *v == recorded || *v == recorded - 1));
                        *slot = Value::BigInt(Some(value));
                    }
                }
            }
            new_event(&mut statement);
            statement
        })
        .collect()
}

/// Where `statement` holds the revision, by value index, and what it is to be.
fn revision_targets(statement: &Statement, revision: i64) -> Vec<(usize, i64)> {
    let sql = &statement.sql;
    if sql.starts_with("UPDATE \"incident\"") {
        placeholders_after(sql, "\"revision\" = ", statement.db_backend)
            .into_iter()
            .zip([revision, revision - 1])
            .collect()
    } else if sql.starts_with("INSERT INTO \"incident_revision\"") {
        vec![(2, revision)]
    } else if sql.starts_with("INSERT INTO \"incident_event\"") {
        inserted_column(sql, "\"revision\"")
            .map(|i| (i, revision))
            .into_iter()
            .collect()
    } else {
        Vec::new()
    }
}

/// Event numbers the replays take: far past any real one and each new, so
/// that a replayed event is new to the unique index of tenant and number as
/// a real one is. The tenant's counter still moves on in each replay, under
/// the same row lock, by the recorded upsert.
static EVENT_NUMBERS: AtomicI64 = AtomicI64::new(1 << 40);

/// Gives the event that `statement` appends, if it is that INSERT, an id and
/// a number of its own.
fn new_event(statement: &mut Statement) {
    if !statement.sql.starts_with("INSERT INTO \"incident_event\"") {
        return;
    }
    let sequence = inserted_column(&statement.sql, "\"sequence\"");
    let event_id = inserted_column(&statement.sql, "\"event_id\"");
    if let Some(sea_orm::Values(values)) = &mut statement.values {
        if let Some(slot) = sequence.and_then(|i| values.get_mut(i)) {
            *slot = Value::from(EVENT_NUMBERS.fetch_add(1, Ordering::Relaxed));
        }
        if let Some(slot) = event_id.and_then(|i| values.get_mut(i)) {
            *slot = Value::from(Uuid::now_v7());
        }
    }
}

/// The index of `column` in the column list of a one-row INSERT, which is
/// that of its value.
fn inserted_column(sql: &str, column: &str) -> Option<usize> {
    let start = sql.find('(')? + 1;
    let end = start + sql[start..].find(')')?;
    sql[start..end].split(',').position(|c| c.trim() == column)
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
