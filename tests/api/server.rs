//! What every gRPC server of ours offers besides the API: reflection (v1 and
//! v1alpha, including the error-detail types) and health.

use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
use tonic_reflection::pb::{v1, v1alpha};

use crate::helpers::spawn_app;

/// Asks one reflection service a question and returns its single answer.
macro_rules! reflect {
    ($module:ident, $channel:expr, $request:expr) => {{
        use $module::{
            ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
            server_reflection_response::MessageResponse,
        };
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some($request),
        };
        let mut client = ServerReflectionClient::new($channel);
        let mut answers = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let answer = answers.message().await.unwrap().unwrap().message_response.unwrap();
        match answer {
            MessageResponse::ListServicesResponse(list) => list.service.into_iter().map(|s| s.name).collect::<Vec<_>>(),
            MessageResponse::FileDescriptorResponse(files) => {
                vec![format!("{} files", files.file_descriptor_proto.len())]
            }
            MessageResponse::ErrorResponse(error) => vec![format!("error {}", error.error_message)],
            other => vec![format!("{other:?}")],
        }
    }};
}

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_every_service() {
    let app = spawn_app().await;
    let channel = app.channel.clone();
    let v1_services = reflect!(
        v1,
        channel.clone(),
        v1::server_reflection_request::MessageRequest::ListServices(String::new())
    );
    let alpha_services = reflect!(
        v1alpha,
        channel,
        v1alpha::server_reflection_request::MessageRequest::ListServices(String::new())
    );
    for services in [&v1_services, &alpha_services] {
        for expected in [
            "incident.v1.IncidentService",
            "incident.v1.ReferenceDataService",
            "grpc.health.v1.Health",
        ] {
            assert!(
                services.iter().any(|s| s == expected),
                "{expected} missing from {services:?}"
            );
        }
    }
}

#[tokio::test]
async fn reflection_describes_the_error_detail_types() {
    let app = spawn_app().await;
    let channel = app.channel.clone();
    for symbol in ["google.rpc.BadRequest", "google.rpc.ErrorInfo", "incident.v1.Incident"] {
        let answer = reflect!(
            v1alpha,
            channel.clone(),
            v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(symbol.into())
        );
        assert!(answer[0].ends_with("files"), "{symbol}: {answer:?}");
    }
}

#[tokio::test]
async fn health_reports_serving() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.channel.clone());
    for service in ["", "incident.v1.IncidentService", "incident.v1.ReferenceDataService"] {
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
}

/// Replicas share PostgreSQL and may start at the same moment; an embedded SQLite
/// file belongs to one process, which may start again on it.
#[tokio::test]
async fn servers_starting_together_or_again_find_the_schema_ready() {
    let db = crate::helpers::TestDb::new().await;
    let config = crate::helpers::config_for(&db, crate::helpers::shared_secret());
    if db.is_postgres() {
        let starts = (0..4).map(|_| incidentd::build(&config));
        for started in futures::future::join_all(starts).await {
            assert!(started.is_ok(), "{:?}", started.err());
        }
    } else {
        for _ in 0..2 {
            let started = incidentd::build(&config).await;
            assert!(started.is_ok(), "{:?}", started.err());
        }
    }
}
