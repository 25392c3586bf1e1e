//! What searching needs: indexes for the filters and sort orders, and the
//! full-text index. PostgreSQL keeps a `tsvector` per incident under a GIN index;
//! SQLite an FTS5 table whose rowid is the incident's `search_id`.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use super::{Incident, IncidentAssignee, tenant_fk};

pub(super) struct Search;

impl MigrationName for Search {
    fn name(&self) -> &str {
        "m20261127_000003_search"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum IncidentSearch {
    Table,
    TenantId,
    IncidentId,
    SearchId,
    Document,
}

/// The text of an incident `i` and the joins it needs, for databases that had
/// incidents before this migration: the same parts as `domain::search::search_document`.
fn document_sql(backend: DbBackend) -> (String, &'static str) {
    let (concat, newline) = match backend {
        DbBackend::Postgres => ("string_agg(a.name, E'\\n')", "E'\\n'"),
        _ => ("group_concat(a.name, char(10))", "char(10)"),
    };
    let text = format!(
        "i.name || {newline} || coalesce(i.description || {newline}, '') || t.name || {newline} \
         || coalesce((SELECT {concat} FROM incident_assignee ia JOIN assignee a \
                      ON a.tenant_id = ia.tenant_id AND a.id = ia.assignee_id \
                      WHERE ia.tenant_id = i.tenant_id AND ia.incident_id = i.id) || {newline}, '') \
         || o.name || {newline} || coalesce(i.root_cause || {newline}, '') || i.creator"
    );
    let joins = "FROM incident i \
         JOIN incident_type t ON t.tenant_id = i.tenant_id AND t.id = i.incident_type_id \
         JOIN organization o ON o.tenant_id = i.tenant_id AND o.id = i.org_group_id";
    (text, joins)
}

#[async_trait::async_trait]
impl MigrationTrait for Search {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, column) in [
            ("ix_incident_created_at", Incident::CreatedAt),
            ("ix_incident_updated_at", Incident::UpdatedAt),
            ("ix_incident_name", Incident::Name),
            ("ix_incident_org_group", Incident::OrgGroupId),
            ("ix_incident_type", Incident::IncidentTypeId),
            ("ix_incident_created_by", Incident::CreatedBy),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(Incident::Table)
                    .col(Incident::TenantId)
                    .col(column)
                    .col(Incident::Id)
                    .take(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name("ix_incident_assignee_by_assignee")
                .table(IncidentAssignee::Table)
                .col(Alias::new("tenant_id"))
                .col(IncidentAssignee::AssigneeId)
                .col(Alias::new("incident_id"))
                .take(),
        )
        .await?;

        let backend = m.get_database_backend();
        let mut table = Table::create()
            .table(IncidentSearch::Table)
            .col(uuid(IncidentSearch::TenantId))
            .col(uuid(IncidentSearch::IncidentId))
            .foreign_key(
                tenant_fk(
                    IncidentSearch::Table,
                    IncidentSearch::IncidentId,
                    Incident::Table,
                    Incident::TenantId,
                    Incident::Id,
                )
                .on_delete(ForeignKeyAction::Cascade),
            )
            .take();
        let db = m.get_connection();
        if backend == DbBackend::Postgres {
            table
                .col(
                    ColumnDef::new(IncidentSearch::Document)
                        .custom(Alias::new("tsvector"))
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(IncidentSearch::TenantId)
                        .col(IncidentSearch::IncidentId),
                );
            m.create_table(table).await?;
            db.execute_unprepared("CREATE INDEX ix_incident_search_document ON incident_search USING gin (document)")
                .await?;
            let (text, joins) = document_sql(backend);
            db.execute_unprepared(&format!(
                "INSERT INTO incident_search (tenant_id, incident_id, document) \
                 SELECT i.tenant_id, i.id, to_tsvector('simple', {text}) {joins}"
            ))
            .await?;
        } else {
            // An INTEGER PRIMARY KEY is the table's rowid, stable across VACUUM:
            // it is what the FTS5 rows are keyed by.
            table.col(
                ColumnDef::new(IncidentSearch::SearchId)
                    .integer()
                    .not_null()
                    .primary_key(),
            );
            m.create_table(table).await?;
            m.create_index(
                Index::create()
                    .name("ux_incident_search_incident")
                    .table(IncidentSearch::Table)
                    .col(IncidentSearch::TenantId)
                    .col(IncidentSearch::IncidentId)
                    .unique()
                    .take(),
            )
            .await?;
            db.execute_unprepared(
                "CREATE VIRTUAL TABLE incident_fts USING fts5(document, tokenize = 'unicode61 remove_diacritics 0')",
            )
            .await?;
            db.execute_unprepared(
                "INSERT INTO incident_search (tenant_id, incident_id) SELECT tenant_id, id FROM incident",
            )
            .await?;
            let (text, joins) = document_sql(backend);
            db.execute_unprepared(&format!(
                "INSERT INTO incident_fts (rowid, document) SELECT s.search_id, {text} {joins} \
                 JOIN incident_search s ON s.tenant_id = i.tenant_id AND s.incident_id = i.id"
            ))
            .await?;
        }
        Ok(())
    }
}
