//! Reference data: create and list organizations, incident types, attributes
//! with options, and assignees of a tenant.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use super::{
    Store, db_error,
    entity::{assignee, attribute, attribute_option, incident_type, join, organization},
    unique_or_db_error, unknown_incident_type,
};
use crate::domain::{
    Error,
    reference::{
        Assignee, Attribute, AttributeOption, IncidentType, NewAssignee, NewAttribute, NewIncidentType,
        NewOrganization, Organization, ReferenceBatch,
    },
    text::{name_key, shorten},
};

pub(super) fn to_organization(row: organization::Model) -> Organization {
    Organization {
        id: row.id,
        name: row.name,
        parent_id: row.parent_id,
    }
}

pub(super) fn to_attribute_option(row: attribute_option::Model) -> AttributeOption {
    AttributeOption {
        id: row.id,
        value: row.value,
        disabled: row.disabled,
    }
}

/// A directory entry; a row with an unknown kind is logged and skipped.
pub(super) fn to_assignee(row: assignee::Model) -> Option<Assignee> {
    let kind = row
        .kind
        .parse()
        .inspect_err(|_| tracing::error!(assignee_id = %row.id, "unknown assignee kind"))
        .ok()?;
    Some(Assignee {
        id: row.id,
        name: row.name,
        email: row.email,
        kind,
    })
}

/// The attributes `query` selects, in its order, each with its options in order:
/// one query.
pub(super) async fn with_options(
    conn: &impl ConnectionTrait,
    query: Select<attribute::Entity>,
) -> Result<Vec<Attribute>, Error> {
    query
        .join(JoinType::LeftJoin, join::attribute_options())
        .order_by_asc(attribute_option::Column::Position)
        .select_with(attribute_option::Entity)
        .all(conn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|(row, options)| {
            let kind = row.kind.parse().map_err(|_| {
                tracing::error!(attribute_id = %row.id, "unknown attribute kind");
                Error::Internal
            })?;
            Ok(Attribute {
                id: row.id,
                options: options.into_iter().map(to_attribute_option).collect(),
                name: row.name,
                kind,
            })
        })
        .collect()
}

impl Store {
    /// Whether no tenant has used this database yet.
    pub async fn is_empty(&self) -> Result<bool, Error> {
        use sea_orm::PaginatorTrait;
        let tenants = super::entity::tenant::Entity::find()
            .count(self.connection())
            .await
            .map_err(db_error)?;
        Ok(tenants == 0)
    }

    /// Creates a whole set of reference data in one transaction: all or nothing.
    pub async fn create_reference_data(&self, tenant_id: Uuid, batch: ReferenceBatch) -> Result<(), Error> {
        let write = self.write(tenant_id).await?;
        for (id, new) in batch.organizations {
            insert_organization(&write.txn, tenant_id, id, new).await?;
        }
        for (id, new) in batch.incident_types {
            insert_incident_type(&write.txn, tenant_id, id, new).await?;
        }
        for (id, new) in batch.attributes {
            insert_attribute(&write.txn, tenant_id, id, new).await?;
        }
        for (id, new) in batch.assignees {
            insert_assignee(&write.txn, tenant_id, id, new).await?;
        }
        write.commit().await
    }

    pub async fn create_organization(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        new: NewOrganization,
    ) -> Result<Organization, Error> {
        let write = self.write(tenant_id).await?;
        let created = insert_organization(&write.txn, tenant_id, id, new).await?;
        write.commit().await?;
        Ok(created)
    }

