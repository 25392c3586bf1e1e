//! The gRPC floor: a bare tonic unary service in a process of its own that
//! answers a request of the same bytes with a response of the same size, driven
//! by the same loop as the service.

use std::net::SocketAddr;

use clap::Args;
use incidentd::pb;
use tonic::transport::Channel;

use super::{
    Operation, UpdateArgs,
    body::body,
    children::{child, free_address, wait_for},
    clients::Client,
    drive::{Run, drive},
    tenant::{authorized, status_text},
};

/// `incidentd-bench echo-child`: the gRPC floor's server.
#[derive(Args)]
pub struct EchoArgs {
    #[arg(long)]
    listen: SocketAddr,
    /// The answer, as hex of an encoded `Incident`.
    #[arg(long)]
    answer: String,
}

pub async fn echo_child(args: EchoArgs) -> anyhow::Result<()> {
    use prost::Message;
    let answer = pb::Incident::decode(hex::decode(args.answer)?.as_slice())?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(echo::EchoServer { answer })
        .serve_with_incoming(incoming)
        .await?;
    Ok(())
}

/// A bare unary gRPC service: `/bench.Echo/Update` takes an
/// `UpdateIncidentRequest` and answers a fixed `Incident`.
mod echo {
    use std::{
        convert::Infallible,
        future::Future,
        pin::Pin,
        task::{Context, Poll},
    };

    use incidentd::pb;
    use tonic::{
        Request, Response, Status,
        body::Body,
        codegen::http,
        server::{Grpc, NamedService, UnaryService},
    };
    use tonic_prost::ProstCodec;

    pub const PATH: &str = "/bench.Echo/Update";

    #[derive(Clone)]
    pub struct EchoServer {
        pub answer: pb::Incident,
    }

    impl NamedService for EchoServer {
        const NAME: &'static str = "bench.Echo";
    }

    struct Call(pb::Incident);

    impl UnaryService<pb::UpdateIncidentRequest> for Call {
        type Response = pb::Incident;
        type Future = std::future::Ready<Result<Response<pb::Incident>, Status>>;

        fn call(&mut self, _request: Request<pb::UpdateIncidentRequest>) -> Self::Future {
            std::future::ready(Ok(Response::new(self.0.clone())))
        }
    }

    impl tower::Service<http::Request<Body>> for EchoServer {
        type Response = http::Response<Body>;
        type Error = Infallible;
        type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: http::Request<Body>) -> Self::Future {
            let answer = self.answer.clone();
            Box::pin(async move {
                if request.uri().path() != PATH {
                    return Ok(Status::unimplemented("").into_http());
                }
                let mut grpc = Grpc::new(ProstCodec::<pb::Incident, pb::UpdateIncidentRequest>::default());
                Ok(grpc.unary(Call(answer), request).await)
            })
        }
    }
}

/// The gRPC floor: the same requests, answered at once with a response of the
/// same size, by a bare tonic service in a process of its own.
pub(super) async fn grpc_floor(args: &UpdateArgs, clients: Vec<Client>, answer: &pb::Incident) -> anyhow::Result<Run> {
    use prost::Message;
    let address = free_address()?;
    let _echo = child(&[
        "echo-child".into(),
        "--listen".into(),
        address.to_string(),
        "--answer".into(),
        hex::encode(answer.encode_to_vec()),
    ])
    .await?;
    let channel = wait_for(address).await?;
    let grpc = tonic::client::Grpc::new(channel);
    let run = drive(clients, args.pace(), move |mut client: Client| {
        let mut grpc = grpc.clone();
        async move {
            client.n += 1;
            let request = pb::UpdateIncidentRequest {
                incident_id: client.incidents[client.next % client.incidents.len()].0.clone(),
                incident: Some(body(&client.tenant, client.n)),
                ..Default::default()
            };
            client.next += 1;
            let result = echo_call(&mut grpc, &client.tenant.token, request).await;
            (client, Operation::Update, result)
        }
    })
    .await;
    Ok(run)
}

/// One call of the bare service, whose answer must not be empty.
async fn echo_call(
    grpc: &mut tonic::client::Grpc<Channel>,
    token: &str,
    request: pb::UpdateIncidentRequest,
) -> Result<(), String> {
    grpc.ready().await.map_err(|e| e.to_string())?;
    let codec = tonic_prost::ProstCodec::<pb::UpdateIncidentRequest, pb::Incident>::default();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(echo::PATH);
    let answer = grpc
        .unary(authorized(token, request), path, codec)
        .await
        .map_err(status_text)?;
    (answer.get_ref().revision > 0)
        .then_some(())
        .ok_or_else(|| "empty answer".to_owned())
}
