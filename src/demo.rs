//! The demo tenant seeded on a new embedded database when no key is configured,
//! so that a first `cargo run` can be tried at once. Its ids are fixed (UUID v5),
//! so the README's examples can name them.

use std::time::Duration;

use uuid::Uuid;

use crate::{
    Config,
    auth::claims_for,
    domain::reference::{NewAssignee, NewAttribute, NewIncidentType, NewOrganization},
    store::Store,
};

/// A fixed id inside the demo namespace.
pub fn id(name: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, format!("incidentd:demo:{name}").as_bytes())
}

pub fn tenant_id() -> Uuid {
    id("tenant")
}

pub fn user_id() -> Uuid {
    id("user")
}

/// The scopes of the demo token: everything.
pub const DEMO_SCOPES: &str = "INCIDENT INCIDENT_ADMIN";

/// Seeds the demo tenant if no tenant exists yet, and logs a token for it.
pub async fn seed_if_empty(store: &Store, config: &Config) -> anyhow::Result<()> {
    if !store.is_empty().await? {
        return Ok(());
    }
    seed(store).await?;
    let claims = claims_for(
        tenant_id(),
        user_id(),
        DEMO_SCOPES,
        Some("Demo User".into()),
        Duration::from_secs(30 * 24 * 3600),
    );
    let token = config.signer(None)?.sign(&claims)?;
    tracing::info!(tenant_id = %tenant_id(), "seeded the demo tenant; a demo token valid for 30 days follows");
    tracing::info!("export TOKEN={token}");
    Ok(())
}

async fn seed(store: &Store) -> anyhow::Result<()> {
    let tenant = tenant_id();
    let headquarters = id("organization:headquarters");
    store
        .create_organization(
            tenant,
            headquarters,
            NewOrganization::parse("Headquarters".into(), None)?,
        )
        .await?;
    let child = |name: &str| NewOrganization::parse(name.into(), Some(headquarters.to_string()));
    store
        .create_organization(tenant, id("organization:legal"), child("Legal")?)
        .await?;
    store
        .create_organization(tenant, id("organization:it"), child("IT")?)
        .await?;
    for name in ["Misdirected Email", "Lost Device", "Unauthorized Access", "Ransomware"] {
        let key = format!("incident-type:{}", name.to_lowercase());
        store
            .create_incident_type(tenant, id(&key), NewIncidentType::parse(name.into())?)
            .await?;
    }
    let options = |values: &[(&str, bool)]| values.iter().map(|(v, d)| ((*v).to_owned(), *d)).collect();
    let severity = options(&[
        ("Low", false),
        ("Medium", false),
        ("High", false),
        ("Critical", false),
        ("Unrated", true),
    ]);
    store
        .create_attribute(
            tenant,
            id("attribute:severity"),
            NewAttribute::parse("Severity".into(), Some("SINGLE_SELECT"), severity)?,
        )
        .await?;
    let categories = options(&[
        ("Contact Details", false),
        ("Financial", false),
        ("Health", false),
        ("Government ID", false),
    ]);
    store
        .create_attribute(
            tenant,
            id("attribute:data-categories"),
            NewAttribute::parse("Data Categories".into(), Some("MULTI_SELECT"), categories)?,
        )
        .await?;
    store
        .create_attribute(
            tenant,
            id("attribute:ticket"),
            NewAttribute::parse("Ticket".into(), Some("TEXT"), Vec::new())?,
        )
        .await?;
    let user = |name: &str, email: &str| NewAssignee::parse(name.into(), Some(email.into()), Some("USER"));
    store
        .create_assignee(
            tenant,
            id("assignee:alice"),
            user("Alice Example", "alice@example.com")?,
        )
        .await?;
    store
        .create_assignee(tenant, id("assignee:bob"), user("Bob Example", "bob@example.com")?)
        .await?;
    let group = NewAssignee::parse("Privacy Office".into(), None, Some("GROUP"))?;
    store
        .create_assignee(tenant, id("assignee:privacy-office"), group)
        .await?;
    Ok(())
}
