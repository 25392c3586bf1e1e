//! Guidance kept for searching, and the notifications recorded. Guidance is
//! computed from the incident and the rule catalogue; what a search needs of
//! it is stored with every write: each deadline still due (`incident_deadline`)
//! and the earliest of them (`incident.notification_due`, the sort key). The
//! catalogue version it was computed with is kept too, so that incidents
//! written before (or under another catalogue) are assessed again at start.

use sea_orm_migration::{prelude::*, schema::*};

use super::{Incident, incident_child};

pub(super) struct Guidance;

impl MigrationName for Guidance {
    fn name(&self) -> &str {
        "m20261202_000006_guidance"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Added {
    /// The notifications recorded, as JSON: read with the row, never searched.
    Notices,
    NotificationDue,
    GuidanceVersion,
}

#[derive(DeriveIden, Clone, Copy)]
enum IncidentDeadline {
    Table,
    TenantId,
    IncidentId,
    Deadline,
}

#[async_trait::async_trait]
impl MigrationTrait for Guidance {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters no more at once.
        for column in [
            text(Added::Notices).default("[]").take(),
            timestamp_with_time_zone_null(Added::NotificationDue).take(),
            string_null(Added::GuidanceVersion).take(),
        ] {
            m.alter_table(Table::alter().table(Incident::Table).add_column(column).to_owned())
                .await?;
        }
        m.create_index(
            Index::create()
                .name("ix_incident_notification_due")
                .table(Incident::Table)
                .col(Incident::TenantId)
                .col(Added::NotificationDue)
                .col(Incident::Id)
                .take(),
        )
        .await?;
        m.create_table(
            incident_child(IncidentDeadline::Table)
                .col(timestamp_with_time_zone(IncidentDeadline::Deadline))
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_incident_deadline_due")
                .table(IncidentDeadline::Table)
                .col(IncidentDeadline::TenantId)
                .col(IncidentDeadline::Deadline)
                .col(IncidentDeadline::IncidentId)
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(IncidentDeadline::Table).to_owned())
            .await?;
        m.drop_index(
            Index::drop()
                .name("ix_incident_notification_due")
                .table(Incident::Table)
                .to_owned(),
        )
        .await?;
        for column in [Added::GuidanceVersion, Added::NotificationDue, Added::Notices] {
            m.alter_table(Table::alter().table(Incident::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
