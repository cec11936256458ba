//! End-to-end tests of the answering service's own capabilities.
