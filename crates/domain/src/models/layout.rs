//! How an event's seats are arranged and named. Inside the domain a seat
//! is its number in the venue's order (`SeatNo`, 1..=total); this module is
//! the one place that turns numbers into names (`A12`) and back.

use std::collections::HashMap;
use std::fmt;

use serde::{Serialize, Serializer};

use super::{ParseError, SeatCode, SeatNo};

/// A row's label: 1..=8 ASCII letters or digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowLabel(String);

impl RowLabel {
    pub const MAX_LEN: usize = 8;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(ParseError::new("row labels must be 1 to 8 characters"));
        }
        if !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ParseError::new(
                "row labels may only contain ASCII letters and digits",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RowLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for RowLabel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A seat's name in its parts; it displays as the name, `A12`. This is the
/// one place that decides how seats are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatName<'a> {
    pub row: &'a RowLabel,
    pub number: u32,
}

impl fmt::Display for SeatName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.row, self.number)
    }
}

/// One row: its label and how many seats it has, numbered from 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub label: RowLabel,
    pub seats: u32,
}

/// Why a layout was refused; the message is safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("an event needs at least one row")]
    NoRows,
    #[error("row {0} must have at least one seat")]
    EmptyRow(RowLabel),
    #[error("row label {0} is used twice")]
    DuplicateLabel(RowLabel),
    #[error("rows {0} and {1} would both name seat {2}")]
    Ambiguous(RowLabel, RowLabel, String),
    #[error("an event may have at most {max} seats")]
    TooManySeats { max: u32 },
}

/// The rows of a venue in order. Seat `n` of the venue is the seat whose
/// position, counting through the rows in order, is `n`; in row `A` of 20
/// seats followed by row `B`, venue seat 21 is `B1`.
///
/// Every seat has exactly one name and every name at most one seat: a
/// layout whose names would collide (rows `1` of 20 seats and `11`, where
/// `111` would be both row 1 seat 11 and row 11 seat 1) is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    rows: Vec<Row>,
    /// `firsts[i]`: the venue number of row `i`'s seat 1. Ascending, so a
    /// seat's row is a binary search away.
    firsts: Vec<u32>,
    total: u32,
    by_label: HashMap<RowLabel, usize>,
}

impl Layout {
    /// The label of the original API's single row: seats `S1`..`SN`.
    pub const ORIGINAL_ROW: &'static str = "S";

    /// The original API's venue: one row `S` of `seats` seats.
    pub fn single_row(seats: u32) -> Result<Self, LayoutError> {
        Self::new(vec![Row {
            label: RowLabel(Self::ORIGINAL_ROW.to_owned()),
            seats,
        }])
    }

    pub fn new(rows: Vec<Row>) -> Result<Self, LayoutError> {
        if rows.is_empty() {
            return Err(LayoutError::NoRows);
        }
        let mut by_label = HashMap::with_capacity(rows.len());
        let mut firsts = Vec::with_capacity(rows.len());
        let mut next: u64 = 1;
        for (i, row) in rows.iter().enumerate() {
            if row.seats == 0 {
                return Err(LayoutError::EmptyRow(row.label.clone()));
            }
            if by_label.insert(row.label.clone(), i).is_some() {
                return Err(LayoutError::DuplicateLabel(row.label.clone()));
            }
            let first =
                u32::try_from(next).map_err(|_| LayoutError::TooManySeats { max: u32::MAX - 1 })?;
            firsts.push(first);
            next += u64::from(row.seats);
        }
        let total =
            u32::try_from(next - 1).map_err(|_| LayoutError::TooManySeats { max: u32::MAX - 1 })?;
        let layout = Self {
            rows,
            firsts,
            total,
            by_label,
        };
        layout.check_names_are_unique()?;
        Ok(layout)
    }

