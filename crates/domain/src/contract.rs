//! The port contract suite, written once and run against every adapter.
//!
//! An adapter's tests call [`hold_store_contract!`](crate::hold_store_contract)
//! or [`booking_repo_contract!`](crate::booking_repo_contract) with an async
//! expression that builds a fresh, empty store; each case becomes a test of
//! its own. `$make` yields anything that dereferences to the store (a `Box`,
//! or a guard that drops the store's test database when the test ends).
//! Stores are passed in fresh, so cases may use fixed event ids.

pub mod holds;
pub mod repo;

use std::time::Duration;

use chrono::{TimeZone, Utc};

use crate::{EventId, Hold, HoldId, HoldRequest, Label, NewEvent, SeatNo, UserId};

pub fn event(id: i64) -> EventId {
    EventId::new(id).unwrap()
}

pub fn user(name: &str) -> UserId {
    UserId::parse(name).unwrap()
}

pub fn seats(numbers: &[u32]) -> Vec<SeatNo> {
    numbers.iter().map(|n| SeatNo::new(*n).unwrap()).collect()
}

pub fn request(event_id: EventId, who: &str, numbers: &[u32], ttl: Duration) -> HoldRequest {
    HoldRequest {
        id: HoldId::generate(event_id),
        event: event_id,
        user: user(who),
        seats: seats(numbers),
        ttl,
        max_held_per_user: 20,
    }
}

pub fn new_event(total_seats: u32) -> NewEvent {
    NewEvent {
        name: Label::parse("name", "Contract test").unwrap(),
        date: Utc.with_ymd_and_hms(2030, 6, 1, 19, 30, 0).unwrap(),
        location: Label::parse("location", "Main hall").unwrap(),
        total_seats,
    }
}

pub fn hold(event_id: EventId, who: &str, numbers: &[u32]) -> Hold {
    Hold {
        id: HoldId::generate(event_id),
        event: event_id,
        user: user(who),
        seats: seats(numbers),
        expires_at: Utc::now() + chrono::Duration::minutes(5),
    }
}

/// Generates one `#[tokio::test]` per `HoldStore` contract case.
/// `$make` is an async expression yielding a fresh store.
#[macro_export]
macro_rules! hold_store_contract {
    ($make:expr) => {
        $crate::hold_store_contract!(@cases $make;
            reserve_answers_not_loaded_until_the_event_is_loaded,
            reserve_holds_every_seat_or_none,
            held_seats_are_counted_until_they_expire,
            an_expired_hold_frees_its_seats_at_once,
            the_hold_limit_counts_only_the_users_unexpired_holds,
            booked_seats_can_never_be_held,
            a_pending_hold_does_not_expire_and_a_retry_sees_it,
            only_the_owner_can_begin_a_confirm,
            finishing_a_confirm_books_the_seats_once,
            finishing_a_confirm_whose_hold_was_lost_still_books_it,
            aborting_a_confirm_gives_the_hold_back,
            release_frees_only_the_owners_live_hold,
            unbook_frees_only_the_seats_of_that_booking,
            loading_keeps_holds_but_booked_seats_win,
            events_do_not_share_seats,
            concurrent_reserves_never_hold_a_seat_twice,
            a_load_that_was_not_begun_is_stale,
            a_confirm_finished_while_loading_stays_booked,
            confirms_pending_too_long_are_listed_as_stale,
            info_reports_a_version_and_a_clock,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store = $make.await;
                $crate::contract::holds::$case(&*store).await;
            }
        )*
    };
}

/// Generates one `#[tokio::test]` per `BookingRepo` contract case.
/// `$make` is an async expression yielding a fresh repo.
#[macro_export]
macro_rules! booking_repo_contract {
    ($make:expr) => {
        $crate::booking_repo_contract!(@cases $make;
            created_events_get_increasing_ids_and_can_be_read_back,
            unknown_events_and_bookings_are_none,
            confirm_records_every_seat_of_the_hold,
            a_retried_confirm_finds_the_existing_booking,
            confirm_refuses_seats_booked_by_another_booking,
            cancel_frees_the_seats_and_happens_once,
            concurrent_confirms_of_one_seat_book_it_once,
            info_reports_a_version_and_a_clock,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let repo = $make.await;
                $crate::contract::repo::$case(&*repo).await;
            }
        )*
    };
}
