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

entity!(workflow, "workflow", {
    #[sea_orm(primary_key, auto_increment = false)]
    tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    id: Uuid,
    name: String,
    name_key: String,
});

entity!(workflow_stage, "workflow_stage", {
    #[sea_orm(primary_key, auto_increment = false)]
    tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    id: Uuid,
    workflow_id: Uuid,
    name: String,
    name_key: String,
    description: Option<String>,
    sequence: i32,
    badge_color: Option<String>,
    closes_incident: bool,
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
    /// The notifications recorded, as JSON (`domain::notice::Notice`).
    notices: String,
    /// The earliest deadline still due; the latest time the register keeps
    /// when none is, so those sort last. Null until assessed.
    notification_due: Option<DateTimeUtc>,
    /// The catalogue version the stored deadlines were computed with.
    guidance_version: Option<String>,
    /// Null only for incidents stored before workflows, until placed.
    workflow_id: Option<Uuid>,
    stage_id: Option<Uuid>,
    /// What `dateClosed` sorts by (`domain::search::closed_sort_key`).
    closed_sort: Option<DateTimeUtc>,
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
    affected_individuals: Option<i64>,
});

entity!(incident_deadline, "incident_deadline", {
    #[sea_orm(primary_key, auto_increment = false)]
    incident_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    position: i32,
    tenant_id: Uuid,
    deadline: DateTimeUtc,
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
    justification: Option<String>,
});

entity!(event_sequence, "event_sequence", {
    #[sea_orm(primary_key, auto_increment = false)]
    tenant_id: Uuid,
    last_sequence: i64,
});

entity!(incident_event, "incident_event", {
    #[sea_orm(primary_key)]
    id: i64,
    tenant_id: Uuid,
    sequence: i64,
    event_id: Uuid,
    event_type: String,
    incident_id: Uuid,
    revision: i64,
    occurred_at: DateTimeUtc,
    actor_id: Uuid,
    actor_name: String,
    changes: String,
    published_at: Option<DateTimeUtc>,
});

entity!(event_publisher, "event_publisher", {
    #[sea_orm(primary_key, auto_increment = false)]
    name: String,
    holder: Uuid,
    expires_at: DateTimeUtc,
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
        organization, workflow, workflow_stage,
    };

    /// `from`'s `column` names a row of `to` by its id, in the same tenant.
    macro_rules! names {
        ($from:ident . $column:ident => $to:ident) => {
            $from::Entity::belongs_to($to::Entity)
                .from(($from::Column::TenantId, $from::Column::$column))
                .to(($to::Column::TenantId, $to::Column::Id))
                .into()
        };
    }

    pub fn incident_type() -> RelationDef {
        names!(incident.IncidentTypeId => incident_type)
    }

    pub fn organization() -> RelationDef {
        names!(incident.OrgGroupId => organization)
    }

    pub fn stage() -> RelationDef {
        names!(incident.StageId => workflow_stage)
    }

    pub fn workflow() -> RelationDef {
        names!(incident.WorkflowId => workflow)
    }

    /// A workflow to its stages.
    pub fn workflow_stages() -> RelationDef {
        let stage_of: RelationDef = names!(workflow_stage.WorkflowId => workflow);
        stage_of.rev()
    }

    pub fn value_attribute() -> RelationDef {
        names!(incident_attribute_value.AttributeId => attribute)
    }

    pub fn value_option() -> RelationDef {
        names!(incident_attribute_value.OptionId => attribute_option)
    }

    pub fn assignee() -> RelationDef {
        names!(incident_assignee.AssigneeId => assignee)
    }

    /// An attribute to its options: the options' own join, reversed.
    pub fn attribute_options() -> RelationDef {
        let option_of: RelationDef = names!(attribute_option.AttributeId => attribute);
        option_of.rev()
    }
}
