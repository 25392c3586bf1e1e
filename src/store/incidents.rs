//! Incidents: create, read and update, each in one transaction.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{
    Store, db_error,
    entity::{
        incident, incident_assignee, incident_attribute_value, incident_inventory_link, incident_jurisdiction, tenant,
    },
    history::{Claim, append_revision, claim, remember, revision_row},
    insert_rows,
    load::{Lock, load_incident, load_reference},
    now,
    search::{Indexed, index_documents},
};
use crate::{
    auth::Principal,
    domain::{
        Error, Resource,
        enums::IncidentStatus,
        incident::{Incident, Record},
        input::IncidentInput,
        inventory::CreateOnly,
        request::RequestKey,
        resolve::resolve,
        revision::changes,
        update::{Update, UpdateMask},
    },
};

impl Store {
    /// Creates an incident with the tenant's next number, and its first revision.
    #[tracing::instrument(skip_all, fields(tenant_id = %principal.tenant_id))]
    pub async fn create_incident(
        &self,
        principal: &Principal,
        input: IncidentInput,
        create_only: CreateOnly,
        request: Option<RequestKey>,
    ) -> Result<Incident, Error> {
        let tenant_id = principal.tenant_id;
        if !input.violations.is_empty() {
            return Err(self.refuse(tenant_id, input, None).await);
        }
        let write = self.write(tenant_id).await?;
        let txn = &write.txn;
        if let Some(key) = &request
            && let Claim::Replay(answer) = claim(txn, tenant_id, key).await?
        {
            return Ok(*answer);
        }
        let reference = load_reference(txn, tenant_id, &input, None).await?;
        let draft = resolve(input, reference)?;
        let number = next_number(txn, tenant_id).await?;
        let at = now();
        let incident = draft.into_incident(Record {
            id: Uuid::now_v7(),
            tenant_id,
            number,
            status: IncidentStatus::Open,
            date_closed: None,
            created_by: principal.subject,
            creator: principal.display_name(),
            created_at: at,
            updated_at: at,
            revision: 1,
            linked_inventories: create_only.linked_inventories,
        });
        incident::Entity::insert(new_row(&incident, create_only.auto_assess_jurisdictions))
            .exec_without_returning(txn)
            .await
            .map_err(db_error)?;
        insert_children(txn, std::slice::from_ref(&incident), &ALL_CHILDREN).await?;
        insert_links(txn, &incident).await?;
        index_documents(txn, std::slice::from_ref(&incident), Indexed::New).await?;
        let request_id = request.as_ref().map(|key| key.id);
        append_revision(txn, &incident, principal, request_id, &changes(None, &incident)).await?;
        if let Some(key) = &request {
            remember(txn, tenant_id, key, &incident).await?;
        }
        write.commit().await?;
        tracing::info!(incident_id = %incident.id, number, "incident created");
        Ok(incident)
    }

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
            .map(|i| revision_row(i, actor, None, &changes(None, i)))
            .collect::<Result<_, _>>()?;
        insert_rows(txn, revisions).await?;
        index_documents(txn, &incidents, Indexed::New).await?;
        write.commit().await
    }

    /// Reads one incident of the tenant.
    pub async fn get_incident(&self, tenant_id: Uuid, id: Uuid) -> Result<Incident, Error> {
        let txn = self.read().await?;
        let found = load_incident(&txn, tenant_id, id, Lock::None).await?;
        txn.commit().await.map_err(db_error)?;
        found.ok_or_else(|| not_found(id))
    }

    /// Updates the editable body of an incident: all of it (the original PUT) or
    /// the fields of the mask. An update that changes something moves the
    /// revision on and records it; one that changes nothing writes nothing.
    #[tracing::instrument(skip_all, fields(tenant_id = %principal.tenant_id, incident_id = %id))]
    pub async fn update_incident(&self, principal: &Principal, id: Uuid, update: Update) -> Result<Incident, Error> {
        let tenant_id = principal.tenant_id;
        let Update {
            body,
            mask,
            etag,
            request,
        } = update;
        // A whole body can be checked before the write lock; a partial one only
        // together with the fields it keeps.
        let body = match mask {
            UpdateMask::All => match IncidentInput::parse(body) {
                input if input.violations.is_empty() => Ok(input),
                input => return Err(self.refuse(tenant_id, input, Some(id)).await),
            },
            UpdateMask::Only { .. } => Err(body),
        };
        let write = self.write(tenant_id).await?;
        let txn = &write.txn;
        if let Some(key) = &request
            && let Claim::Replay(answer) = claim(txn, tenant_id, key).await?
        {
            return Ok(*answer);
        }
        // Locks the row on PostgreSQL, so concurrent updates of one incident queue
        // instead of interleaving their child rows. SQLite has one writer anyway.
        let current = load_incident(txn, tenant_id, id, Lock::ForUpdate)
            .await?
            .ok_or_else(|| not_found(id))?;
        if etag.is_some_and(|etag| etag != current.etag()) {
            return Err(Error::StaleEtag {
                current_revision: current.revision,
            });
        }
        let input = body.unwrap_or_else(|partial| IncidentInput::parse(mask.apply(current.fields(), partial)));
        let reference = load_reference(txn, tenant_id, &input, Some(&current)).await?;
        let updated = resolve(input, reference)?.into_incident(Record {
            updated_at: later_than(current.updated_at),
            revision: current.revision + 1,
            ..current.record()
        });
        let changed = changes(Some(&current), &updated);
        let answer = if changed.is_empty() {
            current
        } else {
            let row = incident::ActiveModel {
                updated_at: Set(updated.updated_at),
                revision: Set(updated.revision),
                ..editable_columns(&updated)
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
            let rewritten = changed_children(&current, &updated);
            delete_children(txn, tenant_id, id, &rewritten).await?;
            insert_children(txn, std::slice::from_ref(&updated), &rewritten).await?;
            index_documents(txn, std::slice::from_ref(&updated), Indexed::Before).await?;
            let request_id = request.as_ref().map(|key| key.id);
            append_revision(txn, &updated, principal, request_id, &changed).await?;
            updated
        };
        if let Some(key) = &request {
            remember(txn, tenant_id, key, &answer).await?;
        }
        write.commit().await?;
        tracing::info!(revision = answer.revision, changed = changed.len(), "incident updated");
        Ok(answer)
    }
}

