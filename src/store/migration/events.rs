//! The outbox: one row per committed change, numbered per tenant with no gap
//! (`event_sequence` holds each tenant's last number), marked once published;
//! and the lease that lets one replica at a time publish.

use sea_orm_migration::{prelude::*, schema::*};

use super::Tenant;

pub(super) struct Events;

impl MigrationName for Events {
    fn name(&self) -> &str {
        "m20261203_000008_events"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum EventSequence {
    Table,
    TenantId,
    LastSequence,
}

#[derive(DeriveIden, Clone, Copy)]
enum IncidentEvent {
    Table,
    /// The order of the outbox across tenants, which the publisher drains it in.
    Id,
    TenantId,
    Sequence,
    EventId,
    EventType,
    IncidentId,
    Revision,
    OccurredAt,
    ActorId,
    ActorName,
    Changes,
    PublishedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum EventPublisher {
    Table,
    /// What is published: `nats`.
    Name,
    /// The replica holding the lease.
    Holder,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Events {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(EventSequence::Table)
                .col(uuid(EventSequence::TenantId).primary_key())
                .col(big_integer(EventSequence::LastSequence))
                .foreign_key(
                    ForeignKey::create()
                        .from(EventSequence::Table, EventSequence::TenantId)
                        .to(Tenant::Table, Tenant::Id),
                )
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(IncidentEvent::Table)
                .col(big_pk_auto(IncidentEvent::Id))
                .col(uuid(IncidentEvent::TenantId))
                .col(big_integer(IncidentEvent::Sequence))
                .col(uuid(IncidentEvent::EventId))
                .col(string_len(IncidentEvent::EventType, 64))
                .col(uuid(IncidentEvent::IncidentId))
                .col(big_integer(IncidentEvent::Revision))
                .col(timestamp_with_time_zone(IncidentEvent::OccurredAt))
                .col(uuid(IncidentEvent::ActorId))
                .col(string(IncidentEvent::ActorName))
                .col(text(IncidentEvent::Changes))
                .col(timestamp_with_time_zone_null(IncidentEvent::PublishedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(IncidentEvent::Table, IncidentEvent::TenantId)
                        .to(Tenant::Table, Tenant::Id),
                )
                .take(),
        )
        .await?;
        // What a watch reads: a tenant's events after a cursor.
        m.create_index(
            Index::create()
                .name("ux_incident_event_sequence")
                .table(IncidentEvent::Table)
                .col(IncidentEvent::TenantId)
                .col(IncidentEvent::Sequence)
                .unique()
                .take(),
        )
        .await?;
        // What pruning reads: the oldest events.
        m.create_index(
            Index::create()
                .name("ix_incident_event_occurred")
                .table(IncidentEvent::Table)
                .col(IncidentEvent::OccurredAt)
                .take(),
        )
        .await?;
        // What the publisher reads: the events not yet published, in order.
        m.create_index(
            Index::create()
                .name("ix_incident_event_unpublished")
                .table(IncidentEvent::Table)
                .col(IncidentEvent::Id)
                .and_where(Expr::col(IncidentEvent::PublishedAt).is_null())
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(EventPublisher::Table)
                .col(string_len(EventPublisher::Name, 64).primary_key())
                .col(uuid(EventPublisher::Holder))
                .col(timestamp_with_time_zone(EventPublisher::ExpiresAt))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(EventPublisher::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(IncidentEvent::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(EventSequence::Table).to_owned()).await
    }
}
