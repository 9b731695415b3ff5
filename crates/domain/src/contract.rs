//! The port contract suite, written once and run against every adapter.
//!
//! An adapter's tests call [`hold_store_contract!`](crate::hold_store_contract)
//! or [`booking_repo_contract!`](crate::booking_repo_contract) with an async
//! expression that builds a fresh, empty store; each case becomes a test of
//! its own. `$make` yields anything that dereferences to the store (a `Box`,
//! or a guard that drops the store's test database when the test ends).
//! Stores are passed in fresh, so cases may use fixed event ids.

pub mod best;
pub mod feed;
pub mod holds;
pub mod loads;
pub mod repo;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};

use crate::{
    BeginLoad, EventId, Hold, HoldId, HoldRequest, HoldStore, Label, Layout, LoadStep, LoadToken,
    Mirror, MirrorSpec, NewEvent, Row, RowLabel, SeatChoice, SeatCounts, SeatNo, UserId,
};

pub fn event(id: i64) -> EventId {
    EventId::new(id).unwrap()
}

pub fn user(name: &str) -> UserId {
    UserId::parse(name).unwrap()
}

pub fn seats(numbers: &[u32]) -> Vec<SeatNo> {
    numbers.iter().map(|n| SeatNo::new(*n).unwrap()).collect()
}

pub fn seat(n: u32) -> SeatNo {
    SeatNo::new(n).unwrap()
}

/// Rows of the given sizes, labelled `A`, `B`, ...
pub fn rows(sizes: &[u32]) -> Arc<Layout> {
    let rows = sizes
        .iter()
        .enumerate()
        .map(|(i, seats)| Row {
            label: RowLabel::parse(&((b'A' + i as u8) as char).to_string()).unwrap(),
            seats: *seats,
        })
        .collect();
    Arc::new(Layout::new(rows).unwrap())
}

/// The original API's venue: one row `S` of `n` seats.
pub fn single_row(n: u32) -> Arc<Layout> {
    Arc::new(Layout::single_row(n).unwrap())
}

pub fn request(event_id: EventId, who: &str, numbers: &[u32], ttl: Duration) -> HoldRequest {
    HoldRequest {
        id: HoldId::generate(event_id),
        event: event_id,
        user: user(who),
        seats: SeatChoice::Seats(seats(numbers)),
        ttl,
        max_held_per_user: 20,
    }
}

pub fn best(event_id: EventId, who: &str, quantity: u32, ttl: Duration) -> HoldRequest {
    HoldRequest {
        seats: SeatChoice::Best(quantity),
        ..request(event_id, who, &[], ttl)
    }
}

pub fn new_event(total_seats: u32) -> NewEvent {
    new_event_with(single_row(total_seats))
}

pub fn new_event_with(layout: Arc<Layout>) -> NewEvent {
    NewEvent {
        name: Label::parse("name", "Contract test").unwrap(),
        date: Utc.with_ymd_and_hms(2030, 6, 1, 19, 30, 0).unwrap(),
        location: Label::parse("location", "Main hall").unwrap(),
        layout,
        idempotency: None,
    }
}

/// A hold as a store would return it, for repo cases.
pub fn hold(event_id: EventId, who: &str, numbers: &[u32]) -> Hold {
    let now = Utc::now();
    Hold {
        id: HoldId::generate(event_id),
        event: event_id,
        user: user(who),
        seats: seats(numbers),
        created_at: now,
        expires_at: now + chrono::Duration::minutes(5),
    }
}

pub fn spec(layout: Arc<Layout>, lease: Duration) -> MirrorSpec {
    MirrorSpec {
        layout,
        keep_until: Utc::now() + chrono::Duration::days(1),
        lease,
        // The cases load loaded mirrors again on purpose.
        reload: true,
    }
}

/// Loads the event's mirror with `layout` and these booked seats, as the
/// ledger does: begin, one chunk, finish.
pub async fn load(
    store: &dyn HoldStore,
    event_id: EventId,
    layout: Arc<Layout>,
    booked: &[(SeatNo, HoldId)],
) {
    let token = LoadToken::generate();
    let spec = spec(layout, Duration::from_secs(30));
    assert_eq!(
        store.begin_load(event_id, token, &spec).await.unwrap(),
        BeginLoad::Begun
    );
    assert_eq!(
        store.load_booked(event_id, token, booked).await.unwrap(),
        LoadStep::Done
    );
    assert_eq!(
        store.finish_load(event_id, token).await.unwrap(),
        LoadStep::Done
    );
}

