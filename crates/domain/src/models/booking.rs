use chrono::{DateTime, Utc};

use super::{EventId, HoldId, ParseError, SeatNo, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingStatus {
    Confirmed,
    Cancelled,
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "CONFIRMED",
            Self::Cancelled => "CANCELLED",
        }
    }
}

/// A confirmed hold. Its id is the hold's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: HoldId,
    pub event: EventId,
    pub user: UserId,
    pub status: BookingStatus,
    /// In venue order.
    pub seats: Vec<SeatNo>,
    pub created_at: DateTime<Utc>,
}

/// Where a page of a user's bookings ends: the next page holds the bookings
/// strictly older than this one (newest first, ties broken by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingCursor {
    pub created_at: DateTime<Utc>,
    pub id: HoldId,
}

impl BookingCursor {
    pub fn after(booking: &Booking) -> Self {
        Self {
            created_at: booking.created_at,
            id: booking.id,
        }
    }

    /// An opaque token for clients: `<microseconds>.<uuid>`, hex-encoded so
    /// nobody is tempted to build one by hand.
    pub fn encode(&self) -> String {
        let raw = format!("{}.{}", self.created_at.timestamp_micros(), self.id);
        raw.bytes().map(|b| format!("{b:02x}")).collect()
    }

    pub fn decode(token: &str) -> Result<Self, ParseError> {
        let bad = || ParseError::new("cursor is not one this API could give out");
        if token.len() > 200 || token.len() % 2 != 0 {
            return Err(bad());
        }
        let bytes: Vec<u8> = (0..token.len())
            .step_by(2)
            .map(|i| {
                u8::from_str_radix(token.get(i..i + 2).ok_or_else(bad)?, 16).map_err(|_| bad())
            })
            .collect::<Result<_, _>>()?;
        let raw = String::from_utf8(bytes).map_err(|_| bad())?;
        let (micros, id) = raw.split_once('.').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let cursor = Self {
            created_at: DateTime::from_timestamp_micros(micros).ok_or_else(bad)?,
            id: HoldId::parse(id).map_err(|_| bad())?,
        };
        // Only the exact spelling `encode` gives (lower-case hex, no sign,
        // no leading zeros, a time after 1970). A cursor is not signed: a
        // well-formed one only ever pages through the caller's own
        // bookings, so forging one shows nothing more.
        if micros < 0 || cursor.encode() != token {
            return Err(bad());
        }
        Ok(cursor)
    }
}

/// One page of a user's bookings, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingPage {
    pub bookings: Vec<Booking>,
    /// Set when there may be more: pass it back for the next page.
    pub next: Option<BookingCursor>,
}

/// Who is asking. Admins may view and cancel anyone's bookings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: UserId,
    pub admin: bool,
}

impl Caller {
    pub fn user(user: UserId) -> Self {
        Self { user, admin: false }
    }

    pub fn may_act_for(&self, owner: &UserId) -> bool {
        self.admin || &self.user == owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventId;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let cursor = BookingCursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: HoldId::generate(EventId::new(3).unwrap()),
        };
        assert_eq!(BookingCursor::decode(&cursor.encode()), Ok(cursor));
        for bad in ["", "zz", "31", &"a".repeat(400), "312e"] {
            assert!(BookingCursor::decode(bad).is_err(), "{bad:?}");
        }
        // Other spellings of a cursor this API could give out.
        let hex = |raw: &str| -> String { raw.bytes().map(|b| format!("{b:02x}")).collect() };
        let raw = format!("1700000000123456.{}", cursor.id);
        assert_eq!(BookingCursor::decode(&hex(&raw)), Ok(cursor));
        for other in [
            cursor.encode().to_uppercase(),
            hex(&format!("+{raw}")),
            hex(&format!("0{raw}")),
            hex(&format!("-1.{}", cursor.id)),
            hex(&raw.to_uppercase()),
        ] {
            assert!(BookingCursor::decode(&other).is_err(), "{other:?}");
        }
    }
}
