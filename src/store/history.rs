//! The revision history of incidents, and the request ids that make retries
//! idempotent. Both are written in the transaction of the change they record.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use super::{
    Store, db_error,
    entity::{incident, incident_revision, request_key},
    incidents::Revised,
    now,
};
use crate::domain::{
    Error,
    incident::Incident,
    request::{REQUEST_ID_TTL, RequestKey},
    revision::{Revision, RevisionList, RevisionPage},
    token::PageTokens,
    workflow::Workflow,
};

/// What a request id found when it was claimed.
pub(super) enum Claim {
    /// Not seen in the last 24 hours: this transaction owns it now.
    New,
    /// The same request was answered before: this is its answer.
    Replay(Box<Incident>),
}

/// Claims a request id for this transaction, or finds the answer it already got.
///
/// The claim is an insert, so on PostgreSQL a concurrent request with the same id
/// waits on it until this transaction ends, then finds the answer (or, if this
/// one rolled back, claims the id itself). SQLite's single writer orders them anyway.
pub(super) async fn claim(txn: &impl ConnectionTrait, tenant_id: Uuid, key: &RequestKey) -> Result<Claim, Error> {
    let at = now();
    let inserted = request_key::Entity::insert(request_key::ActiveModel {
        tenant_id: Set(tenant_id),
        request_id: Set(key.id),
        fingerprint: Set(key.fingerprint.clone()),
        created_at: Set(at),
        result: Set(None),
    })
    .on_conflict(
        OnConflict::columns([request_key::Column::TenantId, request_key::Column::RequestId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await
    .map_err(db_error)?;
    if inserted == 1 {
        return Ok(Claim::New);
    }
    // Known: an expired id is taken over as if new.
    let expired = request_key::Entity::update_many()
        .col_expr(request_key::Column::Fingerprint, Expr::value(key.fingerprint.clone()))
        .col_expr(request_key::Column::CreatedAt, Expr::value(at))
        .col_expr(request_key::Column::Result, Expr::value(Option::<String>::None))
        .filter(request_key::Column::TenantId.eq(tenant_id))
        .filter(request_key::Column::RequestId.eq(key.id))
        .filter(request_key::Column::CreatedAt.lt(at - REQUEST_ID_TTL))
        .exec(txn)
        .await
        .map_err(db_error)?;
    if expired.rows_affected == 1 {
        return Ok(Claim::New);
    }
    let found = request_key::Entity::find_by_id((tenant_id, key.id))
        .one(txn)
        .await
        .map_err(db_error)?;
    match found {
        Some(row) if row.fingerprint != key.fingerprint => Err(Error::RequestIdReused),
        Some(request_key::Model { result: Some(json), .. }) => serde_json::from_str(&json)
            .map(|answer| placed(tenant_id, answer))
            .and_then(serde_json::from_value)
            .map(|incident| Claim::Replay(Box::new(incident)))
            .map_err(|e| {
                tracing::error!(error = %e, request_id = %key.id, "unreadable stored answer");
                Error::Internal
            }),
        _ => {
            tracing::error!(request_id = %key.id, "request id claimed but neither answered nor visible");
            Err(Error::Internal)
        }
    }
}

/// An answer remembered before workflows existed, in the first stage of the
/// tenant's default workflow, where every incident then was.
fn placed(tenant_id: Uuid, mut answer: serde_json::Value) -> serde_json::Value {
    if let Some(fields) = answer.as_object_mut()
        && !fields.contains_key("stage")
        && let Some(start) = Workflow::default_for(tenant_id).start()
        && let Ok(stage) = serde_json::to_value(start)
    {
        fields.insert("stage".to_owned(), stage);
    }
    answer
}

/// Keeps the answer of a claimed request id for its retries.
pub(super) async fn remember(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    key: &RequestKey,
    answer: &Incident,
) -> Result<(), Error> {
    let json = serde_json::to_string(answer).map_err(|e| {
        tracing::error!(error = %e, "serialising an answer");
        Error::Internal
    })?;
    request_key::Entity::update_many()
        .col_expr(request_key::Column::Result, Expr::value(json))
        .filter(request_key::Column::TenantId.eq(tenant_id))
        .filter(request_key::Column::RequestId.eq(key.id))
        .exec(txn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Records the revision `incident` is now at, made by `actor`.
pub(super) async fn append_revision(
    txn: &impl ConnectionTrait,
    incident: &Incident,
    revised: &Revised<'_>,
) -> Result<(), Error> {
    incident_revision::Entity::insert(revision_row(incident, revised)?)
        .exec_without_returning(txn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// The row of the revision `incident` is now at.
pub(super) fn revision_row(
    incident: &Incident,
    revised: &Revised<'_>,
) -> Result<incident_revision::ActiveModel, Error> {
    let Revised {
        event: _,
        actor,
        request_id,
        changes,
        justification,
    } = revised;
    let changes = serde_json::to_string(changes).map_err(|e| {
        tracing::error!(error = %e, "serialising changes");
        Error::Internal
    })?;
    Ok(incident_revision::ActiveModel {
        tenant_id: Set(incident.tenant_id),
        incident_id: Set(incident.id),
        revision: Set(incident.revision),
        recorded_at: Set(incident.updated_at),
        actor_id: Set(actor.subject),
        actor_name: Set(actor.display_name()),
        request_id: Set(*request_id),
        changes: Set(changes),
        justification: Set(justification.map(str::to_owned)),
    })
}

impl Store {
    /// One page of an incident's revisions, newest first.
    pub async fn list_revisions(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        page: RevisionPage,
        tokens: &PageTokens,
    ) -> Result<RevisionList, Error> {
        let txn = self.read().await?;
        let exists = incident::Entity::find_by_id((tenant_id, id))
            .select_only()
            .column(incident::Column::Id)
            .into_tuple::<Uuid>()
            .one(&txn)
            .await
            .map_err(db_error)?;
        if exists.is_none() {
            return Err(Error::incident_not_found(id));
        }
        let mut query = incident_revision::Entity::find()
            .filter(incident_revision::Column::TenantId.eq(tenant_id))
            .filter(incident_revision::Column::IncidentId.eq(id))
            .order_by_desc(incident_revision::Column::Revision)
            .limit(page.size + 1);
        if let Some(before) = page.before {
            query = query.filter(incident_revision::Column::Revision.lt(before));
        }
        let mut rows = query.all(&txn).await.map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        let more = rows.len() as u64 > page.size;
        rows.truncate(page.size as usize);
        let next_page_token = rows
            .last()
            .filter(|_| more)
            .map(|last| RevisionPage::next_token(tokens, id, last.revision));
        Ok(RevisionList {
            revisions: rows.into_iter().map(to_revision).collect::<Result<_, _>>()?,
            next_page_token,
        })
    }

    /// Forgets request ids older than 24 hours; returns how many.
    pub async fn forget_expired_requests(&self) -> Result<u64, Error> {
        let _slot = self.writer_slot().await;
        let result = request_key::Entity::delete_many()
            .filter(request_key::Column::CreatedAt.lt(now() - REQUEST_ID_TTL))
            .exec(self.connection())
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected)
    }
}

fn to_revision(row: incident_revision::Model) -> Result<Revision, Error> {
    let changes = serde_json::from_str(&row.changes).map_err(|e| {
        tracing::error!(error = %e, incident_id = %row.incident_id, revision = row.revision, "unreadable changes");
        Error::Internal
    })?;
    Ok(Revision {
        revision: row.revision,
        at: row.recorded_at,
        actor_id: row.actor_id,
        actor_name: row.actor_name,
        request_id: row.request_id,
        changes,
        justification: row.justification,
    })
}
