//! Both ports in process: the zero-dependency default storage.
//!
//! Semantics match the real stores exactly (the same port contract suite
//! runs against them): holds are all or nothing, expiry is judged at each
//! call against the clock so counts drop the instant a hold expires,
//! confirm is exactly-once, and a cancel frees its seats. Nothing survives
//! a restart, which is the point of a development default.
//!
//! Depends on the domain only.

mod holds;
mod repo;

pub use holds::MemoryHoldStore;
pub use repo::MemoryBookingRepo;
