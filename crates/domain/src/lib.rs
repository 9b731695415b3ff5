//! The booking rules and the ports they need, with no I/O and no framework.
//!
//! `models` holds validated types (a value of them is valid by construction),
//! `ports` the traits that storage adapters implement, `ledger` the one
//! owner of the hold store's mirror of booked seats, and `service` the use
//! cases that run against them. Depends on nothing but small utility crates
//! (tokio only for its locks and timers); adapters and the api depend on it,
//! never the other way round.

#[cfg(feature = "contract")]
pub mod contract;
pub mod errors;
pub mod ledger;
pub mod models;
pub mod ports;
pub mod service;

pub use errors::*;
pub use ledger::{LedgerConfig, MaintenanceReport};
pub use models::*;
pub use ports::*;
pub use service::{
    BookingList, BookingService, BookingView, CreatedEvent, Limits, Reservation, SeatRequest,
};
