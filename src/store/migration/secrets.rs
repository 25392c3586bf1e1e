//! The service's own secrets, shared by every replica on one database: the key
//! that seals page tokens, made at random once.

use sea_orm_migration::{prelude::*, schema::*};

pub(super) struct Secrets;

impl MigrationName for Secrets {
    fn name(&self) -> &str {
        "m20261201_000004_secrets"
    }
}

#[derive(DeriveIden, Clone, Copy)]
pub(crate) enum ServiceSecret {
    Table,
    Name,
    Value,
}

/// The name of the page-token key.
pub(crate) const PAGE_TOKEN_KEY: &str = "page-token-key";

#[async_trait::async_trait]
impl MigrationTrait for Secrets {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ServiceSecret::Table)
                .col(string_len(ServiceSecret::Name, 64).primary_key())
                // Hex of 32 random bytes.
                .col(string_len(ServiceSecret::Value, 128))
                .to_owned(),
        )
        .await?;
        let key: [u8; 32] = rand::random();
        let insert = Query::insert()
            .into_table(ServiceSecret::Table)
            .columns([ServiceSecret::Name, ServiceSecret::Value])
            .values_panic([PAGE_TOKEN_KEY.into(), hex::encode(key).into()])
            .to_owned();
        m.exec_stmt(insert).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ServiceSecret::Table).to_owned()).await
    }
}
