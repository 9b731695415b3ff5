//! Validated domain types. Each is parsed once at the edge; past it, an
//! invalid value cannot exist.

mod event;
mod hold;
mod ids;
mod text;

pub use event::*;
pub use hold::*;
pub use ids::*;
pub use text::*;
