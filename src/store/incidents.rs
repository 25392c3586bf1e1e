//! Incidents inside one transaction: what the use cases of `service` read and
//! write to create, read and update one. These persist and decide nothing.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{
    Store, Write, db_error,
    entity::{
        incident, incident_assignee, incident_attribute_value, incident_deadline, incident_inventory_link,
        incident_jurisdiction, tenant,
    },
    events::event_row,
    history::{Claim, append_revision, claim, remember},
    insert_rows,
    load::{Lock, load_incident, load_reference},
    search::{Indexed, index_documents},
};
use crate::{
    auth::Principal,
    domain::{
        Error, event::EventType, guidance, incident::Incident, input::IncidentInput, notification, request::RequestKey,
        resolve::ReferenceSnapshot, revision::FieldChange, search::closed_sort_key,
    },
};

/// Who made a revision, with which request, what it changed, and why when
/// they said.
pub struct Revised<'a> {
    /// The kind of change, for its event.
    pub event: EventType,
    pub actor: &'a Principal,
    pub request_id: Option<Uuid>,
    pub changes: &'a [FieldChange],
    pub justification: Option<&'a str>,
}

/// What the incident use cases read and write inside a tenant's write
/// transaction. Each persists what it is given; the use cases decide.
impl Write {
    /// The answer a request id already got; `None` when this transaction has
    /// now claimed it.
    pub async fn replay(&self, key: &RequestKey) -> Result<Option<Incident>, Error> {
        Ok(match claim(&self.txn, self.tenant_id, key).await? {
            Claim::Replay(answer) => Some(*answer),
            Claim::New => None,
        })
    }

    /// Keeps the answer of the request id this transaction claimed.
    pub async fn remember(&self, key: &RequestKey, answer: &Incident) -> Result<(), Error> {
        remember(&self.txn, self.tenant_id, key, answer).await
    }

    /// Reads an incident to change it (NOT_FOUND when the tenant has none of
    /// that id). Locks its row on PostgreSQL, so that concurrent updates of
    /// one incident queue instead of interleaving their child rows; SQLite has
    /// one writer anyway.
    pub async fn incident_for_update(&self, id: Uuid) -> Result<Incident, Error> {
        load_incident(&self.txn, self.tenant_id, id, Lock::ForUpdate)
            .await?
            .ok_or_else(|| Error::incident_not_found(id))
    }

    /// The reference data `input` names (see `load_reference`).
    pub async fn reference(
        &self,
        input: &IncidentInput,
        current: Option<&Incident>,
    ) -> Result<ReferenceSnapshot, Error> {
        load_reference(&self.txn, self.tenant_id, input, current).await
    }

    /// Takes the tenant's next incident number. On PostgreSQL the row lock orders
    /// concurrent creates; on SQLite the single writer does.
    pub async fn next_number(&self) -> Result<i64, Error> {
        tenant::Entity::update_many()
            .col_expr(
                tenant::Column::LastIncidentNumber,
                Expr::col(tenant::Column::LastIncidentNumber).add(1),
            )
            .filter(tenant::Column::Id.eq(self.tenant_id))
            .exec(&self.txn)
            .await
            .map_err(db_error)?;
        let tenant = tenant::Entity::find_by_id(self.tenant_id)
            .one(&self.txn)
            .await
            .map_err(db_error)?;
        tenant.map(|t| t.last_incident_number).ok_or(Error::Internal)
    }

    /// Stores a new incident: its row, child rows, links, search document and
    /// first revision.
    pub async fn insert_incident(
        &self,
        incident: &Incident,
        auto_assess_jurisdictions: bool,
        revised: Revised<'_>,
    ) -> Result<(), Error> {
        let txn = &self.txn;
        incident::Entity::insert(new_row(incident, auto_assess_jurisdictions))
            .exec_without_returning(txn)
            .await
            .map_err(db_error)?;
        insert_children(txn, std::slice::from_ref(incident), &ALL_CHILDREN).await?;
        index_documents(txn, std::slice::from_ref(incident), Indexed::New).await?;
        self.record(incident, &revised).await
    }

