use std::fmt;

use serde::{Serialize, Serializer};
use uuid::Uuid;

use super::ParseError;

/// An event's id: a positive integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(i64);

impl EventId {
    pub fn new(id: i64) -> Result<Self, ParseError> {
        if id >= 1 {
            Ok(Self(id))
        } else {
            Err(ParseError::new("eventId must be a positive integer"))
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        // Only plain digits: "+1", " 1" or "1e3" are not ids. Any that
        // fits an i64 is an id (perhaps unknown); a longer one is not.
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new("eventId must be a positive integer"));
        }
        Self::new(
            raw.parse()
                .map_err(|_| ParseError::new("eventId must be a positive integer"))?,
        )
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for EventId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A seat's position in its venue, from 1 to the event's seat count,
/// counting through the rows in order. Its name is the layout's business
/// (`Layout::code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeatNo(u32);

impl SeatNo {
    pub fn new(n: u32) -> Option<Self> {
        (n >= 1).then_some(Self(n))
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// A seat code as a client writes it: 1..=32 ASCII letters, digits or `-`.
/// Whether the seat exists in an event is decided later; this only rules
/// out text that cannot name any seat.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeatCode(String);

impl SeatCode {
    pub const MAX_LEN: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(ParseError::new("seat codes must be 1 to 32 characters"));
        }
        if !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(ParseError::new(
                "seat codes may only contain letters, digits and '-'",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The code of a seat of a layout.
    pub(crate) fn named(name: super::SeatName<'_>) -> Self {
        Self(name.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SeatCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for SeatCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Who a hold or booking belongs to: 1..=128 characters, none of them a
/// control character (they would forge log lines and break headers).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let chars = raw.chars().count();
        if chars == 0 || chars > Self::MAX_CHARS {
            return Err(ParseError::new("userId must be 1 to 128 characters"));
        }
        if raw.chars().any(char::is_control) {
            return Err(ParseError::new(
                "userId must not contain control characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for UserId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A hold's id, which becomes its booking's group id when confirmed (so a
/// retried confirm finds its own rows).
///
/// The id carries its event: the first 6 bytes are the event id (ids below
/// 2^48; larger ones carry 0, "unknown") and the rest is random apart from
/// the version and variant bits (a version 8 UUID). That lets a confirm sent to the wrong
/// event be told apart from an unknown hold without a global index of holds,
/// which would cost every reserve a second round trip to another Redis slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HoldId(Uuid);

impl HoldId {
    pub fn generate(event: EventId) -> Self {
        let mut bytes: [u8; 16] = rand::random();
        let id = u64::try_from(event.get())
            .ok()
            .filter(|id| *id < 1 << 48)
            .unwrap_or(0);
        bytes[..6].copy_from_slice(&id.to_be_bytes()[2..]);
        Self(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }

    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        // Uuid::parse_str also takes braced and URN forms; ids in paths and
        // bodies are the plain hyphenated form only.
        if raw.len() != 36 {
            return Err(ParseError::new("id must be a UUID"));
        }
        Uuid::parse_str(raw)
            .map(Self)
            .map_err(|_| ParseError::new("id must be a UUID"))
    }

    pub fn uuid(self) -> Uuid {
        self.0
    }

    /// The event this id was generated for, if it is one of ours.
    pub fn event_hint(self) -> Option<EventId> {
        if self.0.get_version_num() != 8 {
            return None;
        }
        let mut id = [0u8; 8];
        id[2..].copy_from_slice(&self.0.as_bytes()[..6]);
        EventId::new(i64::from_be_bytes(id)).ok()
    }
}

impl fmt::Display for HoldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl Serialize for HoldId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_positive_plain_integers() {
        assert_eq!(EventId::parse("42").unwrap().get(), 42);
        assert_eq!(
            EventId::parse("9223372036854775807").unwrap().get(),
            i64::MAX
        );
        for bad in [
            "0",
            "-1",
            "+1",
            "1.5",
            "abc",
            "",
            " 1",
            "1e3",
            "99999999999999999999",
            "9223372036854775808",
        ] {
            assert!(EventId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn seat_codes_reject_text_that_cannot_name_a_seat() {
        assert!(SeatCode::parse("S1").is_ok());
        assert!(SeatCode::parse("A-12").is_ok());
        for bad in ["", "S 1", "S1\n", "S\u{0}", "Sé", &"S".repeat(33)] {
            assert!(SeatCode::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn user_ids_are_bounded_and_printable() {
        assert!(UserId::parse("alice").is_ok());
        assert!(UserId::parse(&"é".repeat(128)).is_ok());
        assert!(UserId::parse(&"a".repeat(129)).is_err());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("bob\r\nX-Admin: 1").is_err());
    }

    #[test]
    fn hold_ids_remember_their_event() {
        for id in [
            1,
            255,
            4096,
            65_535,
            123_456,
            i32::MAX as i64,
            (1 << 48) - 1,
        ] {
            let event = EventId::new(id).unwrap();
            assert_eq!(HoldId::generate(event).event_hint(), Some(event));
        }
        let huge = EventId::new(1 << 48).unwrap();
        assert_eq!(HoldId::generate(huge).event_hint(), None);
        let event = EventId::new(123_456).unwrap();
        let id = HoldId::generate(event);
        assert_eq!(id.event_hint(), Some(event));
        assert_ne!(HoldId::generate(event), id);
        let parsed = HoldId::parse(&id.to_string()).unwrap();
        assert_eq!(parsed, id);
        let v4 = HoldId::from_uuid(Uuid::new_v4());
        assert_eq!(v4.event_hint(), None);
    }

    #[test]
    fn hold_ids_must_be_hyphenated_uuids() {
        assert!(HoldId::parse("not-a-uuid").is_err());
        assert!(HoldId::parse("{67e55044-10b1-426f-9247-bb680e5fe0c8}").is_err());
        assert!(HoldId::parse("67e55044-10b1-426f-9247-bb680e5fe0c8").is_ok());
    }
}
