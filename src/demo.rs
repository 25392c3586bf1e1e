//! The demo tenant seeded on a new embedded database when no key is configured,
//! so that a first `cargo run` can be tried at once. Its ids are fixed (UUID v5),
//! so the README's examples can name them. It is written in one transaction.

use std::time::Duration;

use uuid::Uuid;

use crate::{
    Config,
    auth::claims_for,
    domain::{
        Error,
        reference::{NewAssignee, NewAttribute, NewIncidentType, NewOrganization, ReferenceBatch},
    },
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
    store.create_reference_data(tenant_id(), batch()?).await?;
    let name = Some("Demo User".to_owned());
    let claims = claims_for(
        tenant_id(),
        user_id(),
        DEMO_SCOPES,
        name,
        Duration::from_secs(30 * 24 * 3600),
    );
    let token = config.signer(None)?.sign(&claims)?;
    tracing::info!(tenant_id = %tenant_id(), "seeded the demo tenant; a demo token valid for 30 days follows");
    tracing::info!("export TOKEN={token}");
    Ok(())
}

fn batch() -> Result<ReferenceBatch, Error> {
    let headquarters = id("organization:headquarters");
    let child = |name: &str| NewOrganization::parse(name.into(), Some(headquarters.to_string()));
    let organizations = vec![
        (headquarters, NewOrganization::parse("Headquarters".into(), None)?),
        (id("organization:legal"), child("Legal")?),
        (id("organization:it"), child("IT")?),
    ];
    let incident_types = ["Misdirected Email", "Lost Device", "Unauthorized Access", "Ransomware"]
        .into_iter()
        .map(|name| {
            Ok((
                id(&format!("incident-type:{}", name.to_lowercase())),
                NewIncidentType::parse(name.into())?,
            ))
        })
        .collect::<Result<_, Error>>()?;
    let options = |values: &[(&str, bool)]| values.iter().map(|(v, d)| ((*v).to_owned(), *d)).collect();
    let severity = options(&[
        ("Low", false),
        ("Medium", false),
        ("High", false),
        ("Critical", false),
        ("Unrated", true),
    ]);
    let categories = options(&[
        ("Contact Details", false),
        ("Financial", false),
        ("Health", false),
        ("Government ID", false),
    ]);
    let attributes = vec![
        (
            id("attribute:severity"),
            NewAttribute::parse("Severity".into(), Some("SINGLE_SELECT"), severity)?,
        ),
        (
            id("attribute:data-categories"),
            NewAttribute::parse("Data Categories".into(), Some("MULTI_SELECT"), categories)?,
        ),
        (
            id("attribute:ticket"),
            NewAttribute::parse("Ticket".into(), Some("TEXT"), Vec::new())?,
        ),
    ];
    let user = |name: &str, email: &str| NewAssignee::parse(name.into(), Some(email.into()), Some("USER"));
    let assignees = vec![
        (id("assignee:alice"), user("Alice Example", "alice@example.com")?),
        (id("assignee:bob"), user("Bob Example", "bob@example.com")?),
        (
            id("assignee:privacy-office"),
            NewAssignee::parse("Privacy Office".into(), None, Some("GROUP"))?,
        ),
    ];
    Ok(ReferenceBatch {
        organizations,
        incident_types,
        attributes,
        assignees,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_data_is_valid() {
        assert!(super::batch().is_ok());
    }
}
