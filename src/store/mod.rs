//! Persistence: sea-orm on SQLite (embedded default) or PostgreSQL. One function
//! per use case, each in one transaction, every query scoped by tenant. Database
//! errors are translated here; callers never see driver text.

#[cfg(feature = "bench")]
mod bench;
mod entity;
mod events;
mod guidance;
mod history;
mod incidents;
mod load;
pub mod migration;
mod reference;
mod search;
mod workflow;

pub use events::{Backlog, EventRange, OUTBOX_BATCH};
pub use incidents::{Read, Revised};

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use sea_orm::{
    AccessMode, ActiveModelTrait, ActiveValue::Set, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseTransaction, DbBackend, DbErr, EntityTrait, IsolationLevel, SqlErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait, sea_query::OnConflict,
};
use sea_orm_migration::MigratorTrait;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard, broadcast};
use uuid::Uuid;

use crate::domain::{Error, reference::UNKNOWN_INCIDENT_TYPE, text::name_key, token::PageTokens, workflow::Workflow};

/// How long a call waits for a pooled connection before answering UNAVAILABLE.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long SQLite waits on a lock held by another process before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A write transaction: `BEGIN IMMEDIATE` on SQLite takes the write lock at once,
/// so the busy timeout applies (a deferred one could fail later with "locked").
/// PostgreSQL ignores the mode.
const IMMEDIATE: TransactionOptions = TransactionOptions {
    isolation_level: None,
    access_mode: None,
    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
};

/// The PostgreSQL advisory lock that serialises migrations ("incident" in ASCII).
const MIGRATION_LOCK: i64 = 0x696e_6369_6465_6e74;

#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite admits one writer at a time; writers of this process queue here
    /// rather than spin on the busy timeout. `None` on PostgreSQL.
    writer: Option<Arc<AsyncMutex<()>>>,
    /// Tenants whose row, `Unknown` incident type and default workflow are
    /// known to exist.
    tenants: Arc<Mutex<HashSet<Uuid>>>,
    /// The key that seals page tokens, read once from the database.
    page_token_key: Arc<tokio::sync::OnceCell<Arc<[u8]>>>,
    /// Told the tenant of every commit that appended events, for the watches
    /// of this process.
    committed: broadcast::Sender<Uuid>,
    /// The SQLite write-ahead log's file; `None` on PostgreSQL.
    wal: Option<Arc<std::path::PathBuf>>,
}

/// Commits the watches of this process may lag behind before they look in
/// the database again anyway.
const COMMITS_BUFFERED: usize = 1024;

/// A write transaction of one tenant, holding the SQLite writer slot while it
/// lives. The tenant's row exists inside it.
pub(crate) struct Write {
    pub txn: DatabaseTransaction,
    pub tenant_id: Uuid,
    _slot: Option<OwnedMutexGuard<()>>,
    /// Set when this transaction created the tenant: remembered once committed.
    new_tenant: Option<(Arc<Mutex<HashSet<Uuid>>>, Uuid)>,
    /// The events of the changes written, appended at commit.
    events: Mutex<Vec<entity::incident_event::ActiveModel>>,
    committed: broadcast::Sender<Uuid>,
    begun: std::time::Instant,
}

impl Write {
    /// Appends the events of the changes written, then commits; the watches
    /// of this process are told once it has.
    pub async fn commit(self) -> Result<(), Error> {
        let Write {
            txn,
            tenant_id,
            _slot,
            new_tenant,
            events,
            committed,
            begun,
        } = self;
        let events = events.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
        let announce = !events.is_empty();
        if announce {
            events::append(&txn, tenant_id, events).await?;
        }
        txn.commit().await.map_err(db_error)?;
        crate::telemetry::metrics::transaction(begun.elapsed());
        if let Some((known, tenant_id)) = new_tenant
            && let Ok(mut known) = known.lock()
        {
            known.insert(tenant_id);
        }
        if announce {
            // No receiver (no watch open) is no error.
            let _ = committed.send(tenant_id);
        }
        Ok(())
    }

