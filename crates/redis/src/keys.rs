//! Key names, and what each key holds.
//!
//! Every key of event `<id>` is `<prefix>:{e:<id>}:<part>`. The prefix lets
//! several deployments or tests share one Redis; `{e:<id>}` is the Redis
//! Cluster hash tag, so one event's keys live in one slot. The parts:
//!
//! - `loaded`: a marker set by `load`. Without it (never loaded, or lost
//!   with a flush or restart) reserve, begin_confirm and counts answer
//!   "not loaded".
//! - `loading`: set by `begin_load` for a minute. While it exists a
//!   finished confirm marks its seats even without `loaded`, and `load`
//!   refuses to set `loaded` without it (the data was lost meanwhile).
//! - `pending`: sorted set hold id → millisecond its confirm began, so
//!   confirms that never finished can be found and reconciled.
//! - `seats`: sorted set of every taken seat, scored by the millisecond it
//!   frees (server clock): a hold's expiry, or `inf` for pending and booked
//!   seats. A seat is taken while its score is in the future, so expired
//!   entries block nothing; reserve purges them. Held seats at an instant:
//!   `ZCOUNT (now inf` minus the booked ones.
//! - `owners`: hash seat → id of the hold that has it, so release and abort
//!   only free seats still theirs. Bounded by the event's seat count.
//! - `booked`: hash seat → booking id (the mirror): `HLEN` is the booked
//!   count, and `unbook` frees only seats still booked by that booking.
//! - `hold:<hold id>`: hash `u` user, `s` seats ("1,2,3"), `x` expiry ms,
//!   `p` "1" while pending. Expires (PEXPIRE) a second after the hold;
//!   persisted while pending.
//! - `user:<user id>`: sorted set `<hold id>:<n>` → expiry ms (`inf` while
//!   pending), one member per seat the user holds in the event, for the
//!   per-user limit (`ZCARD` after purging the expired). Expires with the
//!   user's longest hold.

use std::fmt;
use std::io::Write as _;

use booking_domain::{EventId, HoldId, UserId};
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

impl<'a> EventKeys<'a> {
    pub fn new(prefix: &'a KeyPrefix, event: EventId) -> Self {
        Self {
            prefix: prefix.as_str(),
            event,
        }
    }

    pub fn loaded(self) -> Key<'a> {
        self.key(Part::Loaded)
    }

    pub fn seats(self) -> Key<'a> {
        self.key(Part::Seats)
    }

    pub fn owners(self) -> Key<'a> {
        self.key(Part::Owners)
    }

    pub fn booked(self) -> Key<'a> {
        self.key(Part::Booked)
    }

    pub fn loading(self) -> Key<'a> {
        self.key(Part::Loading)
    }

    pub fn pending(self) -> Key<'a> {
        self.key(Part::Pending)
    }

    pub fn hold(self, id: HoldId) -> Key<'a> {
        self.key(Part::Hold(id))
    }

    pub fn user(self, user: &'a UserId) -> Key<'a> {
        self.key(Part::User(user.as_str()))
    }

    /// The pattern that matches every key of the event (for tests and
    /// tools; the store itself never scans).
    pub fn pattern(self) -> String {
        format!("{}:{{e:{}}}:*", glob_escape(self.prefix), self.event)
    }

    fn key(self, part: Part<'a>) -> Key<'a> {
        Key { event: self, part }
    }
}

/// One key name. It writes itself straight into a command's buffer, so
/// naming keys costs no `String` per call; `to_string()` gives the name.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    event: EventKeys<'a>,
    part: Part<'a>,
}

#[derive(Debug, Clone, Copy)]
enum Part<'a> {
    Loaded,
    Loading,
    Pending,
    Seats,
    Owners,
    Booked,
    Hold(HoldId),
    User(&'a str),
}

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{{e:{}}}:", self.event.prefix, self.event.event)?;
        match self.part {
            Part::Loaded => f.write_str("loaded"),
            Part::Loading => f.write_str("loading"),
            Part::Pending => f.write_str("pending"),
            Part::Seats => f.write_str("seats"),
            Part::Owners => f.write_str("owners"),
            Part::Booked => f.write_str("booked"),
            Part::Hold(id) => write!(f, "hold:{id}"),
            Part::User(user) => write!(f, "user:{user}"),
        }
    }
}

impl ToRedisArgs for Key<'_> {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        // Writing into the command's own buffer cannot fail.
        let _ = write!(out.writer_for_next_arg(), "{self}");
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
        let event = EventId::new(42).unwrap();
        let keys = EventKeys::new(&prefix, event);
        let user = UserId::parse("a{b}:c").unwrap();
        let id = HoldId::generate(event);
        for key in [
            keys.loaded(),
            keys.seats(),
            keys.owners(),
            keys.booked(),
            keys.hold(id),
            keys.user(&user),
        ] {
            let name = key.to_string();
            let tag = &name[name.find('{').unwrap()..=name.find('}').unwrap()];
            assert_eq!(tag, "{e:42}", "{name}");
            assert!(name.starts_with("booking:{e:42}:"), "{name}");
        }
        assert_eq!(keys.booked().to_string(), "booking:{e:42}:booked");
        assert_eq!(
            keys.hold(id).to_string(),
            format!("booking:{{e:42}}:hold:{id}")
        );
    }

    #[test]
    fn keys_write_themselves_as_one_argument() {
        let prefix = prefix();
        let keys = EventKeys::new(&prefix, EventId::new(7).unwrap());
        assert_eq!(
            keys.seats().to_redis_args(),
            vec![b"booking:{e:7}:seats".to_vec()]
        );
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
