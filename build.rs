//! Compiles the contract in `proto/` with protox (pure Rust, so no system `protoc`),
//! generates the tonic code from the descriptor set and writes that set for reflection.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "incident/v1/types.proto",
    "incident/v1/incident.proto",
    "incident/v1/reference_data.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out_dir.join("incident_descriptor.bin"), descriptors.encode_to_vec())?;
    // BTreeMaps keep attribute values (and so violations and responses) in name order.
    // Requests that do not decode are the caller's error, not INTERNAL: see src/grpc/codec.rs.
    tonic_prost_build::configure()
        .btree_map(".")
        .codec_path("crate::grpc::codec::Codec")
        .compile_fds(descriptors)?;
    Ok(())
}