/// The event's counts, which must be loaded.
/// A store's answer that must come from a loaded mirror.
pub fn ready<T>(answer: Result<Mirror<T>, crate::StoreError>) -> T {
    match answer.unwrap() {
        Mirror::Ready(answer) => answer,
        Mirror::NotLoaded => panic!("the event should be loaded"),
    }
}

pub async fn counts(store: &dyn HoldStore, event_id: EventId) -> SeatCounts {
    match store
        .counts(event_id, Duration::from_secs(60))
        .await
        .unwrap()
    {
        Mirror::Ready(counts) => counts,
        Mirror::NotLoaded => panic!("event {event_id} should be loaded"),
    }
}

/// Generates one `#[tokio::test]` per `HoldStore` contract case.
/// `$make` is an async expression yielding a fresh store.
#[macro_export]
macro_rules! hold_store_contract {
    ($make:expr) => {
        $crate::hold_store_contract!(@cases $make; holds;
            reserve_answers_not_loaded_until_the_event_is_loaded,
            a_reserve_sent_again_answers_the_hold_it_made,
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
            a_hold_given_back_after_later_expiries_were_seen_still_expires_on_time,
            release_frees_only_the_owners_live_hold,
            unbook_frees_only_the_seats_of_that_booking,
            events_do_not_share_seats,
            concurrent_reserves_never_hold_a_seat_twice,
            confirms_pending_too_long_are_listed_as_stale,
            info_reports_a_version_and_a_clock,
        );
        $crate::hold_store_contract!(@cases $make; loads;
            the_event_answers_not_loaded_while_a_load_runs,
            a_load_is_authoritative_for_booked_seats,
            a_load_keeps_holds_but_booked_seats_win,
            a_second_load_is_busy_until_the_first_ends,
            a_load_whose_lease_ran_out_is_taken_over_and_goes_stale,
            a_load_that_was_not_begun_is_stale,
            a_confirm_finished_while_loading_stays_booked,
            a_cancel_during_a_load_is_not_undone_by_it,
            a_pending_confirm_survives_a_load,
            large_loads_arrive_in_chunks,
            an_abandoned_load_lets_the_next_begin_at_once,
            a_loaded_mirror_is_loaded_again_only_by_a_reload,
            a_load_forgets_spent_holds_that_older_data_brought_back,
        );
        $crate::hold_store_contract!(@cases $make; best;
            best_available_takes_adjacent_seats_in_the_lowest_row,
            best_available_splits_across_rows_only_when_no_row_has_them_together,
            best_available_is_unavailable_when_fewer_seats_are_free,
            best_available_counts_expired_holds_as_free_and_keeps_the_hold_limit,
            best_available_never_gives_a_seat_twice_under_contention,
            the_seat_map_shows_each_seats_state_exactly,
            extending_a_hold_moves_its_expiry_up_to_the_cap,
            an_extended_hold_keeps_its_seats_past_its_first_expiry,
            best_available_finds_seats_freed_before_the_ones_it_took,
            best_available_finds_a_run_freed_below_the_runs_it_gave,
        );
        $crate::hold_store_contract!(@cases $make; feed;
            watching_starts_from_the_map_and_records_every_change,
            expiries_show_up_as_changes,
            positions_the_feed_cannot_continue_from_are_gaps,
            a_lapsed_watch_makes_old_positions_gaps,
        );
    };
    (@cases $make:expr; $module:ident; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store = $make.await;
                $crate::contract::$module::$case(&*store).await;
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
            events_keep_their_rows,
            unknown_events_and_bookings_are_none,
            an_idempotency_key_replays_its_event_and_refuses_another_request,
            confirm_records_every_seat_of_the_hold,
            a_retried_confirm_finds_the_existing_booking,
            confirm_refuses_seats_booked_by_another_booking,
            cancel_frees_the_seats_and_happens_once,
            a_cancel_is_queued_for_the_mirror_until_marked_unbooked,
            settling_decides_once_and_fences_out_late_confirms,
            concurrent_confirms_and_settles_of_one_hold_agree,
            concurrent_confirms_of_one_seat_book_it_once,
            user_bookings_come_newest_first_a_page_at_a_time,
            booked_seats_lists_every_confirmed_seat,
            spent_holds_are_the_events_cancelled_and_settled_holds_of_late,
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