    /// Queues the event of a change written in this transaction.
    fn queue_event(&self, event: entity::incident_event::ActiveModel) {
        self.events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(event);
    }
}

impl Store {
    /// Connects to `url` (`sqlite://...` or `postgres://...`). A SQLite file is
    /// created if missing and runs in WAL mode with foreign keys on and
    /// `synchronous=FULL`, so an acknowledged write survives a crash.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_timeout(ACQUIRE_TIMEOUT)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|o| {
                use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
                o.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
            });
        let sqlite = url.starts_with("sqlite:");
        options.max_connections(if sqlite { 8 } else { 16 });
        let db = Database::connect(options).await?;
        if sqlite {
            tokio::spawn(checkpoint_now_and_then(db.clone()));
        }
        Ok(Self {
            db,
            writer: sqlite.then(|| Arc::new(AsyncMutex::new(()))),
            tenants: Arc::default(),
            page_token_key: Arc::default(),
            committed: broadcast::channel(COMMITS_BUFFERED).0,
            wal: sqlite.then(|| Arc::new(wal_file(url))),
        })
    }

    /// Brings the schema up to date in one transaction that holds the database's
    /// write lock (SQLite) or an advisory lock (PostgreSQL), so replicas starting
    /// together migrate one at a time and the later ones find nothing to do.
    /// Then incidents stored before workflows are placed in their tenant's
    /// default workflow, and the stored guidance of incidents written under
    /// another rule catalogue (or before guidance was stored) is brought up to
    /// date.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let txn = if self.is_sqlite() {
            self.db.begin_with_options(IMMEDIATE).await?
        } else {
            let txn = self.db.begin().await?;
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
                .await?;
            txn
        };
        migration::Migrator::up(&txn, None).await?;
        txn.commit().await?;
        self.place().await?;
        self.reassess().await?;
        Ok(())
    }

    pub fn is_sqlite(&self) -> bool {
        self.db.get_database_backend() == DbBackend::Sqlite
    }

    /// Whether the database answers: the health service reports it.
    pub async fn ping(&self) -> Result<(), Error> {
        self.db.ping().await.map_err(db_error)
    }

    /// Refreshes the statistics the query planner chooses indexes by: without
    /// them a selective filter can end up scanning in sort order. SQLite:
    /// `PRAGMA optimize`, which analyses only what has gone stale. PostgreSQL:
    /// `ANALYZE`, which autovacuum runs by itself in time; call it after a bulk load.
    pub async fn optimize(&self) -> Result<(), Error> {
        let statement = if self.is_sqlite() {
            "PRAGMA optimize=0x10002"
        } else {
            "ANALYZE"
        };
        let _slot = self.writer_slot().await;
        self.db.execute_unprepared(statement).await.map_err(db_error)?;
        Ok(())
    }

    pub async fn close(self) {
        if let Err(e) = self.db.close().await {
            tracing::warn!(error = %e, "closing the database");
        }
    }

    pub(crate) fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The pool's connections in use and idle.
    pub fn pool_connections(&self) -> (usize, usize) {
        let (size, idle) = if self.is_sqlite() {
            let pool = self.db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        } else {
            let pool = self.db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        };
        ((size as usize).saturating_sub(idle), idle)
    }

    /// The size of the SQLite write-ahead log (0 when there is none); `None`
    /// on PostgreSQL.
    pub fn wal_bytes(&self) -> Option<u64> {
        let wal = self.wal.as_ref()?;
        Some(std::fs::metadata(wal.as_path()).map(|m| m.len()).unwrap_or(0))
    }

    /// Starts a write transaction for a tenant (`BEGIN IMMEDIATE` on SQLite).
    /// Tenants are not created explicitly: the first write of a new `tenant_id`
    /// adds its row, its `Unknown` incident type and its default workflow, in
    /// the same transaction.
    pub(crate) async fn write(&self, tenant_id: Uuid) -> Result<Write, Error> {
        let slot = self.writer_slot().await;
        let txn = self.db.begin_with_options(IMMEDIATE).await.map_err(db_error)?;
        let known = self.tenants.lock().is_ok_and(|known| known.contains(&tenant_id));
        let new_tenant = if known {
            None
        } else {
            insert_tenant(&txn, tenant_id).await?;
            Some((self.tenants.clone(), tenant_id))
        };
        Ok(Write {
            txn,
            tenant_id,
            _slot: slot,
            new_tenant,
            events: Mutex::default(),
            committed: self.committed.clone(),
            begun: std::time::Instant::now(),
        })
    }

    /// Tells of the tenant of every commit of this process that appended events.
    pub fn commits(&self) -> broadcast::Receiver<Uuid> {
        self.committed.subscribe()
    }

    /// The SQLite writer slot; `None` on PostgreSQL, where writers need none.
    async fn writer_slot(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.writer {
            Some(writer) => Some(writer.clone().lock_owned().await),
            None => None,
        }
    }

    /// What seals and opens the tenant's page tokens, with the service's key,
    /// which the migrations made once for every replica on this database.
    pub async fn page_tokens(&self, tenant_id: Uuid) -> Result<PageTokens, Error> {
        let key = self
            .page_token_key
            .get_or_try_init(|| async {
                use migration::secrets::{PAGE_TOKEN_KEY, ServiceSecret};
                use sea_orm::sea_query::ExprTrait;
                let select = sea_orm::sea_query::Query::select()
                    .column(ServiceSecret::Value)
                    .from(ServiceSecret::Table)
                    .and_where(sea_orm::sea_query::Expr::col(ServiceSecret::Name).eq(PAGE_TOKEN_KEY))
                    .to_owned();
                let row = self.db.query_one(&select).await.map_err(db_error)?;
                let value: Option<String> = row.map(|r| r.try_get("", "value")).transpose().map_err(db_error)?;
                match value.and_then(|hex| hex::decode(hex).ok()) {
                    Some(key) if key.len() >= 32 => Ok(Arc::from(key)),
                    _ => {
                        tracing::error!("the page-token key is missing or malformed");
                        Err(Error::Internal)
                    }
                }
            })
            .await?;
        Ok(PageTokens::new(key.clone(), tenant_id))
    }

    /// Starts a read transaction that sees one consistent snapshot.
    pub(crate) async fn read(&self) -> Result<DatabaseTransaction, Error> {
        let txn = if self.is_sqlite() {
            self.db.begin().await
        } else {
            self.db
                .begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly))
                .await
        };
        txn.map_err(db_error)
    }
}

