//! Generated Rust types for Kenduren's gRPC services and event payloads.

#![allow(missing_docs, clippy::all, missing_debug_implementations)]

/// Every file descriptor, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/kenduren_descriptor.bin"));

/// Event payloads (`kenduren.events.v1`).
pub mod events {
    pub mod v1 {
        tonic::include_proto!("kenduren.events.v1");
    }
}

/// The citizen desk (`kenduren.intake.v1`).
pub mod intake {
    pub mod v1 {
        tonic::include_proto!("kenduren.intake.v1");
    }
}

/// OPD directory and rules (`kenduren.routing.v1`).
pub mod routing {
    pub mod v1 {
        tonic::include_proto!("kenduren.routing.v1");
    }
}

/// OPD inboxes and answers (`kenduren.answering.v1`).
pub mod answering {
    pub mod v1 {
        tonic::include_proto!("kenduren.answering.v1");
    }
}

/// Analysts' figures (`kenduren.reporting.v1`).
pub mod reporting {
    pub mod v1 {
        tonic::include_proto!("kenduren.reporting.v1");
    }
}

pub mod event;
pub use event::{AnyEvent, DecodeError, EventMessage};
