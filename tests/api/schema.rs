//! The database's own guards, below the service: a row that the domain would
//! never write is refused by the schema too.

use sea_orm::{
    ConnectionTrait, Database, DatabaseConnection,
    sea_query::{Alias, Expr, ExprTrait, Query, SimpleExpr},
};
use uuid::Uuid;

use crate::helpers::spawn_app;

/// Sets `column` of one incident behind the service's back.
async fn set(
    db: &DatabaseConnection,
    incident_id: Uuid,
    column: &str,
    value: SimpleExpr,
) -> Result<(), sea_orm::DbErr> {
    let statement = Query::update()
        .table(Alias::new("incident"))
        .value(Alias::new(column), value)
        .and_where(Expr::col(Alias::new("id")).eq(incident_id))
        .to_owned();
    db.execute(&statement).await.map(|_| ())
}

#[tokio::test]
async fn the_schema_refuses_what_the_domain_never_writes() {
    let mut app = spawn_app().await;
    let seed = app.seed().await;
    let created = app.create(seed.minimal("Guarded")).await.unwrap();
    app.tenant_id = Uuid::now_v7();
    let foreign_org: Uuid = app.organization("Another tenant's", None).await.parse().unwrap();
    let id: Uuid = created.id.parse().unwrap();
    let db = Database::connect(app.db.url()).await.unwrap();

    assert!(
        set(&db, id, "org_group_id", foreign_org.into()).await.is_err(),
        "an organization of another tenant"
    );
    assert!(
        set(&db, id, "source_type", "BOGUS".into()).await.is_err(),
        "a source type outside the vocabulary"
    );
    assert!(set(&db, id, "number", 0.into()).await.is_err(), "a number below 1");
    assert!(
        set(&db, id, "name", "Renamed directly".into()).await.is_ok(),
        "the guards allow valid rows"
    );
    db.close().await.unwrap();
}
