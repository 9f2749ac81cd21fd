//! UTC timestamps with whole-second precision, in the text forms the protocols use:
//! PAP and SI/SL `YYYY-MM-DDThh:mm:ssZ` (WAP-247 §9, WAP-167 §5.2), the 14-digit form behind
//! the SI OPAQUE date, and the 12-digit `YYMMDDhhmmss` form of SMPP times.
//!
//! Pure: no clock is read except in [`UtcTime::now`], which the I/O layers call.

use std::fmt;

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UtcTime(pub i64);

/// A broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateTimeError {
    #[error("`{text}` is not a UTC date-time of the form YYYY-MM-DDThh:mm:ssZ")]
    Shape { text: String },
    #[error("`{text}`: {field} {value} is out of range")]
    Range {
        text: String,
        field: &'static str,
        value: u32,
    },
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

impl UtcTime {
    /// The current time from the system clock (I/O layers only).
    pub fn now() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        UtcTime(secs)
    }

    pub fn from_civil(c: Civil) -> Self {
        let days = days_from_civil(c.year as i64, c.month as i64, c.day as i64);
        UtcTime(days * 86_400 + c.hour as i64 * 3600 + c.minute as i64 * 60 + c.second as i64)
    }

    pub fn to_civil(self) -> Civil {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        Civil {
            year: y as i32,
            month: m as u8,
            day: d as u8,
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
        }
    }

    /// Parses `YYYY-MM-DDThh:mm:ssZ`; `T` and `Z` are accepted in either case, since
    /// BlackBerry's PAP examples use a lower-case `z`.
    pub fn parse_pap(text: &str) -> Result<Self, DateTimeError> {
        let b = text.as_bytes();
        let shape = || DateTimeError::Shape {
            text: text.to_string(),
        };
        if b.len() != 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !b[10].eq_ignore_ascii_case(&b'T')
            || b[13] != b':'
            || b[16] != b':'
            || !b[19].eq_ignore_ascii_case(&b'Z')
        {
            return Err(shape());
        }
        let num = |from: usize, to: usize| -> Result<u32, DateTimeError> {
            let s = &text[from..to];
            if !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(shape());
            }
            s.parse::<u32>().map_err(|_| shape())
        };
        Self::checked(
            text,
            num(0, 4)?,
            num(5, 7)?,
            num(8, 10)?,
            num(11, 13)?,
            num(14, 16)?,
            num(17, 19)?,
        )
    }

    /// Parses the 14 digits `YYYYMMDDhhmmss` (the SI OPAQUE date after BCD unpacking).
    pub fn parse_digits14(text: &str) -> Result<Self, DateTimeError> {
        if text.len() != 14 || !text.bytes().all(|c| c.is_ascii_digit()) {
            return Err(DateTimeError::Shape {
                text: text.to_string(),
            });
        }
        let n = |a: usize, b: usize| text[a..b].parse::<u32>().unwrap_or(0);
        Self::checked(
            text,
            n(0, 4),
            n(4, 6),
            n(6, 8),
            n(8, 10),
            n(10, 12),
            n(12, 14),
        )
    }

    fn checked(
        text: &str,
        year: u32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    ) -> Result<Self, DateTimeError> {
        let range = |field: &'static str, value: u32| DateTimeError::Range {
            text: text.to_string(),
            field,
            value,
        };
        if !(1..=12).contains(&month) {
            return Err(range("month", month));
        }
        if day == 0 || day > days_in_month(year as i64, month as u8) as u32 {
            return Err(range("day", day));
        }
        if hour > 23 {
            return Err(range("hour", hour));
        }
        if minute > 59 {
            return Err(range("minute", minute));
        }
        if second > 59 {
            return Err(range("second", second));
        }
        Ok(Self::from_civil(Civil {
            year: year as i32,
            month: month as u8,
            day: day as u8,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
        }))
    }

    /// `YYYY-MM-DDThh:mm:ssZ`, as PAP writes it.
    pub fn format_pap(self) -> String {
        let c = self.to_civil();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }

    /// `YYYYMMDDhhmmss`, the digits the SI OPAQUE date packs as BCD.
    pub fn format_digits14(self) -> String {
        let c = self.to_civil();
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }

    pub fn plus_secs(self, secs: i64) -> Self {
        UtcTime(self.0.saturating_add(secs))
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format_pap())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants() {
        assert_eq!(
            UtcTime::parse_pap("1970-01-01T00:00:00Z").unwrap(),
            UtcTime(0)
        );
        assert_eq!(
            UtcTime::parse_pap("1999-06-25T15:23:15Z").unwrap().0,
            930_324_195
        );
        assert_eq!(
            UtcTime::parse_pap("2000-02-29t00:00:00z")
                .unwrap()
                .format_pap(),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn rejects_bad_dates_naming_the_field() {
        assert!(matches!(
            UtcTime::parse_pap("2001-02-29T00:00:00Z"),
            Err(DateTimeError::Range { field: "day", .. })
        ));
        assert!(matches!(
            UtcTime::parse_pap("2001-13-01T00:00:00Z"),
            Err(DateTimeError::Range { field: "month", .. })
        ));
        assert!(matches!(
            UtcTime::parse_pap("2001-01-01 00:00:00Z"),
            Err(DateTimeError::Shape { .. })
        ));
        assert!(UtcTime::parse_pap("2001-01-01T00:00:0+Z").is_err());
    }

    proptest! {
        #[test]
        fn round_trip(secs in -62_135_596_800i64..253_402_300_799i64) {
            let t = UtcTime(secs);
            prop_assert_eq!(UtcTime::parse_pap(&t.format_pap()).unwrap(), t);
            prop_assert_eq!(UtcTime::parse_digits14(&t.format_digits14()).unwrap(), t);
        }
    }
}
