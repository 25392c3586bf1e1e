//! Workflows with their stages, and placing the incidents stored before
//! workflows existed in their tenant's default one.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::{Expr, LockType, OnConflict},
};
use uuid::Uuid;

use super::{
    ROWS_PER_INSERT, Store, Write, db_error,
    entity::{incident, join, workflow, workflow_stage},
    insert_rows,
    load::{load_incidents, with_names},
    search::{Indexed, index_documents},
    unique_or_db_error,
};
use crate::domain::{
    Error, guidance,
    text::name_key,
    workflow::{Stage, Workflow},
};

pub(super) fn to_stage(row: workflow_stage::Model) -> Stage {
    Stage {
        id: row.id,
        name: row.name,
        description: row.description,
        sequence: row.sequence,
        badge_color: row.badge_color,
        closes_incident: row.closes_incident,
    }
}

/// The workflows `query` selects, in its order, each with its stages in order.
async fn with_stages(txn: &impl ConnectionTrait, query: Select<workflow::Entity>) -> Result<Vec<Workflow>, Error> {
    Ok(query
        .join(JoinType::LeftJoin, join::workflow_stages())
        .order_by_asc(workflow_stage::Column::Sequence)
        .select_with(workflow_stage::Entity)
        .all(txn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|(row, stages)| Workflow {
            id: row.id,
            name: row.name,
            stages: stages.into_iter().map(to_stage).collect(),
        })
        .collect())
}

/// Stores a workflow and its stages; a name the tenant has is ALREADY_EXISTS.
/// With `if_missing`, a workflow already there is kept as it is.
pub(super) async fn insert_workflow(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    new: &Workflow,
    if_missing: bool,
) -> Result<(), Error> {
    let mut insert = workflow::Entity::insert(workflow::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(new.id),
        name: Set(new.name.clone()),
        name_key: Set(name_key(&new.name)),
    });
    if if_missing {
        insert = insert.on_conflict(OnConflict::new().do_nothing().to_owned());
    }
    let inserted = insert
        .exec_without_returning(txn)
        .await
        .map_err(|e| unique_or_db_error(e, || format!("a workflow named {:?} already exists", new.name)))?;
    if inserted == 0 {
        return Ok(());
    }
    let stages = new
        .stages
        .iter()
        .map(|stage| workflow_stage::ActiveModel {
            tenant_id: Set(tenant_id),
            id: Set(stage.id),
            workflow_id: Set(new.id),
            name: Set(stage.name.clone()),
            name_key: Set(name_key(&stage.name)),
            description: Set(stage.description.clone()),
            sequence: Set(stage.sequence),
            badge_color: Set(stage.badge_color.clone()),
            closes_incident: Set(stage.closes_incident),
        })
        .collect();
    insert_rows(txn, stages).await
}

/// One workflow of the tenant. The default one is what its rows were written
/// from (`insert_tenant`), so it is taken from there without a query, and is
/// there even before the tenant's first write.
pub(super) async fn load_workflow(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<Workflow>, Error> {
    let default = Workflow::default_for(tenant_id);
    if id == default.id {
        return Ok(Some(default));
    }
    let query = workflow::Entity::find_by_id((tenant_id, id));
    with_stages(txn, query).await.map(|mut found| found.pop())
}

impl Write {
    /// One workflow of the tenant (see `load_workflow`).
    pub async fn workflow(&self, id: Uuid) -> Result<Option<Workflow>, Error> {
        load_workflow(&self.txn, self.tenant_id, id).await
    }
}

impl Store {
    pub async fn create_workflow(&self, tenant_id: Uuid, new: Workflow) -> Result<Workflow, Error> {
        let write = self.write(tenant_id).await?;
        insert_workflow(&write.txn, tenant_id, &new, false).await?;
        write.commit().await?;
        Ok(new)
    }

    /// The tenant's workflows by name; the default one is there even before the
    /// tenant's first write.
    pub async fn list_workflows(&self, tenant_id: Uuid) -> Result<Vec<Workflow>, Error> {
        let txn = self.read().await?;
        let all = workflow::Entity::find()
            .filter(workflow::Column::TenantId.eq(tenant_id))
            .order_by_asc(workflow::Column::NameKey);
        let mut workflows = with_stages(&txn, all).await?;
        txn.commit().await.map_err(db_error)?;
        let default = Workflow::default_for(tenant_id);
        if !workflows.iter().any(|w| w.id == default.id) {
            workflows.push(default);
            workflows.sort_by_cached_key(|w| name_key(&w.name));
        }
        Ok(workflows)
    }

    /// Puts every incident stored before workflows existed in the first stage
    /// of its tenant's default workflow, storing that workflow where it is
    /// missing, and writes its search document again (which now holds the
    /// stage's name): a few hundred per transaction. Returns how many.
    pub(super) async fn place(&self) -> Result<u64, Error> {
        let unplaced: Vec<Uuid> = incident::Entity::find()
            .select_only()
            .column(incident::Column::TenantId)
            .filter(incident::Column::StageId.is_null())
            .distinct()
            .into_tuple()
            .all(self.connection())
            .await
            .map_err(db_error)?;
        let mut placed = 0;
        for tenant_id in unplaced {
            let default = Workflow::default_for(tenant_id);
            let Some(start) = default.start() else {
                return Err(Error::Internal);
            };
            loop {
                let write = self.write(tenant_id).await?;
                insert_workflow(&write.txn, tenant_id, &default, true).await?;
                let mut batch = incident::Entity::find()
                    .select_only()
                    .column(incident::Column::Id)
                    .filter(incident::Column::TenantId.eq(tenant_id))
                    .filter(incident::Column::StageId.is_null())
                    .limit(ROWS_PER_INSERT as u64);
                // Locked, so that a replica starting beside this one skips them.
                QuerySelect::query(&mut batch).lock(LockType::Update);
                let ids: Vec<Uuid> = batch.into_tuple().all(&write.txn).await.map_err(db_error)?;
                if ids.is_empty() {
                    write.commit().await?;
                    break;
                }
                incident::Entity::update_many()
                    .col_expr(incident::Column::WorkflowId, Expr::value(start.workflow_id))
                    .col_expr(incident::Column::StageId, Expr::value(start.stage.id))
                    .col_expr(incident::Column::ClosedSort, Expr::value(guidance::latest()))
                    .filter(incident::Column::TenantId.eq(tenant_id))
                    .filter(incident::Column::Id.is_in(ids.iter().copied()))
                    .exec(&write.txn)
                    .await
                    .map_err(db_error)?;
                let rows = incident::Entity::find()
                    .filter(incident::Column::TenantId.eq(tenant_id))
                    .filter(incident::Column::Id.is_in(ids.iter().copied()));
                let rows = with_names(rows).all(&write.txn).await.map_err(db_error)?;
                let incidents = load_incidents(&write.txn, tenant_id, rows).await?;
                index_documents(&write.txn, &incidents, Indexed::Before).await?;
                write.commit().await?;
                placed += ids.len() as u64;
            }
        }
        if placed > 0 {
            tracing::info!(placed, "incidents placed in their tenant's default workflow");
        }
        Ok(placed)
    }
}
