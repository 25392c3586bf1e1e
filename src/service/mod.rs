//! The use cases, shared by every transport: check the caller's scope, parse the
//! plain input into domain types, and run the flow over the store's transaction.
//! The incidents' own are in `incidents`.
//!
//! Violation paths are those of the gRPC request (`incidentId`, `incident.name`);
//! each transport renders them as its request names them.

mod events;
mod incidents;
mod links;
mod stages;

pub use events::{
    DEFAULT_BOOKMARK_INTERVAL, DEFAULT_EVENT_RETENTION, DEFAULT_STALL_TIMEOUT, DEFAULT_WATCH_BUFFER_BYTES, WatchItem,
    WatchSettings, Watching,
};
pub use incidents::{NotificationRequest, UpdateRequest};
/// What a create or an update can be told without the database, for the fuzz
/// targets' entry points.
#[cfg(any(test, feature = "fuzz"))]
pub(crate) use incidents::{parse_create, parse_notification, parse_update};
pub use links::{LinkRequest, UnlinkRequest};
#[cfg(any(test, feature = "fuzz"))]
pub(crate) use links::{parse_link, parse_unlink};
pub use stages::StageRequest;
#[cfg(any(test, feature = "fuzz"))]
pub(crate) use stages::parse_stage_move;

use std::{num::NonZeroU32, sync::Arc};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock};
use uuid::Uuid;

use crate::{
    auth::{Principal, Scope, allow},
    domain::{
        Error, Violations,
        jurisdiction::{self, Jurisdiction},
        notification,
        reference::{
            Assignee, Attribute, IncidentType, NewAssignee, NewAttribute, NewIncidentType, NewOrganization,
            Organization,
        },
        revision::{RevisionList, RevisionPage},
        search::{Search, SearchFields, SearchPage},
        text::parse_uuid,
    },
    store::Store,
};

#[derive(Clone)]
pub struct Service {
    store: Store,
    /// Per-tenant rate of calls, when one is configured.
    limiter: Option<Arc<TenantLimiter>>,
    watch_settings: WatchSettings,
    /// Set at shutdown, which ends every watch.
    stopping: Arc<tokio::sync::watch::Sender<bool>>,
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
        self.0.check_key(&tenant_id).map_err(|not_until| {
            crate::telemetry::metrics::refused("RATE_LIMITED");
            Error::RateLimited {
                retry_after: not_until.wait_time_from(self.0.clock().now()),
            }
        })
    }
}

impl Service {
    pub fn new(store: Store, rate_limit: Option<RateLimit>, watch_settings: WatchSettings) -> Self {
        Self {
            store,
            limiter: rate_limit.map(|limit| Arc::new(TenantLimiter::new(limit))),
            watch_settings,
            stopping: Arc::new(tokio::sync::watch::Sender::new(false)),
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

    pub async fn search_incidents(&self, principal: &Principal, fields: SearchFields) -> Result<SearchPage, Error> {
        self.admit(principal, allow::READ_INCIDENT)?;
        let tokens = self.store.page_tokens(principal.tenant_id).await?;
        let search = Search::parse(fields, &tokens).map_err(Violations::into_error)?;
        self.store.search_incidents(principal.tenant_id, search, &tokens).await
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
        let tokens = self.store.page_tokens(principal.tenant_id).await?;
        let page = RevisionPage::parse(&mut violations, &tokens, id, page_size, page_token);
        match (id, page) {
            (Some(id), Some(page)) if violations.is_empty() => {
                self.store.list_revisions(principal.tenant_id, id, page, &tokens).await
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
        Ok(jurisdiction::list(jurisdiction::country_filter(country_code)?))
    }

    /// The notification rules the service knows, or those covering one country.
    pub fn list_notification_rules(
        &self,
        principal: &Principal,
        country_code: Option<&str>,
    ) -> Result<(&'static str, Vec<&'static notification::Rule>), Error> {
        self.admit(principal, allow::READ_REFERENCE)?;
        let catalogue = notification::catalogue();
        let country_code = jurisdiction::country_filter(country_code)?;
        Ok((&catalogue.version, catalogue.list(country_code)))
    }
}
