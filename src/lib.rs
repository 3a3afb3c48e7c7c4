//! `vntana-webhooks`: a GitOps controller for the webhooks of VNTANA organizations.
//!
//! The crate is a library with a thin binary on top. Data flows one way: config -> resolve
//! (with the live state) -> plan -> apply -> api. See `ARCHITECTURE.md` for the module map and
//! its invariants. Library code returns typed errors; only `commands` turns them into messages
//! and exit codes, and only `printer` writes to the terminal.

pub mod annotations;
pub mod api;
pub mod apply;
pub mod atomic_file;
pub mod cli;
pub mod commands;
pub mod config;
pub mod diagnostic;
pub mod duration;
pub mod emulator;
pub mod error_chain;
pub mod export;
pub mod health;
pub mod json_error;
pub mod live;
pub mod model;
pub mod plan;
pub mod printer;
pub mod receiver;
pub mod reconcile;
pub mod resolve;
pub mod secrets_out;
pub mod server;
pub mod signature;
pub mod suggest;
pub mod versioned_file;
pub mod watch;
