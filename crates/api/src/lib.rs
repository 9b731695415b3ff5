//! The HTTP api: parses and authenticates requests, calls the domain's
//! `BookingService`, and maps its errors to statuses in one place
//! (`error`). It also reads the settings, builds the adapters and serves.
//!
//! Depends on the domain and on every adapter (to wire them); nothing
//! depends on it.

pub mod auth;
pub mod error;
pub mod extract;
pub mod live;
mod request_id;
mod routes;
pub mod settings;
pub mod startup;
mod storage;
pub mod telemetry;

pub use settings::Settings;
pub use startup::Application;
