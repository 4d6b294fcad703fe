//! Times of the records and entries the indicators fold, as milliseconds since the epoch.

/// Milliseconds since the epoch of an RFC 3339 time.
pub fn time_ms(t: &str) -> Option<i64> {
    // Most times are written as the hub writes them; chrono reads the rest (and says no).
    time_ms_plain(t.as_bytes()).or_else(|| {
        chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|d| d.timestamp_millis())
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, read without chrono (four times an event, it
/// was the fold's largest cost after the record itself); `None` for anything else, including
/// a leap second, which chrono then reads.
fn time_ms_plain(b: &[u8]) -> Option<i64> {
    let num = |at: usize, len: usize| -> Option<i64> {
        b.get(at..at + len)?.iter().try_fold(0i64, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let sep = |at: usize, c: u8| b.get(at) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, s) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let in_range = (1..=12).contains(&mo) && d >= 1 && d <= days_in[(mo - 1) as usize];
    if !in_range || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let mut at = 19;
    let mut ms = 0;
    if sep(at, b'.') {
        let digits = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            return None;
        }
        for i in 0..3 {
            ms = ms * 10 + if i < digits { num(at + 1 + i, 1)? } else { 0 };
        }
        at += 1 + digits;
    }
    let offset_min = match b.get(at..)? {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), ..] if b.len() == at + 6 && sep(at + 3, b':') => {
            let (oh, om) = (num(at + 1, 2)?, num(at + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if *sign == b'-' { -m } else { m }
        }
        _ => return None,
    };
    // Days since 1970-01-01 of the civil date (the proleptic Gregorian calendar).
    let (y, m) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3_600 + mi * 60 + s - offset_min * 60;
    Some(secs * 1_000 + ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chrono_ms(t: &str) -> Option<i64> {
        chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|d| d.timestamp_millis())
    }

    #[test]
    fn times_read_as_chrono_reads_them() {
        for t in [
            "2025-09-15T14:10:00+07:00",
            "2026-12-05T19:06:55.123Z",
            "2026-12-05T19:06:55.1Z",
            "2026-12-05T19:06:55.123456789-03:30",
            "1969-12-31T23:59:59.999Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59+23:59",
            "2024-02-29T00:00:00Z",
            "2000-02-29T12:00:00Z",
        ] {
            assert_eq!(time_ms_plain(t.as_bytes()), chrono_ms(t), "{t}");
            assert!(chrono_ms(t).is_some(), "{t}");
        }
    }

    #[test]
    fn what_the_plain_reader_refuses_is_left_to_chrono() {
        for t in [
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "2025-04-31T00:00:00Z",
            "2025-09-15T24:00:00Z",
            "2025-09-15T14:60:00Z",
            "2016-12-31T23:59:60Z",
            "2025-09-15 14:10:00Z",
            "2025-09-15t14:10:00z",
            "2025-09-15T14:10:00",
            "2025-09-15T14:10:00.Z",
            "2025-09-15T14:10:00+0700",
            "2025-09-15T14:10:00+07:00 ",
            "2025-09-15T14:10:00+24:00",
            "",
            "2025",
            "２０２５-09-15T14:10:00Z",
        ] {
            assert_eq!(time_ms_plain(t.as_bytes()), None, "{t}");
            assert_eq!(time_ms(t), chrono_ms(t), "{t}");
        }
    }

    proptest! {
        #[test]
        fn any_time_of_the_plain_shape_reads_as_chrono_reads_it(
            y in 0i64..10_000, mo in 0i64..14, d in 0i64..33, h in 0i64..26, mi in 0i64..62,
            s in 0i64..62, frac in proptest::option::of("[0-9]{1,10}"),
            offset in proptest::option::of((any::<bool>(), 0i64..26, 0i64..62)),
        ) {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            let offset = match offset {
                None => "Z".to_string(),
                Some((neg, oh, om)) => format!("{}{oh:02}:{om:02}", if neg { '-' } else { '+' }),
            };
            let t = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{offset}");
            let plain = time_ms_plain(t.as_bytes());
            // Read alike wherever the plain reader answers; what it refuses, chrono reads.
            if plain.is_some() {
                prop_assert_eq!(plain, chrono_ms(&t), "{}", t);
            }
            prop_assert_eq!(time_ms(&t), chrono_ms(&t), "{}", t);
        }
    }
}
