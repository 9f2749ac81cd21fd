//! SMPP time format (SMPP 3.4 §7.1.1) for schedule_delivery_time and validity_period:
//! `YYMMDDhhmmsstnnp`, 16 characters plus the NUL. `t` is tenths of a second, `nn` the offset from
//! UTC in quarter hours (00–48), `p` is `+` (local time ahead of UTC), `-` (behind) or `R`
//! (relative: the fields are a duration). We send absolute times as UTC `...000+` as Kannel does.

use crate::util::UtcTime;
use crate::util::datetime::Civil;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmppTime {
    Absolute(UtcTime),
    /// A duration in seconds (years counted as 365 days and months as 30 days).
    Relative(u64),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("SMPP time must be 16 characters, found {len}")]
    Length { len: usize },
    #[error("SMPP time: non-digit at offset {offset}")]
    NotDigit { offset: usize },
    #[error("SMPP time: {field} {value} out of range")]
    Range { field: &'static str, value: u32 },
    #[error("SMPP time: direction `{found}` at offset 15 is not +, - or R")]
    Direction { found: char },
    #[error("SMPP time: year {year} cannot be written with two digits")]
    Year { year: i32 },
}

const YEAR: u64 = 365 * 86_400;
const MONTH: u64 = 30 * 86_400;
const DAY: u64 = 86_400;

impl SmppTime {
    /// The 16 characters (without the NUL).
    pub fn encode(&self) -> Result<String, TimeError> {
        match *self {
            SmppTime::Absolute(t) => {
                let c = t.to_civil();
                if !(2000..=2099).contains(&c.year) {
                    return Err(TimeError::Year { year: c.year });
                }
                Ok(format!(
                    "{:02}{:02}{:02}{:02}{:02}{:02}000+",
                    c.year - 2000,
                    c.month,
                    c.day,
                    c.hour,
                    c.minute,
                    c.second
                ))
            }
            SmppTime::Relative(secs) => {
                // Two digits per field: the longest expressible is 99 years.
                let secs = secs.min(99 * YEAR);
                let (y, r) = (secs / YEAR, secs % YEAR);
                let (mo, r) = (r / MONTH, r % MONTH);
                let (d, r) = (r / DAY, r % DAY);
                Ok(format!(
                    "{:02}{:02}{:02}{:02}{:02}{:02}000R",
                    y,
                    mo,
                    d,
                    r / 3600,
                    r / 60 % 60,
                    r % 60
                ))
            }
        }
    }

    /// Parses 16 characters (a trailing NUL is not part of `text`).
    pub fn decode(text: &str) -> Result<SmppTime, TimeError> {
        let b = text.as_bytes();
        if b.len() != 16 {
            return Err(TimeError::Length { len: b.len() });
        }
        let mut digits = [0u32; 15];
        for (i, d) in digits.iter_mut().enumerate() {
            let c = b.get(i).copied().unwrap_or(0);
            if !c.is_ascii_digit() {
                return Err(TimeError::NotDigit { offset: i });
            }
            *d = u32::from(c - b'0');
        }
        let two = |i: usize| digits[i] * 10 + digits[i + 1];
        let (yy, mo, dd, hh, mi, ss) = (two(0), two(2), two(4), two(6), two(8), two(10));
        let nn = two(13);
        let dir = b.get(15).copied().unwrap_or(0) as char;
        if dir == 'R' {
            let secs = u64::from(yy) * YEAR
                + u64::from(mo) * MONTH
                + u64::from(dd) * DAY
                + u64::from(hh) * 3600
                + u64::from(mi) * 60
                + u64::from(ss);
            return Ok(SmppTime::Relative(secs));
        }
        let check = |field, value, lo, hi| {
            if (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err(TimeError::Range { field, value })
            }
        };
        check("month", mo, 1, 12)?;
        check("day", dd, 1, 31)?;
        check("hour", hh, 0, 23)?;
        check("minute", mi, 0, 59)?;
        check("second", ss, 0, 59)?;
        check("quarter hours", nn, 0, 48)?;
        let local = UtcTime::from_civil(Civil {
            year: 2000 + yy as i32,
            month: mo as u8,
            day: dd as u8,
            hour: hh as u8,
            minute: mi as u8,
            second: ss as u8,
        });
        let offset = i64::from(nn) * 15 * 60;
        match dir {
            // Local time is ahead of UTC: UTC = local - offset.
            '+' => Ok(SmppTime::Absolute(local.plus_secs(-offset))),
            '-' => Ok(SmppTime::Absolute(local.plus_secs(offset))),
            found => Err(TimeError::Direction { found }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        // 2026-11-25T04:30:00Z
        let t = UtcTime::parse_pap("2026-11-25T04:30:00Z").expect("valid");
        assert_eq!(
            SmppTime::Absolute(t).encode().expect("in range"),
            "261125043000000+"
        );
        // One day relative (digest §6.4).
        assert_eq!(
            SmppTime::Relative(86_400).encode().expect("ok"),
            "000001000000000R"
        );
        assert_eq!(
            SmppTime::decode("000001000000000R"),
            Ok(SmppTime::Relative(86_400))
        );
        // 06:30 local at +02:00 (8 quarter hours) is 04:30 UTC.
        assert_eq!(
            SmppTime::decode("261125063000008+"),
            Ok(SmppTime::Absolute(t))
        );
        assert_eq!(
            SmppTime::decode("261125023000008-"),
            Ok(SmppTime::Absolute(t))
        );
        assert_eq!(
            SmppTime::decode("261325063000008+"),
            Err(TimeError::Range {
                field: "month",
                value: 13
            })
        );
        assert_eq!(
            SmppTime::decode("26112506300000"),
            Err(TimeError::Length { len: 14 })
        );
        assert_eq!(
            SmppTime::decode("261125063000008X"),
            Err(TimeError::Direction { found: 'X' })
        );
    }

    proptest! {
        #[test]
        fn absolute_round_trip(secs in 946_684_800i64..4_102_444_799) {
            let t = SmppTime::Absolute(UtcTime(secs));
            prop_assert_eq!(SmppTime::decode(&t.encode().unwrap()), Ok(t));
        }
        #[test]
        fn relative_round_trip(secs in 0u64..(99 * YEAR)) {
            let t = SmppTime::Relative(secs);
            prop_assert_eq!(SmppTime::decode(&t.encode().unwrap()), Ok(t));
        }
        #[test]
        fn decode_never_panics(s in "\\PC{0,20}") {
            let _ = SmppTime::decode(&s);
        }
    }
}
