//! The HTTP api: parses and authenticates requests, calls the domain's
//! `BookingService`, and maps its errors to statuses in one place
//! (`error`). It also reads the settings, builds the adapters and serves.
//!
//! Around the handlers: `/metrics` (`metrics`), rate limits
//! (`rate_limit`), `Idempotency-Key` (`idempotency`), and the OpenAPI
//! document with its page (`openapi`); `routes::ENDPOINTS` lists what is
//! served, once, for all of them.
//!
//! Depends on the domain and on every adapter (to wire them); nothing
//! depends on it.

pub mod auth;
pub mod cli;
pub mod error;
pub mod extract;
pub mod idempotency;
mod iso_time;
mod layers;
pub mod live;
pub mod metrics;
pub mod openapi;
mod outage;
mod per_thread;
pub mod rate_limit;
mod request_id;
pub mod routes;
pub mod settings;
mod side_call;
pub mod startup;
mod storage;
pub mod telemetry;

pub use settings::Settings;
pub use startup::Application;
