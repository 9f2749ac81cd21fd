//! Integration tests and protocol vectors, one test binary.
