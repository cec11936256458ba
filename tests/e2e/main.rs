//! End-to-end tests: the real services, real gRPC, real NATS and Postgres. All in one
//! binary so they link once; each test starts its own isolated system.

mod access;
mod access_matrix;
mod answering;
mod bench;
mod discovery;
mod hostile_input;
mod intake;
mod operations;
mod reporting;
mod routing;
mod simulation;
mod support;
mod walking_skeleton;
