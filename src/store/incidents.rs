//! Incidents: create, read and update, each in one transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::{
    Store, db_error,
    entity::{
        assignee, attribute, attribute_option, incident, incident_assignee, incident_attribute_value,
        incident_jurisdiction, incident_type, organization, tenant,
    },
    now,
    reference::{to_assignee, to_attribute_option, to_organization},
};
use crate::{
    auth::Principal,
    domain::{
        Error, Resource,
        enums::IncidentStatus,
        incident::{AssignedTo, ChosenValue, Incident, IncidentDraft, IncidentInput},
        jurisdiction,
        reference::IncidentType,
        resolve::{ReferenceSnapshot, resolve},
        text::name_key,
    },
};

impl Store {
    /// Creates an incident with the tenant's next number.
    #[tracing::instrument(skip_all, fields(tenant_id = %principal.tenant_id))]
    pub async fn create_incident(
        &self,
        principal: &Principal,
        input: IncidentInput,
        auto_assess_jurisdictions: bool,
    ) -> Result<Incident, Error> {
        let tenant_id = principal.tenant_id;
        let write = self.write(tenant_id).await?;
        let txn = &write.txn;
        let reference = load_reference(txn, tenant_id, &input, HashSet::new()).await?;
        let draft = resolve(input, reference)?;
        let number = next_number(txn, tenant_id).await?;
        let id = Uuid::now_v7();
        let at = now();
        let row = incident::ActiveModel {
            tenant_id: Set(tenant_id),
            id: Set(id),
            number: Set(number),
            date_closed: Set(None),
            status: Set(IncidentStatus::Open.as_str().to_owned()),
            auto_assess_jurisdictions: Set(auto_assess_jurisdictions),
            created_by: Set(principal.subject),
            creator: Set(principal.display_name()),
            created_at: Set(at),
            updated_at: Set(at),
            revision: Set(1),
            ..editable_columns(&draft)
        };
        incident::Entity::insert(row)
            .exec_without_returning(txn)
            .await
            .map_err(db_error)?;
        insert_children(txn, tenant_id, id, &draft).await?;
        let created = load_incident(txn, tenant_id, id).await?.ok_or(Error::Internal)?;
        write.commit().await?;
        tracing::info!(incident_id = %id, number, "incident created");
        Ok(created)
    }

    /// Reads one incident of the tenant.
    pub async fn get_incident(&self, tenant_id: Uuid, id: Uuid) -> Result<Incident, Error> {
        let txn = self.read().await?;
        let found = load_incident(&txn, tenant_id, id).await?;
        txn.commit().await.map_err(db_error)?;
        found.ok_or_else(|| not_found(id))
    }

    /// Replaces the editable body of an incident (the original PUT).
    #[tracing::instrument(skip_all, fields(tenant_id = %principal.tenant_id, incident_id = %id))]
    pub async fn update_incident(
        &self,
        principal: &Principal,
        id: Uuid,
        input: IncidentInput,
    ) -> Result<Incident, Error> {
        let tenant_id = principal.tenant_id;
        let write = self.write(tenant_id).await?;
        let txn = &write.txn;
        // Locks the row on PostgreSQL, so concurrent updates of one incident queue
        // instead of interleaving their child rows. SQLite has one writer anyway.
        let current = incident::Entity::find_by_id((tenant_id, id))
            .lock_exclusive()
            .one(txn)
            .await
            .map_err(db_error)?
            .ok_or_else(|| not_found(id))?;
        let reference = load_reference(txn, tenant_id, &input, chosen_options(txn, tenant_id, id).await?).await?;
        let draft = resolve(input, reference)?;
        let row = incident::ActiveModel {
            tenant_id: Set(tenant_id),
            id: Set(id),
            updated_at: Set(later_than(current.updated_at)),
            revision: Set(current.revision + 1),
            ..editable_columns(&draft)
        };
        incident::Entity::update(row).exec(txn).await.map_err(db_error)?;
        delete_children(txn, tenant_id, id).await?;
        insert_children(txn, tenant_id, id, &draft).await?;
        let updated = load_incident(txn, tenant_id, id).await?.ok_or(Error::Internal)?;
        write.commit().await?;
        tracing::info!(revision = updated.revision, "incident updated");
        Ok(updated)
    }
}