async fn insert_tenant(txn: &DatabaseTransaction, tenant_id: Uuid) -> Result<(), Error> {
    use entity::{incident_type, tenant};
    tenant::Entity::insert(tenant::ActiveModel {
        id: Set(tenant_id),
        last_incident_number: Set(0),
        created_at: Set(now()),
    })
    .on_conflict(OnConflict::column(tenant::Column::Id).do_nothing().to_owned())
    .exec_without_returning(txn)
    .await
    .map_err(db_error)?;
    incident_type::Entity::insert(incident_type::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(unknown_incident_type_id(tenant_id)),
        name: Set(UNKNOWN_INCIDENT_TYPE.to_owned()),
        name_key: Set(name_key(UNKNOWN_INCIDENT_TYPE)),
    })
    .on_conflict(
        OnConflict::columns([incident_type::Column::TenantId, incident_type::Column::NameKey])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await
    .map_err(db_error)?;
    workflow::insert_workflow(txn, tenant_id, &Workflow::default_for(tenant_id), true).await
}

/// The id of a tenant's `Unknown` incident type: fixed, so it is known before the
/// tenant's first write.
pub(crate) fn unknown_incident_type_id(tenant_id: Uuid) -> Uuid {
    Uuid::new_v5(&tenant_id, b"incident-type:unknown")
}

