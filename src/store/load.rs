//! Reading incidents back, and the reference data a body refers to: every
//! name an incident shows is resolved here, inside the caller's transaction.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, IdenStatic, Iterable, JoinType, QueryFilter,
    QueryOrder, QuerySelect, Select, sea_query::LockType,
};
use uuid::Uuid;

use super::{
    db_error,
    entity::{
        assignee, attribute, attribute_option, incident, incident_assignee, incident_attribute_value,
        incident_inventory_link, incident_jurisdiction, incident_type, join, organization, workflow, workflow_stage,
    },
    reference::{to_assignee, to_attribute_option, to_organization},
    unknown_incident_type,
    workflow::to_stage,
};
use crate::domain::{
    Error,
    incident::{AssignedTo, ChosenValue, Incident},
    input::IncidentInput,
    inventory::InventoryLinks,
    jurisdiction::{self, Impacted},
    reference::{Assignee, IncidentType},
    resolve::ReferenceSnapshot,
    text::name_key,
    workflow::Placement,
};

/// Loads exactly the reference data `input` names. When it updates `current`
/// (read in the same transaction), what `current` already shows is taken from
/// it rather than read again: its type, its organization and its assignees.
pub(super) async fn load_reference(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    input: &IncidentInput,
    current: Option<&Incident>,
) -> Result<ReferenceSnapshot, Error> {
    let already_chosen = current.map(Incident::chosen_options).unwrap_or_default();
    let incident_type = match (&input.incident_type_name, current) {
        (None, _) => None,
        (Some(name), Some(current)) if name_key(&current.incident_type.name) == name.key() => {
            Some(current.incident_type.clone())
        }
        (Some(name), _) => incident_type::Entity::find()
            .filter(incident_type::Column::TenantId.eq(tenant_id))
            .filter(incident_type::Column::NameKey.eq(name.key()))
            .one(txn)
            .await
            .map_err(db_error)?
            .map(|t| IncidentType { id: t.id, name: t.name })
            // A tenant not written yet has its `Unknown` type all the same.
            .or_else(|| {
                let unknown = unknown_incident_type(tenant_id);
                (name_key(&unknown.name) == name.key()).then_some(unknown)
            }),
    };
    let organization = match (input.org_group_id, current) {
        (None, _) => None,
        (Some(id), Some(current)) if current.organization.id == id => Some(current.organization.clone()),
        (Some(id), _) => organization::Entity::find_by_id((tenant_id, id))
            .one(txn)
            .await
            .map_err(db_error)?
            .map(to_organization),
    };
    let shown: HashMap<Uuid, &Assignee> = current
        .map(|c| c.assignees.iter().map(|a| (a.assignee.id, &a.assignee)).collect())
        .unwrap_or_default();
    let assignees = if input.assignees.is_empty() {
        HashMap::new()
    } else if input.assignees.iter().all(|a| shown.contains_key(&a.id)) {
        shown.into_iter().map(|(id, a)| (id, a.clone())).collect()
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
        let named = attribute::Entity::find()
            .filter(attribute::Column::TenantId.eq(tenant_id))
            .filter(attribute::Column::NameKey.is_in(input.attribute_keys()));
        super::reference::with_options(txn, named)
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
    /// `SELECT id ... FOR UPDATE` on PostgreSQL; SQLite's single writer
    /// needs none.
    ForUpdate,
}

/// An incident row with its type and organization, read in one query. They are
/// optional only because a left join could miss them; a row that misses one is
/// reported as corrupt.
#[derive(FromQueryResult)]
pub(super) struct IncidentRow {
    #[sea_orm(nested)]
    incident: incident::Model,
    #[sea_orm(nested(prefix = "type_"))]
    incident_type: Option<incident_type::Model>,
    #[sea_orm(nested(prefix = "org_"))]
    organization: Option<organization::Model>,
    #[sea_orm(nested(prefix = "stage_"))]
    stage: Option<workflow_stage::Model>,
    #[sea_orm(nested(prefix = "workflow_"))]
    workflow: Option<workflow::Model>,
}

/// The incidents `query` selects, each with its type, organization, workflow
/// and stage joined.
pub(super) fn with_names(query: Select<incident::Entity>) -> sea_orm::Selector<sea_orm::SelectModel<IncidentRow>> {
    let query = query
        .join(JoinType::LeftJoin, join::incident_type())
        .join(JoinType::LeftJoin, join::organization())
        .join(JoinType::LeftJoin, join::stage())
        .join(JoinType::LeftJoin, join::workflow());
    let query = also(query, incident_type::Entity, "type_");
    let query = also(query, organization::Entity, "org_");
    let query = also(query, workflow_stage::Entity, "stage_");
    also(query, workflow::Entity, "workflow_").into_model()
}

/// Adds every column of `entity` to `query`, each named with `prefix`, to be
/// read back by a model nested with that prefix.
fn also<Q: QuerySelect, E: EntityTrait>(query: Q, _entity: E, prefix: &str) -> Q {
    E::Column::iter().fold(query, |query, column| {
        query.column_as(column, format!("{prefix}{}", column.as_str()))
    })
}

/// Reads an incident with every name it shows resolved from reference data.
pub(super) async fn load_incident(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    lock: Lock,
) -> Result<Option<Incident>, Error> {
    if let Lock::ForUpdate = lock
        && txn.get_database_backend() == DbBackend::Postgres
    {
        // The incident's row alone, locked by a query of its own: a join locked
        // with it would be checked again, after waiting, against the names it
        // had before (a stage just left), and miss them. The query below then
        // sees the row as the transaction that held the lock left it.
        let mut locking = incident::Entity::find_by_id((tenant_id, id))
            .select_only()
            .column(incident::Column::Id);
        QuerySelect::query(&mut locking).lock(LockType::Update);
        let locked: Option<Uuid> = locking.into_tuple().one(txn).await.map_err(db_error)?;
        if locked.is_none() {
            return Ok(None);
        }
    }
    let query = incident::Entity::find_by_id((tenant_id, id));
    let Some(row) = with_names(query).one(txn).await.map_err(db_error)? else {
        return Ok(None);
    };
    Ok(load_incidents(txn, tenant_id, vec![row]).await?.pop())
}

/// Completes incident rows of one tenant with their child rows and every name
/// they show, in the rows' order: one query per child table, however many rows.
pub(super) async fn load_incidents(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    rows: Vec<IncidentRow>,
) -> Result<Vec<Incident>, Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.incident.id).collect();
    let mut attribute_values = load_attribute_values(txn, tenant_id, &ids).await?;
    let mut assignees = load_assignees(txn, tenant_id, &ids).await?;
    let mut linked_inventories = load_links(txn, tenant_id, &ids).await?;
    let mut jurisdictions = load_jurisdictions(txn, tenant_id, &ids).await?;
    rows.into_iter()
        .map(
            |IncidentRow {
                 incident: row,
                 incident_type,
                 organization,
                 stage,
                 workflow,
             }| {
                let id = row.id;
                Ok(Incident {
                    id,
                    tenant_id: row.tenant_id,
                    number: row.number,
                    name: row.name,
                    description: row.description,
                    incident_type: incident_type
                        .map(|t| IncidentType { id: t.id, name: t.name })
                        .ok_or_else(|| corrupt("incident type", id))?,
                    organization: organization
                        .map(to_organization)
                        .ok_or_else(|| corrupt("organization", id))?,
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
                    stage: match (stage, workflow) {
                        (Some(stage), Some(workflow)) => Placement {
                            workflow_id: workflow.id,
                            workflow_name: workflow.name,
                            stage: to_stage(stage),
                        },
                        _ => return Err(corrupt("stage", id)),
                    },
                    status: row.status.parse().map_err(|_| corrupt("status", id))?,
                    created_by: row.created_by,
                    creator: row.creator,
                    created_at: row.created_at,
                    updated_at: row.updated_at,
                    revision: row.revision,
                    attribute_values: attribute_values.remove(&id).unwrap_or_default(),
                    assignees: assignees.remove(&id).unwrap_or_default(),
                    jurisdictions: jurisdictions.remove(&id).unwrap_or_default(),
                    linked_inventories: linked_inventories.remove(&id).unwrap_or_default(),
                    notices: serde_json::from_str(&row.notices).map_err(|_| corrupt("notices", id))?,
                })
            },
        )
        .collect()
}

