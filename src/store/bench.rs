//! What only the benchmark asks of the store (feature `bench`): loading a large
//! synthetic register at once, and the storage floor's record and replay of the
//! statements one update issues. No call of the server reaches any of it.

use std::sync::{Arc, Mutex};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement, sea_query::Expr};
use uuid::Uuid;

use super::{
    Store, db_error,
    entity::tenant,
    history::revision_row,
    incidents::{ALL_CHILDREN, Revised, insert_children, new_row},
    insert_rows,
    search::{Indexed, index_documents},
};
use crate::{
    auth::Principal,
    domain::{Error, event::EventType, incident::Incident, revision::changes},
};

impl Store {
    /// Stores many new incidents of one tenant in one transaction, each with its
    /// first revision and search document, numbered after the tenant's last. For
    /// loading large synthetic registers (the benchmarks): the incidents are taken
    /// as valid, only the database's own constraints check them.
    pub async fn import_incidents(&self, actor: &Principal, mut incidents: Vec<Incident>) -> Result<(), Error> {
        let tenant_id = actor.tenant_id;
        let write = self.write(tenant_id).await?;
        let txn = &write.txn;
        let count = i64::try_from(incidents.len()).map_err(|_| Error::Internal)?;
        let last = tenant::Entity::find_by_id(tenant_id)
            .one(txn)
            .await
            .map_err(db_error)?
            .map_or(0, |t| t.last_incident_number);
        for (incident, number) in incidents.iter_mut().zip(last + 1..) {
            incident.tenant_id = tenant_id;
            incident.number = number;
            incident.revision = 1;
        }
        tenant::Entity::update_many()
            .col_expr(tenant::Column::LastIncidentNumber, Expr::value(last + count))
            .filter(tenant::Column::Id.eq(tenant_id))
            .exec(txn)
            .await
            .map_err(db_error)?;
        insert_rows(txn, incidents.iter().map(|i| new_row(i, false)).collect()).await?;
        insert_children(txn, &incidents, &ALL_CHILDREN).await?;
        let revisions = incidents
            .iter()
            .map(|i| {
                let changes = changes(None, i);
                let revised = Revised {
                    event: EventType::Created,
                    actor,
                    request_id: None,
                    changes: &changes,
                    justification: None,
                };
                revision_row(i, &revised)
            })
            .collect::<Result<_, _>>()?;
        insert_rows(txn, revisions).await?;
        index_documents(txn, &incidents, Indexed::New).await?;
        write.commit().await
    }

    /// Records every statement this store issues from now on, in order: the
    /// benchmark learns from it what one update runs.
    pub fn record_statements(&mut self) -> Arc<Mutex<Vec<Statement>>> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        self.db.set_metric_callback(move |info| {
            if let Ok(mut log) = sink.lock() {
                log.push(info.statement.clone());
            }
        });
        log
    }

    /// Runs `statements` as one write transaction of the tenant, the way an
    /// update runs its own (the SQLite writer slot, `BEGIN IMMEDIATE`), with
    /// nothing else: no parsing, no validation, no mapping of rows, which are
    /// fetched and dropped. The benchmark's storage floor.
    pub async fn replay(&self, tenant_id: Uuid, statements: &[Statement]) -> Result<(), Error> {
        let write = self.write(tenant_id).await?;
        for statement in statements {
            if statement.sql.trim_start().starts_with("SELECT") {
                write.txn.query_all_raw(statement.clone()).await.map_err(db_error)?;
            } else {
                write.txn.execute_raw(statement.clone()).await.map_err(db_error)?;
            }
        }
        write.commit().await
    }
}
