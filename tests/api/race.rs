//! Many buyers at once: no seat is ever confirmed twice and the counts
//! always add up.

use std::collections::HashSet;

use crate::helpers::{spawn_app, As, TestApp};

/// 64 buyers each try 3 seats out of 40, overlapping heavily, and confirm
/// whatever they get.
pub async fn sixty_four_buyers_race(app: &TestApp) {
    let id = app.create_event(40).await;
    let buyers = (0..64u32).map(|buyer| async move {
        let user = format!("buyer-{buyer}");
        let mut wanted: Vec<String> = (0..3)
            .map(|k| format!("S{}", (buyer * 7 + k * 13) % 40 + 1))
            .collect();
        wanted.dedup();
        let codes: Vec<&str> = wanted.iter().map(String::as_str).collect();
        let answer = app.reserve(id, &user, &codes).await;
        match answer.status.as_u16() {
            201 => {
                let hold = answer.str("holdGroupId");
                let confirmed = app.confirm(id, &user, &hold).await;
                assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
                Some((user, hold))
            }
            409 => None,
            other => panic!("unexpected {other}: {:?}", answer.body),
        }
    });
    let bookings: Vec<_> = futures_util::future::join_all(buyers)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert!(!bookings.is_empty());

    let mut seats = Vec::new();
    for (user, booking) in &bookings {
        let rows = app.booking(booking, As::Header(user)).await;
        for row in rows.body.as_array().unwrap() {
            assert_eq!(row["status"], "CONFIRMED");
            seats.push(row["seat_code"].as_str().unwrap().to_owned());
        }
    }
    let distinct: HashSet<_> = seats.iter().collect();
    assert_eq!(
        distinct.len(),
        seats.len(),
        "a seat was confirmed twice: {seats:?}"
    );
    let (confirmed, held, available, total) = app.counts(id).await;
    assert_eq!(confirmed as usize, seats.len());
    assert_eq!(held, 0);
    assert_eq!(confirmed + available, total);
}

on_both_stores! {
    async fn sixty_four_concurrent_buyers_never_book_a_seat_twice() {
        let app = spawn_app().await;
        sixty_four_buyers_race(&app).await;
    }
}
