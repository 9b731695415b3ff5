//! Reading script replies. Every script answers a status word, alone or as
//! the first item of an array; anything else is an internal error, never a
//! panic.

use booking_domain::{EventId, Hold, HoldId, SeatNo, StoreError, UserId};
use chrono::{DateTime, Utc};
use redis::Value;

use crate::errors::unexpected;

/// A script's reply: its status word and the items after it.
#[derive(Debug)]
pub(crate) struct Reply<'a> {
    script: &'static str,
    value: &'a Value,
    status: &'a [u8],
    items: &'a [Value],
}

impl<'a> Reply<'a> {
    pub fn parse(script: &'static str, value: &'a Value) -> Result<Self, StoreError> {
        let (status, items) = match value {
            Value::Array(items) => match items.split_first() {
                Some((first, rest)) => (bytes(first), rest),
                None => (None, &[][..]),
            },
            other => (bytes(other), &[][..]),
        };
        let status = status.ok_or_else(|| unexpected(script, value))?;
        Ok(Self {
            script,
            value,
            status,
            items,
        })
    }

    /// One reply of a flat list (`reserve.lua`'s): `words`, its status
    /// word then its items, taken from the whole reply `value`.
    pub fn of_words(
        script: &'static str,
        value: &'a Value,
        words: &'a [Value],
    ) -> Result<Self, StoreError> {
        let (first, items) = words
            .split_first()
            .ok_or_else(|| unexpected(script, value))?;
        let status = bytes(first).ok_or_else(|| unexpected(script, value))?;
        Ok(Self {
            script,
            value,
            status,
            items,
        })
    }

    /// Splits the items into replies, each written as its length then its
    /// words; `None` unless they split exactly.
    pub fn split_lengths(&self) -> Option<Vec<&'a [Value]>> {
        let mut rest = self.items;
        let mut replies = Vec::new();
        while let Some((length, after)) = rest.split_first() {
            let n = usize::try_from(integer(length)?).ok()?;
            if n == 0 || n > after.len() {
                return None;
            }
            let (words, next) = after.split_at(n);
            replies.push(words);
            rest = next;
        }
        Some(replies)
    }

    pub fn status(&self) -> &'a [u8] {
        self.status
    }

    /// The items after the status word.
    pub fn items(&self) -> &'a [Value] {
        self.items
    }

    pub fn unexpected(&self) -> StoreError {
        unexpected(self.script, self.value)
    }

    fn item(&self, i: usize) -> Result<&'a Value, StoreError> {
        self.items.get(i).ok_or_else(|| self.unexpected())
    }

    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        integer(self.item(i)?).ok_or_else(|| self.unexpected())
    }

    pub fn count(&self, i: usize) -> Result<u32, StoreError> {
        u32::try_from(self.int(i)?).map_err(|_| self.unexpected())
    }

    pub fn millis(&self, i: usize) -> Result<DateTime<Utc>, StoreError> {
        DateTime::from_timestamp_millis(self.int(i)?).ok_or_else(|| self.unexpected())
    }

    pub fn seat(&self, i: usize) -> Result<SeatNo, StoreError> {
        let seat = integer(self.item(i)?).and_then(|n| u32::try_from(n).ok());
        seat.and_then(SeatNo::new).ok_or_else(|| self.unexpected())
    }

    /// Every item from `i` on, as seats.
    pub fn seats_from(&self, i: usize) -> Result<Vec<SeatNo>, StoreError> {
        (i..self.items.len()).map(|i| self.seat(i)).collect()
    }

    pub fn bytes(&self, i: usize) -> Result<&'a [u8], StoreError> {
        bytes(self.item(i)?).ok_or_else(|| self.unexpected())
    }

    /// A hold record (see `keys`): user, created, expiry, pending since,
    /// seats, tab-separated.
    pub fn hold(&self, i: usize, id: HoldId, event: EventId) -> Result<Hold, StoreError> {
        parse_record(self.bytes(i)?, id, event).ok_or_else(|| self.unexpected())
    }
}

/// A hold record as the scripts write it, or `None` if it is not one.
fn parse_record(raw: &[u8], id: HoldId, event: EventId) -> Option<Hold> {
    let raw = std::str::from_utf8(raw).ok()?;
    let mut fields = raw.split('\t');
    let user = UserId::parse(fields.next()?).ok()?;
    let created = DateTime::from_timestamp_millis(fields.next()?.parse().ok()?)?;
    let expires_at = DateTime::from_timestamp_millis(fields.next()?.parse().ok()?)?;
    let _pending_since = fields.next()?;
    let seats = fields
        .next()?
        .split(',')
        .map(|part| part.parse().ok().and_then(SeatNo::new))
        .collect::<Option<Vec<_>>>()?;
    if fields.next().is_some() || seats.is_empty() {
        return None;
    }
    Some(Hold {
        id,
        event,
        user,
        seats,
        created_at: created,
        expires_at,
    })
}

fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// Lua numbers come back as integers, record fields as digit strings.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        other => std::str::from_utf8(bytes(other)?).ok()?.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn statuses_come_alone_or_first() {
        let alone = bulk("noop");
        assert_eq!(Reply::parse("t", &alone).unwrap().status(), b"noop");
        let array = Value::Array(vec![bulk("limit"), Value::Int(3)]);
        let reply = Reply::parse("t", &array).unwrap();
        assert_eq!(reply.status(), b"limit");
        assert_eq!(reply.count(0).unwrap(), 3);
    }

    #[test]
    fn replies_it_does_not_understand_are_errors_not_panics() {
        for odd in [
            Value::Nil,
            Value::Int(1),
            Value::Array(vec![]),
            Value::Array(vec![Value::Int(1)]),
        ] {
            assert!(matches!(
                Reply::parse("t", &odd),
                Err(StoreError::Internal { .. })
            ));
        }
        let short = Value::Array(vec![bulk("held")]);
        let reply = Reply::parse("t", &short).unwrap();
        assert!(reply.int(0).is_err());
        let e = EventId::new(1).unwrap();
        let id = HoldId::generate(e);
        let bad = Value::Array(vec![
            bulk("hold"),
            bulk("\n\t1\t2\t\t1"),
            bulk("alice\t1\t2\t\t1,x"),
            bulk("alice\t1\t2\t\t"),
            bulk("-1"),
            Value::Int(-5),
        ]);
        let reply = Reply::parse("t", &bad).unwrap();
        assert!(reply.hold(0, id, e).is_err());
        assert!(reply.hold(1, id, e).is_err());
        assert!(reply.hold(2, id, e).is_err());
        assert!(reply.count(3).is_err());
        assert!(reply.seat(4).is_err());
        assert!(reply.item(9).is_err());
    }

    #[test]
    fn flat_replies_split_by_their_lengths_or_not_at_all() {
        let flat = Value::Array(vec![
            bulk("each"),
            Value::Int(3),
            bulk("held"),
            Value::Int(10),
            Value::Int(20),
            Value::Int(2),
            bulk("limit"),
            Value::Int(4),
        ]);
        let reply = Reply::parse("t", &flat).unwrap();
        let words = reply.split_lengths().unwrap();
        assert_eq!(words.len(), 2);
        let held = Reply::of_words("t", &flat, words[0]).unwrap();
        assert_eq!(held.status(), b"held");
        assert_eq!(held.int(1).unwrap(), 20);
        assert!(held.int(2).is_err());
        let limit = Reply::of_words("t", &flat, words[1]).unwrap();
        assert_eq!(
            (limit.status(), limit.count(0).unwrap()),
            (&b"limit"[..], 4)
        );

        for odd in [
            vec![bulk("each"), Value::Int(2), bulk("held")],
            vec![bulk("each"), Value::Int(0)],
            vec![bulk("each"), Value::Int(-1), bulk("held")],
            vec![bulk("each"), bulk("held")],
        ] {
            let odd = Value::Array(odd);
            assert!(Reply::parse("t", &odd).unwrap().split_lengths().is_none());
        }
        let not_a_word = Value::Array(vec![bulk("each"), Value::Int(1), Value::Int(7)]);
        let reply = Reply::parse("t", &not_a_word).unwrap();
        let words = reply.split_lengths().unwrap();
        assert!(Reply::of_words("t", &not_a_word, words[0]).is_err());
    }

    #[test]
    fn records_parse_back() {
        let rec = Value::Array(vec![
            bulk("hold"),
            bulk("a b\t1700000000000\t1700000000123\t1700000000050\t3,1,2"),
        ]);
        let reply = Reply::parse("t", &rec).unwrap();
        let e = EventId::new(1).unwrap();
        let id = HoldId::generate(e);
        let hold = reply.hold(0, id, e).unwrap();
        assert_eq!(hold.user.as_str(), "a b");
        let seats: Vec<u32> = hold.seats.iter().map(|s| s.get()).collect();
        assert_eq!(seats, [3, 1, 2]);
        assert_eq!(hold.created_at.timestamp_millis(), 1_700_000_000_000);
        assert_eq!(hold.expires_at.timestamp_millis(), 1_700_000_000_123);
    }
}
