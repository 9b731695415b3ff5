//! Key names, and the data layout they hold.
//!
//! Every key of event `<id>` is `<prefix>:{e:<id>}:<part>`. The prefix lets
//! several deployments or tests share one Redis; `{e:<id>}` is the Redis
//! Cluster hash tag, so one event's keys live in one slot. Every script is
//! passed every key of its event, in the one order of [`EventKeys::all`]
//! (the scripts name them in `scripts/lib/common.lua`), so each script may
//! touch any of them and still run unchanged on Redis Cluster.
//!
//! The parts (seat `s` is a seat number, 1-based, in venue order):
//!
//! - `meta`: hash. `st` is `loading`, `ready` or `stale` (the fence found
//!   the data older than it claims); `tok` the current load's token; `n`
//!   the seat count; `rows` the last seat of every row but the last,
//!   comma-separated (empty for one row), read only by best-available
//!   requests; `until` the ms after which the mirror may not be kept;
//!   `idle` the idle TTL in ms; `due` the ms after which the next call
//!   refreshes the TTLs; `rid`, `ls`, `sec` the fence's stamp (the server's run_id,
//!   its LASTSAVE and the second of the stamp). Without `meta` the event
//!   has no mirror at all, whatever other keys are left.
//! - `state`: string, one byte per seat (offset `s - 1`): `0` available,
//!   `1` held or pending, `2` booked. The seat map is one GET, a named
//!   seat one GETRANGE, best available a `string.find` over it.
//! - `booked`: hash seat -> booking id, so `unbook` frees only the seats
//!   still booked by that booking.
//! - `owners`: hash seat -> hold id of every held or pending seat, so
//!   release and abort free only what the hold still has (a load or a
//!   confirm may have booked a seat from under it: booked wins).
//! - `holds`: hash hold id -> `user TAB created ms TAB expiry ms TAB
//!   pending-since ms or empty TAB seats "1,2,3"` (user ids never contain
//!   control characters). No key per hold.
//! - `exp`: sorted set hold id -> expiry ms of the live, not pending holds.
//!   Every script that reads or writes seat state first frees what
//!   expired by the server's clock (`ZRANGEBYSCORE exp -inf now`), so
//!   answers are exact at the instant with no sweeper, at O(log n) when
//!   nothing expired.
//! - `pending`: sorted set hold id -> ms its confirm began.
//! - `users`: hash user -> seats their live holds own: the per-user limit
//!   is one HGET.
//! - `unbooked`: set of booking ids unbooked while the current load runs
//!   (its chunks were read before and must not book them again). Exists
//!   only while a load runs.
//! - `lock`: the load lock, `SET lock <token> NX PX <lease>`: its lease is
//!   its own TTL.
//! - `local`: the fence's node-local mark: the run_id of the server that
//!   stamped the mirror, written with `redis.set_repl(redis.REPL_NONE)`,
//!   so neither replicas nor the AOF ever get it.
//! - `feed`: a stream of seat changes (fields `s` seats "1,2", `t` the new
//!   state, `b`/`h` booked and held counts after it), appended only while
//!   the event is watched (meta `w`) and trimmed to about 10,000 entries;
//!   meta `ep` is its epoch, bumped by every load and every lapsed watch.
//!   It exists only while watched, and then always with the TTL.
//!
//! Hashes, sets and sorted sets keep one placeholder member, the empty
//! string (no seat, hold id or user id is empty; sorted sets score it
//! `+inf`), so they never vanish when emptied and come back later without
//! a TTL: every key of an event exists from `begin_load` on and carries the
//! event's TTL (`HLEN` counts subtract it).
//!
//! TTLs: every key but `lock` expires at one instant, `min(last use +
//! idle, until)`; scripts refresh it only once `due` has passed (an eighth
//! of the idle time after the last refresh), so the refresh costs nothing
//! on most calls and an idle event goes within 7/8 to 8/8 of the idle time.

