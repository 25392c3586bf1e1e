//! The schema, as code: run at start, by `incidentd migrate` and by the tests.
//!
//! Every table carries `tenant_id`. Tenant tables have the primary key
//! `(tenant_id, id)` and references between them are composite foreign keys on
//! it, so the database itself refuses a row that points into another tenant.
//! The lower-cased keys that names are matched by are `text`: lower-casing can
//! make a name longer than its own column.

mod counts;
mod events;
mod guidance;
mod history;
mod search;
pub(crate) mod secrets;
mod workflow;

use sea_orm_migration::{prelude::*, schema::*};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(CreateRegister),
            Box::new(history::RevisionsAndRequests),
            Box::new(search::Search),
            Box::new(secrets::Secrets),
            Box::new(counts::AffectedIndividuals),
            Box::new(guidance::Guidance),
            Box::new(workflow::Workflows),
            Box::new(events::Events),
        ]
    }
}

struct CreateRegister;

impl MigrationName for CreateRegister {
    fn name(&self) -> &str {
        "m20261127_000001_create_register"
    }
}

#[derive(DeriveIden)]
enum Tenant {
    Table,
    Id,
    LastIncidentNumber,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
    TenantId,
    Name,
    ParentId,
}

#[derive(DeriveIden)]
enum IncidentType {
    Table,
    Id,
    TenantId,
    Name,
    NameKey,
}

#[derive(DeriveIden)]
enum Attribute {
    Table,
    Id,
    TenantId,
    Name,
    NameKey,
    Kind,
}

#[derive(DeriveIden)]
enum AttributeOption {
    Table,
    Id,
    TenantId,
    AttributeId,
    Value,
    ValueKey,
    Disabled,
    Position,
}

#[derive(DeriveIden)]
enum Assignee {
    Table,
    Id,
    TenantId,
    Name,
    Email,
    Kind,
}

#[derive(DeriveIden)]
#[allow(clippy::enum_variant_names)] // column names, not variants of a concept
enum Incident {
    Table,
    Id,
    TenantId,
    Number,
    Name,
    Description,
    IncidentTypeId,
    OrgGroupId,
    DateOccurred,
    DateDiscovered,
    Deadline,
    DateClosed,
    SourceType,
    RootCause,
    NotificationNeeded,
    Status,
    AutoAssessJurisdictions,
    CreatedBy,
    Creator,
    CreatedAt,
    UpdatedAt,
    Revision,
}

#[derive(DeriveIden, Clone, Copy)]
enum IncidentAttributeValue {
    Table,
    AttributeId,
    OptionId,
    TextValue,
}

#[derive(DeriveIden, Clone, Copy)]
enum IncidentAssignee {
    Table,
    AssigneeId,
    Email,
}

#[derive(DeriveIden, Clone, Copy)]
enum IncidentJurisdiction {
    Table,
    JurisdictionId,
    CountryCode,
    StateProvinceCode,
}

#[derive(DeriveIden, Clone, Copy)]
enum IncidentInventoryLink {
    Table,
    InventoryType,
    InventoryId,
    ExternalId,
    SourceType,
}

/// A check that `column` holds one of `names`: the vocabularies are enforced by
/// the database too, with the names as they were when this migration was written.
fn one_of<C: IntoIden + 'static>(column: C, names: &[&str]) -> SimpleExpr {
    Expr::col(column).is_in(names.iter().copied())
}

/// A check that exactly one of two nullable columns holds a value.
fn exactly_one<A: IntoIden + 'static, B: IntoIden + 'static>(a: A, b: B) -> SimpleExpr {
    Expr::col(a).is_null().ne(Expr::col(b).is_null())
}

