//! Test support: spawning the emulator binary, raw HTTP against it (not through our
//! client), OpenAPI conformance of success bodies, JSON pattern matching, running the CLI.

#![allow(dead_code)]

pub mod apply_runs;
pub mod cli;
pub mod conformance;
pub mod emulator;
pub mod http_stub;
pub mod json;
pub mod raw;
pub mod snapshot;
pub mod watching;
pub mod world;
