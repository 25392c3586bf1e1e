//! The clients: each one's incidents, seeded over gRPC, and which it calls next.

use incidentd::pb::{self, incident_service_client::IncidentServiceClient};
use tonic::transport::Channel;

use super::{
    body::create_body,
    tenant::{Tenant, authorized},
};

/// One client's state: which of its incidents it calls next, at which revision.
#[derive(Clone)]
pub(crate) struct Client {
    pub(super) tenant: Tenant,
    pub(super) incidents: Vec<(String, i64)>,
    pub(super) next: usize,
    pub(crate) n: u64,
}

/// Creates `count` incidents for each client, returning each client.
pub(crate) async fn clients(
    channel: &Channel,
    tenants: &[Tenant],
    concurrency: usize,
    count: usize,
) -> anyhow::Result<Vec<Client>> {
    let mut incidents = IncidentServiceClient::new(channel.clone());
    let mut clients = Vec::new();
    for c in 0..concurrency {
        let tenant = tenants[c % tenants.len()].clone();
        let mut owned = Vec::new();
        for n in 0..count {
            let request = pb::CreateIncidentRequest {
                incident: Some(create_body(&tenant, n as u64)),
                ..Default::default()
            };
            let created = incidents
                .create_incident(authorized(&tenant.token, request))
                .await?
                .into_inner();
            owned.push((created.id, created.revision));
        }
        clients.push(Client {
            tenant,
            incidents: owned,
            next: 0,
            n: 0,
        });
    }
    Ok(clients)
}
