//! The real binary, as an operator runs it: a signal in the middle of a burst reports
//! NOT_SERVING first, exits 0 within the grace period, and loses nothing — every
//! submission a client saw accepted is stored and published once intake is back, and
//! every question a stopped routing had yet to handle is routed exactly once after.

#[allow(dead_code)]
#[path = "../common/mod.rs"]
mod common;
mod deployment;
mod intake;
mod routing;
