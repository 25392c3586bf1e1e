//! The use cases, shared by every transport: check the caller's scope, parse the
//! plain input into domain types, and run the store's transaction.
//!
//! Violation paths are those of the gRPC request (`incidentId`, `incident.name`).

use uuid::Uuid;

use crate::{
    auth::{Principal, allow},
    domain::{
        Error, Violations,
        incident::Incident,
        input::{IncidentFields, IncidentInput},
        inventory::{CreateOnly, CreateOnlyFields},
        jurisdiction::{self, Jurisdiction},
        reference::{
            Assignee, Attribute, IncidentType, NewAssignee, NewAttribute, NewIncidentType, NewOrganization,
            Organization,
        },
        text::{parse_uuid, shorten},
    },
    store::Store,
};

/// Path of the incident body inside create and update requests.
const BODY: &str = "incident";

#[derive(Clone)]
pub struct Service {
    store: Store,
}

impl Service {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub async fn create_incident(
        &self,
        principal: &Principal,
        body: Option<(IncidentFields, CreateOnlyFields)>,
    ) -> Result<Incident, Error> {
        principal.require(allow::CREATE_INCIDENT)?;
        let mut violations = Violations::new();
        let (body, create_only) = body.unzip();
        match parse_body(&mut violations, body) {
            Some(mut input) => {
                let create_only = CreateOnly::parse(&mut input.violations, create_only.unwrap_or_default());
                self.store
                    .create_incident(principal, input, create_only)
                    .await
                    .map_err(|e| e.within(BODY))
            }
            None => Err(violations.into_error()),
        }
    }

    pub async fn get_incident(&self, principal: &Principal, incident_id: &str) -> Result<Incident, Error> {
        principal.require(allow::READ_INCIDENT)?;
        let id = parse_uuid(incident_id).map_err(|e| Error::invalid("incidentId", e))?;
        self.store.get_incident(principal.tenant_id, id).await
    }

    pub async fn update_incident(
        &self,
        principal: &Principal,
        incident_id: &str,
        body: Option<IncidentFields>,
    ) -> Result<Incident, Error> {
        principal.require(allow::UPDATE_INCIDENT)?;
        let mut violations = Violations::new();
        let id = violations.check("incidentId", parse_uuid(incident_id));
        match (id, parse_body(&mut violations, body)) {
            (Some(id), Some(input)) => self
                .store
                .update_incident(principal, id, input)
                .await
                .map_err(|e| e.within(BODY)),
            (_, input) => {
                // Without an incident to compare with, report what parsing found.
                if let Some(input) = input {
                    violations.absorb(BODY, input.violations);
                }
                Err(violations.into_error())
            }
        }
    }

    pub async fn create_organization(
        &self,
        principal: &Principal,
        name: String,
        parent_id: Option<String>,
    ) -> Result<Organization, Error> {
        principal.require(allow::WRITE_REFERENCE)?;
        let new = NewOrganization::parse(name, parent_id)?;
        self.store
            .create_organization(principal.tenant_id, Uuid::now_v7(), new)
            .await
    }

    pub async fn list_organizations(&self, principal: &Principal) -> Result<Vec<Organization>, Error> {
        principal.require(allow::READ_REFERENCE)?;
        self.store.list_organizations(principal.tenant_id).await
    }

    pub async fn create_incident_type(&self, principal: &Principal, name: String) -> Result<IncidentType, Error> {
        principal.require(allow::WRITE_REFERENCE)?;
        let new = NewIncidentType::parse(name)?;
        self.store
            .create_incident_type(principal.tenant_id, Uuid::now_v7(), new)
            .await
    }

    pub async fn list_incident_types(&self, principal: &Principal) -> Result<Vec<IncidentType>, Error> {
        principal.require(allow::READ_REFERENCE)?;
        self.store.list_incident_types(principal.tenant_id).await
    }

    /// `options` are `(value, disabled)` pairs.
    pub async fn create_attribute(
        &self,
        principal: &Principal,
        name: String,
        kind: Option<&str>,
        options: Vec<(String, bool)>,
    ) -> Result<Attribute, Error> {
        principal.require(allow::WRITE_REFERENCE)?;
        let new = NewAttribute::parse(name, kind, options)?;
        self.store
            .create_attribute(principal.tenant_id, Uuid::now_v7(), new)
            .await
    }

    pub async fn list_attributes(&self, principal: &Principal) -> Result<Vec<Attribute>, Error> {
        principal.require(allow::READ_REFERENCE)?;
        self.store.list_attributes(principal.tenant_id).await
    }

    pub async fn create_assignee(
        &self,
        principal: &Principal,
        name: String,
        email: Option<String>,
        kind: Option<&str>,
    ) -> Result<Assignee, Error> {
        principal.require(allow::WRITE_REFERENCE)?;
        let new = NewAssignee::parse(name, email, kind)?;
        self.store
            .create_assignee(principal.tenant_id, Uuid::now_v7(), new)
            .await
    }

    pub async fn list_assignees(&self, principal: &Principal) -> Result<Vec<Assignee>, Error> {
        principal.require(allow::READ_REFERENCE)?;
        self.store.list_assignees(principal.tenant_id).await
    }

    pub fn list_jurisdictions(
        &self,
        principal: &Principal,
        country_code: Option<&str>,
    ) -> Result<Vec<Jurisdiction>, Error> {
        principal.require(allow::READ_REFERENCE)?;
        match country_code.filter(|c| !c.is_empty()) {
            Some(code) if !jurisdiction::is_country(code) => Err(Error::invalid(
                "countryCode",
                format!("must be an ISO 3166 alpha-3 country code, got {}", shorten(code)),
            )),
            code => Ok(jurisdiction::list(code)),
        }
    }
}

/// Parses the body if there is one; a missing body is a violation of its own.
fn parse_body(violations: &mut Violations, body: Option<IncidentFields>) -> Option<IncidentInput> {
    if body.is_none() {
        violations.add(BODY, "is required");
    }
    body.map(IncidentInput::parse)
}
