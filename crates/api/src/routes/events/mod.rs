pub mod confirm;
pub mod create;
pub mod details;
pub mod map;
pub mod release;
pub mod reserve;
pub mod seats;
pub mod stream;

use serde::Deserialize;

/// The body of confirm and release: which hold, and (optionally) whose.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HoldRef {
    user_id: Option<String>,
    hold_group_id: String,
}