    /// Stores `updated` over `current`, read in this transaction: the row (only
    /// while it is still at `current`'s revision), the child tables whose rows
    /// changed, the search document and the revision.
    pub async fn rewrite_incident(
        &self,
        current: &Incident,
        updated: &Incident,
        revised: Revised<'_>,
    ) -> Result<(), Error> {
        let (txn, tenant_id, id) = (&self.txn, self.tenant_id, current.id);
        let row = incident::ActiveModel {
            updated_at: Set(updated.updated_at),
            revision: Set(updated.revision),
            ..stage_columns(updated)
        };
        // The row lock makes a lost update impossible; the revision condition
        // would catch one all the same.
        let written = incident::Entity::update_many()
            .set(row)
            .filter(incident::Column::TenantId.eq(tenant_id))
            .filter(incident::Column::Id.eq(id))
            .filter(incident::Column::Revision.eq(current.revision))
            .exec(txn)
            .await
            .map_err(db_error)?;
        if written.rows_affected != 1 {
            tracing::error!("incident changed under its row lock");
            return Err(Error::Internal);
        }
        let rewritten = changed_children(current, updated);
        delete_children(txn, tenant_id, &[id], &rewritten).await?;
        insert_children(txn, std::slice::from_ref(updated), &rewritten).await?;
        index_documents(txn, std::slice::from_ref(updated), Indexed::Before).await?;
        self.record(updated, &revised).await
    }

    /// Records the revision `incident` is now at, and queues its event.
    async fn record(&self, incident: &Incident, revised: &Revised<'_>) -> Result<(), Error> {
        append_revision(&self.txn, incident, revised).await?;
        self.queue_event(event_row(incident, revised)?);
        Ok(())
    }
}

/// A tenant's read transaction: one consistent snapshot.
pub struct Read {
    txn: DatabaseTransaction,
    tenant_id: Uuid,
}

impl Read {
    pub async fn incident(&self, id: Uuid) -> Result<Option<Incident>, Error> {
        load_incident(&self.txn, self.tenant_id, id, Lock::None).await
    }

    /// The reference data `input` names (see `load_reference`).
    pub async fn reference(
        &self,
        input: &IncidentInput,
        current: Option<&Incident>,
    ) -> Result<ReferenceSnapshot, Error> {
        load_reference(&self.txn, self.tenant_id, input, current).await
    }

    pub async fn finish(self) -> Result<(), Error> {
        self.txn.commit().await.map_err(db_error)
    }
}

impl Store {
    /// Starts a read transaction of one tenant.
    pub async fn reading(&self, tenant_id: Uuid) -> Result<Read, Error> {
        Ok(Read {
            txn: self.read().await?,
            tenant_id,
        })
    }

    /// Reads one incident of the tenant.
    pub async fn get_incident(&self, tenant_id: Uuid, id: Uuid) -> Result<Incident, Error> {
        let read = self.reading(tenant_id).await?;
        let found = read.incident(id).await?;
        read.finish().await?;
        found.ok_or_else(|| Error::incident_not_found(id))
    }
}

/// The row of a new incident.
pub(super) fn new_row(incident: &Incident, auto_assess_jurisdictions: bool) -> incident::ActiveModel {
    incident::ActiveModel {
        tenant_id: Set(incident.tenant_id),
        id: Set(incident.id),
        number: Set(incident.number),
        auto_assess_jurisdictions: Set(auto_assess_jurisdictions),
        created_by: Set(incident.created_by),
        creator: Set(incident.creator.clone()),
        created_at: Set(incident.created_at),
        updated_at: Set(incident.updated_at),
        revision: Set(incident.revision),
        ..stage_columns(incident)
    }
}

/// The columns of the workflow stage and what it decides, with those of the
/// editable body.
fn stage_columns(incident: &Incident) -> incident::ActiveModel {
    incident::ActiveModel {
        workflow_id: Set(Some(incident.stage.workflow_id)),
        stage_id: Set(Some(incident.stage.stage.id)),
        status: Set(incident.status.as_str().to_owned()),
        date_closed: Set(incident.date_closed),
        closed_sort: Set(Some(closed_sort_key(incident))),
        ..editable_columns(incident)
    }
}

