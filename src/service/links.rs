//! Linking an incident to inventory records after its creation, and removing
//! a link: the original API's Link Incident to Inventory, and its inverse.

use uuid::Uuid;

use super::{
    Service,
    incidents::{Begun, WhenClosed, conclude, later_than, revised},
};
use crate::{
    auth::{Principal, allow},
    domain::{
        Error, Violations,
        event::EventType,
        incident::Incident,
        inventory::{self, InventoryLinkRef, InventoryLinks, InventoryType},
        request::RequestKey,
        revision::link_changes,
        text::parse_uuid,
        view::IncidentView,
    },
};

/// Links to add, as a transport receives them.
#[derive(Debug, Default)]
pub struct LinkRequest {
    pub incident_id: String,
    pub inventory_type: String,
    pub link: InventoryLinkRef,
    /// The etag of the revision the caller read; empty: none.
    pub etag: String,
    pub request_id: String,
}

/// A link to remove, as a transport receives it.
#[derive(Debug, Default)]
pub struct UnlinkRequest {
    pub incident_id: String,
    pub inventory_type: String,
    /// An inventory id, or an external id.
    pub id: String,
    pub etag: String,
    pub request_id: String,
}

/// How the links of an incident change.
enum Change {
    Link(InventoryLinks),
    Unlink(InventoryType, String),
}

/// A change of links, checked as far as it can be without the incident.
pub(crate) struct Relink {
    id: Uuid,
    change: Change,
    etag: Option<String>,
    request: Option<RequestKey>,
}

impl Service {
    /// Adds links to an incident; a link it has already is kept once. Answers
    /// the incident and the links the request names, as it now has them.
    pub async fn link_inventory(
        &self,
        principal: &Principal,
        request: LinkRequest,
    ) -> Result<(IncidentView, InventoryLinks), Error> {
        self.admit(principal, allow::UPDATE_INCIDENT)?;
        let (relink, requested) = parse_link(request)?;
        let incident = self.relink(principal, relink).await?;
        let linked = inventory::as_linked(&requested, &incident.linked_inventories);
        Ok((IncidentView::from(incident), linked))
    }

    /// Removes one link of an incident; NOT_FOUND when it has no such link.
    pub async fn unlink_inventory(&self, principal: &Principal, request: UnlinkRequest) -> Result<IncidentView, Error> {
        self.admit(principal, allow::UPDATE_INCIDENT)?;
        let relink = parse_unlink(request)?;
        self.relink(principal, relink).await.map(IncidentView::from)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %principal.tenant_id, incident_id = %relink.id))]
    async fn relink(&self, principal: &Principal, relink: Relink) -> Result<Incident, Error> {
        let Relink {
            id,
            change,
            etag,
            request,
        } = relink;
        let closed = WhenClosed::Refuse;
        let (write, current) = match self
            .begin_change(principal, id, etag.as_deref(), request.as_ref(), closed)
            .await?
        {
            Begun::Replayed(answer) => return Ok(answer),
            Begun::Current(write, current) => (write, current),
        };
        let event = match change {
            Change::Link(_) => EventType::InventoryLinked,
            Change::Unlink(..) => EventType::InventoryUnlinked,
        };
        let linked_inventories = match change {
            Change::Link(new) => inventory::link(&current.linked_inventories, new)?,
            Change::Unlink(kind, link) => inventory::unlink(&current.linked_inventories, id, kind, &link)?,
        };
        let updated = Incident {
            linked_inventories,
            updated_at: later_than(current.updated_at),
            revision: current.revision + 1,
            ..current.clone()
        };
        let changed = link_changes(&current, &updated);
        let revised = revised(event, principal, request.as_ref(), &changed, None);
        let answer = conclude(write, revised, request.as_ref(), current, updated).await?;
        tracing::info!(revision = answer.revision, "inventory links changed");
        Ok(answer)
    }
}

/// What linking can be told without the database, with the links requested.
pub(crate) fn parse_link(request: LinkRequest) -> Result<(Relink, InventoryLinks), Error> {
    let LinkRequest {
        incident_id,
        inventory_type,
        link,
        etag,
        request_id,
    } = request;
    let mut violations = Violations::new();
    let id = violations.check("incidentId", parse_uuid(&incident_id));
    let etag = Some(etag).filter(|e| !e.is_empty());
    let fingerprint = ("link", id, &inventory_type, &link, &etag);
    let request = RequestKey::parse(&mut violations, &request_id, &fingerprint);
    let links = inventory::parse_link(&mut violations, &inventory_type, link);
    match (id, links) {
        (Some(id), Some(links)) if violations.is_empty() => Ok((
            Relink {
                id,
                change: Change::Link(links.clone()),
                etag,
                request,
            },
            links,
        )),
        _ => Err(violations.into_error()),
    }
}

/// What unlinking can be told without the database.
pub(crate) fn parse_unlink(request: UnlinkRequest) -> Result<Relink, Error> {
    let UnlinkRequest {
        incident_id,
        inventory_type,
        id: link,
        etag,
        request_id,
    } = request;
    let mut violations = Violations::new();
    let id = violations.check("incidentId", parse_uuid(&incident_id));
    let kind = violations.check("inventoryType", inventory::parse_inventory_type(&inventory_type));
    if link.is_empty() {
        violations.add("id", "is required: an inventory id or an external id");
    }
    let etag = Some(etag).filter(|e| !e.is_empty());
    let fingerprint = ("unlink", id, &inventory_type, &link, &etag);
    let request = RequestKey::parse(&mut violations, &request_id, &fingerprint);
    match (id, kind) {
        (Some(id), Some(kind)) if violations.is_empty() => Ok(Relink {
            id,
            change: Change::Unlink(kind, link),
            etag,
            request,
        }),
        _ => Err(violations.into_error()),
    }
}
