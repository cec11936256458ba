//! The library half of the `kenduren` command: loading reference data, starting the
//! four services in one process, and an OPD's event subscription, used by `kenduren
//! dev`, `kenduren watch` and by the end-to-end tests.

pub mod reference;
pub mod system;
pub mod watch;

pub use system::{RunningSystem, ServiceAddrs};

/// The development signing key `kenduren dev` uses when `KENDUREN_AUTH_KEY` is unset.
/// It is public: any other mode refuses to start without a key of its own.
pub const DEV_AUTH_KEY: &str = "a2VuZHVyZW4tZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZHVjdGlvbiE=";
