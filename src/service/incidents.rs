//! The incident use cases: create, get, update and recording a notification.
//! Each runs its flow here, over one transaction the store opens: parse, read,
//! check the etag, apply the mask, resolve against reference data, diff, write.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::Service;
use crate::{
    auth::{Principal, allow},
    domain::{
        Error, Violations,
        enums::IncidentStatus,
        event::EventType,
        incident::{Incident, Record},
        input::{IncidentFields, IncidentInput},
        inventory::{CreateOnly, CreateOnlyFields},
        notice::{self, Notice, NoticeFields},
        request::RequestKey,
        resolve::resolve,
        revision::{FieldChange, changes},
        text::parse_uuid,
        update::{Update, UpdateMask},
        view::IncidentView,
        workflow::Workflow,
    },
    store::{Revised, Write, now},
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

/// A notification to record, as a transport receives it.
#[derive(Debug, Default)]
pub struct NotificationRequest {
    pub incident_id: String,
    pub notice: NoticeFields,
    /// The etag of the revision the caller read; empty: none.
    pub etag: String,
    pub request_id: String,
}

/// A notification to record, checked.
pub(crate) struct Notify {
    pub id: Uuid,
    pub notice: Notice,
    pub etag: Option<String>,
    pub request: Option<RequestKey>,
}

impl Service {
    /// Creates an incident with the tenant's next number, and its first revision.
    pub async fn create_incident(
        &self,
        principal: &Principal,
        body: Option<(IncidentFields, CreateOnlyFields)>,
        request_id: &str,
    ) -> Result<IncidentView, Error> {
        self.admit(principal, allow::CREATE_INCIDENT)?;
        let (input, create_only, request) = parse_create(body, request_id)?;
        self.create(principal, input, create_only, request)
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

    /// Updates the editable body of an incident: all of it (the original PUT) or
    /// the fields of the mask. An update that changes something moves the
    /// revision on and records it; one that changes nothing writes nothing.
    pub async fn update_incident(&self, principal: &Principal, request: UpdateRequest) -> Result<IncidentView, Error> {
        self.admit(principal, allow::UPDATE_INCIDENT)?;
        let (id, update) = parse_update(request)?;
        self.update(principal, id, update)
            .await
            .map(IncidentView::from)
            .map_err(|e| e.within(BODY))
    }

    /// Records that a recipient of one of the incident's jurisdictions has been
    /// notified: its guidances there are addressed from then on. Recording one
    /// again replaces it; recording the same again changes nothing.
    pub async fn record_notification(
        &self,
        principal: &Principal,
        request: NotificationRequest,
    ) -> Result<IncidentView, Error> {
        self.admit(principal, allow::UPDATE_INCIDENT)?;
        let notify = parse_notification(request, now())?;
        self.notify(principal, notify).await.map(IncidentView::from)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %principal.tenant_id, incident_id = %notify.id))]
    async fn notify(&self, principal: &Principal, notify: Notify) -> Result<Incident, Error> {
        let Notify {
            id,
            notice,
            etag,
            request,
        } = notify;
        let closed = WhenClosed::Refuse;
        let (write, current) = match self
            .begin_change(principal, id, etag.as_deref(), request.as_ref(), closed)
            .await?
        {
            Begun::Replayed(answer) => return Ok(answer),
            Begun::Current(write, current) => (write, current),
        };
        let (notices, change) = notice::record(&current, notice)?;
        let updated = Incident {
            notices,
            updated_at: later_than(current.updated_at),
            revision: current.revision + 1,
            ..current.clone()
        };
        let changed = Vec::from_iter(change);
        let revised = revised(
            EventType::NotificationRecorded,
            principal,
            request.as_ref(),
            &changed,
            None,
        );
        let answer = conclude(write, revised, request.as_ref(), current, updated).await?;
        tracing::info!(revision = answer.revision, "notification recorded");
        Ok(answer)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %principal.tenant_id))]
    async fn create(
        &self,
        principal: &Principal,
        input: IncidentInput,
        create_only: CreateOnly,
        request: Option<RequestKey>,
    ) -> Result<Incident, Error> {
        let tenant_id = principal.tenant_id;
        if !input.violations.is_empty() {
            return Err(self.refuse(tenant_id, input, None).await);
        }
        let write = self.store.write(tenant_id).await?;
        if let Some(key) = &request
            && let Some(answer) = write.replay(key).await?
        {
            return Ok(answer);
        }
        let reference = write.reference(&input, None).await?;
        let draft = resolve(input, reference)?;
        let workflow_id = create_only
            .workflow_id
            .unwrap_or_else(|| Workflow::default_for(tenant_id).id);
        let stage = write
            .workflow(workflow_id)
            .await?
            .and_then(|w| w.start())
            .ok_or_else(|| Error::invalid("workflowId", "is not a workflow of the tenant (ListWorkflows)"))?;
        let number = write.next_number().await?;
        let at = now();
        let incident = draft.into_incident(Record {
            id: Uuid::now_v7(),
            tenant_id,
            number,
            stage,
            status: IncidentStatus::Open,
            date_closed: None,
            created_by: principal.subject,
            creator: principal.display_name(),
            created_at: at,
            updated_at: at,
            revision: 1,
            linked_inventories: create_only.linked_inventories,
            notices: Vec::new(),
        });
        let changed = changes(None, &incident);
        let revised = revised(EventType::Created, principal, request.as_ref(), &changed, None);
        write
            .insert_incident(&incident, create_only.auto_assess_jurisdictions, revised)
            .await?;
        if let Some(key) = &request {
            write.remember(key, &incident).await?;
        }
        write.commit().await?;
        tracing::info!(incident_id = %incident.id, number, "incident created");
        Ok(incident)
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %principal.tenant_id, incident_id = %id))]
    async fn update(&self, principal: &Principal, id: Uuid, update: Update) -> Result<Incident, Error> {
        let tenant_id = principal.tenant_id;
        let Update {
            body,
            mask,
            etag,
            request,
        } = update;
        // A whole body can be checked before the write lock; a partial one only
        // together with the fields it keeps.
        let body = match mask {
            UpdateMask::All => match IncidentInput::parse(body) {
                input if input.violations.is_empty() => Ok(input),
                input => return Err(self.refuse(tenant_id, input, Some(id)).await),
            },
            UpdateMask::Only { .. } => Err(body),
        };
        let closed = WhenClosed::Refuse;
        let (write, current) = match self
            .begin_change(principal, id, etag.as_deref(), request.as_ref(), closed)
            .await?
        {
            Begun::Replayed(answer) => return Ok(answer),
            Begun::Current(write, current) => (write, current),
        };
        let input = body.unwrap_or_else(|partial| IncidentInput::parse(mask.apply(current.fields(), partial)));
        let reference = write.reference(&input, Some(&current)).await?;
        let updated = resolve(input, reference)?.into_incident(Record {
            updated_at: later_than(current.updated_at),
            revision: current.revision + 1,
            ..current.record()
        });
        let changed = changes(Some(&current), &updated);
        let revised = revised(EventType::Updated, principal, request.as_ref(), &changed, None);
        let answer = conclude(write, revised, request.as_ref(), current, updated).await?;
        tracing::info!(revision = answer.revision, changed = changed.len(), "incident updated");
        Ok(answer)
    }

    /// The refusal of a body that failed to parse, with the violations of its
    /// references added, found in a read transaction: a request that cannot
    /// succeed takes no write lock, and an unknown incident does not hide them.
    async fn refuse(&self, tenant_id: Uuid, input: IncidentInput, incident_id: Option<Uuid>) -> Error {
        let checked = async {
            let read = self.store.reading(tenant_id).await?;
            let current = match incident_id {
                Some(id) => read.incident(id).await?,
                None => None,
            };
            let reference = read.reference(&input, current.as_ref()).await?;
            read.finish().await?;
            Ok::<_, Error>(reference)
        };
        match checked.await {
            // `input` carries violations, so resolving it cannot succeed.
            Ok(reference) => resolve(input, reference).err().unwrap_or(Error::Internal),
            Err(error) => error,
        }
    }
}

