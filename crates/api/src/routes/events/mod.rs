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
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"userId": "alice", "holdGroupId": "0193a1b2-0000-7000-8000-000000000001"}))]
pub struct HoldRef {
    /// Trust mode: names the caller. jwt mode: must be the token's `sub`
    /// if given.
    #[schema(min_length = 1, max_length = 128)]
    user_id: Option<String>,
    /// The `holdGroupId` that reserve answered.
    #[schema(format = Uuid)]
    hold_group_id: String,
}

/// The `eventId` path parameter of every `/events/{eventId}/...` route.
pub(crate) const EVENT_ID: &str = "The event's id, a positive integer.";
