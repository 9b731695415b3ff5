//! Reading script replies. Every script answers a status word, alone or as
//! the first item of an array; anything else is an internal error, never a
//! panic.

use booking_domain::{SeatNo, StoreError, UserId};
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

    pub fn user(&self, i: usize) -> Result<UserId, StoreError> {
        let raw = bytes(self.item(i)?).and_then(|b| std::str::from_utf8(b).ok());
        raw.and_then(|raw| UserId::parse(raw).ok())
            .ok_or_else(|| self.unexpected())
    }

    pub fn seat(&self, i: usize) -> Result<SeatNo, StoreError> {
        let seat = integer(self.item(i)?).and_then(|n| u32::try_from(n).ok());
        seat.and_then(SeatNo::new).ok_or_else(|| self.unexpected())
    }

    /// A hold record's seat list, "1,2,3".
    pub fn seat_list(&self, i: usize) -> Result<Vec<SeatNo>, StoreError> {
        let raw = bytes(self.item(i)?).ok_or_else(|| self.unexpected())?;
        raw.split(|b| *b == b',')
            .map(|part| {
                parse_u32(part)
                    .and_then(SeatNo::new)
                    .ok_or_else(|| self.unexpected())
            })
            .collect()
    }
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

fn parse_u32(raw: &[u8]) -> Option<u32> {
    std::str::from_utf8(raw).ok()?.parse().ok()
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
        let bad = Value::Array(vec![
            bulk("hold"),
            bulk("\n"),
            bulk("1,x"),
            bulk("-1"),
            Value::Int(-5),
        ]);
        let reply = Reply::parse("t", &bad).unwrap();
        assert!(reply.user(0).is_err());
        assert!(reply.seat_list(1).is_err());
        assert!(reply.count(2).is_err());
        assert!(reply.seat(3).is_err());
        assert!(reply.item(9).is_err());
    }

    #[test]
    fn records_parse_back() {
        let rec = Value::Array(vec![
            bulk("hold"),
            bulk("alice"),
            bulk("3,1,2"),
            bulk("1700000000123"),
        ]);
        let reply = Reply::parse("t", &rec).unwrap();
        assert_eq!(reply.user(0).unwrap().as_str(), "alice");
        let seats: Vec<u32> = reply
            .seat_list(1)
            .unwrap()
            .iter()
            .map(|s| s.get())
            .collect();
        assert_eq!(seats, [3, 1, 2]);
        assert_eq!(
            reply.millis(2).unwrap().timestamp_millis(),
            1_700_000_000_123
        );
    }
}
