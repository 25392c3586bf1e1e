//! The use cases, shared by every transport: check the caller's scope, parse the
//! plain input into domain types, and run the store's transaction.
//!
//! Violation paths are those of the gRPC request (`incidentId`, `incident.name`).

use std::{num::NonZeroU32, sync::Arc};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};
use uuid::Uuid;

use crate::{
    auth::{Principal, Scope, allow},
    domain::{
        Error, Violations,
        input::{IncidentFields, IncidentInput},
        inventory::{CreateOnly, CreateOnlyFields},
        jurisdiction::{self, Jurisdiction},
        reference::{
            Assignee, Attribute, IncidentType, NewAssignee, NewAttribute, NewIncidentType, NewOrganization,
            Organization,
        },
        request::RequestKey,
        revision::{RevisionList, RevisionPage},
        search::{Search, SearchFields, SearchPage},
        text::{parse_uuid, shorten},
        update::{Update, UpdateMask},
        view::IncidentView,
    },
    store::Store,
};

/// Path of the incident body inside create and update requests.
const BODY: &str = "incident";

/// An update as a transport receives it: plain fields, every one unchecked.
/// Empty strings mean "not given".
#[derive(Debug, Default)]
pub struct UpdateRequest {
    pub incident_id: String,
    pub body: Option<IncidentFields>,
    /// The etag of the revision the caller read.
    pub etag: String,
    /// Paths of the fields to replace; `None`: the whole body; no paths: no field.
    pub update_mask: Option<Vec<String>>,
    pub request_id: String,
}

#[derive(Clone)]
pub struct Service {
    store: Store,
    /// Per-tenant rate of calls, when one is configured.
    limiter: Option<Arc<TenantLimiter>>,
}

/// How many calls each tenant may make: a steady rate and a burst above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

/// A token bucket per tenant (GCRA, by governor).
struct TenantLimiter(DefaultKeyedRateLimiter<Uuid>);

impl TenantLimiter {
    fn new(limit: RateLimit) -> Self {
        Self(RateLimiter::keyed(
            Quota::per_second(limit.per_second).allow_burst(limit.burst),
        ))
    }

    fn check(&self, tenant_id: Uuid) -> Result<(), Error> {
        self.0.check_key(&tenant_id).map_err(|not_until| Error::RateLimited {
            retry_after: not_until.wait_time_from(self.0.clock().now()),
        })
    }
}

impl Service {
    pub fn new(store: Store, rate_limit: Option<RateLimit>) -> Self {
        Self {
            store,
            limiter: rate_limit.map(|limit| Arc::new(TenantLimiter::new(limit))),
        }
    }

    /// Lets a call in: within its tenant's rate (when one is set), and with one of
    /// the `allowed` scopes. Every use case starts here.
    fn admit(&self, principal: &Principal, allowed: &[Scope]) -> Result<(), Error> {
        if let Some(limiter) = &self.limiter {
            limiter.check(principal.tenant_id)?;
        }
        principal.require(allowed)
    }

