//! Keeping the stored guidance in step with the rule catalogue: incidents
//! written before guidance was stored, or under another catalogue version,
//! are assessed again before the server starts serving.

use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::LockType};
use uuid::Uuid;

use super::{
    ROWS_PER_INSERT, Store, db_error,
    entity::incident,
    incidents::{Children, delete_children, guidance_columns, insert_children},
    load::{load_incidents, with_names},
};
use crate::domain::{Error, notification};

impl Store {
    /// Assesses every incident whose stored guidance is not of the current
    /// catalogue again, a few hundred per transaction; returns how many.
    pub async fn reassess(&self) -> Result<u64, Error> {
        let version = &notification::catalogue().version;
        let stale = Condition::any()
            .add(incident::Column::GuidanceVersion.is_null())
            .add(incident::Column::GuidanceVersion.ne(version.as_str()));
        let mut done = 0;
        loop {
            let batch: Vec<(Uuid, Uuid)> = incident::Entity::find()
                .filter(stale.clone())
                .select_only()
                .column(incident::Column::TenantId)
                .column(incident::Column::Id)
                .order_by_asc(incident::Column::TenantId)
                .limit(ROWS_PER_INSERT as u64)
                .into_tuple()
                .all(self.connection())
                .await
                .map_err(db_error)?;
            let Some(&(tenant_id, _)) = batch.first() else {
                break;
            };
            let ids: Vec<Uuid> = batch
                .iter()
                .filter(|(t, _)| *t == tenant_id)
                .map(|(_, id)| *id)
                .collect();
            let write = self.write(tenant_id).await?;
            let mut query = incident::Entity::find()
                .filter(incident::Column::TenantId.eq(tenant_id))
                .filter(incident::Column::Id.is_in(ids.iter().copied()))
                .filter(stale.clone());
            // Locked, and still stale once locked (PostgreSQL checks the condition
            // again on a row another writer changed meanwhile): a replica starting
            // beside this one, or an update, is not undone or doubled.
            QuerySelect::query(&mut query).lock_with_tables(LockType::Update, [incident::Entity]);
            let rows = with_names(query).all(&write.txn).await.map_err(db_error)?;
            let incidents = load_incidents(&write.txn, tenant_id, rows).await?;
            for incident in &incidents {
                incident::Entity::update_many()
                    .set(guidance_columns(incident))
                    .filter(incident::Column::TenantId.eq(tenant_id))
                    .filter(incident::Column::Id.eq(incident.id))
                    .exec(&write.txn)
                    .await
                    .map_err(db_error)?;
            }
            let ids: Vec<Uuid> = incidents.iter().map(|i| i.id).collect();
            delete_children(&write.txn, tenant_id, &ids, &[Children::Deadlines]).await?;
            insert_children(&write.txn, &incidents, &[Children::Deadlines]).await?;
            write.commit().await?;
            done += incidents.len() as u64;
        }
        if done > 0 {
            tracing::info!(incidents = done, catalogue = %version, "guidance assessed again");
        }
        Ok(done)
    }
}