fn not_found(id: Uuid) -> Error {
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

fn editable_columns(draft: &IncidentDraft) -> incident::ActiveModel {
    incident::ActiveModel {
        name: Set(draft.name.as_str().to_owned()),
        description: Set(draft.description.as_ref().map(|d| d.as_str().to_owned())),
        incident_type_id: Set(draft.incident_type.id),
        org_group_id: Set(draft.organization.id),
        date_occurred: Set(draft.date_occurred),
        date_discovered: Set(draft.date_discovered),
        deadline: Set(draft.deadline),
        source_type: Set(draft.source_type.as_str().to_owned()),
        root_cause: Set(draft.root_cause.as_ref().map(|r| r.as_str().to_owned())),
        notification_needed: Set(draft.notification_needed.as_str().to_owned()),
        ..Default::default()
    }
}

/// The options currently chosen on an incident: they may stay even when disabled.
async fn chosen_options(txn: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> Result<HashSet<Uuid>, Error> {
    let rows = incident_attribute_value::Entity::find()
        .filter(incident_attribute_value::Column::TenantId.eq(tenant_id))
        .filter(incident_attribute_value::Column::IncidentId.eq(id))
        .all(txn)
        .await
        .map_err(db_error)?;
    Ok(rows.into_iter().filter_map(|r| r.option_id).collect())
}

/// Loads exactly the reference data `input` names.
async fn load_reference(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    input: &IncidentInput,
    already_chosen: HashSet<Uuid>,
) -> Result<ReferenceSnapshot, Error> {
    let incident_type = match &input.incident_type_name {
        None => None,
        Some(name) => incident_type::Entity::find()
            .filter(incident_type::Column::TenantId.eq(tenant_id))
            .filter(incident_type::Column::NameKey.eq(name.key()))
            .one(txn)
            .await
            .map_err(db_error)?
            .map(|t| IncidentType { id: t.id, name: t.name }),
    };
    let organization = match input.org_group_id {
        None => None,
        Some(id) => organization::Entity::find_by_id((tenant_id, id))
            .one(txn)
            .await
            .map_err(db_error)?
            .map(to_organization),
    };
    let assignees = if input.assignees.is_empty() {
        HashMap::new()
    } else {
        assignee::Entity::find()
            .filter(assignee::Column::TenantId.eq(tenant_id))
            .filter(assignee::Column::Id.is_in(input.assignee_ids()))
            .all(txn)
            .await
            .map_err(db_error)?
            .into_iter()
            .filter_map(|a| to_assignee(a).map(|a| (a.id, a)))
            .collect()
    };
    let attributes = if input.attribute_values.is_empty() {
        HashMap::new()
    } else {
        let rows = attribute::Entity::find()
            .filter(attribute::Column::TenantId.eq(tenant_id))
            .filter(attribute::Column::NameKey.is_in(input.attribute_keys()))
            .all(txn)
            .await
            .map_err(db_error)?;
        super::reference::with_options(txn, tenant_id, rows)
            .await?
            .into_iter()
            .map(|a| (name_key(&a.name), a))
            .collect()
    };
    Ok(ReferenceSnapshot {
        incident_type,
        organization,
        assignees,
        attributes,
        already_chosen,
    })
}

async fn delete_children(txn: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> Result<(), Error> {
    incident_attribute_value::Entity::delete_many()
        .filter(incident_attribute_value::Column::TenantId.eq(tenant_id))
        .filter(incident_attribute_value::Column::IncidentId.eq(id))
        .exec(txn)
        .await
        .map_err(db_error)?;
    incident_assignee::Entity::delete_many()
        .filter(incident_assignee::Column::TenantId.eq(tenant_id))
        .filter(incident_assignee::Column::IncidentId.eq(id))
        .exec(txn)
        .await
        .map_err(db_error)?;
    incident_jurisdiction::Entity::delete_many()
        .filter(incident_jurisdiction::Column::TenantId.eq(tenant_id))
        .filter(incident_jurisdiction::Column::IncidentId.eq(id))
        .exec(txn)
        .await
        .map_err(db_error)?;
    Ok(())
}

async fn insert_children(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    draft: &IncidentDraft,
) -> Result<(), Error> {
    if !draft.attribute_values.is_empty() {
        let rows =
            draft
                .attribute_values
                .iter()
                .zip(0..)
                .map(|(value, position)| incident_attribute_value::ActiveModel {
                    incident_id: Set(id),
                    position: Set(position),
                    tenant_id: Set(tenant_id),
                    attribute_id: Set(value.attribute_id),
                    option_id: Set(value.option.as_ref().map(|o| o.id)),
                    text_value: Set(value.text.clone()),
                });
        incident_attribute_value::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await
            .map_err(db_error)?;
    }
    if !draft.assignees.is_empty() {
        let rows = draft
            .assignees
            .iter()
            .zip(0..)
            .map(|(assigned, position)| incident_assignee::ActiveModel {
                incident_id: Set(id),
                position: Set(position),
                tenant_id: Set(tenant_id),
                assignee_id: Set(assigned.assignee.id),
                email: Set(assigned.email.clone()),
            });
        incident_assignee::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await
            .map_err(db_error)?;
    }
    if !draft.jurisdictions.is_empty() {
        let rows = draft
            .jurisdictions
            .iter()
            .zip(0..)
            .map(|(j, position)| incident_jurisdiction::ActiveModel {
                incident_id: Set(id),
                position: Set(position),
                tenant_id: Set(tenant_id),
                jurisdiction_id: Set(j.id),
                country_code: Set(j.country_code.to_owned()),
                state_province_code: Set(j.state_province_code.map(str::to_owned)),
            });
        incident_jurisdiction::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// Reads an incident with every name it shows resolved from reference data.
async fn load_incident(txn: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> Result<Option<Incident>, Error> {
    let Some(row) = incident::Entity::find_by_id((tenant_id, id))
        .one(txn)
        .await
        .map_err(db_error)?
    else {
        return Ok(None);
    };
    let incident_type = incident_type::Entity::find_by_id((tenant_id, row.incident_type_id))
        .one(txn)
        .await
        .map_err(db_error)?
        .map(|t| IncidentType { id: t.id, name: t.name })
        .ok_or_else(|| corrupt("incident type", id))?;
    let organization = organization::Entity::find_by_id((tenant_id, row.org_group_id))
        .one(txn)
        .await
        .map_err(db_error)?
        .map(to_organization)
        .ok_or_else(|| corrupt("organization", id))?;
    let attribute_values = load_attribute_values(txn, tenant_id, id).await?;
    let assignees = load_assignees(txn, tenant_id, id).await?;
    let jurisdictions = incident_jurisdiction::Entity::find()
        .filter(incident_jurisdiction::Column::TenantId.eq(tenant_id))
        .filter(incident_jurisdiction::Column::IncidentId.eq(id))
        .order_by_asc(incident_jurisdiction::Column::Position)
        .all(txn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|j| jurisdiction::by_id(j.jurisdiction_id).ok_or_else(|| corrupt("jurisdiction", id)))
        .collect::<Result<_, _>>()?;
    Ok(Some(Incident {
        id: row.id,
        tenant_id: row.tenant_id,
        number: row.number,
        name: row.name,
        description: row.description,
        incident_type,
        organization,
        date_occurred: row.date_occurred,
        date_discovered: row.date_discovered,
        deadline: row.deadline,
        date_closed: row.date_closed,
        source_type: row.source_type.parse().map_err(|_| corrupt("source type", id))?,
        root_cause: row.root_cause,
        notification_needed: row
            .notification_needed
            .parse()
            .map_err(|_| corrupt("notification needed", id))?,
        status: row.status.parse().map_err(|_| corrupt("status", id))?,
        created_by: row.created_by,
        creator: row.creator,
        created_at: row.created_at,
        updated_at: row.updated_at,
        revision: row.revision,
        attribute_values,
        assignees,
        jurisdictions,
    }))
}

/// A stored row that the code cannot read back: logged, and INTERNAL to the caller.
fn corrupt(what: &str, id: Uuid) -> Error {
    tracing::error!(incident_id = %id, what, "stored incident refers to something unreadable");
    Error::Internal
}

async fn load_attribute_values(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Vec<ChosenValue>, Error> {
    let rows = incident_attribute_value::Entity::find()
        .filter(incident_attribute_value::Column::TenantId.eq(tenant_id))
        .filter(incident_attribute_value::Column::IncidentId.eq(id))
        .order_by_asc(incident_attribute_value::Column::Position)
        .all(txn)
        .await
        .map_err(db_error)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let attribute_ids: HashSet<Uuid> = rows.iter().map(|r| r.attribute_id).collect();
    let names: HashMap<Uuid, String> = attribute::Entity::find()
        .filter(attribute::Column::TenantId.eq(tenant_id))
        .filter(attribute::Column::Id.is_in(attribute_ids))
        .select_only()
        .column(attribute::Column::Id)
        .column(attribute::Column::Name)
        .into_tuple::<(Uuid, String)>()
        .all(txn)
        .await
        .map_err(db_error)?
        .into_iter()
        .collect();
    let option_ids: HashSet<Uuid> = rows.iter().filter_map(|r| r.option_id).collect();
    let options: HashMap<Uuid, _> = if option_ids.is_empty() {
        HashMap::new()
    } else {
        attribute_option::Entity::find()
            .filter(attribute_option::Column::TenantId.eq(tenant_id))
            .filter(attribute_option::Column::Id.is_in(option_ids))
            .all(txn)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|o| (o.id, to_attribute_option(o)))
            .collect()
    };
    rows.into_iter()
        .map(|r| {
            let attribute_name = names
                .get(&r.attribute_id)
                .cloned()
                .ok_or_else(|| corrupt("attribute", id))?;
            let option = match r.option_id {
                None => None,
                Some(option_id) => Some(options.get(&option_id).cloned().ok_or_else(|| corrupt("option", id))?),
            };
            Ok(ChosenValue {
                attribute_id: r.attribute_id,
                attribute_name,
                option,
                text: r.text_value,
            })
        })
        .collect()
}

async fn load_assignees(txn: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> Result<Vec<AssignedTo>, Error> {
    let rows = incident_assignee::Entity::find()
        .filter(incident_assignee::Column::TenantId.eq(tenant_id))
        .filter(incident_assignee::Column::IncidentId.eq(id))
        .order_by_asc(incident_assignee::Column::Position)
        .all(txn)
        .await
        .map_err(db_error)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let directory: HashMap<Uuid, _> = assignee::Entity::find()
        .filter(assignee::Column::TenantId.eq(tenant_id))
        .filter(assignee::Column::Id.is_in(rows.iter().map(|r| r.assignee_id)))
        .all(txn)
        .await
        .map_err(db_error)?
        .into_iter()
        .filter_map(|a| to_assignee(a).map(|a| (a.id, a)))
        .collect();
    rows.into_iter()
        .map(|r| {
            let assignee = directory
                .get(&r.assignee_id)
                .cloned()
                .ok_or_else(|| corrupt("assignee", id))?;
            Ok(AssignedTo {
                assignee,
                email: r.email,
            })
        })
        .collect()
}
