//! The VNTANA Admin API: wire types shared by the client and the emulator (and the delivery
//! bodies shared by the emulator and `listen`), typed ids, redacted strings, and the client
//! with its authentication, retries and errors.

pub mod auth;
pub mod client;
pub mod delivery;
pub mod endpoint;
pub mod error;
pub mod ids;
pub mod redacted;
pub mod retry;
pub mod rules;
pub mod wire;

pub use auth::{AuthError, Credentials, Session, TokenUse};
pub use client::{Client, ClientOptions};
pub use error::{ApiError, ClientError};