/// What a search needs of the incident's guidance: its sort key, and the
/// catalogue it was computed with.
pub(super) fn guidance_columns(incident: &Incident) -> incident::ActiveModel {
    incident::ActiveModel {
        notification_due: Set(Some(guidance::sort_key(incident))),
        guidance_version: Set(Some(notification::catalogue().version.clone())),
        ..Default::default()
    }
}

/// The columns of the editable body, the notifications recorded and the
/// guidance they lead to.
fn editable_columns(incident: &Incident) -> incident::ActiveModel {
    incident::ActiveModel {
        name: Set(incident.name.clone()),
        description: Set(incident.description.clone()),
        incident_type_id: Set(incident.incident_type.id),
        org_group_id: Set(incident.organization.id),
        date_occurred: Set(incident.date_occurred),
        date_discovered: Set(incident.date_discovered),
        deadline: Set(incident.deadline),
        source_type: Set(incident.source_type.as_str().to_owned()),
        root_cause: Set(incident.root_cause.clone()),
        notification_needed: Set(incident.notification_needed.as_str().to_owned()),
        notices: Set(serde_json::to_string(&incident.notices).unwrap_or_else(|_| "[]".to_owned())),
        ..guidance_columns(incident)
    }
}

/// The child tables of an incident's editable body.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Children {
    AttributeValues,
    Assignees,
    Jurisdictions,
    /// The deadlines still due: derived, rewritten when they change.
    Deadlines,
    /// The inventory links, one row per id.
    Links,
}

pub(super) const ALL_CHILDREN: [Children; 5] = [
    Children::AttributeValues,
    Children::Assignees,
    Children::Jurisdictions,
    Children::Deadlines,
    Children::Links,
];

/// The child tables whose rows differ between `current` and `updated`: only
/// those are rewritten.
fn changed_children(current: &Incident, updated: &Incident) -> Vec<Children> {
    ALL_CHILDREN
        .into_iter()
        .filter(|kind| match kind {
            Children::AttributeValues => current.attribute_values != updated.attribute_values,
            Children::Assignees => current.assignees != updated.assignees,
            Children::Jurisdictions => current.jurisdictions != updated.jurisdictions,
            Children::Deadlines => guidance::due(current) != guidance::due(updated),
            Children::Links => current.linked_inventories != updated.linked_inventories,
        })
        .collect()
}

/// Deletes the rows of incidents in the child tables `kinds`.
pub(super) async fn delete_children(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    ids: &[Uuid],
    kinds: &[Children],
) -> Result<(), Error> {
    for kind in kinds {
        let deleted = match kind {
            Children::AttributeValues => {
                incident_attribute_value::Entity::delete_many()
                    .filter(incident_attribute_value::Column::TenantId.eq(tenant_id))
                    .filter(incident_attribute_value::Column::IncidentId.is_in(ids.iter().copied()))
                    .exec(txn)
                    .await
            }
            Children::Assignees => {
                incident_assignee::Entity::delete_many()
                    .filter(incident_assignee::Column::TenantId.eq(tenant_id))
                    .filter(incident_assignee::Column::IncidentId.is_in(ids.iter().copied()))
                    .exec(txn)
                    .await
            }
            Children::Jurisdictions => {
                incident_jurisdiction::Entity::delete_many()
                    .filter(incident_jurisdiction::Column::TenantId.eq(tenant_id))
                    .filter(incident_jurisdiction::Column::IncidentId.is_in(ids.iter().copied()))
                    .exec(txn)
                    .await
            }
            Children::Deadlines => {
                incident_deadline::Entity::delete_many()
                    .filter(incident_deadline::Column::TenantId.eq(tenant_id))
                    .filter(incident_deadline::Column::IncidentId.is_in(ids.iter().copied()))
                    .exec(txn)
                    .await
            }
            Children::Links => {
                incident_inventory_link::Entity::delete_many()
                    .filter(incident_inventory_link::Column::TenantId.eq(tenant_id))
                    .filter(incident_inventory_link::Column::IncidentId.is_in(ids.iter().copied()))
                    .exec(txn)
                    .await
            }
        };
        deleted.map_err(db_error)?;
    }
    Ok(())
}

