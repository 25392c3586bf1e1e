//! Black-box tests of the gRPC API: a real server on a real socket, a fresh
//! database per test (SQLite, or PostgreSQL with INCIDENTD_TEST_POSTGRES_URL).

mod admission;
mod auth;
mod crash;
mod events;
mod guidance;
mod helpers;
mod hostile;
mod incidents;
mod limits;
mod links;
mod metrics;
mod nats;
mod outage;
mod process;
mod publish;
mod reference_data;
mod rest;
mod revisions;
mod schema;
mod search;
mod server;
mod stages;
mod tls;
mod trace;
mod validation;
