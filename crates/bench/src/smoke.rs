//! A few seconds of every scenario at tiny sizes against any running
//! server: the test suite runs it, so the benchmark cannot rot.

use std::collections::HashSet;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::cpu::Watched;
use crate::events::create_event;
use crate::fanout::{self, FanoutPlan};
use crate::report;
use crate::scenarios::{self, Scenario, Target};

/// Runs every scenario briefly against the server at `url`
/// (`http://host:port`) and checks what the full run checks; answers the
/// table of what it measured.
pub async fn smoke(url: &str) -> anyhow::Result<String> {
    let authority = url.trim_start_matches("http://").trim_end_matches('/');
    let addr: SocketAddr = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow::anyhow!("cannot resolve {authority}"))?;
    let target = Target {
        addr,
        watched: Watched::default(),
    };
    let mut out = report::header();
    for (scenario, seats) in [
        (Scenario::Floor, 0),
        (Scenario::EventDetails, 10),
        (Scenario::Reserve, 300),
        (Scenario::BestAvailable(1), 300),
        (Scenario::BestAvailable(4), 300),
        (Scenario::Booking, 300),
        (Scenario::FlashSale, 40),
        (Scenario::SeatMap { compact: false }, 200),
        (Scenario::SeatMap { compact: true }, 200),
    ] {
        let result =
            scenarios::run(&target, scenario, 4, Duration::from_millis(200), seats).await?;
        anyhow::ensure!(
            result.stats.requests() > 0,
            "{}: no request was made",
            scenario.label()
        );
        anyhow::ensure!(
            result.stats.server_errors() == 0,
            "{}: {} server errors ({})",
            scenario.label(),
            result.stats.server_errors(),
            result.stats.statuses_text()
        );
        anyhow::ensure!(
            result.completed > 0,
            "{}: no {} ({})",
            scenario.label(),
            scenario.operation(),
            result.stats.statuses_text()
        );
        if scenario == Scenario::FlashSale {
            let distinct: HashSet<_> = result.sold.iter().collect();
            anyhow::ensure!(distinct.len() == result.sold.len(), "a seat was sold twice");
            anyhow::ensure!(
                result.completed == u64::from(seats),
                "the flash sale did not sell out"
            );
        }
        out.push_str(&report::row(&result, None));
    }
    let fan = fanout::run(
        &target,
        FanoutPlan {
            subscribers: 3,
            rate: 20,
            duration: Duration::from_millis(400),
            grace: Duration::from_secs(5),
            seats: 200,
        },
    )
    .await?;
    anyhow::ensure!(
        fan.connected == 3 && fan.reserves > 0 && fan.dropped == 0 && fan.complete == 3,
        "(j) fan-out: {} connected, {} reserves, {} dropped, {} saw every change",
        fan.connected,
        fan.reserves,
        fan.dropped,
        fan.complete
    );
    out.push_str(&report::fanout_header());
    out.push_str(&report::fanout_row(&fan, None));
    for seats in [100, 1_000] {
        let (_, took) = create_event(addr, seats).await?;
        out.push_str(&format!(
            "- (e) creating an event of {seats} seats: {} ms\n",
            report::ms(took)
        ));
    }
    Ok(out)
}
