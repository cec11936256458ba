//! End-to-end tests of the intake service's own capabilities.