impl Store {
    /// The refusal of a body that failed to parse, with the violations of its
    /// references added, found in a read transaction: a request that cannot
    /// succeed takes no write lock, and an unknown incident does not hide them.
    async fn refuse(&self, tenant_id: Uuid, input: IncidentInput, incident_id: Option<Uuid>) -> Error {
        let checked = async {
            let txn = self.read().await?;
            let current = match incident_id {
                Some(id) => load_incident(&txn, tenant_id, id, Lock::None).await?,
                None => None,
            };
            let reference = load_reference(&txn, tenant_id, &input, current.as_ref()).await?;
            txn.commit().await.map_err(db_error)?;
            Ok::<_, Error>(reference)
        };
        match checked.await {
            // `input` carries violations, so resolving it cannot succeed.
            Ok(reference) => resolve(input, reference).err().unwrap_or(Error::Internal),
            Err(error) => error,
        }
    }
}

pub(super) fn not_found(id: Uuid) -> Error {
    Error::NotFound {
        resource: Resource::Incident,
        id: id.to_string(),
    }
}

/// Now, or a microsecond after `previous` if the clock has not moved past it:
/// `updatedDT` moves forward on every update.
fn later_than(previous: DateTime<Utc>) -> DateTime<Utc> {
    Ord::max(now(), previous + TimeDelta::microseconds(1))
}

/// Takes the tenant's next incident number. On PostgreSQL the row lock orders
/// concurrent creates; on SQLite the single writer does.
async fn next_number(txn: &impl ConnectionTrait, tenant_id: Uuid) -> Result<i64, Error> {
    tenant::Entity::update_many()
        .col_expr(
            tenant::Column::LastIncidentNumber,
            Expr::col(tenant::Column::LastIncidentNumber).add(1),
        )
        .filter(tenant::Column::Id.eq(tenant_id))
        .exec(txn)
        .await
        .map_err(db_error)?;
    let tenant = tenant::Entity::find_by_id(tenant_id).one(txn).await.map_err(db_error)?;
    tenant.map(|t| t.last_incident_number).ok_or(Error::Internal)
}