/// Whether a change may be made to a closed incident.
#[derive(Debug, Clone, Copy)]
pub(super) enum WhenClosed {
    Refuse,
    /// A stage move, which is how a closed incident is reopened.
    Allow,
}

/// Where a change of one incident starts, in its tenant's write transaction.
pub(super) enum Begun {
    /// The request id was answered before: this is its answer.
    Replayed(Incident),
    /// The incident to change, locked, at the etag given.
    Current(Write, Incident),
}

impl Service {
    /// Starts a change of incident `id`: the write transaction, the answer a
    /// retry already got, or the incident read to change (NOT_FOUND when the
    /// tenant has none, FAILED_PRECONDITION when closed and `closed` refuses
    /// that, ABORTED when `etag` is not its own).
    pub(super) async fn begin_change(
        &self,
        principal: &Principal,
        id: Uuid,
        etag: Option<&str>,
        request: Option<&RequestKey>,
        closed: WhenClosed,
    ) -> Result<Begun, Error> {
        let write = self.store.write(principal.tenant_id).await?;
        if let Some(key) = request
            && let Some(answer) = write.replay(key).await?
        {
            return Ok(Begun::Replayed(answer));
        }
        let current = write.incident_for_update(id).await?;
        if let WhenClosed::Refuse = closed {
            current.ensure_open()?;
        }
        check_etag(etag, &current)?;
        Ok(Begun::Current(write, current))
    }
}