/// A table of rows that belong to one incident, in order: `(incident_id,
/// position)` is the key, and the rows go when their incident goes.
fn incident_child<T: IntoIden + Copy + 'static>(table: T) -> TableCreateStatement {
    let (incident_id, position) = (Alias::new("incident_id"), Alias::new("position"));
    Table::create()
        .table(table)
        .col(uuid(incident_id.clone()))
        .col(integer(position.clone()))
        .col(uuid(Alias::new("tenant_id")))
        .primary_key(Index::create().col(incident_id.clone()).col(position))
        .foreign_key(
            tenant_fk(table, incident_id, Incident::Table, Incident::TenantId, Incident::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .take()
}

/// A foreign key from `(tenant_id, column)` of `from` to the key `(tenant_id, id)` of `to`.
fn tenant_fk<F, C, T, TT, TI>(from: F, column: C, to: T, to_tenant: TT, to_id: TI) -> ForeignKeyCreateStatement
where
    F: IntoIden + 'static,
    C: IntoIden,
    T: IntoIden + 'static,
    TT: IntoIden,
    TI: IntoIden,
{
    ForeignKey::create()
        .from_tbl(from)
        .from_col(Alias::new("tenant_id"))
        .from_col(column)
        .to_tbl(to)
        .to_col(to_tenant)
        .to_col(to_id)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for CreateRegister {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Tenant::Table)
                .col(pk_uuid(Tenant::Id))
                .col(big_integer(Tenant::LastIncidentNumber).default(0))
                .col(timestamp_with_time_zone(Tenant::CreatedAt))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Organization::Table)
                .col(uuid(Organization::TenantId))
                .col(uuid(Organization::Id))
                .primary_key(Index::create().col(Organization::TenantId).col(Organization::Id))
                .col(string_len(Organization::Name, 255))
                .col(uuid_null(Organization::ParentId))
                .foreign_key(
                    ForeignKey::create()
                        .from(Organization::Table, Organization::TenantId)
                        .to(Tenant::Table, Tenant::Id),
                )
                .foreign_key(&mut tenant_fk(
                    Organization::Table,
                    Organization::ParentId,
                    Organization::Table,
                    Organization::TenantId,
                    Organization::Id,
                ))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(IncidentType::Table)
                .col(uuid(IncidentType::TenantId))
                .col(uuid(IncidentType::Id))
                .primary_key(Index::create().col(IncidentType::TenantId).col(IncidentType::Id))
                .col(string_len(IncidentType::Name, 255))
                .col(text(IncidentType::NameKey))
                .foreign_key(
                    ForeignKey::create()
                        .from(IncidentType::Table, IncidentType::TenantId)
                        .to(Tenant::Table, Tenant::Id),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_incident_type_name")
                .table(IncidentType::Table)
                .col(IncidentType::TenantId)
                .col(IncidentType::NameKey)
                .unique()
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Attribute::Table)
                .col(uuid(Attribute::TenantId))
                .col(uuid(Attribute::Id))
                .primary_key(Index::create().col(Attribute::TenantId).col(Attribute::Id))
                .col(string_len(Attribute::Name, 255))
                .col(text(Attribute::NameKey))
                .col(string_len(Attribute::Kind, 16))
                .check(one_of(Attribute::Kind, &["TEXT", "SINGLE_SELECT", "MULTI_SELECT"]))
                .foreign_key(
                    ForeignKey::create()
                        .from(Attribute::Table, Attribute::TenantId)
                        .to(Tenant::Table, Tenant::Id),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_attribute_name")
                .table(Attribute::Table)
                .col(Attribute::TenantId)
                .col(Attribute::NameKey)
                .unique()
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AttributeOption::Table)
                .col(uuid(AttributeOption::TenantId))
                .col(uuid(AttributeOption::Id))
                .primary_key(Index::create().col(AttributeOption::TenantId).col(AttributeOption::Id))
                .col(uuid(AttributeOption::AttributeId))
                .col(string_len(AttributeOption::Value, 255))
                .col(text(AttributeOption::ValueKey))
                .col(boolean(AttributeOption::Disabled))
                .col(integer(AttributeOption::Position))
                .foreign_key(&mut tenant_fk(
                    AttributeOption::Table,
                    AttributeOption::AttributeId,
                    Attribute::Table,
                    Attribute::TenantId,
                    Attribute::Id,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_attribute_option_value")
                .table(AttributeOption::Table)
                .col(AttributeOption::AttributeId)
                .col(AttributeOption::ValueKey)
                .unique()
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Assignee::Table)
                .col(uuid(Assignee::TenantId))
                .col(uuid(Assignee::Id))
                .primary_key(Index::create().col(Assignee::TenantId).col(Assignee::Id))
                .col(string_len(Assignee::Name, 255))
                .col(string_len_null(Assignee::Email, 254))
                .col(string_len(Assignee::Kind, 8))
                .check(one_of(Assignee::Kind, &["USER", "GROUP"]))
                .foreign_key(
                    ForeignKey::create()
                        .from(Assignee::Table, Assignee::TenantId)
                        .to(Tenant::Table, Tenant::Id),
                )
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Incident::Table)
                .col(uuid(Incident::TenantId))
                .col(uuid(Incident::Id))
                .primary_key(Index::create().col(Incident::TenantId).col(Incident::Id))
                .col(big_integer(Incident::Number))
                .col(string_len(Incident::Name, 255))
                .col(text_null(Incident::Description))
                .col(uuid(Incident::IncidentTypeId))
                .col(uuid(Incident::OrgGroupId))
                .col(timestamp_with_time_zone_null(Incident::DateOccurred))
                .col(timestamp_with_time_zone_null(Incident::DateDiscovered))
                .col(timestamp_with_time_zone_null(Incident::Deadline))
                .col(timestamp_with_time_zone_null(Incident::DateClosed))
                .col(string_len(Incident::SourceType, 16))
                .col(text_null(Incident::RootCause))
                .col(string_len(Incident::NotificationNeeded, 16))
                .col(string_len(Incident::Status, 16))
                .col(boolean(Incident::AutoAssessJurisdictions))
                .col(uuid(Incident::CreatedBy))
                .col(string_len(Incident::Creator, 255))
                .col(timestamp_with_time_zone(Incident::CreatedAt))
                .col(timestamp_with_time_zone(Incident::UpdatedAt))
                .col(big_integer(Incident::Revision))
                .check(Expr::col(Incident::Number).gt(0))
                .check(Expr::col(Incident::Revision).gt(0))
                .check(one_of(
                    Incident::SourceType,
                    &["MANUAL", "ASSESSMENT", "WEBFORM", "INTEGRATION", "NONE"],
                ))
                .check(one_of(Incident::NotificationNeeded, &["YES", "NO", "UNKNOWN"]))
                .check(one_of(Incident::Status, &["OPEN", "CLOSED"]))
                .foreign_key(
                    ForeignKey::create()
                        .from(Incident::Table, Incident::TenantId)
                        .to(Tenant::Table, Tenant::Id),
                )
                .foreign_key(&mut tenant_fk(
                    Incident::Table,
                    Incident::IncidentTypeId,
                    IncidentType::Table,
                    IncidentType::TenantId,
                    IncidentType::Id,
                ))
                .foreign_key(&mut tenant_fk(
                    Incident::Table,
                    Incident::OrgGroupId,
                    Organization::Table,
                    Organization::TenantId,
                    Organization::Id,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_incident_number")
                .table(Incident::Table)
                .col(Incident::TenantId)
                .col(Incident::Number)
                .unique()
                .take(),
        )
        .await?;

        m.create_table(
            incident_child(IncidentAttributeValue::Table)
                .col(uuid(IncidentAttributeValue::AttributeId))
                .col(uuid_null(IncidentAttributeValue::OptionId))
                .col(text_null(IncidentAttributeValue::TextValue))
                .check(exactly_one(
                    IncidentAttributeValue::OptionId,
                    IncidentAttributeValue::TextValue,
                ))
                .foreign_key(&mut tenant_fk(
                    IncidentAttributeValue::Table,
                    IncidentAttributeValue::AttributeId,
                    Attribute::Table,
                    Attribute::TenantId,
                    Attribute::Id,
                ))
                .foreign_key(&mut tenant_fk(
                    IncidentAttributeValue::Table,
                    IncidentAttributeValue::OptionId,
                    AttributeOption::Table,
                    AttributeOption::TenantId,
                    AttributeOption::Id,
                ))
                .take(),
        )
        .await?;

        m.create_table(
            incident_child(IncidentAssignee::Table)
                .col(uuid(IncidentAssignee::AssigneeId))
                .col(string_len_null(IncidentAssignee::Email, 254))
                .foreign_key(&mut tenant_fk(
                    IncidentAssignee::Table,
                    IncidentAssignee::AssigneeId,
                    Assignee::Table,
                    Assignee::TenantId,
                    Assignee::Id,
                ))
                .take(),
        )
        .await?;

        m.create_table(
            incident_child(IncidentJurisdiction::Table)
                .col(uuid(IncidentJurisdiction::JurisdictionId))
                .col(string_len(IncidentJurisdiction::CountryCode, 3))
                .col(string_len_null(IncidentJurisdiction::StateProvinceCode, 8))
                .take(),
        )
        .await?;

        m.create_table(
            incident_child(IncidentInventoryLink::Table)
                .col(string_len(IncidentInventoryLink::InventoryType, 32))
                .col(uuid_null(IncidentInventoryLink::InventoryId))
                .col(string_len_null(IncidentInventoryLink::ExternalId, 255))
                .check(exactly_one(
                    IncidentInventoryLink::InventoryId,
                    IncidentInventoryLink::ExternalId,
                ))
                .col(string_len(IncidentInventoryLink::SourceType, 16))
                .check(one_of(
                    IncidentInventoryLink::InventoryType,
                    &["assets", "processing-activities", "vendors", "entities"],
                ))
                .check(one_of(
                    IncidentInventoryLink::SourceType,
                    &["MANUAL", "ASSESSMENT", "INTEGRATION"],
                ))
                .take(),
        )
        .await?;
        Ok(())
    }
}
