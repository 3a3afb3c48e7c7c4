//! The VNTANA Admin API: wire types shared by the client and the emulator, typed ids, redacted
//! strings, and the client with its authentication, retries and errors.

pub mod ids;
pub mod redacted;
pub mod rules;
pub mod wire;
