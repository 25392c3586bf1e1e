//! incidentd: a multi-tenant register of privacy incidents, served over gRPC and
//! REST.
//!
//! `build` turns a `Config` into a ready `App`; `serve` runs it on a bound
//! listener until a shutdown future resolves (`server`). `main.rs` and the tests
//! start exactly the same thing.

mod admission;
pub mod auth;
#[cfg(feature = "bench")]
pub mod bench;
pub mod config;
mod conn;
pub mod demo;
pub mod domain;
#[cfg(any(test, feature = "fuzz"))]
pub mod fuzz;
pub mod grpc;
pub mod pb;
pub mod publisher;
pub mod rest;
mod server;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod tls;

pub use admission::Limits;
pub use config::{AuthConfig, AuthKey, Config, EventsConfig};
pub use conn::ConnectionLimits;
pub use server::{App, build, serve};
pub use service::RateLimit;
