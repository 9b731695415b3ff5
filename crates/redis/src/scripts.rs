//! The Lua scripts, and how a reserve call is laid out (shared with the
//! benchmark, so it runs exactly what the store runs).
//!
//! Each script is its own `.lua` file with a header (KEYS, ARGV, replies);
//! the helpers in `scripts/lib/` are prepended at build time, so a script is
//! one self-contained source whose SHA1 is known up front.

use std::fmt::Write as _;

use booking_domain::{HoldRequest, SeatChoice};
use redis::{RedisWrite, Script, ToRedisArgs};

use crate::keys::{EventKeys, KeyPrefix, Text};

/// A script with the shared helpers in front of it. `redis.set_repl` (used
/// by `lib/ttl.lua` and `finish_load.lua`) is server-side Lua: it works the
/// same under EVALSHA, which is all `redis::Script` sends (it loads the
/// source itself on NOSCRIPT).
macro_rules! script {
    ($($file:literal),+) => {
        concat!(
            include_str!("scripts/lib/common.lua"),
            include_str!("scripts/lib/feed.lua"),
            include_str!("scripts/lib/holds.lua"),
            include_str!("scripts/lib/ttl.lua"),
            include_str!("scripts/lib/fence.lua"),
            $(include_str!($file)),+
        )
    };
}

const RESERVE: &str = script!("scripts/lib/best.lua", "scripts/reserve.lua");
const COUNTS: &str = script!("scripts/counts.lua");

/// Each script once, with its SHA1 computed up front: no call pays for
/// sending the source.
#[derive(Debug)]
pub(crate) struct Scripts {
    pub reserve: Script,
    pub hold: Script,
    pub extend: Script,
    pub begin_confirm: Script,
    pub finish_confirm: Script,
    pub abort_confirm: Script,
    pub release: Script,
    pub unbook: Script,
    pub forget_holds: Script,
    pub counts: Script,
    pub seat_map: Script,
    pub stale_pending: Script,
    pub begin_load: Script,
    pub load_booked: Script,
    pub finish_load: Script,
    pub abandon_load: Script,
    pub watch: Script,
    pub changes: Script,
}

impl Scripts {
    pub fn new() -> Self {
        Self {
            reserve: Script::new(RESERVE),
            hold: Script::new(script!("scripts/hold.lua")),
            extend: Script::new(script!("scripts/extend.lua")),
            begin_confirm: Script::new(script!("scripts/begin_confirm.lua")),
            finish_confirm: Script::new(script!("scripts/finish_confirm.lua")),
            abort_confirm: Script::new(script!("scripts/abort_confirm.lua")),
            release: Script::new(script!("scripts/release.lua")),
            unbook: Script::new(script!("scripts/unbook.lua")),
            forget_holds: Script::new(script!("scripts/forget_holds.lua")),
            counts: Script::new(COUNTS),
            seat_map: Script::new(script!("scripts/seat_map.lua")),
            stale_pending: Script::new(script!("scripts/stale_pending.lua")),
            begin_load: Script::new(script!("scripts/begin_load.lua")),
            load_booked: Script::new(script!("scripts/load_booked.lua")),
            finish_load: Script::new(script!("scripts/finish_load.lua")),
            abandon_load: Script::new(script!("scripts/abandon_load.lua")),
            watch: Script::new(script!("scripts/watch.lua")),
            changes: Script::new(script!("scripts/changes.lua")),
        }
    }
}

/// The reserve script's source, as the store runs it (its SHA1 is what
/// `SCRIPT LOAD` answers, for `redis-benchmark ... EVALSHA`). To replay
/// many distinct one-seat reserves, put `__rand_int__` in ARGV[1] (hold
/// id), ARGV[2] (user) and ARGV[6] (the seat): the KEYS are the event's
/// and never change.
///
/// Measured here (`tests/redis/cost.rs`, ignored by default; this two-core
/// machine was shared with builds, load average 5-10): a one-seat reserve
/// takes ~31-41 us per call and ~34-42 us of server CPU per request, a
/// plain SET ~4.6 us per request: 7-10 SETs. About a third is fixed
/// (EVALSHA with 11 KEYS, TIME and the fenced meta read: ~13 us up to the
/// fence); the rest is its ~8 other commands, four of them inserts into the
/// event's hashes and sorted set. Each `redis.call` costs ~0.5-1 us of
/// its own, whatever it does.
pub fn reserve_script() -> &'static str {
    RESERVE
}

/// The KEYS of the reserve script for `request`, in order: every key of
/// the event.
pub fn reserve_keys(prefix: &KeyPrefix, request: &HoldRequest) -> Vec<String> {
    EventKeys::new(prefix, request.event).all().names()
}

/// The ARGV of the reserve script for `request`, in order.
pub fn reserve_args(request: &HoldRequest) -> Vec<String> {
    ReserveArgs(request)
        .to_redis_args()
        .into_iter()
        .map(|arg| String::from_utf8_lossy(&arg).into_owned())
        .collect()
}

/// The counts script's source, as the store runs it; its KEYS are every
/// key of the event ([`EventKeys::all`]) and its one ARGV the ms after
/// which a pending confirm counts as stale. For benchmarks of the read.
pub fn counts_script() -> &'static str {
    COUNTS
}

/// Reserve's ARGV, written straight into the invocation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReserveArgs<'a>(pub &'a HoldRequest);

impl ToRedisArgs for ReserveArgs<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        let request = self.0;
        Text(request.id).write_redis_args(out);
        request.user.as_str().write_redis_args(out);
        crate::store::millis(request.ttl).write_redis_args(out);
        request.max_held_per_user.write_redis_args(out);
        match &request.seats {
            SeatChoice::Seats(seats) => {
                "s".write_redis_args(out);
                // One argument, so every request of a batched call has six.
                let mut list = String::with_capacity(seats.len() * 6);
                for (i, seat) in seats.iter().enumerate() {
                    let comma = if i > 0 { "," } else { "" };
                    let _ = write!(list, "{comma}{}", seat.get());
                }
                list.write_redis_args(out);
            }
            SeatChoice::Best(n) => {
                "b".write_redis_args(out);
                n.write_redis_args(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use booking_domain::{EventId, HoldId, SeatNo, UserId};

    use super::*;

    fn request(seats: SeatChoice) -> HoldRequest {
        let event = EventId::new(5).unwrap();
        HoldRequest {
            id: HoldId::generate(event),
            event,
            user: UserId::parse("alice").unwrap(),
            seats,
            ttl: Duration::from_secs(300),
            max_held_per_user: 20,
        }
    }

    #[test]
    fn reserve_calls_are_laid_out_as_the_script_header_says() {
        let named = request(SeatChoice::Seats(vec![
            SeatNo::new(3).unwrap(),
            SeatNo::new(1).unwrap(),
        ]));
        let prefix = KeyPrefix::parse("p").unwrap();
        let keys = reserve_keys(&prefix, &named);
        assert_eq!(keys.len(), 12);
        assert_eq!(keys[0], "p:{e:5}:meta");
        assert_eq!(
            reserve_args(&named),
            [&named.id.to_string(), "alice", "300000", "20", "s", "3,1"]
        );
        let best = request(SeatChoice::Best(4));
        assert_eq!(
            reserve_args(&best),
            [&best.id.to_string(), "alice", "300000", "20", "b", "4"]
        );
        assert!(reserve_script().starts_with("-- lib/common.lua"));
        assert!(reserve_script().contains("-- reserve:"));
    }
}
