//! End-to-end tests of the reporting service's own capabilities.
