pub mod extend;
pub mod view;
