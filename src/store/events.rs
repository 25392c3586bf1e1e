//! The outbox: the event of every change, appended in the transaction of the
//! change, so that an event exists exactly when its change committed.
//!
//! Each tenant's events are numbered 1, 2, 3… by one counter row, taken at
//! the end of the write transaction. On PostgreSQL the row lock it takes
//! queues the tenant's other writers until this one commits, so numbers are
//! given in commit order and a reader that sees number N sees every number
//! before it: a watch reading after its cursor can miss nothing. SQLite has
//! one writer anyway.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};
use uuid::Uuid;

use super::{
    Store, db_error,
    entity::{event_publisher, event_sequence, incident_event},
    incidents::Revised,
};
use crate::domain::{
    Error,
    event::{Event, EventType},
    incident::Incident,
};

/// The event of the revision `incident` is now at, numbered when its
/// transaction commits.
pub(super) fn event_row(incident: &Incident, revised: &Revised<'_>) -> Result<incident_event::ActiveModel, Error> {
    let changes = serde_json::to_string(revised.changes).map_err(|e| {
        tracing::error!(error = %e, "serialising an event's changes");
        Error::Internal
    })?;
    Ok(incident_event::ActiveModel {
        id: NotSet,
        tenant_id: Set(incident.tenant_id),
        sequence: NotSet,
        event_id: Set(Uuid::now_v7()),
        event_type: Set(revised.event.as_str().to_owned()),
        incident_id: Set(incident.id),
        revision: Set(incident.revision),
        occurred_at: Set(incident.updated_at),
        actor_id: Set(revised.actor.subject),
        actor_name: Set(revised.actor.display_name()),
        changes: Set(changes),
        published_at: Set(None),
    })
}

/// Numbers `events` with the tenant's next sequences and appends them: the
/// last statements of a write transaction, since the counter's row lock is
/// held until it commits.
pub(super) async fn append(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    mut events: Vec<incident_event::ActiveModel>,
) -> Result<(), Error> {
    let count = events.len() as i64;
    let last = take_sequences(txn, tenant_id, count).await?;
    for (event, sequence) in events.iter_mut().zip(last - count + 1..) {
        event.sequence = Set(sequence);
    }
    incident_event::Entity::insert_many(events)
        .exec_without_returning(txn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Moves the tenant's counter on by `count` in one statement (an upsert, the
/// first event making the row), returning the last number taken.
async fn take_sequences(txn: &impl ConnectionTrait, tenant_id: Uuid, count: i64) -> Result<i64, Error> {
    use event_sequence::Column;
    let statement = Query::insert()
        .into_table(event_sequence::Entity)
        .columns([Column::TenantId, Column::LastSequence])
        .values_panic([tenant_id.into(), count.into()])
        .on_conflict(
            OnConflict::column(Column::TenantId)
                .value(
                    Column::LastSequence,
                    Expr::col((event_sequence::Entity, Column::LastSequence)).add(count),
                )
                .to_owned(),
        )
        .returning_col(Column::LastSequence)
        .to_owned();
    let row = txn.query_one(&statement).await.map_err(db_error)?;
    row.map(|r| r.try_get::<i64>("", "last_sequence"))
        .transpose()
        .map_err(db_error)?
        .ok_or_else(|| {
            tracing::error!("the event counter returned no row");
            Error::Internal
        })
}

/// Where a tenant's kept events begin and end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRange {
    /// The first kept; `None` when none is (none yet, or all pruned).
    pub first: Option<i64>,
    /// The last given; 0 before the first.
    pub last: i64,
}

impl Store {
    /// Where the tenant's kept events begin and end, in one snapshot.
    pub async fn event_range(&self, tenant_id: Uuid) -> Result<EventRange, Error> {
        let txn = self.read().await?;
        let last = event_sequence::Entity::find_by_id(tenant_id)
            .select_only()
            .column(event_sequence::Column::LastSequence)
            .into_tuple::<i64>()
            .one(&txn)
            .await
            .map_err(db_error)?;
        let first = incident_event::Entity::find()
            .select_only()
            .column(incident_event::Column::Sequence)
            .filter(incident_event::Column::TenantId.eq(tenant_id))
            .order_by_asc(incident_event::Column::Sequence)
            .into_tuple::<i64>()
            .one(&txn)
            .await
            .map_err(db_error)?;
        txn.commit().await.map_err(db_error)?;
        Ok(EventRange {
            first,
            last: last.unwrap_or(0),
        })
    }

    /// The tenant's events after sequence `after`, oldest first, at most `limit`.
    pub async fn events_after(&self, tenant_id: Uuid, after: i64, limit: u64) -> Result<Vec<Event>, Error> {
        let rows = incident_event::Entity::find()
            .filter(incident_event::Column::TenantId.eq(tenant_id))
            .filter(incident_event::Column::Sequence.gt(after))
            .order_by_asc(incident_event::Column::Sequence)
            .limit(limit)
            .all(self.connection())
            .await
            .map_err(db_error)?;
        rows.into_iter().map(to_event).collect()
    }

    /// Deletes the events that occurred before `before`; with `published_only`,
    /// only those published. Returns how many.
    pub async fn prune_events(&self, before: DateTime<Utc>, published_only: bool) -> Result<u64, Error> {
        let _slot = self.writer_slot().await;
        let mut delete = incident_event::Entity::delete_many().filter(incident_event::Column::OccurredAt.lt(before));
        if published_only {
            delete = delete.filter(incident_event::Column::PublishedAt.is_not_null());
        }
        let result = delete.exec(self.connection()).await.map_err(db_error)?;
        Ok(result.rows_affected)
    }
}

/// What the outbox holds that is not published yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    pub unpublished: u64,
    /// When the oldest of them occurred.
    pub oldest: Option<DateTime<Utc>>,
}