    /// Names collide only when one label is another followed by digits
    /// (`1` and `11`, `A` and `A1`): then `<long><m>` reads as
    /// `<short><digits><m>`, and the smallest such number is `<digits>1`.
    fn check_names_are_unique(&self) -> Result<(), LayoutError> {
        for short in &self.rows {
            for long in &self.rows {
                let Some(rest) = long.label.0.strip_prefix(short.label.as_str()) else {
                    continue;
                };
                if rest.is_empty() || rest.starts_with('0') {
                    continue;
                }
                if !rest.bytes().all(|b| b.is_ascii_digit()) {
                    continue;
                }
                let smallest: u64 = format!("{rest}1").parse().unwrap_or(u64::MAX);
                if smallest <= u64::from(short.seats) {
                    return Err(LayoutError::Ambiguous(
                        short.label.clone(),
                        long.label.clone(),
                        format!("{}{rest}1", short.label),
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub fn total(&self) -> u32 {
        self.total
    }

    /// Whether this is the original API's single row `S`.
    pub fn is_single_row(&self) -> bool {
        self.rows.len() == 1 && self.rows[0].label.as_str() == Self::ORIGINAL_ROW
    }

    /// The venue number of each row's first seat, in row order.
    pub fn row_firsts(&self) -> &[u32] {
        &self.firsts
    }

    /// Which row (its index) a seat of this venue is in.
    pub fn row_of(&self, seat: SeatNo) -> Option<usize> {
        if seat.get() > self.total {
            return None;
        }
        // The last row whose first seat is at or before this one.
        Some(self.firsts.partition_point(|first| *first <= seat.get()) - 1)
    }

    /// The seat's name, e.g. `A12`, or `None` beyond the venue.
    pub fn code(&self, seat: SeatNo) -> Option<SeatCode> {
        let row = self.row_of(seat)?;
        let name = SeatName {
            row: &self.rows[row].label,
            number: seat.get() - self.firsts[row] + 1,
        };
        Some(SeatCode::named(name))
    }

    /// Every seat's name, in venue order (seat 1 first).
    pub fn names(&self) -> impl Iterator<Item = SeatName<'_>> {
        self.rows.iter().flat_map(|row| {
            (1..=row.seats).map(move |number| SeatName {
                row: &row.label,
                number,
            })
        })
    }

    /// The seat a name denotes in this venue, if any.
    pub fn seat(&self, code: &SeatCode) -> Option<SeatNo> {
        let raw = code.as_str();
        // The label is a prefix of at most 8 characters and the rest a
        // number without leading zeros; names are unique, so at most one
        // split fits.
        (1..=RowLabel::MAX_LEN.min(raw.len().saturating_sub(1))).find_map(|split| {
            let (label, number) = raw.split_at(split);
            if number.starts_with('0') || !number.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: u32 = number.parse().ok()?;
            let row = *self.by_label.get(&RowLabel(label.to_owned()))?;
            (n >= 1 && n <= self.rows[row].seats)
                .then(|| SeatNo::new(self.firsts[row] + n - 1))
                .flatten()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, seats: u32) -> Row {
        Row {
            label: RowLabel::parse(label).unwrap(),
            seats,
        }
    }

    fn code(raw: &str) -> SeatCode {
        SeatCode::parse(raw).unwrap()
    }

    #[test]
    fn the_original_venue_is_one_row_named_s() {
        let layout = Layout::single_row(100_000).unwrap();
        assert!(layout.is_single_row());
        assert_eq!(layout.total(), 100_000);
        let seat = |n| SeatNo::new(n).unwrap();
        assert_eq!(layout.code(seat(1)).unwrap().as_str(), "S1");
        assert_eq!(layout.code(seat(100_000)).unwrap().as_str(), "S100000");
        assert_eq!(layout.code(seat(100_001)), None);
        assert_eq!(layout.seat(&code("S7")), Some(seat(7)));
        for bad in ["S0", "S01", "S100001", "A1", "S", "1"] {
            assert_eq!(layout.seat(&code(bad)), None, "{bad}");
        }
    }

    #[test]
    fn seats_are_numbered_through_the_rows_in_order() {
        let layout = Layout::new(vec![row("A", 20), row("B", 10), row("AA", 5)]).unwrap();
        assert_eq!(layout.total(), 35);
        let seat = |n| SeatNo::new(n).unwrap();
        assert_eq!(layout.code(seat(20)).unwrap().as_str(), "A20");
        assert_eq!(layout.code(seat(21)).unwrap().as_str(), "B1");
        assert_eq!(layout.code(seat(35)).unwrap().as_str(), "AA5");
        assert_eq!(layout.seat(&code("B10")), Some(seat(30)));
        assert_eq!(layout.seat(&code("AA1")), Some(seat(31)));
        assert_eq!(layout.seat(&code("B11")), None);
        assert_eq!(layout.row_of(seat(1)), Some(0));
        assert_eq!(layout.row_of(seat(21)), Some(1));
        assert_eq!(layout.row_of(seat(35)), Some(2));
        assert_eq!(layout.row_of(seat(36)), None);
        for (n, name) in (1..=35).zip(layout.names()) {
            let code = layout.code(seat(n)).unwrap();
            assert_eq!(code.as_str(), name.to_string());
            assert_eq!(layout.seat(&code), Some(seat(n)), "{code}");
        }
        assert_eq!(layout.names().count(), 35);
    }

    #[test]
    fn numeric_row_labels_work_when_names_stay_unique() {
        let layout = Layout::new(vec![row("1", 9), row("10", 9), row("2", 30)]).unwrap();
        let seat = |n| SeatNo::new(n).unwrap();
        assert_eq!(layout.seat(&code("19")), Some(seat(9)));
        assert_eq!(layout.seat(&code("101")), Some(seat(10)));
        assert_eq!(layout.seat(&code("230")), Some(seat(48)));
    }

    #[test]
    fn layouts_whose_names_collide_are_refused() {
        assert!(matches!(
            Layout::new(vec![row("1", 20), row("11", 5)]),
            Err(LayoutError::Ambiguous(..))
        ));
        assert!(matches!(
            Layout::new(vec![row("A", 11), row("A1", 5)]),
            Err(LayoutError::Ambiguous(..))
        ));
        // A1 x would start at "A11", beyond row A's 10 seats.
        assert!(Layout::new(vec![row("A", 10), row("A1", 5)]).is_ok());
        // "A0..." can never be a number without a leading zero.
        assert!(Layout::new(vec![row("A", 500), row("A0", 5)]).is_ok());
    }

    #[test]
    fn bad_layouts_are_refused() {
        assert_eq!(Layout::new(vec![]), Err(LayoutError::NoRows));
        assert!(matches!(
            Layout::new(vec![row("A", 0)]),
            Err(LayoutError::EmptyRow(_))
        ));
        assert!(matches!(
            Layout::new(vec![row("A", 1), row("A", 2)]),
            Err(LayoutError::DuplicateLabel(_))
        ));
        for bad in ["", "ABCDEFGHI", "A-1", "A 1", "Ä"] {
            assert!(RowLabel::parse(bad).is_err(), "{bad:?}");
        }
    }
}
