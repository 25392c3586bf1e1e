//! Workflows and the stage each incident is in, with the key `dateClosed`
//! sorts by. Incidents stored before have no stage yet: after migrating, the
//! store puts them in their tenant's default workflow's first stage, where
//! every incident then was, open (`Store::place`).

use sea_orm_migration::{prelude::*, schema::*};

use super::{Incident, Tenant, tenant_fk};

pub(super) struct Workflows;

impl MigrationName for Workflows {
    fn name(&self) -> &str {
        "m20261202_000007_workflows"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Workflow {
    Table,
    TenantId,
    Id,
    Name,
    NameKey,
}

#[derive(DeriveIden, Clone, Copy)]
enum WorkflowStage {
    Table,
    TenantId,
    Id,
    WorkflowId,
    Name,
    NameKey,
    Description,
    Sequence,
    BadgeColor,
    ClosesIncident,
}

#[derive(DeriveIden, Clone, Copy)]
enum Added {
    WorkflowId,
    StageId,
    /// `dateClosed`, or the latest time for an open incident: the sort key.
    ClosedSort,
}

#[derive(DeriveIden, Clone, Copy)]
enum IncidentRevision {
    Table,
    Justification,
}

#[async_trait::async_trait]
impl MigrationTrait for Workflows {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Workflow::Table)
                .col(uuid(Workflow::TenantId))
                .col(uuid(Workflow::Id))
                .primary_key(Index::create().col(Workflow::TenantId).col(Workflow::Id))
                .col(string_len(Workflow::Name, 255))
                .col(text(Workflow::NameKey))
                .foreign_key(
                    ForeignKey::create()
                        .from(Workflow::Table, Workflow::TenantId)
                        .to(Tenant::Table, Tenant::Id),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_workflow_name")
                .table(Workflow::Table)
                .col(Workflow::TenantId)
                .col(Workflow::NameKey)
                .unique()
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(WorkflowStage::Table)
                .col(uuid(WorkflowStage::TenantId))
                .col(uuid(WorkflowStage::Id))
                .primary_key(Index::create().col(WorkflowStage::TenantId).col(WorkflowStage::Id))
                .col(uuid(WorkflowStage::WorkflowId))
                .col(string_len(WorkflowStage::Name, 255))
                .col(text(WorkflowStage::NameKey))
                .col(text_null(WorkflowStage::Description))
                .col(integer(WorkflowStage::Sequence))
                .col(string_len_null(WorkflowStage::BadgeColor, 7))
                .col(boolean(WorkflowStage::ClosesIncident))
                .foreign_key(&mut tenant_fk(
                    WorkflowStage::Table,
                    WorkflowStage::WorkflowId,
                    Workflow::Table,
                    Workflow::TenantId,
                    Workflow::Id,
                ))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_workflow_stage_name")
                .table(WorkflowStage::Table)
                .col(WorkflowStage::TenantId)
                .col(WorkflowStage::WorkflowId)
                .col(WorkflowStage::NameKey)
                .unique()
                .take(),
        )
        .await?;
        // Null only until the store places the incidents stored before.
        for column in [
            uuid_null(Added::WorkflowId).take(),
            uuid_null(Added::StageId).take(),
            timestamp_with_time_zone_null(Added::ClosedSort).take(),
        ] {
            m.alter_table(Table::alter().table(Incident::Table).add_column(column).to_owned())
                .await?;
        }
        m.create_index(
            Index::create()
                .name("ix_incident_stage")
                .table(Incident::Table)
                .col(Incident::TenantId)
                .col(Added::StageId)
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_incident_closed")
                .table(Incident::Table)
                .col(Incident::TenantId)
                .col(Added::ClosedSort)
                .col(Incident::Id)
                .take(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(IncidentRevision::Table)
                .add_column(text_null(IncidentRevision::Justification))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(IncidentRevision::Table)
                .drop_column(IncidentRevision::Justification)
                .to_owned(),
        )
        .await?;
        for index in ["ix_incident_closed", "ix_incident_stage"] {
            m.drop_index(Index::drop().name(index).table(Incident::Table).to_owned())
                .await?;
        }
        for column in [Added::ClosedSort, Added::StageId, Added::WorkflowId] {
            m.alter_table(Table::alter().table(Incident::Table).drop_column(column).to_owned())
                .await?;
        }
        m.drop_table(Table::drop().table(WorkflowStage::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Workflow::Table).to_owned()).await
    }
}
