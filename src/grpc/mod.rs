//! The gRPC transport: take the caller the admission layer verified, translate
//! the request, call the use case, translate the answer or the error. No rule
//! lives here.

pub mod codec;
pub(crate) mod convert;
mod status;

use std::pin::Pin;

use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::{auth::Principal, pb, service::Service};
pub use status::to_status;

/// Whether a request is a gRPC call (by its content type), to be answered as one.
pub fn is_grpc_call(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// What both gRPC services need: the use cases.
#[derive(Clone)]
pub struct Api {
    service: Service,
}

impl Api {
    pub fn new(service: Service) -> Self {
        Self { service }
    }

    /// The caller, verified from the call's headers before it was admitted.
    fn principal<T>(&self, request: &Request<T>) -> Result<Principal, Status> {
        crate::admission::caller(request.extensions()).map_err(to_status)
    }
}

type Answer<T> = Result<Response<T>, Status>;

fn answer<T, U: Into<T>>(result: Result<U, crate::domain::Error>) -> Answer<T> {
    result.map(|value| Response::new(value.into())).map_err(to_status)
}

/// A watch's messages as tonic sends them.
type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchIncidentsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::incident_service_server::IncidentService for Api {
    type WatchIncidentsStream = WatchStream;

    async fn create_incident(&self, request: Request<pb::CreateIncidentRequest>) -> Answer<pb::Incident> {
        let principal = self.principal(&request)?;
        let pb::CreateIncidentRequest { incident, request_id } = request.into_inner();
        answer(
            self.service
                .create_incident(&principal, incident.map(convert::create_body), &request_id)
                .await,
        )
    }

    async fn get_incident(&self, request: Request<pb::GetIncidentRequest>) -> Answer<pb::Incident> {
        let principal = self.principal(&request)?;
        let pb::GetIncidentRequest { incident_id } = request.into_inner();
        answer(self.service.get_incident(&principal, &incident_id).await)
    }

    async fn update_incident(&self, request: Request<pb::UpdateIncidentRequest>) -> Answer<pb::Incident> {
        let principal = self.principal(&request)?;
        let update = convert::update_request(request.into_inner());
        answer(self.service.update_incident(&principal, update).await)
    }

    async fn record_notification(&self, request: Request<pb::RecordNotificationRequest>) -> Answer<pb::Incident> {
        let principal = self.principal(&request)?;
        let notification = convert::notification_request(request.into_inner());
        answer(self.service.record_notification(&principal, notification).await)
    }

    async fn update_incident_stage(
        &self,
        request: Request<pb::UpdateIncidentStageRequest>,
    ) -> Answer<pb::UpdateIncidentStageResponse> {
        let principal = self.principal(&request)?;
        let change = convert::stage_request(request.into_inner());
        answer(self.service.update_incident_stage(&principal, change).await)
    }

    async fn link_inventory(&self, request: Request<pb::LinkInventoryRequest>) -> Answer<pb::LinkInventoryResponse> {
        let principal = self.principal(&request)?;
        let link = convert::link_request(request.into_inner());
        answer(self.service.link_inventory(&principal, link).await)
    }

    async fn unlink_inventory(&self, request: Request<pb::UnlinkInventoryRequest>) -> Answer<pb::Incident> {
        let principal = self.principal(&request)?;
        let unlink = convert::unlink_request(request.into_inner());
        answer(self.service.unlink_inventory(&principal, unlink).await)
    }

    async fn search_incidents(
        &self,
        request: Request<pb::SearchIncidentsRequest>,
    ) -> Answer<pb::SearchIncidentsResponse> {
        let principal = self.principal(&request)?;
        let fields = convert::search_fields(request.into_inner());
        answer(self.service.search_incidents(&principal, fields).await)
    }

    async fn list_incident_revisions(
        &self,
        request: Request<pb::ListIncidentRevisionsRequest>,
    ) -> Answer<pb::ListIncidentRevisionsResponse> {
        let principal = self.principal(&request)?;
        let pb::ListIncidentRevisionsRequest {
            incident_id,
            page_size,
            page_token,
        } = request.into_inner();
        answer(
            self.service
                .list_incident_revisions(&principal, &incident_id, page_size, &page_token)
                .await,
        )
    }

    async fn watch_incidents(&self, request: Request<pb::WatchIncidentsRequest>) -> Answer<WatchStream> {
        let principal = self.principal(&request)?;
        let fields = convert::watch_fields(request.into_inner());
        let watching = self
            .service
            .watch_incidents(&principal, fields)
            .await
            .map_err(to_status)?;
        let stream = watching.map(|item| item.map(Into::into).map_err(to_status));
        Ok(Response::new(Box::pin(stream)))
    }
}

/// Converts every element of a list answer.
fn all<T, U: Into<T>>(items: Vec<U>) -> Vec<T> {
    items.into_iter().map(Into::into).collect()
}

#[tonic::async_trait]
impl pb::reference_data_service_server::ReferenceDataService for Api {
    async fn create_organization(&self, request: Request<pb::CreateOrganizationRequest>) -> Answer<pb::Organization> {
        let principal = self.principal(&request)?;
        let pb::CreateOrganizationRequest { name, parent_id } = request.into_inner();
        answer(self.service.create_organization(&principal, name, parent_id).await)
    }

    async fn list_organizations(
        &self,
        request: Request<pb::ListOrganizationsRequest>,
    ) -> Answer<pb::ListOrganizationsResponse> {
        let principal = self.principal(&request)?;
        let organizations = self.service.list_organizations(&principal).await.map_err(to_status)?;
        Ok(Response::new(pb::ListOrganizationsResponse {
            organizations: all(organizations),
        }))
    }

    async fn create_incident_type(&self, request: Request<pb::CreateIncidentTypeRequest>) -> Answer<pb::IncidentType> {
        let principal = self.principal(&request)?;
        let pb::CreateIncidentTypeRequest { name } = request.into_inner();
        answer(self.service.create_incident_type(&principal, name).await)
    }

    async fn list_incident_types(
        &self,
        request: Request<pb::ListIncidentTypesRequest>,
    ) -> Answer<pb::ListIncidentTypesResponse> {
        let principal = self.principal(&request)?;
        let incident_types = self.service.list_incident_types(&principal).await.map_err(to_status)?;
        Ok(Response::new(pb::ListIncidentTypesResponse {
            incident_types: all(incident_types),
        }))
    }

    async fn create_attribute(&self, request: Request<pb::CreateAttributeRequest>) -> Answer<pb::Attribute> {
        let principal = self.principal(&request)?;
        let pb::CreateAttributeRequest { name, r#type, options } = request.into_inner();
        let options = options
            .into_iter()
            .map(|pb::AttributeOptionInput { value, disabled }| (value, disabled))
            .collect();
        let kind = convert::attribute_kind_name(r#type);
        answer(
            self.service
                .create_attribute(&principal, name, kind.as_deref(), options)
                .await,
        )
    }

    async fn list_attributes(&self, request: Request<pb::ListAttributesRequest>) -> Answer<pb::ListAttributesResponse> {
        let principal = self.principal(&request)?;
        let attributes = self.service.list_attributes(&principal).await.map_err(to_status)?;
        Ok(Response::new(pb::ListAttributesResponse {
            attributes: all(attributes),
        }))
    }

    async fn create_assignee(&self, request: Request<pb::CreateAssigneeRequest>) -> Answer<pb::Assignee> {
        let principal = self.principal(&request)?;
        let pb::CreateAssigneeRequest { name, email, r#type } = request.into_inner();
        let kind = convert::assignee_kind_name(r#type);
        answer(
            self.service
                .create_assignee(&principal, name, email, kind.as_deref())
                .await,
        )
    }

    async fn list_assignees(&self, request: Request<pb::ListAssigneesRequest>) -> Answer<pb::ListAssigneesResponse> {
        let principal = self.principal(&request)?;
        let assignees = self.service.list_assignees(&principal).await.map_err(to_status)?;
        Ok(Response::new(pb::ListAssigneesResponse {
            assignees: all(assignees),
        }))
    }

    async fn list_jurisdictions(
        &self,
        request: Request<pb::ListJurisdictionsRequest>,
    ) -> Answer<pb::ListJurisdictionsResponse> {
        let principal = self.principal(&request)?;
        let pb::ListJurisdictionsRequest { country_code } = request.into_inner();
        let jurisdictions = self
            .service
            .list_jurisdictions(&principal, country_code.as_deref())
            .map_err(to_status)?;
        Ok(Response::new(pb::ListJurisdictionsResponse {
            jurisdictions: all(jurisdictions),
        }))
    }

    async fn list_workflows(&self, request: Request<pb::ListWorkflowsRequest>) -> Answer<pb::ListWorkflowsResponse> {
        let principal = self.principal(&request)?;
        let workflows = self.service.list_workflows(&principal).await.map_err(to_status)?;
        Ok(Response::new(pb::ListWorkflowsResponse {
            workflows: all(workflows),
        }))
    }

    async fn create_workflow(&self, request: Request<pb::CreateWorkflowRequest>) -> Answer<pb::Workflow> {
        let principal = self.principal(&request)?;
        let pb::CreateWorkflowRequest { name, stages } = request.into_inner();
        let stages = stages.into_iter().map(convert::stage_fields).collect();
        answer(self.service.create_workflow(&principal, name, stages).await)
    }

    async fn list_notification_rules(
        &self,
        request: Request<pb::ListNotificationRulesRequest>,
    ) -> Answer<pb::ListNotificationRulesResponse> {
        let principal = self.principal(&request)?;
        let pb::ListNotificationRulesRequest { country_code } = request.into_inner();
        let (version, rules) = self
            .service
            .list_notification_rules(&principal, country_code.as_deref())
            .map_err(to_status)?;
        Ok(Response::new(pb::ListNotificationRulesResponse {
            catalogue_version: version.to_owned(),
            rules: all(rules),
        }))
    }
}
