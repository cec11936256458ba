//! Integration tests of the event store, relay and consumer against real Postgres and
//! NATS (one binary, to link once). Each test owns a fresh database and stream.

mod append;
mod consumer;
mod migrate;
mod relay;
mod support;