/// Stores the rows of incidents in the child tables `kinds`.
pub(super) async fn insert_children(
    txn: &impl ConnectionTrait,
    incidents: &[Incident],
    kinds: &[Children],
) -> Result<(), Error> {
    let values: Vec<_> =
        incidents
            .iter()
            .flat_map(|incident| {
                incident.attribute_values.iter().zip(0..).map(|(value, position)| {
                    incident_attribute_value::ActiveModel {
                        incident_id: Set(incident.id),
                        position: Set(position),
                        tenant_id: Set(incident.tenant_id),
                        attribute_id: Set(value.attribute_id),
                        option_id: Set(value.option.as_ref().map(|o| o.id)),
                        text_value: Set(value.text.clone()),
                    }
                })
            })
            .collect();
    if kinds.contains(&Children::AttributeValues) {
        insert_rows(txn, values).await?;
    }
    let assignees: Vec<_> = incidents
        .iter()
        .flat_map(|incident| {
            incident
                .assignees
                .iter()
                .zip(0..)
                .map(|(assigned, position)| incident_assignee::ActiveModel {
                    incident_id: Set(incident.id),
                    position: Set(position),
                    tenant_id: Set(incident.tenant_id),
                    assignee_id: Set(assigned.assignee.id),
                    email: Set(assigned.email.clone()),
                })
        })
        .collect();
    if kinds.contains(&Children::Assignees) {
        insert_rows(txn, assignees).await?;
    }
    let jurisdictions: Vec<_> = incidents
        .iter()
        .flat_map(|incident| {
            incident.jurisdictions.iter().zip(0..).map(|(impacted, position)| {
                let j = impacted.jurisdiction;
                incident_jurisdiction::ActiveModel {
                    incident_id: Set(incident.id),
                    position: Set(position),
                    tenant_id: Set(incident.tenant_id),
                    jurisdiction_id: Set(j.id),
                    country_code: Set(j.country_code.to_owned()),
                    state_province_code: Set(j.state_province_code.map(str::to_owned)),
                    affected_individuals: Set(impacted.affected_individuals.and_then(|n| i64::try_from(n).ok())),
                }
            })
        })
        .collect();
    if kinds.contains(&Children::Jurisdictions) {
        insert_rows(txn, jurisdictions).await?;
    }
    if kinds.contains(&Children::Deadlines) {
        let deadlines: Vec<_> = incidents
            .iter()
            .flat_map(|incident| {
                guidance::due(incident)
                    .into_iter()
                    .zip(0..)
                    .map(|(deadline, position)| incident_deadline::ActiveModel {
                        incident_id: Set(incident.id),
                        position: Set(position),
                        tenant_id: Set(incident.tenant_id),
                        deadline: Set(deadline),
                    })
            })
            .collect();
        insert_rows(txn, deadlines).await?;
    }
    if kinds.contains(&Children::Links) {
        let links: Vec<_> = incidents.iter().flat_map(link_rows).collect();
        insert_rows(txn, links).await?;
    }
    Ok(())
}

/// The rows of an incident's inventory links, one per id, in order.
fn link_rows(incident: &Incident) -> impl Iterator<Item = incident_inventory_link::ActiveModel> + '_ {
    let (tenant_id, id) = (incident.tenant_id, incident.id);
    incident
        .linked_inventories
        .iter()
        .flat_map(|link| {
            let ids = link.inventory_ids.iter().map(|i| (Some(*i), None));
            let external = link.external_ids.iter().map(|e| (None, Some(e.clone())));
            ids.chain(external)
                .map(move |(inventory_id, external_id)| (link, inventory_id, external_id))
        })
        .zip(0..)
        .map(
            move |((link, inventory_id, external_id), position)| incident_inventory_link::ActiveModel {
                incident_id: Set(id),
                position: Set(position),
                tenant_id: Set(tenant_id),
                inventory_type: Set(link.inventory_type.as_str().to_owned()),
                inventory_id: Set(inventory_id),
                external_id: Set(external_id),
                source_type: Set(link.source_type.as_str().to_owned()),
            },
        )
}
