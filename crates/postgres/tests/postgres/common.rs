//! Helpers shared by the tests.

use booking_domain::{BookingRepo, CreateOutcome, Event, NewEvent};

/// Creates an event that must be new.
pub async fn created(repo: &dyn BookingRepo, new: &NewEvent) -> Event {
    match repo.create_event(new).await.unwrap() {
        CreateOutcome::Created(event) => event,
        other => panic!("expected a new event, got {other:?}"),
    }
}

/// An error with its causes, as a log would print it.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}