use std::fmt;
use std::io::Write as _;

use booking_domain::EventId;
use redis::{RedisWrite, ToRedisArgs};

/// The text every key of a store starts with.
///
/// 1..=64 printable ASCII characters without spaces, `{` or `}`: the first
/// `{...}` in a key is its Redis Cluster hash tag, and that must be the
/// event's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, InvalidPrefix> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(InvalidPrefix("must be 1 to 64 characters"));
        }
        if raw.contains(['{', '}']) {
            return Err(InvalidPrefix(
                "must not contain '{' or '}' (they would change the hash slot)",
            ));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidPrefix(
                "must be printable ASCII without spaces or control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The pattern that matches every key under the prefix (for tests and
    /// tools; the store itself never scans).
    pub fn pattern(&self) -> String {
        format!("{}:*", glob_escape(&self.0))
    }
}

impl fmt::Display for KeyPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a key prefix was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPrefix(&'static str);

impl fmt::Display for InvalidPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the Redis key prefix {}", self.0)
    }
}

impl std::error::Error for InvalidPrefix {}

/// The keys of one event under one prefix.
#[derive(Debug, Clone, Copy)]
pub struct EventKeys<'a> {
    prefix: &'a str,
    event: EventId,
}

/// Each key of an event, in the order every script receives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Meta,
    State,
    Booked,
    Owners,
    Holds,
    Exp,
    Pending,
    Users,
    Unbooked,
    Lock,
    Local,
    Feed,
}

impl Part {
    /// Every part, in `KEYS` order: `scripts/lib/common.lua` names
    /// `KEYS[1]..KEYS[12]` in this order.
    pub const ALL: [Part; 12] = [
        Part::Meta,
        Part::State,
        Part::Booked,
        Part::Owners,
        Part::Holds,
        Part::Exp,
        Part::Pending,
        Part::Users,
        Part::Unbooked,
        Part::Lock,
        Part::Local,
        Part::Feed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Part::Meta => "meta",
            Part::State => "state",
            Part::Booked => "booked",
            Part::Owners => "owners",
            Part::Holds => "holds",
            Part::Exp => "exp",
            Part::Pending => "pending",
            Part::Users => "users",
            Part::Unbooked => "unbooked",
            Part::Lock => "lock",
            Part::Local => "local",
            Part::Feed => "feed",
        }
    }
}

impl<'a> EventKeys<'a> {
    pub fn new(prefix: &'a KeyPrefix, event: EventId) -> Self {
        Self {
            prefix: prefix.as_str(),
            event,
        }
    }

    pub fn key(self, part: Part) -> Key<'a> {
        Key { event: self, part }
    }

    /// Every key of the event, in `KEYS` order, written straight into a
    /// script invocation.
    pub fn all(self) -> AllKeys<'a> {
        AllKeys(self)
    }

    /// `prefix:{e:42}:`, what every key name of the event starts with,
    /// with room for the longest part's name after it. The one place the
    /// names' shape is written.
    fn stem(self) -> String {
        const LONGEST_PART: usize = "unbooked".len();
        let mut id = itoa::Buffer::new();
        let id = id.format(self.event.get());
        let mut stem = String::with_capacity(self.prefix.len() + id.len() + 6 + LONGEST_PART);
        for piece in [self.prefix, ":{e:", id, "}:"] {
            stem.push_str(piece);
        }
        stem
    }

    /// The pattern that matches every key of the event (for tests and
    /// tools; the store itself never scans).
    pub fn pattern(self) -> String {
        let prefix = glob_escape(self.prefix);
        let escaped = EventKeys {
            prefix: &prefix,
            event: self.event,
        };
        escaped.stem() + "*"
    }
}

/// Every key of one event, as one script's `KEYS`.
#[derive(Debug, Clone, Copy)]
pub struct AllKeys<'a>(EventKeys<'a>);

