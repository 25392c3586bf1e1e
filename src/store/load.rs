//! Reading incidents back, and the reference data a body refers to: every
//! name an incident shows is resolved here, inside the caller's transaction.

use std::collections::{HashMap, HashSet};

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::{
    db_error,
    entity::{
        assignee, attribute, attribute_option, incident, incident_assignee, incident_attribute_value,
        incident_inventory_link, incident_jurisdiction, incident_type, organization,
    },
    reference::{to_assignee, to_attribute_option, to_organization},
};
use crate::domain::{
    Error,
    incident::{AssignedTo, ChosenValue, Incident},
    input::IncidentInput,
    inventory::InventoryLinks,
    jurisdiction,
    reference::IncidentType,
    resolve::ReferenceSnapshot,
    text::name_key,
};

/// Loads exactly the reference data `input` names.
pub(super) async fn load_reference(
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

/// Whether reading an incident also locks its row for the rest of the transaction.
pub(super) enum Lock {
    None,
    /// `SELECT ... FOR UPDATE` on PostgreSQL; SQLite's single writer needs none.
    ForUpdate,
}

/// Reads an incident with every name it shows resolved from reference data.
pub(super) async fn load_incident(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    lock: Lock,
) -> Result<Option<Incident>, Error> {
    let query = incident::Entity::find_by_id((tenant_id, id));
    let query = match lock {
        Lock::None => query,
        Lock::ForUpdate => query.lock_exclusive(),
    };
    let Some(row) = query.one(txn).await.map_err(db_error)? else {
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
    let linked_inventories = load_links(txn, tenant_id, id).await?;
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
        linked_inventories,
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

/// The inventory links of an incident, grouped by inventory type in the order given.
async fn load_links(txn: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> Result<Vec<InventoryLinks>, Error> {
    let rows = incident_inventory_link::Entity::find()
        .filter(incident_inventory_link::Column::TenantId.eq(tenant_id))
        .filter(incident_inventory_link::Column::IncidentId.eq(id))
        .order_by_asc(incident_inventory_link::Column::Position)
        .all(txn)
        .await
        .map_err(db_error)?;
    let mut links: Vec<InventoryLinks> = Vec::new();
    for row in rows {
        let inventory_type = row.inventory_type.parse().map_err(|_| corrupt("inventory type", id))?;
        let source_type = row
            .source_type
            .parse()
            .map_err(|_| corrupt("inventory source type", id))?;
        let at = match links.iter().position(|l| l.inventory_type == inventory_type) {
            Some(at) => at,
            None => {
                links.push(InventoryLinks {
                    inventory_type,
                    inventory_ids: Vec::new(),
                    external_ids: Vec::new(),
                    source_type,
                });
                links.len() - 1
            }
        };
        match (row.inventory_id, row.external_id) {
            (Some(inventory_id), _) => links[at].inventory_ids.push(inventory_id),
            (None, Some(external_id)) => links[at].external_ids.push(external_id),
            (None, None) => return Err(corrupt("inventory link", id)),
        }
    }
    Ok(links)
}
