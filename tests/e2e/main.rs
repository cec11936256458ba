//! End-to-end tests: the real services, real gRPC, real NATS and Postgres. All in one
//! binary so they link once; each test starts its own isolated system.

mod access;
mod answering;
mod discovery;
mod intake;
mod operations;
mod reporting;
mod routing;
mod support;
mod walking_skeleton;