/// The row of a new incident.
fn new_row(incident: &Incident, auto_assess_jurisdictions: bool) -> incident::ActiveModel {
    incident::ActiveModel {
        tenant_id: Set(incident.tenant_id),
        id: Set(incident.id),
        number: Set(incident.number),
        date_closed: Set(incident.date_closed),
        status: Set(incident.status.as_str().to_owned()),
        auto_assess_jurisdictions: Set(auto_assess_jurisdictions),
        created_by: Set(incident.created_by),
        creator: Set(incident.creator.clone()),
        created_at: Set(incident.created_at),
        updated_at: Set(incident.updated_at),
        revision: Set(incident.revision),
        ..editable_columns(incident)
    }
}

/// The columns of the editable body.
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
        ..Default::default()
    }
}

/// The child tables of an incident's editable body.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Children {
    AttributeValues,
    Assignees,
    Jurisdictions,
}

const ALL_CHILDREN: [Children; 3] = [Children::AttributeValues, Children::Assignees, Children::Jurisdictions];

/// The child tables whose rows differ between `current` and `updated`: only
/// those are rewritten.
fn changed_children(current: &Incident, updated: &Incident) -> Vec<Children> {
    ALL_CHILDREN
        .into_iter()
        .filter(|kind| match kind {
            Children::AttributeValues => current.attribute_values != updated.attribute_values,
            Children::Assignees => current.assignees != updated.assignees,
            Children::Jurisdictions => current.jurisdictions != updated.jurisdictions,
        })
        .collect()
}

/// Deletes an incident's rows in the child tables `kinds`.
async fn delete_children(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    kinds: &[Children],
) -> Result<(), Error> {
    for kind in kinds {
        let deleted = match kind {
            Children::AttributeValues => {
                incident_attribute_value::Entity::delete_many()
                    .filter(incident_attribute_value::Column::TenantId.eq(tenant_id))
                    .filter(incident_attribute_value::Column::IncidentId.eq(id))
                    .exec(txn)
                    .await
            }
            Children::Assignees => {
                incident_assignee::Entity::delete_many()
                    .filter(incident_assignee::Column::TenantId.eq(tenant_id))
                    .filter(incident_assignee::Column::IncidentId.eq(id))
                    .exec(txn)
                    .await
            }
            Children::Jurisdictions => {
                incident_jurisdiction::Entity::delete_many()
                    .filter(incident_jurisdiction::Column::TenantId.eq(tenant_id))
                    .filter(incident_jurisdiction::Column::IncidentId.eq(id))
                    .exec(txn)
                    .await
            }
        };
        deleted.map_err(db_error)?;
    }
    Ok(())
}

/// Stores the rows of incidents in the child tables `kinds`.
async fn insert_children(txn: &impl ConnectionTrait, incidents: &[Incident], kinds: &[Children]) -> Result<(), Error> {
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
            incident
                .jurisdictions
                .iter()
                .zip(0..)
                .map(|(j, position)| incident_jurisdiction::ActiveModel {
                    incident_id: Set(incident.id),
                    position: Set(position),
                    tenant_id: Set(incident.tenant_id),
                    jurisdiction_id: Set(j.id),
                    country_code: Set(j.country_code.to_owned()),
                    state_province_code: Set(j.state_province_code.map(str::to_owned)),
                })
        })
        .collect();
    if kinds.contains(&Children::Jurisdictions) {
        insert_rows(txn, jurisdictions).await?;
    }
    Ok(())
}

/// Stores the inventory links of a new incident, one row per id.
async fn insert_links(txn: &impl ConnectionTrait, incident: &Incident) -> Result<(), Error> {
    let (tenant_id, id) = (incident.tenant_id, incident.id);
    let rows: Vec<_> = incident
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
            |((link, inventory_id, external_id), position)| incident_inventory_link::ActiveModel {
                incident_id: Set(id),
                position: Set(position),
                tenant_id: Set(tenant_id),
                inventory_type: Set(link.inventory_type.as_str().to_owned()),
                inventory_id: Set(inventory_id),
                external_id: Set(external_id),
                source_type: Set(link.source_type.as_str().to_owned()),
            },
        )
        .collect();
    insert_rows(txn, rows).await
}