    /// Forgets the buckets of tenants that have been idle long enough to be full
    /// again, so that the limiter's memory follows the active tenants.
    pub fn forget_idle_tenants(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.0.retain_recent();
            limiter.0.shrink_to_fit();
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub async fn create_incident(
        &self,
        principal: &Principal,
        body: Option<(IncidentFields, CreateOnlyFields)>,
        request_id: &str,
    ) -> Result<IncidentView, Error> {
        self.admit(principal, allow::CREATE_INCIDENT)?;
        let (input, create_only, request) = parse_create(body, request_id)?;
        self.store
            .create_incident(principal, input, create_only, request)
            .await
            .map(IncidentView::from)
            .map_err(|e| e.within(BODY))
    }

    pub async fn get_incident(&self, principal: &Principal, incident_id: &str) -> Result<IncidentView, Error> {
        self.admit(principal, allow::READ_INCIDENT)?;
        let id = parse_uuid(incident_id).map_err(|e| Error::invalid("incidentId", e))?;
        self.store
            .get_incident(principal.tenant_id, id)
            .await
            .map(IncidentView::from)
    }

    pub async fn update_incident(&self, principal: &Principal, request: UpdateRequest) -> Result<IncidentView, Error> {
        self.admit(principal, allow::UPDATE_INCIDENT)?;
        let (id, update) = parse_update(request)?;
        self.store
            .update_incident(principal, id, update)
            .await
            .map(IncidentView::from)
            .map_err(|e| e.within(BODY))
    }

    pub async fn search_incidents(&self, principal: &Principal, fields: SearchFields) -> Result<SearchPage, Error> {
        self.admit(principal, allow::READ_INCIDENT)?;
        let search = Search::parse(fields).map_err(Violations::into_error)?;
        self.store.search_incidents(principal.tenant_id, search).await
    }

    pub async fn list_incident_revisions(
        &self,
        principal: &Principal,
        incident_id: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<RevisionList, Error> {
        self.admit(principal, allow::READ_INCIDENT)?;
        let mut violations = Violations::new();
        let id = violations.check("incidentId", parse_uuid(incident_id));
        let page = RevisionPage::parse(&mut violations, id, page_size, page_token);
        match (id, page) {
            (Some(id), Some(page)) if violations.is_empty() => {
                self.store.list_revisions(principal.tenant_id, id, page).await
            }
            _ => Err(violations.into_error()),
        }
    }

    pub async fn create_organization(
        &self,
        principal: &Principal,
        name: String,
        parent_id: Option<String>,
    ) -> Result<Organization, Error> {
        self.admit(principal, allow::WRITE_REFERENCE)?;
        let new = NewOrganization::parse(name, parent_id)?;
        self.store
            .create_organization(principal.tenant_id, Uuid::now_v7(), new)
            .await
    }

    pub async fn list_organizations(&self, principal: &Principal) -> Result<Vec<Organization>, Error> {
        self.admit(principal, allow::READ_REFERENCE)?;
        self.store.list_organizations(principal.tenant_id).await
    }

    pub async fn create_incident_type(&self, principal: &Principal, name: String) -> Result<IncidentType, Error> {
        self.admit(principal, allow::WRITE_REFERENCE)?;
        let new = NewIncidentType::parse(name)?;
        self.store
            .create_incident_type(principal.tenant_id, Uuid::now_v7(), new)
            .await
    }

    pub async fn list_incident_types(&self, principal: &Principal) -> Result<Vec<IncidentType>, Error> {
        self.admit(principal, allow::READ_REFERENCE)?;
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
        self.admit(principal, allow::WRITE_REFERENCE)?;
        let new = NewAttribute::parse(name, kind, options)?;
        self.store
            .create_attribute(principal.tenant_id, Uuid::now_v7(), new)
            .await
    }

    pub async fn list_attributes(&self, principal: &Principal) -> Result<Vec<Attribute>, Error> {
        self.admit(principal, allow::READ_REFERENCE)?;
        self.store.list_attributes(principal.tenant_id).await
    }

    pub async fn create_assignee(
        &self,
        principal: &Principal,
        name: String,
        email: Option<String>,
        kind: Option<&str>,
    ) -> Result<Assignee, Error> {
        self.admit(principal, allow::WRITE_REFERENCE)?;
        let new = NewAssignee::parse(name, email, kind)?;
        self.store
            .create_assignee(principal.tenant_id, Uuid::now_v7(), new)
            .await
    }

    pub async fn list_assignees(&self, principal: &Principal) -> Result<Vec<Assignee>, Error> {
        self.admit(principal, allow::READ_REFERENCE)?;
        self.store.list_assignees(principal.tenant_id).await
    }

    pub fn list_jurisdictions(
        &self,
        principal: &Principal,
        country_code: Option<&str>,
    ) -> Result<Vec<Jurisdiction>, Error> {
        self.admit(principal, allow::READ_REFERENCE)?;
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
/// What a create can be told without the database: the request id, the body
/// and its create-only fields. Violations of the body travel in the input, to
/// be reported with those found against the tenant's reference data.
pub fn parse_create(
    body: Option<(IncidentFields, CreateOnlyFields)>,
    request_id: &str,
) -> Result<(IncidentInput, CreateOnly, Option<RequestKey>), Error> {
    let mut violations = Violations::new();
    let request = RequestKey::parse(&mut violations, request_id, &("create", &body));
    let (body, create_only) = body.unzip();
    let Some(mut input) = parse_body(&mut violations, body) else {
        return Err(violations.into_error());
    };
    let create_only = CreateOnly::parse(&mut input.violations, create_only.unwrap_or_default());
    if !violations.is_empty() {
        violations.absorb(BODY, input.violations);
        return Err(violations.into_error());
    }
    Ok((input, create_only, request))
}

/// What an update can be told without the database: the id, the mask, the
/// etag and the request id. The body is checked once the incident is read
/// (a partial one completes it), but a whole body that cannot be applied is
/// reported with the rest.
pub fn parse_update(request: UpdateRequest) -> Result<(Uuid, Update), Error> {
    let UpdateRequest {
        incident_id,
        body,
        etag,
        update_mask,
        request_id,
    } = request;
    let mut violations = Violations::new();
    let id = violations.check("incidentId", parse_uuid(&incident_id));
    let mask = UpdateMask::parse(&mut violations, "updateMask", update_mask);
    let etag = Some(etag).filter(|e| !e.is_empty());
    let request = RequestKey::parse(&mut violations, &request_id, &("update", id, &body, &mask, &etag));
    if body.is_none() {
        violations.add(BODY, "is required");
    }
    match (id, body) {
        (Some(id), Some(body)) if violations.is_empty() => Ok((
            id,
            Update {
                body,
                mask,
                etag,
                request,
            },
        )),
        (_, body) => {
            // Without an incident to compare with, report what parsing of a
            // whole body found; a partial one is checked with the incident.
            if let (Some(body), UpdateMask::All) = (body, mask) {
                violations.absorb(BODY, IncidentInput::parse(body).violations);
            }
            Err(violations.into_error())
        }
    }
}

fn parse_body(violations: &mut Violations, body: Option<IncidentFields>) -> Option<IncidentInput> {
    if body.is_none() {
        violations.add(BODY, "is required");
    }
    body.map(IncidentInput::parse)
}
