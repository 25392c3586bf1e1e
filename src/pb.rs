//! The generated gRPC code and the descriptor set that reflection serves.

#![allow(clippy::all, missing_docs)]

tonic::include_proto!("incident.v1");

/// The encoded descriptors of `incident.v1` (with its imports), for reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/incident_descriptor.bin"));
