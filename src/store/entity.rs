//! sea-orm entities: one per table of `migration.rs`. Relations are not declared:
//! the joins the store's queries take are in `join`, each within the tenant.

macro_rules! entity {
    ($module:ident, $table:literal, { $($(#[$attr:meta])* $field:ident: $ty:ty),+ $(,)? }) => {
        pub mod $module {
            use sea_orm::entity::prelude::*;

            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
            #[sea_orm(table_name = $table)]
            pub struct Model {
                $($(#[$attr])* pub $field: $ty),+
            }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

entity!(tenant, "tenant", {
    #[sea_orm(primary_key, auto_increment = false)]
    id: Uuid,
    last_incident_number: i64,
    created_at: DateTimeUtc,
});

entity!(organization, "organization", {
    #[sea_orm(primary_key, auto_increment = false)]
    tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    id: Uuid,
    name: String,
    parent_id: Option<Uuid>,
});

entity!(incident_type, "incident_type", {
    #[sea_orm(primary_key, auto_increment = false)]
    tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    id: Uuid,
    name: String,
    name_key: String,
});

entity!(attribute, "attribute", {
    #[sea_orm(primary_key, auto_increment = false)]
    tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    id: Uuid,
    name: String,
    name_key: String,
    kind: String,
});

entity!(attribute_option, "attribute_option", {
    #[sea_orm(primary_key, auto_increment = false)]
    tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    id: Uuid,
    attribute_id: Uuid,
    value: String,
    value_key: String,
    disabled: bool,
    position: i32,
});

entity!(assignee, "assignee", {
    #[sea_orm(primary_key, auto_increment = false)]
    tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    id: Uuid,
    name: String,
    email: Option<String>,
    kind: String,
});

entity!(incident, "incident", {
    #[sea_orm(primary_key, auto_increment = false)]
    tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    id: Uuid,
    number: i64,
    name: String,
    description: Option<String>,
    incident_type_id: Uuid,
    org_group_id: Uuid,
    date_occurred: Option<DateTimeUtc>,
    date_discovered: Option<DateTimeUtc>,
    deadline: Option<DateTimeUtc>,
    date_closed: Option<DateTimeUtc>,
    source_type: String,
    root_cause: Option<String>,
    notification_needed: String,
    status: String,
    auto_assess_jurisdictions: bool,
    created_by: Uuid,
    creator: String,
    created_at: DateTimeUtc,
    updated_at: DateTimeUtc,
    revision: i64,
});

entity!(incident_attribute_value, "incident_attribute_value", {
    #[sea_orm(primary_key, auto_increment = false)]
    incident_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    position: i32,
    tenant_id: Uuid,
    attribute_id: Uuid,
    option_id: Option<Uuid>,
    text_value: Option<String>,
});

entity!(incident_assignee, "incident_assignee", {
    #[sea_orm(primary_key, auto_increment = false)]
    incident_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    position: i32,
    tenant_id: Uuid,
    assignee_id: Uuid,
    email: Option<String>,
});

entity!(incident_jurisdiction, "incident_jurisdiction", {
    #[sea_orm(primary_key, auto_increment = false)]
    incident_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    position: i32,
    tenant_id: Uuid,
    jurisdiction_id: Uuid,
    country_code: String,
    state_province_code: Option<String>,
});

entity!(incident_inventory_link, "incident_inventory_link", {
    #[sea_orm(primary_key, auto_increment = false)]
    incident_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    position: i32,
    tenant_id: Uuid,
    inventory_type: String,
    inventory_id: Option<Uuid>,
    external_id: Option<String>,
    source_type: String,
});

entity!(incident_revision, "incident_revision", {
    #[sea_orm(primary_key, auto_increment = false)]
    tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    incident_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    revision: i64,
    recorded_at: DateTimeUtc,
    actor_id: Uuid,
    actor_name: String,
    request_id: Option<Uuid>,
    changes: String,
});

entity!(request_key, "request_key", {
    #[sea_orm(primary_key, auto_increment = false)]
    tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    request_id: Uuid,
    fingerprint: String,
    created_at: DateTimeUtc,
    result: Option<String>,
});

/// How the store's queries join a row to the reference rows it names: always
/// within the row's own tenant.
pub mod join {
    use sea_orm::{EntityTrait, RelationDef};

    use super::{
        assignee, attribute, attribute_option, incident, incident_assignee, incident_attribute_value, incident_type,
        organization,
    };

    pub fn incident_type() -> RelationDef {
        incident::Entity::belongs_to(incident_type::Entity)
            .from((incident::Column::TenantId, incident::Column::IncidentTypeId))
            .to((incident_type::Column::TenantId, incident_type::Column::Id))
            .into()
    }

    pub fn organization() -> RelationDef {
        incident::Entity::belongs_to(organization::Entity)
            .from((incident::Column::TenantId, incident::Column::OrgGroupId))
            .to((organization::Column::TenantId, organization::Column::Id))
            .into()
    }

    pub fn value_attribute() -> RelationDef {
        incident_attribute_value::Entity::belongs_to(attribute::Entity)
            .from((
                incident_attribute_value::Column::TenantId,
                incident_attribute_value::Column::AttributeId,
            ))
            .to((attribute::Column::TenantId, attribute::Column::Id))
            .into()
    }

    pub fn value_option() -> RelationDef {
        incident_attribute_value::Entity::belongs_to(attribute_option::Entity)
            .from((
                incident_attribute_value::Column::TenantId,
                incident_attribute_value::Column::OptionId,
            ))
            .to((attribute_option::Column::TenantId, attribute_option::Column::Id))
            .into()
    }

    pub fn assignee() -> RelationDef {
        incident_assignee::Entity::belongs_to(assignee::Entity)
            .from((
                incident_assignee::Column::TenantId,
                incident_assignee::Column::AssigneeId,
            ))
            .to((assignee::Column::TenantId, assignee::Column::Id))
            .into()
    }

    pub fn attribute_options() -> RelationDef {
        let option_of: RelationDef = attribute_option::Entity::belongs_to(attribute::Entity)
            .from((
                attribute_option::Column::TenantId,
                attribute_option::Column::AttributeId,
            ))
            .to((attribute::Column::TenantId, attribute::Column::Id))
            .into();
        option_of.rev()
    }
}
