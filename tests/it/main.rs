//! The one integration-test binary: the real binary and the real HTTP client against the
//! real emulator over loopback. Each test starts its own emulator on 127.0.0.1:0.

mod action;
mod apply;
mod chaos;
mod ci_examples;
mod cli;
mod client;
mod config;
mod config_fuzz;
mod container;
mod crash;
mod deliveries;
mod deploy;
mod diagnostics;
mod embedded;
mod emulator_control;
mod emulator_errors;
mod emulator_http;
mod events;
mod export;
mod plan;
mod plan_online;
mod plan_property;
mod readme;
mod release;
mod saved_plans;
mod security;
mod service;
mod support;
mod validate;
mod verify_listen;
mod watch;