/// The most places in the outbox one statement names: a publisher's batch.
pub const OUTBOX_BATCH: usize = 256;

/// `ids` (at most `OUTBOX_BATCH`) padded to `OUTBOX_BATCH` with -1, which is
/// no place in the outbox: a statement that names them always has the same
/// text, so the driver prepares it once rather than once per length.
fn padded(ids: &[i64]) -> impl Iterator<Item = i64> + '_ {
    ids.iter()
        .copied()
        .chain(std::iter::repeat(-1))
        .take(OUTBOX_BATCH.max(ids.len()))
}

impl Store {
    /// The events not yet published, in the order they were appended (each
    /// tenant's in sequence order), at most `limit`, each with its place in
    /// the outbox.
    pub async fn unpublished_events(&self, limit: u64) -> Result<Vec<(i64, Event)>, Error> {
        let rows = incident_event::Entity::find()
            .filter(incident_event::Column::PublishedAt.is_null())
            .order_by_asc(incident_event::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await
            .map_err(db_error)?;
        rows.into_iter().map(|row| Ok((row.id, to_event(row)?))).collect()
    }

    /// Marks the events at these places in the outbox (at most
    /// `OUTBOX_BATCH`) published at `at`.
    pub async fn mark_published(&self, ids: &[i64], at: DateTime<Utc>) -> Result<(), Error> {
        if ids.is_empty() {
            return Ok(());
        }
        let _slot = self.writer_slot().await;
        incident_event::Entity::update_many()
            .col_expr(incident_event::Column::PublishedAt, Expr::value(at))
            .filter(incident_event::Column::Id.is_in(padded(ids)))
            .exec(self.connection())
            .await
            .map_err(db_error)?;
        Ok(())
    }

    /// How many events wait to be published, and since when.
    pub async fn outbox_backlog(&self) -> Result<Backlog, Error> {
        use sea_orm::sea_query::Func;
        let unpublished = incident_event::Column::PublishedAt.is_null();
        let (count, oldest) = incident_event::Entity::find()
            .select_only()
            .column_as(Expr::col(incident_event::Column::Id).count(), "count")
            .expr_as(Func::min(Expr::col(incident_event::Column::OccurredAt)), "oldest")
            .filter(unpublished)
            .into_tuple::<(i64, Option<DateTime<Utc>>)>()
            .one(self.connection())
            .await
            .map_err(db_error)?
            .unwrap_or((0, None));
        Ok(Backlog {
            unpublished: u64::try_from(count).unwrap_or(0),
            oldest,
        })
    }

    /// Takes or renews the lease `name` for `holder` until `until`: taken
    /// when no one holds it, it has run out, or `holder` holds it already.
    /// Returns whether `holder` holds it now.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: Uuid,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, Error> {
        use event_publisher::Column;
        let statement = Query::insert()
            .into_table(event_publisher::Entity)
            .columns([Column::Name, Column::Holder, Column::ExpiresAt])
            .values_panic([name.into(), holder.into(), until.into()])
            .on_conflict(
                OnConflict::column(Column::Name)
                    .update_columns([Column::Holder, Column::ExpiresAt])
                    .action_and_where(
                        Expr::col((event_publisher::Entity, Column::Holder))
                            .eq(holder)
                            .or(Expr::col((event_publisher::Entity, Column::ExpiresAt)).lt(now)),
                    )
                    .to_owned(),
            )
            .returning_col(Column::Holder)
            .to_owned();
        let _slot = self.writer_slot().await;
        let row = self.connection().query_one(&statement).await.map_err(db_error)?;
        Ok(row.is_some())
    }

    /// Gives up the lease `name` if `holder` holds it, so another replica
    /// takes it at once.
    pub async fn release_lease(&self, name: &str, holder: Uuid) -> Result<(), Error> {
        let _slot = self.writer_slot().await;
        event_publisher::Entity::delete_many()
            .filter(event_publisher::Column::Name.eq(name))
            .filter(event_publisher::Column::Holder.eq(holder))
            .exec(self.connection())
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

fn to_event(row: incident_event::Model) -> Result<Event, Error> {
    let unreadable = |what: &str| {
        tracing::error!(sequence = row.sequence, tenant_id = %row.tenant_id, "unreadable event {what}");
        Error::Internal
    };
    let kind = EventType::parse(&row.event_type).ok_or_else(|| unreadable("type"))?;
    let changes = serde_json::from_str(&row.changes).map_err(|_| unreadable("changes"))?;
    Ok(Event {
        event_id: row.event_id,
        sequence: row.sequence,
        kind,
        tenant_id: row.tenant_id,
        incident_id: row.incident_id,
        revision: row.revision,
        occurred_at: row.occurred_at,
        actor_id: row.actor_id,
        actor_name: row.actor_name,
        changes,
    })
}
