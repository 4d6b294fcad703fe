//! Dates as registers hold them: a full date, a year and month, or a year alone.

use std::fmt;

/// How much of a date is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Precision {
    Year,
    Month,
    Day,
}

/// A date of which only the year, or the year and month, may be known (`YYYY`, `YYYY-MM`,
/// `YYYY-MM-DD`). A full date must exist in the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartialDate {
    pub year: i32,
    pub month: Option<u32>,
    pub day: Option<u32>,
}

/// Why a string is not a partial date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartialDateError {
    #[error("expected YYYY, YYYY-MM or YYYY-MM-DD, got {0:?}")]
    Shape(String),
    #[error("month {0} does not exist")]
    Month(u32),
    #[error("{year:04}-{month:02} has no day {day}")]
    Day { year: i32, month: u32, day: u32 },
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Number of days in a month of the proleptic Gregorian calendar.
pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

impl PartialDate {
    /// Parses `YYYY`, `YYYY-MM` or `YYYY-MM-DD` and checks that the date exists.
    pub fn parse(s: &str) -> Result<PartialDate, PartialDateError> {
        let shape = || PartialDateError::Shape(s.to_string());
        let mut parts = s.split('-');
        let year_s = parts.next().ok_or_else(shape)?;
        if year_s.len() != 4 {
            return Err(shape());
        }
        let year = digits(year_s).ok_or_else(shape)? as i32;
        let month = match parts.next() {
            None => None,
            Some(m) if m.len() == 2 => Some(digits(m).ok_or_else(shape)?),
            Some(_) => return Err(shape()),
        };
        let day = match parts.next() {
            None => None,
            Some(d) if d.len() == 2 => Some(digits(d).ok_or_else(shape)?),
            Some(_) => return Err(shape()),
        };
        if parts.next().is_some() {
            return Err(shape());
        }
        PartialDate::new(year, month, day)
    }

    /// Builds a partial date from its parts and checks that it exists.
    pub fn new(
        year: i32,
        month: Option<u32>,
        day: Option<u32>,
    ) -> Result<PartialDate, PartialDateError> {
        if let Some(m) = month
            && !(1..=12).contains(&m)
        {
            return Err(PartialDateError::Month(m));
        }
        if let Some(d) = day {
            let m = month.ok_or_else(|| PartialDateError::Shape(format!("{year}-?-{d}")))?;
            if d == 0 || d > days_in_month(year, m) {
                return Err(PartialDateError::Day {
                    year,
                    month: m,
                    day: d,
                });
            }
        }
        Ok(PartialDate { year, month, day })
    }

    /// How much of the date is known.
    pub fn precision(&self) -> Precision {
        match (self.month, self.day) {
            (Some(_), Some(_)) => Precision::Day,
            (Some(_), None) => Precision::Month,
            _ => Precision::Year,
        }
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_precision_and_prints_it_back() {
        for s in ["1985", "1985-07", "1985-07-31", "2000-02-29"] {
            assert_eq!(PartialDate::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            PartialDate::parse("1985-07").unwrap().precision(),
            Precision::Month
        );
    }

    #[test]
    fn refuses_dates_that_do_not_exist_or_are_malformed() {
        assert_eq!(
            PartialDate::parse("1985-02-29"),
            Err(PartialDateError::Day {
                year: 1985,
                month: 2,
                day: 29
            })
        );
        assert_eq!(
            PartialDate::parse("1900-02-29").unwrap_err(),
            PartialDateError::Day {
                year: 1900,
                month: 2,
                day: 29
            }
        );
        assert_eq!(
            PartialDate::parse("1985-13"),
            Err(PartialDateError::Month(13))
        );
        for bad in [
            "85",
            "1985-7-1",
            "1985/07/01",
            "1985-07-01-",
            "",
            "+985",
            "1985-00",
        ] {
            assert!(PartialDate::parse(bad).is_err(), "{bad}");
        }
    }
}