/// A stored row that the code cannot read back: logged, and INTERNAL to the caller.
fn corrupt(what: &str, id: Uuid) -> Error {
    tracing::error!(incident_id = %id, what, "stored incident refers to something unreadable");
    Error::Internal
}

/// An attribute value with the attribute and the option it names.
#[derive(FromQueryResult)]
struct ValueRow {
    #[sea_orm(nested)]
    value: incident_attribute_value::Model,
    #[sea_orm(nested(prefix = "attribute_"))]
    attribute: Option<attribute::Model>,
    #[sea_orm(nested(prefix = "option_"))]
    option: Option<attribute_option::Model>,
}

/// The attribute values of incidents, by incident, each in its stored order.
async fn load_attribute_values(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<ChosenValue>>, Error> {
    let query = incident_attribute_value::Entity::find()
        .filter(incident_attribute_value::Column::TenantId.eq(tenant_id))
        .filter(incident_attribute_value::Column::IncidentId.is_in(ids.iter().copied()))
        .join(JoinType::LeftJoin, join::value_attribute())
        .join(JoinType::LeftJoin, join::value_option())
        .order_by_asc(incident_attribute_value::Column::IncidentId)
        .order_by_asc(incident_attribute_value::Column::Position);
    let query = also(query, attribute::Entity, "attribute_");
    let rows = also(query, attribute_option::Entity, "option_")
        .into_model::<ValueRow>()
        .all(txn)
        .await
        .map_err(db_error)?;
    let mut by_incident: HashMap<Uuid, Vec<ChosenValue>> = HashMap::new();
    for ValueRow {
        value,
        attribute,
        option,
    } in rows
    {
        let id = value.incident_id;
        let attribute = attribute.ok_or_else(|| corrupt("attribute", id))?;
        let option = match (value.option_id, option) {
            (None, _) => None,
            (Some(_), Some(option)) => Some(to_attribute_option(option)),
            (Some(_), None) => return Err(corrupt("option", id)),
        };
        by_incident.entry(id).or_default().push(ChosenValue {
            attribute_id: value.attribute_id,
            attribute_name: attribute.name,
            option,
            text: value.text_value,
        });
    }
    Ok(by_incident)
}

/// An incident's assignee with the directory entry it names.
#[derive(FromQueryResult)]
struct AssigneeRow {
    #[sea_orm(nested)]
    assigned: incident_assignee::Model,
    #[sea_orm(nested(prefix = "assignee_"))]
    assignee: Option<assignee::Model>,
}

/// The assignees of incidents, by incident, each in its stored order.
async fn load_assignees(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<AssignedTo>>, Error> {
    let query = incident_assignee::Entity::find()
        .filter(incident_assignee::Column::TenantId.eq(tenant_id))
        .filter(incident_assignee::Column::IncidentId.is_in(ids.iter().copied()))
        .join(JoinType::LeftJoin, join::assignee())
        .order_by_asc(incident_assignee::Column::IncidentId)
        .order_by_asc(incident_assignee::Column::Position);
    let rows = also(query, assignee::Entity, "assignee_")
        .into_model::<AssigneeRow>()
        .all(txn)
        .await
        .map_err(db_error)?;
    let mut by_incident: HashMap<Uuid, Vec<AssignedTo>> = HashMap::new();
    for AssigneeRow { assigned, assignee } in rows {
        let id = assigned.incident_id;
        let assignee = assignee.and_then(to_assignee).ok_or_else(|| corrupt("assignee", id))?;
        by_incident.entry(id).or_default().push(AssignedTo {
            assignee,
            email: assigned.email,
        });
    }
    Ok(by_incident)
}

/// The jurisdictions of incidents, by incident, each in its stored order.
async fn load_jurisdictions(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Impacted>>, Error> {
    let rows = incident_jurisdiction::Entity::find()
        .filter(incident_jurisdiction::Column::TenantId.eq(tenant_id))
        .filter(incident_jurisdiction::Column::IncidentId.is_in(ids.iter().copied()))
        .order_by_asc(incident_jurisdiction::Column::IncidentId)
        .order_by_asc(incident_jurisdiction::Column::Position)
        .all(txn)
        .await
        .map_err(db_error)?;
    let mut by_incident: HashMap<Uuid, Vec<Impacted>> = HashMap::new();
    for r in rows {
        let found = jurisdiction::by_id(r.jurisdiction_id).ok_or_else(|| corrupt("jurisdiction", r.incident_id))?;
        let affected_individuals = match r.affected_individuals.map(u64::try_from) {
            None => None,
            Some(Ok(count)) => Some(count),
            Some(Err(_)) => return Err(corrupt("jurisdiction count", r.incident_id)),
        };
        by_incident.entry(r.incident_id).or_default().push(Impacted {
            jurisdiction: found,
            affected_individuals,
        });
    }
    Ok(by_incident)
}

/// The inventory links of incidents, by incident, grouped by inventory type in
/// the order given.
async fn load_links(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<InventoryLinks>>, Error> {
    let rows = incident_inventory_link::Entity::find()
        .filter(incident_inventory_link::Column::TenantId.eq(tenant_id))
        .filter(incident_inventory_link::Column::IncidentId.is_in(ids.iter().copied()))
        .order_by_asc(incident_inventory_link::Column::IncidentId)
        .order_by_asc(incident_inventory_link::Column::Position)
        .all(txn)
        .await
        .map_err(db_error)?;
    let mut by_incident: HashMap<Uuid, Vec<InventoryLinks>> = HashMap::new();
    for row in rows {
        let id = row.incident_id;
        let links = by_incident.entry(id).or_default();
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
    Ok(by_incident)
}
