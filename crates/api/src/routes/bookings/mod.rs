pub mod cancel;
pub mod view;
