//! End-to-end tests of the routing service's own capabilities.