impl AllKeys<'_> {
    pub fn names(self) -> Vec<String> {
        Part::ALL
            .iter()
            .map(|part| self.0.key(*part).to_string())
            .collect()
    }
}

impl ToRedisArgs for AllKeys<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        // The stem once, then each name after it: through `write!`, the
        // twelve names cost about 15,000 instructions per script call
        // (about 1,900 per GET, where concurrent reads share a call;
        // docs/PERFORMANCE.md, "ninth session").
        let mut name = self.0.stem();
        let stem = name.len();
        for part in Part::ALL {
            name.truncate(stem);
            name.push_str(part.name());
            out.write_arg(name.as_bytes());
        }
    }

    fn num_of_args(&self) -> usize {
        Part::ALL.len()
    }
}

/// One key name, written into a call as one argument; `to_string()`
/// gives the same name.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    event: EventKeys<'a>,
    part: Part,
}

impl Key<'_> {
    fn name(self) -> String {
        self.event.stem() + self.part.name()
    }
}

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl ToRedisArgs for Key<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        out.write_arg(self.name().as_bytes());
    }
}

/// A value written as its `Display` text, with no intermediate `String`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Text<T>(pub T);

impl<T: fmt::Display> ToRedisArgs for Text<T> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        let _ = write!(out.writer_for_next_arg(), "{}", self.0);
    }
}

/// Escapes what `SCAN MATCH` would read as a wildcard.
fn glob_escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix() -> KeyPrefix {
        KeyPrefix::parse("booking").unwrap()
    }

    #[test]
    fn every_key_of_an_event_carries_its_hash_tag_first() {
        let prefix = prefix();
        let keys = EventKeys::new(&prefix, EventId::new(42).unwrap());
        let names = keys.all().names();
        assert_eq!(names.len(), 12);
        for name in &names {
            let tag = &name[name.find('{').unwrap()..=name.find('}').unwrap()];
            assert_eq!(tag, "{e:42}", "{name}");
            assert!(name.starts_with("booking:{e:42}:"), "{name}");
        }
        assert_eq!(names[0], "booking:{e:42}:meta");
        assert_eq!(names[10], "booking:{e:42}:local");
    }

    #[test]
    fn all_keys_write_themselves_in_keys_order() {
        let prefix = prefix();
        let keys = EventKeys::new(&prefix, EventId::new(7).unwrap());
        let args = keys.all().to_redis_args();
        assert_eq!(args.len(), keys.all().num_of_args());
        assert_eq!(args[1], b"booking:{e:7}:state".to_vec());
        assert_eq!(
            keys.key(Part::Exp).to_redis_args(),
            vec![b"booking:{e:7}:exp".to_vec()]
        );
    }

    #[test]
    fn keys_written_into_a_call_are_their_names() {
        let prefix = KeyPrefix::parse("booking-test:x_1").unwrap();
        for id in [1, 42, i64::MAX] {
            let keys = EventKeys::new(&prefix, EventId::new(id).unwrap());
            let written: Vec<String> = keys
                .all()
                .to_redis_args()
                .into_iter()
                .map(|arg| String::from_utf8(arg).unwrap())
                .collect();
            assert_eq!(written, keys.all().names());
            for part in Part::ALL {
                assert_eq!(
                    keys.key(part).to_redis_args(),
                    vec![keys.key(part).to_string().into_bytes()]
                );
            }
        }
    }

    #[test]
    fn prefixes_cannot_move_the_hash_tag() {
        assert!(KeyPrefix::parse("booking-test:abc").is_ok());
        for bad in ["", "a{b", "a}b", "a b", "a\nb", "é", &"x".repeat(65)] {
            assert!(KeyPrefix::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn patterns_match_only_the_event() {
        let prefix = KeyPrefix::parse("t*[1]").unwrap();
        let keys = EventKeys::new(&prefix, EventId::new(3).unwrap());
        assert_eq!(keys.pattern(), r"t\*\[1\]:{e:3}:*");
    }
}
