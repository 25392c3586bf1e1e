//! Plain types and the rules of the register. Nothing here knows about gRPC,
//! HTTP or the database: transports hand in plain fields, the store hands in
//! reference data, and these modules decide what is valid.

pub mod enums;
pub mod error;
pub mod event;
pub mod guidance;
pub mod incident;
pub mod input;
pub mod inventory;
pub mod jurisdiction;
pub mod notice;
pub mod notification;
pub mod path;
pub mod reference;
pub mod request;
pub mod resolve;
pub mod revision;
pub mod search;
pub mod text;
pub mod token;
pub mod update;
pub mod view;
pub mod workflow;

pub use error::{Error, FieldViolation, Precondition, RETRY_SHORTLY, Resource, Violations};
pub use path::{FieldPath, Segment};
