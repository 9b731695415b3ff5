//! The booking rules and the ports they need, with no I/O and no framework.
//!
//! `models` holds validated types (a value of them is valid by construction),
//! `ports` the traits that storage adapters implement, and `service` the use
//! cases that run against those ports. Depends on nothing but small utility
//! crates; adapters and the api depend on it, never the other way round.

#[cfg(feature = "contract")]
pub mod contract;
pub mod errors;
pub mod models;
pub mod ports;
pub mod service;

pub use errors::*;
pub use models::*;
pub use ports::*;
pub use service::{BookingService, Limits};
