//! Compiles `proto/` with protox (no system `protoc`) and keeps the descriptor set for reflection.

use std::{env, path::PathBuf};

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        "kenduren/events/v1/events.proto",
        "kenduren/intake/v1/intake.proto",
        "kenduren/routing/v1/routing.proto",
        "kenduren/answering/v1/answering.proto",
        "kenduren/reporting/v1/reporting.proto",
    ];
    let fds = protox::compile(files, [&root])?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    std::fs::write(out.join("kenduren_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
