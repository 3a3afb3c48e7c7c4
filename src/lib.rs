//! `vntana-webhooks`: a GitOps controller for the webhooks of VNTANA organizations.
//!
//! The crate is a library with a thin binary on top. Data flows one way: config -> resolve
//! (with the live state) -> plan -> apply -> api. See `ARCHITECTURE.md` for the module map and
//! its invariants. Library code returns typed errors; only `commands` turns them into messages
//! and exit codes, and only `printer` writes to the terminal.

pub mod api;
pub mod cli;
pub mod commands;
pub mod duration;
pub mod emulator;
pub mod printer;
pub mod signature;
