//! Validated domain types. Each is parsed once at the edge; past it, an
//! invalid value cannot exist.

mod booking;
mod event;
mod hold;
mod ids;
mod layout;
mod text;

pub use booking::*;
pub use event::*;
pub use hold::*;
pub use ids::*;
pub use layout::*;
pub use text::*;
