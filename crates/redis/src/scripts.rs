//! The Lua scripts, and how a reserve call is laid out (shared with
//! benchmarks, so they run exactly what the store runs).

use booking_domain::HoldRequest;
use redis::{RedisWrite, Script, ToRedisArgs};

use crate::keys::{EventKeys, KeyPrefix, Text};

const RESERVE: &str = include_str!("scripts/reserve.lua");

/// Each script once, with its SHA1 computed up front. `redis::Script`
/// calls EVALSHA and loads the script itself on NOSCRIPT (a restarted or
/// flushed server), so no call pays for sending the source.
#[derive(Debug)]
pub(crate) struct Scripts {
    pub reserve: Script,
    pub hold: Script,
    pub begin_confirm: Script,
    pub finish_confirm: Script,
    pub abort_confirm: Script,
    pub release: Script,
    pub unbook: Script,
    pub counts: Script,
    pub load: Script,
    pub stale_pending: Script,
}

impl Scripts {
    pub fn new() -> Self {
        Self {
            reserve: Script::new(RESERVE),
            hold: Script::new(include_str!("scripts/hold.lua")),
            begin_confirm: Script::new(include_str!("scripts/begin_confirm.lua")),
            finish_confirm: Script::new(concat!(
                include_str!("scripts/lib/expire_user_set.lua"),
                include_str!("scripts/finish_confirm.lua")
            )),
            abort_confirm: Script::new(concat!(
                include_str!("scripts/lib/expire_user_set.lua"),
                include_str!("scripts/abort_confirm.lua")
            )),
            release: Script::new(include_str!("scripts/release.lua")),
            unbook: Script::new(include_str!("scripts/unbook.lua")),
            counts: Script::new(include_str!("scripts/counts.lua")),
            load: Script::new(include_str!("scripts/load.lua")),
            stale_pending: Script::new(include_str!("scripts/stale_pending.lua")),
        }
    }
}

/// The reserve script's source, as the store runs it (its SHA1 is what
/// `SCRIPT LOAD` answers, for `redis-benchmark ... EVALSHA`).
pub fn reserve_script() -> &'static str {
    RESERVE
}

/// The KEYS of the reserve script for `request`, in order.
pub fn reserve_keys(prefix: &KeyPrefix, request: &HoldRequest) -> Vec<String> {
    strings(ReserveKeys::new(prefix, request).to_redis_args())
}

/// The ARGV of the reserve script for `request`, in order.
pub fn reserve_args(request: &HoldRequest) -> Vec<String> {
    strings(ReserveArgs(request).to_redis_args())
}

fn strings(args: Vec<Vec<u8>>) -> Vec<String> {
    args.into_iter()
        .map(|arg| String::from_utf8_lossy(&arg).into_owned())
        .collect()
}

/// Reserve's KEYS, written straight into the invocation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReserveKeys<'a> {
    keys: EventKeys<'a>,
    request: &'a HoldRequest,
}

impl<'a> ReserveKeys<'a> {
    pub fn new(prefix: &'a KeyPrefix, request: &'a HoldRequest) -> Self {
        Self {
            keys: EventKeys::new(prefix, request.event),
            request,
        }
    }
}

impl ToRedisArgs for ReserveKeys<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        let keys = self.keys;
        keys.loaded().write_redis_args(out);
        keys.seats().write_redis_args(out);
        keys.owners().write_redis_args(out);
        keys.hold(self.request.id).write_redis_args(out);
        keys.user(&self.request.user).write_redis_args(out);
    }
}

/// Reserve's ARGV, written straight into the invocation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReserveArgs<'a>(pub &'a HoldRequest);

impl ToRedisArgs for ReserveArgs<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        let request = self.0;
        Text(request.id).write_redis_args(out);
        request.user.as_str().write_redis_args(out);
        // A TTL beyond u64 milliseconds is not a TTL anyone asks for.
        u64::try_from(request.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .write_redis_args(out);
        request.max_held_per_user.write_redis_args(out);
        for seat in &request.seats {
            seat.get().write_redis_args(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use booking_domain::{EventId, HoldId, SeatNo, UserId};

    use super::*;

    #[test]
    fn reserve_calls_are_laid_out_as_the_script_header_says() {
        let event = EventId::new(5).unwrap();
        let request = HoldRequest {
            id: HoldId::generate(event),
            event,
            user: UserId::parse("alice").unwrap(),
            seats: vec![SeatNo::new(3).unwrap(), SeatNo::new(1).unwrap()],
            ttl: Duration::from_secs(300),
            max_held_per_user: 20,
        };
        let prefix = KeyPrefix::parse("p").unwrap();
        assert_eq!(
            reserve_keys(&prefix, &request),
            [
                "p:{e:5}:loaded".to_owned(),
                "p:{e:5}:seats".to_owned(),
                "p:{e:5}:owners".to_owned(),
                format!("p:{{e:5}}:hold:{}", request.id),
                "p:{e:5}:user:alice".to_owned(),
            ]
        );
        assert_eq!(
            reserve_args(&request),
            [&request.id.to_string(), "alice", "300000", "20", "3", "1"]
        );
        assert!(reserve_script().starts_with("-- reserve:"));
    }
}
