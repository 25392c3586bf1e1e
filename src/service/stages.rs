//! Workflows, and moving an incident through the stages of its own: closing,
//! reopening, and the checks each move waits for.

use std::collections::BTreeMap;

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
        request::RequestKey,
        revision::stage_changes,
        text::parse_uuid,
        view::IncidentView,
        workflow::{self, NewWorkflow, Stage, StageFields, StageParameters, Workflow},
    },
};

/// A stage move as a transport receives it: plain fields, every one unchecked.
#[derive(Debug, Default)]
pub struct StageRequest {
    pub incident_id: String,
    pub next_stage_name: String,
    pub parameters: BTreeMap<String, String>,
    /// The etag of the revision the caller read; empty: none.
    pub etag: String,
    pub request_id: String,
}

/// A stage move, checked as far as it can be without the incident.
pub(crate) struct Move {
    pub id: Uuid,
    pub next: String,
    pub parameters: StageParameters,
    pub etag: Option<String>,
    pub request: Option<RequestKey>,
}

impl Service {
    /// Moves an incident to another stage of its workflow; answers the incident
    /// and the stage it is in now.
    pub async fn update_incident_stage(
        &self,
        principal: &Principal,
        request: StageRequest,
    ) -> Result<(IncidentView, Stage), Error> {
        self.admit(principal, allow::UPDATE_INCIDENT)?;
        let change = parse_stage_move(request)?;
        let incident = self.move_stage(principal, change).await?;
        let stage = incident.stage.stage.clone();
        Ok((IncidentView::from(incident), stage))
    }

    #[tracing::instrument(skip_all, fields(tenant_id = %principal.tenant_id, incident_id = %change.id))]
    async fn move_stage(&self, principal: &Principal, change: Move) -> Result<Incident, Error> {
        let Move {
            id,
            next,
            parameters,
            etag,
            request,
        } = change;
        // Moving is how a closed incident is reopened.
        let closed = WhenClosed::Allow;
        let (write, current) = match self
            .begin_change(principal, id, etag.as_deref(), request.as_ref(), closed)
            .await?
        {
            Begun::Replayed(answer) => return Ok(answer),
            Begun::Current(write, current) => (write, current),
        };
        let Some(flow) = write.workflow(current.stage.workflow_id).await? else {
            tracing::error!("an incident's workflow is missing");
            return Err(Error::Internal);
        };
        let at = later_than(current.updated_at);
        let updated = match workflow::move_to(&current, &flow, &next, &parameters, at)? {
            Some(moved) => Incident {
                updated_at: at,
                revision: current.revision + 1,
                ..moved
            },
            None => current.clone(),
        };
        let changed = stage_changes(&current, &updated);
        let justification = parameters.justification.as_ref().map(|j| j.as_str());
        let event = EventType::of_stage_move(&current, &updated);
        let revised = revised(event, principal, request.as_ref(), &changed, justification);
        let answer = conclude(write, revised, request.as_ref(), current, updated).await?;
        tracing::info!(revision = answer.revision, stage = %answer.stage.stage.id, "incident stage set");
        Ok(answer)
    }

    pub async fn list_workflows(&self, principal: &Principal) -> Result<Vec<Workflow>, Error> {
        self.admit(principal, allow::READ_REFERENCE)?;
        self.store.list_workflows(principal.tenant_id).await
    }

    pub async fn create_workflow(
        &self,
        principal: &Principal,
        name: String,
        stages: Vec<StageFields>,
    ) -> Result<Workflow, Error> {
        self.admit(principal, allow::WRITE_REFERENCE)?;
        let new = NewWorkflow::parse(name, stages)?.into_workflow(Uuid::now_v7(), Uuid::now_v7);
        self.store.create_workflow(principal.tenant_id, new).await
    }
}

/// What a stage move can be told without the database: the id, the stage
/// name, the parameters, the etag and the request id.
pub(crate) fn parse_stage_move(request: StageRequest) -> Result<Move, Error> {
    let StageRequest {
        incident_id,
        next_stage_name,
        parameters,
        etag,
        request_id,
    } = request;
    let mut violations = Violations::new();
    let id = violations.check("incidentId", parse_uuid(&incident_id));
    if next_stage_name.trim().is_empty() {
        violations.add("nextStageName", "is required");
    }
    let etag = Some(etag).filter(|e| !e.is_empty());
    let fingerprint = ("stage", id, &next_stage_name, &parameters, &etag);
    let request = RequestKey::parse(&mut violations, &request_id, &fingerprint);
    let parameters = StageParameters::parse(&mut violations, parameters);
    match id {
        Some(id) if violations.is_empty() => Ok(Move {
            id,
            next: next_stage_name,
            parameters,
            etag,
            request,
        }),
        _ => Err(violations.into_error()),
    }
}
