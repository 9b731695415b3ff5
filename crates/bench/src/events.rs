//! The events the scenarios run on, made through the api as a box office
//! makes them: single-row events (`S1`..`SN`, the original API's), venues
//! with rows, and a venue already partly held and booked.

use std::net::SocketAddr;
use std::time::Duration;

use crate::client::{hold_id, Conn};

/// Seats per row of the venues with rows: a large hall's row.
pub const SEATS_PER_ROW: u32 = 50;

/// Creates an event of `seats` seats in one row `S` (trust mode) and
/// answers its id and how long the api took.
pub async fn create_event(addr: SocketAddr, seats: u32) -> anyhow::Result<(i64, Duration)> {
    create(addr, &format!(r#""totalSeats":{seats}"#)).await
}

/// Creates an event of `seats` seats in rows of `SEATS_PER_ROW` (the last
/// one shorter), named `A`, `B`, ..., `Z`, `AA`, ...
pub async fn create_venue(addr: SocketAddr, seats: u32) -> anyhow::Result<i64> {
    let rows: Vec<String> = row_sizes(seats)
        .enumerate()
        .map(|(i, size)| format!(r#"{{"label":"{}","seats":{size}}}"#, row_label(i)))
        .collect();
    Ok(create(addr, &format!(r#""rows":[{}]"#, rows.join(",")))
        .await?
        .0)
}

/// The seat codes of `create_venue(seats)`, in venue order.
pub fn venue_codes(seats: u32) -> Vec<String> {
    row_sizes(seats)
        .enumerate()
        .flat_map(|(i, size)| {
            let label = row_label(i);
            (1..=size).map(move |n| format!("{label}{n}"))
        })
        .collect()
}

fn row_sizes(seats: u32) -> impl Iterator<Item = u32> {
    let rows = seats.div_ceil(SEATS_PER_ROW);
    (0..rows).map(move |r| SEATS_PER_ROW.min(seats - r * SEATS_PER_ROW))
}

/// Row `i` (0-based) as spreadsheet columns are named. Letters only, so a
/// seat's code (label then number) can never be read two ways.
pub fn row_label(mut i: usize) -> String {
    let mut label = Vec::new();
    loop {
        label.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    label.reverse();
    String::from_utf8(label).expect("ASCII letters")
}

async fn create(addr: SocketAddr, seats_json: &str) -> anyhow::Result<(i64, Duration)> {
    let mut conn = Conn::open(addr).await?;
    let body = format!(
        r#"{{"name":"Benchmark","date":"2030-01-01T20:00:00Z","location":"Arena",{seats_json}}}"#
    );
    let answer = conn.post("/events", body).await;
    anyhow::ensure!(
        answer.status == 201,
        "creating an event answered {}: {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    let value: serde_json::Value = serde_json::from_slice(&answer.body)?;
    let id = value["eventId"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no eventId"))?;
    Ok((id, answer.latency))
}

/// Holds seat `code` of `event` for a user of its own.
pub async fn hold_seat(addr: SocketAddr, event: i64, code: &str) -> anyhow::Result<()> {
    let mut conn = Conn::open(addr).await?;
    let body = format!(r#"{{"userId":"holder","seatCodes":["{code}"]}}"#);
    let held = conn
        .post(&format!("/events/{event}/seats/reserve"), body)
        .await;
    anyhow::ensure!(
        held.status == 201,
        "holding {code} answered {}",
        held.status
    );
    Ok(())
}

/// Makes `event` (of `seats` seats) look like an event on sale: 30 % of
/// its seats held by buyers in holds of 10 (best available, so from the
/// front rows), half of those holds confirmed, so 15 % booked.
pub async fn sell_partly(addr: SocketAddr, event: i64, seats: u32) -> anyhow::Result<()> {
    const HOLD: u32 = 10;
    const CONNECTIONS: u32 = 8;
    let holds = seats * 3 / 10 / HOLD;
    let mut tasks = Vec::new();
    for worker in 0..CONNECTIONS {
        let mut conn = Conn::open(addr).await?;
        tasks.push(tokio::spawn(async move {
            for n in (worker..holds).step_by(CONNECTIONS as usize) {
                let user = format!("fill{n}");
                let body = format!(r#"{{"userId":"{user}","quantity":{HOLD}}}"#);
                let held = conn
                    .post(&format!("/events/{event}/seats/reserve"), body)
                    .await;
                anyhow::ensure!(held.status == 201, "filling answered {}", held.status);
                if n % 2 == 0 {
                    let hold = hold_id(&held.body).ok_or_else(|| anyhow::anyhow!("no hold"))?;
                    let body = format!(r#"{{"userId":"{user}","holdGroupId":"{hold}"}}"#);
                    let confirmed = conn
                        .post(&format!("/events/{event}/seats/confirm"), body)
                        .await;
                    anyhow::ensure!(
                        confirmed.status == 200,
                        "confirming answered {}",
                        confirmed.status
                    );
                }
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn rows_are_named_like_spreadsheet_columns() {
        let labels: Vec<String> = [0, 25, 26, 27, 701, 702]
            .into_iter()
            .map(super::row_label)
            .collect();
        assert_eq!(labels, ["A", "Z", "AA", "AB", "ZZ", "AAA"]);
    }

    #[test]
    fn a_venue_has_the_seats_asked_for_in_rows() {
        let codes = super::venue_codes(120);
        assert_eq!(codes.len(), 120);
        assert_eq!(codes[0], "A1");
        assert_eq!(codes[50], "B1");
        assert_eq!(codes[119], "C20");
    }
}