    pub async fn list_organizations(&self, tenant_id: Uuid) -> Result<Vec<Organization>, Error> {
        let rows = organization::Entity::find()
            .filter(organization::Column::TenantId.eq(tenant_id))
            .order_by_asc(organization::Column::Name)
            .order_by_asc(organization::Column::Id)
            .all(self.connection())
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().map(to_organization).collect())
    }

    pub async fn create_incident_type(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        new: NewIncidentType,
    ) -> Result<IncidentType, Error> {
        let write = self.write(tenant_id).await?;
        let created = insert_incident_type(&write.txn, tenant_id, id, new).await?;
        write.commit().await?;
        Ok(created)
    }

    /// The tenant's incident types by name; `Unknown` is there even before the
    /// tenant's first write.
    pub async fn list_incident_types(&self, tenant_id: Uuid) -> Result<Vec<IncidentType>, Error> {
        let rows = incident_type::Entity::find()
            .filter(incident_type::Column::TenantId.eq(tenant_id))
            .order_by_asc(incident_type::Column::NameKey)
            .all(self.connection())
            .await
            .map_err(db_error)?;
        let mut types: Vec<IncidentType> = rows
            .into_iter()
            .map(|t| IncidentType { id: t.id, name: t.name })
            .collect();
        let unknown = unknown_incident_type(tenant_id);
        if !types.iter().any(|t| t.id == unknown.id) {
            types.push(unknown);
            types.sort_by_cached_key(|t| name_key(&t.name));
        }
        Ok(types)
    }

    pub async fn create_attribute(&self, tenant_id: Uuid, id: Uuid, new: NewAttribute) -> Result<Attribute, Error> {
        let write = self.write(tenant_id).await?;
        let created = insert_attribute(&write.txn, tenant_id, id, new).await?;
        write.commit().await?;
        Ok(created)
    }

    pub async fn list_attributes(&self, tenant_id: Uuid) -> Result<Vec<Attribute>, Error> {
        let txn = self.read().await?;
        let all = attribute::Entity::find()
            .filter(attribute::Column::TenantId.eq(tenant_id))
            .order_by_asc(attribute::Column::NameKey);
        let attributes = with_options(&txn, all).await?;
        txn.commit().await.map_err(db_error)?;
        Ok(attributes)
    }

    pub async fn create_assignee(&self, tenant_id: Uuid, id: Uuid, new: NewAssignee) -> Result<Assignee, Error> {
        let write = self.write(tenant_id).await?;
        let created = insert_assignee(&write.txn, tenant_id, id, new).await?;
        write.commit().await?;
        Ok(created)
    }

    pub async fn list_assignees(&self, tenant_id: Uuid) -> Result<Vec<Assignee>, Error> {
        let rows = assignee::Entity::find()
            .filter(assignee::Column::TenantId.eq(tenant_id))
            .order_by_asc(assignee::Column::Name)
            .order_by_asc(assignee::Column::Id)
            .all(self.connection())
            .await
            .map_err(db_error)?;
        Ok(rows.into_iter().filter_map(to_assignee).collect())
    }
}

async fn insert_organization(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    new: NewOrganization,
) -> Result<Organization, Error> {
    if let Some(parent_id) = new.parent_id {
        let parent = organization::Entity::find_by_id((tenant_id, parent_id))
            .one(txn)
            .await
            .map_err(db_error)?;
        if parent.is_none() {
            return Err(Error::invalid("parentId", "is not an organization of this tenant"));
        }
    }
    let row = organization::Model {
        tenant_id,
        id,
        name: new.name.into_inner(),
        parent_id: new.parent_id,
    };
    organization::Entity::insert(organization::ActiveModel::from(row.clone()))
        .exec_without_returning(txn)
        .await
        .map_err(db_error)?;
    Ok(to_organization(row))
}

async fn insert_incident_type(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    new: NewIncidentType,
) -> Result<IncidentType, Error> {
    let row = incident_type::Model {
        tenant_id,
        id,
        name_key: new.name.key(),
        name: new.name.into_inner(),
    };
    incident_type::Entity::insert(incident_type::ActiveModel::from(row.clone()))
        .exec_without_returning(txn)
        .await
        .map_err(|e| unique_or_db_error(e, || format!("the incident type {} exists already", shorten(&row.name))))?;
    Ok(IncidentType {
        id: row.id,
        name: row.name,
    })
}

/// Option ids are derived from the attribute id and the option's value key.
async fn insert_attribute(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    new: NewAttribute,
) -> Result<Attribute, Error> {
    let row = attribute::Model {
        tenant_id,
        id,
        name_key: new.name.key(),
        name: new.name.into_inner(),
        kind: new.kind.as_str().to_owned(),
    };
    attribute::Entity::insert(attribute::ActiveModel::from(row.clone()))
        .exec_without_returning(txn)
        .await
        .map_err(|e| unique_or_db_error(e, || format!("the attribute {} exists already", shorten(&row.name))))?;
    let options: Vec<attribute_option::Model> = new
        .options
        .into_iter()
        .zip(0..)
        .map(|((value, disabled), position)| attribute_option::Model {
            tenant_id,
            id: Uuid::new_v5(&id, value.key().as_bytes()),
            attribute_id: row.id,
            value_key: value.key(),
            value: value.into_inner(),
            disabled,
            position,
        })
        .collect();
    if !options.is_empty() {
        attribute_option::Entity::insert_many(options.iter().cloned().map(attribute_option::ActiveModel::from))
            .exec_without_returning(txn)
            .await
            .map_err(db_error)?;
    }
    Ok(Attribute {
        id: row.id,
        name: row.name,
        kind: new.kind,
        options: options.into_iter().map(to_attribute_option).collect(),
    })
}

async fn insert_assignee(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    new: NewAssignee,
) -> Result<Assignee, Error> {
    let assignee = Assignee {
        id,
        name: new.name.into_inner(),
        email: new.email.map(|e| e.as_str().to_owned()),
        kind: new.kind,
    };
    let row = assignee::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(assignee.id),
        name: Set(assignee.name.clone()),
        email: Set(assignee.email.clone()),
        kind: Set(assignee.kind.as_str().to_owned()),
    };
    assignee::Entity::insert(row)
        .exec_without_returning(txn)
        .await
        .map_err(db_error)?;
    Ok(assignee)
}
