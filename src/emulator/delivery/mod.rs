//! Deliveries (vntana-api.md, "Delivery"; product.md, "The emulator"): `POST /_emulator/events`
//! fans an event out to the subscribed, enabled webhooks of an organization (`fanout`) with a
//! realistic body (`payload`); a background worker (`worker`) POSTs each delivery, signed,
//! retrying on the emulator's clock; the outcome's consequences (retries, failure streaks,
//! emails, auto-disable) are `rules`, worded by `emails`; what is remembered is `record`, part
//! of the persisted state; `routes` are the control endpoints.

mod emails;
mod fanout;
mod payload;
mod record;
mod routes;
mod rules;
mod worker;

pub use record::DeliveryState;
pub use routes::routes;
pub use worker::{Deliverer, run};
