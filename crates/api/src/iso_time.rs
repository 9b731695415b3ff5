//! UTC times as text, `2026-12-01T19:30:05.123Z`, written by hand: GETs
//! and reserves answer with one or two, every log line starts with one,
//! and through `core::fmt` each cost several hundred instructions
//! (callgrind, docs/PERFORMANCE.md, "sixth session").

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};

/// A time's text, on the stack.
#[derive(Debug, Clone, Copy)]
pub struct IsoTime {
    text: [u8; 27],
    len: usize,
}

impl IsoTime {
    /// To the millisecond, as JavaScript's `toISOString` writes it (the
    /// original API's format). `None` for a year outside 0-9999, which
    /// needs a sign and more digits.
    pub fn millis(at: DateTime<Utc>) -> Option<Self> {
        Self::new(at.timestamp(), 3, at.timestamp_subsec_millis().min(999))
    }

    /// To the microsecond (log lines). From the clock's own count rather
    /// than a chrono time, whose calendar date is worked out on the way
    /// there and back: a third of this function's cost.
    pub fn micros(at: SystemTime) -> Option<Self> {
        let (seconds, micros) = match at.duration_since(UNIX_EPOCH) {
            Ok(since) => (i64::try_from(since.as_secs()).ok()?, since.subsec_micros()),
            // Before 1970: whole seconds down, the fraction up from them.
            Err(before) => {
                let before = before.duration();
                let whole = i64::try_from(before.as_secs()).ok()?;
                match before.subsec_micros() {
                    0 => (-whole, 0),
                    part => (-whole - 1, 1_000_000 - part),
                }
            }
        };
        // A log line per request: the date and time of day are written
        // once per second and thread, the microseconds every time.
        thread_local! {
            static SECOND: Cell<Option<(i64, IsoTime)>> = const { Cell::new(None) };
        }
        let mut text = match SECOND.get() {
            Some((second, text)) if second == seconds => text,
            _ => {
                let text = Self::new(seconds, 6, 0)?;
                SECOND.set(Some((seconds, text)));
                text
            }
        };
        put(&mut text.text, 20, 6, micros);
        Some(text)
    }

    /// `seconds` since 1970 and a fraction of `digits` digits.
    fn new(seconds: i64, digits: usize, fraction: u32) -> Option<Self> {
        // From the seconds since 1970 rather than chrono's calendar
        // getters, which each work the date out again.
        let (year, month, day) = civil_from_days(seconds.div_euclid(86_400));
        let year = u32::try_from(year).ok().filter(|&y| y <= 9999)?;
        let of_day = seconds.rem_euclid(86_400) as u32;
        let mut text = *b"0000-00-00T00:00:00.000000Z";
        put(&mut text, 0, 4, year);
        put(&mut text, 5, 2, month);
        put(&mut text, 8, 2, day);
        put(&mut text, 11, 2, of_day / 3600);
        put(&mut text, 14, 2, of_day / 60 % 60);
        put(&mut text, 17, 2, of_day % 60);
        put(&mut text, 20, digits, fraction);
        let len = 20 + digits + 1;
        text[len - 1] = b'Z';
        Some(Self { text, len })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits were written into an ASCII template.
        std::str::from_utf8(&self.text[..self.len]).unwrap_or_default()
    }
}

/// `value`'s last `width` digits into `text` from `at`.
fn put(text: &mut [u8; 27], at: usize, width: usize, mut value: u32) {
    for i in (at..at + width).rev() {
        text[i] = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The proleptic Gregorian (year, month, day) of a count of days since
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of the 400-year era
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // from March 1st
    let mp = (5 * doy + 2) / 153; // months from March
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{SecondsFormat, TimeZone};

    const MICROS: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

    fn micros_of(at: DateTime<Utc>) -> String {
        IsoTime::micros(SystemTime::from(at))
            .unwrap()
            .as_str()
            .to_owned()
    }

    #[test]
    fn times_read_as_chrono_writes_them() {
        let mut at = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap();
        // Every field through its range, leap days and sub-second parts.
        for step in 0..5_000 {
            at += chrono::Duration::microseconds(7_919_876_543_211 + step);
            let millis = IsoTime::millis(at).unwrap();
            assert_eq!(
                millis.as_str(),
                at.to_rfc3339_opts(SecondsFormat::Millis, true)
            );
            assert_eq!(micros_of(at), at.format(MICROS).to_string());
        }
        for (y, m, d) in [
            (1969, 12, 31),
            (1900, 3, 1),
            (1600, 2, 29),
            (2000, 2, 29),
            (9999, 12, 31),
        ] {
            let at = Utc.with_ymd_and_hms(y, m, d, 23, 59, 58).unwrap();
            let text = IsoTime::millis(at).unwrap();
            assert_eq!(
                text.as_str(),
                at.to_rfc3339_opts(SecondsFormat::Millis, true)
            );
            // Before 1970 too, the fraction counts up from the second.
            for part in [0, 1, 999_999] {
                let at = at + chrono::Duration::microseconds(part);
                assert_eq!(micros_of(at), at.format(MICROS).to_string());
            }
        }
        let far = Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap();
        assert!(IsoTime::millis(far).is_none());
        let early = Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            IsoTime::millis(early).unwrap().as_str(),
            "0000-01-01T00:00:00.000Z"
        );
    }
}