/// Ends a change of `current`: `updated` is written with its revision when
/// that names a change, and otherwise nothing is; the answer is remembered
/// for the request id, and the transaction committed.
pub(super) async fn conclude(
    write: Write,
    revised: Revised<'_>,
    request: Option<&RequestKey>,
    current: Incident,
    updated: Incident,
) -> Result<Incident, Error> {
    let answer = if revised.changes.is_empty() {
        current
    } else {
        write.rewrite_incident(&current, &updated, revised).await?;
        updated
    };
    if let Some(key) = request {
        write.remember(key, &answer).await?;
    }
    write.commit().await?;
    Ok(answer)
}

/// The revision a change by `principal` makes.
pub(super) fn revised<'a>(
    event: EventType,
    principal: &'a Principal,
    request: Option<&RequestKey>,
    changes: &'a [FieldChange],
    justification: Option<&'a str>,
) -> Revised<'a> {
    Revised {
        event,
        actor: principal,
        request_id: request.map(|key| key.id),
        changes,
        justification,
    }
}

/// A write given the etag of the revision its caller read goes ahead only on
/// that revision.
fn check_etag(etag: Option<&str>, current: &Incident) -> Result<(), Error> {
    match etag {
        Some(etag) if etag != current.etag() => Err(Error::StaleEtag {
            current_revision: current.revision,
        }),
        _ => Ok(()),
    }
}

/// Now, or a microsecond after `previous` if the clock has not moved past it:
/// `updatedDT` moves forward on every update.
pub(super) fn later_than(previous: DateTime<Utc>) -> DateTime<Utc> {
    Ord::max(now(), previous + TimeDelta::microseconds(1))
}

/// What a create can be told without the database: the request id, the body
/// and its create-only fields. Violations of the body travel in the input, to
/// be reported with those found against the tenant's reference data.
pub(crate) fn parse_create(
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
pub(crate) fn parse_update(request: UpdateRequest) -> Result<(Uuid, Update), Error> {
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

/// What recording a notification can be told without the database: the id, the
/// notification (sent no later than `now`), the etag and the request id.
pub(crate) fn parse_notification(request: NotificationRequest, now: DateTime<Utc>) -> Result<Notify, Error> {
    let NotificationRequest {
        incident_id,
        notice,
        etag,
        request_id,
    } = request;
    let mut violations = Violations::new();
    let id = violations.check("incidentId", parse_uuid(&incident_id));
    let etag = Some(etag).filter(|e| !e.is_empty());
    let request = RequestKey::parse(&mut violations, &request_id, &("notify", id, &notice, &etag));
    let notice = Notice::parse(&mut violations, notice, now);
    match (id, notice) {
        (Some(id), Some(notice)) if violations.is_empty() => Ok(Notify {
            id,
            notice,
            etag,
            request,
        }),
        _ => Err(violations.into_error()),
    }
}

/// Parses the body if there is one; a missing body is a violation of its own.
fn parse_body(violations: &mut Violations, body: Option<IncidentFields>) -> Option<IncidentInput> {
    if body.is_none() {
        violations.add(BODY, "is required");
    }
    body.map(IncidentInput::parse)
}
