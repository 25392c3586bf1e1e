//! The revision history of incidents and the request ids of idempotent retries.

use sea_orm_migration::{prelude::*, schema::*};

use super::{Incident, Tenant, tenant_fk};

pub(super) struct RevisionsAndRequests;

impl MigrationName for RevisionsAndRequests {
    fn name(&self) -> &str {
        "m20261127_000002_revisions_and_requests"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum IncidentRevision {
    Table,
    TenantId,
    IncidentId,
    Revision,
    RecordedAt,
    ActorId,
    ActorName,
    RequestId,
    Changes,
}

#[derive(DeriveIden, Clone, Copy)]
enum RequestKey {
    Table,
    TenantId,
    RequestId,
    Fingerprint,
    CreatedAt,
    Result,
}

#[async_trait::async_trait]
impl MigrationTrait for RevisionsAndRequests {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One row per revision of an incident; the key makes a revision number
        // unique within its incident, and the rows go with their incident.
        m.create_table(
            Table::create()
                .table(IncidentRevision::Table)
                .col(uuid(IncidentRevision::TenantId))
                .col(uuid(IncidentRevision::IncidentId))
                .col(big_integer(IncidentRevision::Revision))
                .primary_key(
                    Index::create()
                        .col(IncidentRevision::TenantId)
                        .col(IncidentRevision::IncidentId)
                        .col(IncidentRevision::Revision),
                )
                .col(timestamp_with_time_zone(IncidentRevision::RecordedAt))
                .col(uuid(IncidentRevision::ActorId))
                .col(string_len(IncidentRevision::ActorName, 255))
                .col(uuid_null(IncidentRevision::RequestId))
                // A JSON array of {field, before, after}, kept as written.
                .col(text(IncidentRevision::Changes))
                .check(Expr::col(IncidentRevision::Revision).gt(0))
                .foreign_key(
                    tenant_fk(
                        IncidentRevision::Table,
                        IncidentRevision::IncidentId,
                        Incident::Table,
                        Incident::TenantId,
                        Incident::Id,
                    )
                    .on_delete(ForeignKeyAction::Cascade),
                )
                .take(),
        )
        .await?;

        // A request id seen in the last 24 hours, with the fingerprint of its
        // request and the answer it got (the incident, as JSON).
        m.create_table(
            Table::create()
                .table(RequestKey::Table)
                .col(uuid(RequestKey::TenantId))
                .col(uuid(RequestKey::RequestId))
                .primary_key(Index::create().col(RequestKey::TenantId).col(RequestKey::RequestId))
                .col(string_len(RequestKey::Fingerprint, 64))
                .col(timestamp_with_time_zone(RequestKey::CreatedAt))
                // Null only inside the transaction that claimed the id.
                .col(text_null(RequestKey::Result))
                .foreign_key(
                    ForeignKey::create()
                        .from(RequestKey::Table, RequestKey::TenantId)
                        .to(Tenant::Table, Tenant::Id),
                )
                .take(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_request_key_created_at")
                .table(RequestKey::Table)
                .col(RequestKey::CreatedAt)
                .take(),
        )
        .await?;
        Ok(())
    }
}
