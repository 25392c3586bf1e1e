//! Individuals affected per impacted jurisdiction, for the notification rules
//! with a threshold (an attorney general's notice from 500 residents, say).
//! Null where the team does not know the count; rows written before keep null.

use sea_orm_migration::{prelude::*, schema::*};

use super::IncidentJurisdiction;

pub(super) struct AffectedIndividuals;

impl MigrationName for AffectedIndividuals {
    fn name(&self) -> &str {
        "m20261202_000005_affected_individuals"
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Added {
    AffectedIndividuals,
}

#[async_trait::async_trait]
impl MigrationTrait for AffectedIndividuals {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(IncidentJurisdiction::Table)
                .add_column(big_integer_null(Added::AffectedIndividuals))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(IncidentJurisdiction::Table)
                .drop_column(Added::AffectedIndividuals)
                .to_owned(),
        )
        .await
    }
}