/// A tenant's `Unknown` incident type. Its row is written with the tenant's first
/// write; a read before then sees it all the same.
pub(crate) fn unknown_incident_type(tenant_id: Uuid) -> crate::domain::reference::IncidentType {
    crate::domain::reference::IncidentType {
        id: unknown_incident_type_id(tenant_id),
        name: UNKNOWN_INCIDENT_TYPE.to_owned(),
    }
}

/// The write-ahead log of the SQLite database at `url` (`sqlite://PATH?…`).
fn wal_file(url: &str) -> std::path::PathBuf {
    let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    std::path::PathBuf::from(format!("{path}-wal"))
}

/// The current time at the microsecond precision both databases keep.
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::microseconds(1)).unwrap_or(now)
}

/// Rows per INSERT statement: within SQLite's and PostgreSQL's limits on bound
/// values for every table here.
pub(crate) const ROWS_PER_INSERT: usize = 500;

/// Inserts rows of one table, a few hundred per statement.
pub(crate) async fn insert_rows<A>(txn: &impl ConnectionTrait, rows: Vec<A>) -> Result<(), Error>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        A::Entity::insert_many(batch)
            .exec_without_returning(txn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// Translates a database error at the store boundary: an unreachable, restarting
/// or saturated database is UNAVAILABLE (worth a retry), everything else INTERNAL
/// with the cause logged, never returned.
pub(crate) fn db_error(error: DbErr) -> Error {
    if is_unavailable(&error) {
        tracing::warn!(error = %error, "database unavailable");
        Error::Unavailable
    } else {
        tracing::error!(error = %error, "database error");
        Error::Internal
    }
}

fn is_unavailable(error: &DbErr) -> bool {
    use sea_orm::{RuntimeErr::SqlxError, sqlx::Error as Sqlx};
    let sqlx = match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(SqlxError(e)) | DbErr::Query(SqlxError(e)) => e.as_ref(),
        _ => return false,
    };
    match sqlx {
        Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
        Sqlx::Database(e) => {
            let code = e.code().unwrap_or_default();
            if e.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>().is_some() {
                // Busy or locked past the busy timeout (primary result codes 5 and 6).
                code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
            } else {
                // PostgreSQL: connection exceptions, too many connections, shutting
                // down or starting up.
                code.starts_with("08") || matches!(code.as_ref(), "53300" | "57P01" | "57P02" | "57P03")
            }
        }
        _ => false,
    }
}

/// How often the SQLite write-ahead log is copied back into the database.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// Copies the SQLite write-ahead log back into the database every so often,
/// beside the writers (PASSIVE: it waits for no one), until the pool closes, so
/// that the commit that crosses 1,000 pages of log (SQLite's own checkpoint,
/// kept) finds little left to copy while its caller waits. SQLite's own one is
/// what lets the log restart from its beginning: a checkpoint beside writers
/// that never stop never catches up with them, and alone it let the log grow
/// to 2 GB in a minute of updates.
async fn checkpoint_now_and_then(db: DatabaseConnection) {
    loop {
        tokio::time::sleep(CHECKPOINT_INTERVAL).await;
        match db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)").await {
            Ok(_) => {}
            Err(DbErr::ConnectionAcquire(_)) => return,
            Err(error) if is_unavailable(&error) && db.ping().await.is_err() => return,
            Err(error) => tracing::warn!(%error, "checkpointing the write-ahead log"),
        }
    }
}

/// Like `db_error`, but a unique-key violation becomes ALREADY_EXISTS with `message`.
pub(crate) fn unique_or_db_error(error: DbErr, message: impl FnOnce() -> String) -> Error {
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => Error::AlreadyExists(message()),
        _ => db_error(error),
    }
}
