//! Live seat maps: Server-Sent Events of each seat status change.
//!
//! Changes come from the hold store's change feed, so a client sees every
//! change whichever api instance made it, and an expiry as soon as the
//! feed is read. Each instance reads the feed of an event once, however
//! many of its clients watch that event (`hub`), and fans the changes out
//! through a bounded broadcast: a client too slow to keep up falls behind
//! the buffer and is dropped, and nobody else waits for it.

mod format;
mod hub;

pub use format::{compact_map as compact_map_json, seat_map as seat_map_json};
pub use hub::{LiveConfig, SeatFeeds};
