//! One tenant of the bench: its token and reference data, created over gRPC,
//! and the calls made as it.

use std::time::Duration;

use incidentd::{
    auth::{Principal, Scope, Signer, claims_for},
    pb::{self, reference_data_service_client::ReferenceDataServiceClient},
};
use tonic::{Request, transport::Channel};
use uuid::Uuid;

use crate::SECRET;

/// One tenant's token and reference data, by id.
#[derive(Clone)]
pub(crate) struct Tenant {
    pub(super) principal: Principal,
    pub(super) token: String,
    pub(super) organizations: [String; 2],
    pub(super) assignees: [(String, String); 2],
    pub(super) group: String,
}

/// A refused call, as the report prints it: its code and message.
pub(super) fn status_text(status: tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

pub(super) fn authorized<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let value = format!("Bearer {token}").parse().expect("ascii");
    request.metadata_mut().insert("authorization", value);
    request
}

/// A new tenant with its token and reference data: two organizations, two
/// incident types, three attributes, two users and a group.
pub(crate) async fn tenant(channel: &Channel) -> anyhow::Result<Tenant> {
    let principal = Principal {
        tenant_id: Uuid::now_v7(),
        subject: Uuid::now_v7(),
        name: Some("Bench Client".into()),
        scopes: vec![Scope::Incident, Scope::IncidentAdmin],
    };
    let claims = claims_for(
        principal.tenant_id,
        principal.subject,
        "INCIDENT INCIDENT_ADMIN",
        principal.name.clone(),
        Duration::from_secs(24 * 3600),
    );
    let token = Signer::hs256(SECRET).sign(&claims)?;
    let mut reference = ReferenceDataServiceClient::new(channel.clone());
    let organizations = organizations(&mut reference, &token).await?;
    incident_types(&mut reference, &token).await?;
    attributes(&mut reference, &token).await?;
    let (assignees, group) = assignees(&mut reference, &token).await?;
    Ok(Tenant {
        principal,
        token,
        organizations: [organizations[0].clone(), organizations[1].clone()],
        assignees: [assignees[0].clone(), assignees[1].clone()],
        group,
    })
}

type Reference = ReferenceDataServiceClient<Channel>;

/// Headquarters and, under it, Legal: their ids.
async fn organizations(reference: &mut Reference, token: &str) -> anyhow::Result<Vec<String>> {
    let mut organizations = Vec::new();
    for name in ["Headquarters", "Legal"] {
        let request = pb::CreateOrganizationRequest {
            name: name.into(),
            parent_id: organizations.first().cloned(),
        };
        organizations.push(
            reference
                .create_organization(authorized(token, request))
                .await?
                .into_inner()
                .id,
        );
    }
    Ok(organizations)
}

async fn incident_types(reference: &mut Reference, token: &str) -> anyhow::Result<()> {
    for name in ["Misdirected Email", "Lost Device"] {
        let request = pb::CreateIncidentTypeRequest { name: name.into() };
        reference.create_incident_type(authorized(token, request)).await?;
    }
    Ok(())
}

/// Severity (single select), Data Categories (multiple select) and Ticket (text).
async fn attributes(reference: &mut Reference, token: &str) -> anyhow::Result<()> {
    let option = |value: &str| pb::AttributeOptionInput {
        value: value.into(),
        disabled: false,
    };
    let attributes = [
        (
            "Severity",
            pb::attribute_type::Value::SingleSelect,
            vec![option("Low"), option("High")],
        ),
        (
            "Data Categories",
            pb::attribute_type::Value::MultiSelect,
            vec![option("Contact Details"), option("Financial"), option("Health")],
        ),
        ("Ticket", pb::attribute_type::Value::Text, vec![]),
    ];
    for (name, kind, options) in attributes {
        let request = pb::CreateAttributeRequest {
            name: name.into(),
            r#type: kind.into(),
            options,
        };
        reference.create_attribute(authorized(token, request)).await?;
    }
    Ok(())
}

/// Alice and Bob (id and e-mail each), then the Privacy Office group's id.
async fn assignees(reference: &mut Reference, token: &str) -> anyhow::Result<(Vec<(String, String)>, String)> {
    let mut assignees = Vec::new();
    for name in ["Alice", "Bob"] {
        let email = format!("{}@example.com", name.to_lowercase());
        let request = pb::CreateAssigneeRequest {
            name: name.into(),
            email: Some(email.clone()),
            r#type: pb::assignee_type::Value::User.into(),
        };
        assignees.push((
            reference
                .create_assignee(authorized(token, request))
                .await?
                .into_inner()
                .id,
            email,
        ));
    }
    let request = pb::CreateAssigneeRequest {
        name: "Privacy Office".into(),
        email: None,
        r#type: pb::assignee_type::Value::Group.into(),
    };
    let group = reference
        .create_assignee(authorized(token, request))
        .await?
        .into_inner()
        .id;
    Ok((assignees, group))
}
