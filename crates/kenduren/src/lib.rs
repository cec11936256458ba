//! The library half of the `kenduren` command: loading reference data and starting
//! the four services in one process, used by `kenduren dev` and by the end-to-end tests.

pub mod reference;
pub mod system;

pub use system::{RunningSystem, ServiceAddrs};
