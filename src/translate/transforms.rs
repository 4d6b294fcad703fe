//! Value transforms of a field mapping: dates and date-times by pattern, code tables, case,
//! joining and splitting names, Unicode NFC.

use crate::FastMap as HashMap;
use crate::config::adapter::Case;
use crate::model::{PartialDate, Precision};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use indexmap::IndexMap;
use std::borrow::Cow;
use unicode_normalization::{UnicodeNormalization, is_nfc_quick};

/// Normalises to Unicode NFC (one-stop systems send NFD too), without allocating when the text
/// is already NFC.
pub(crate) fn nfc(s: &str) -> Cow<'_, str> {
    if surely_nfc(s) {
        return Cow::Borrowed(s);
    }
    match is_nfc_quick(s.chars()) {
        unicode_normalization::IsNormalized::Yes => Cow::Borrowed(s),
        _ => Cow::Owned(s.nfc().collect()),
    }
}

/// `value` with every text in it in NFC (constants, defaults and code tables of an adapter
/// file, which may have been saved decomposed).
pub(crate) fn nfc_value(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(nfc(&s).into_owned()),
        Value::Array(items) => Value::Array(items.into_iter().map(nfc_value).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, nfc_value(v))).collect())
        }
        other => other,
    }
}

/// Text whose every character is below U+0300 (ASCII, Latin-1, Latin Extended-A and -B: no
/// combining marks) or in Latin Extended Additional (U+1E00..U+1EFF, where Vietnamese letters
/// with two marks such as "ễ" live) is in NFC: each of those characters is NFC on its own
/// and none combines with what precedes it (its quick check is 'yes' and its combining
/// class 0; a test checks both against the Unicode tables).
/// Vietnamese text in NFC passes without a table look-up per character.
pub(crate) fn surely_nfc(s: &str) -> bool {
    // On the UTF-8 bytes (valid: it is a `str`): a character below U+0300 is one byte, or two
    // with a lead byte up to 0xCB; one in U+1E00..U+1EFF is 0xE1, then 0xB8..=0xBB, then one
    // more. So the text passes unless a byte is a lead byte from 0xCC up other than 0xE1
    // (continuation bytes stop at 0xBF), or an 0xE1 is followed by a byte outside
    // 0xB8..=0xBB. Each byte is checked with its successor, without branches, so that the
    // compiler checks many bytes per instruction; the last byte of valid UTF-8 is never a
    // lead byte and needs no check of its own.
    let b = s.as_bytes();
    let Some(head) = b.len().checked_sub(1) else {
        return true;
    };
    let bad = b[..head].iter().zip(&b[1..]).fold(0u8, |bad, (&c, &next)| {
        let other_lead = (c >= 0xCC) & (c != 0xE1);
        let outside_block = (c == 0xE1) & (next.wrapping_sub(0xB8) >= 4);
        bad | u8::from(other_lead | outside_block)
    });
    bad == 0
}

/// Applies a case transform.
pub(crate) fn apply_case(s: &str, case: Case) -> String {
    match case {
        Case::Upper => s.to_uppercase(),
        Case::Lower => s.to_lowercase(),
        Case::Title => {
            let mut out = String::with_capacity(s.len());
            let mut start = true;
            for c in s.chars() {
                // A word starts after a space, and after an apostrophe as in the Ê Đê name
                // "H'Hen Niê".
                if c.is_whitespace() || c == '\'' {
                    start = true;
                    out.push(c);
                } else if start {
                    out.extend(c.to_uppercase());
                    start = false;
                } else {
                    out.extend(c.to_lowercase());
                }
            }
            out
        }
    }
}

/// Splits a joined value back into `parts` pieces: the last piece takes the last word; with
/// three or more pieces the first takes the first word; the middle piece(s) take the rest
/// (extra middle pieces beyond the second stay empty). The inverse of joining non-empty pieces.
pub(crate) fn split_words(value: &str, sep: &str, parts: usize) -> Vec<String> {
    let words: Vec<&str> = if sep.is_empty() {
        vec![value]
    } else {
        value.split(sep).filter(|w| !w.is_empty()).collect()
    };
    let mut out = vec![String::new(); parts];
    if parts == 0 || words.is_empty() {
        return out;
    }
    if parts == 1 {
        out[0] = words.join(sep);
        return out;
    }
    let (last, rest) = words.split_last().unwrap_or((&"", &[]));
    out[parts - 1] = (*last).to_string();
    if parts == 2 {
        out[0] = rest.join(sep);
    } else if let Some((first, middle)) = rest.split_first() {
        out[0] = (*first).to_string();
        out[1] = middle.join(sep);
    }
    out
}

/// A parsed `+07:00`-style UTC offset.
pub(crate) fn parse_offset(s: &str) -> Option<FixedOffset> {
    if s == "Z" || s == "UTC" {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    if h > 23 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Literal(char),
}

impl Token {
    fn width(self) -> usize {
        match self {
            Token::Year => 4,
            Token::Literal(c) => c.len_utf8(),
            _ => 2,
        }
    }
}

/// A date or date-time pattern such as `dd/MM/yyyy HH:mm:ss`: fixed-width fields `yyyy`, `MM`,
/// `dd`, `HH`, `mm`, `ss` and literal characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    text: String,
    tokens: Vec<Token>,
}

impl Pattern {
    /// Compiles a pattern; the error says which part is not understood.
    pub(crate) fn parse(text: &str) -> Result<Pattern, String> {
        let mut tokens = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let (tok, len) = if rest.starts_with("yyyy") {
                (Token::Year, 4)
            } else if rest.starts_with("MM") {
                (Token::Month, 2)
            } else if rest.starts_with("dd") {
                (Token::Day, 2)
            } else if rest.starts_with("HH") {
                (Token::Hour, 2)
            } else if rest.starts_with("mm") {
                (Token::Minute, 2)
            } else if rest.starts_with("ss") {
                (Token::Second, 2)
            } else {
                let c = rest.chars().next().unwrap_or(' ');
                if c.is_ascii_alphanumeric() {
                    return Err(format!(
                        "pattern {text:?}: {:?} is not one of yyyy, MM, dd, HH, mm, ss",
                        &rest[..c.len_utf8()]
                    ));
                }
                (Token::Literal(c), c.len_utf8())
            };
            if tokens.contains(&tok) && !matches!(tok, Token::Literal(_)) {
                return Err(format!("pattern {text:?} repeats a field"));
            }
            tokens.push(tok);
            rest = &rest[len..];
        }
        if !tokens.contains(&Token::Year) {
            return Err(format!("pattern {text:?} has no year (yyyy)"));
        }
        if tokens.contains(&Token::Day) && !tokens.contains(&Token::Month) {
            return Err(format!("pattern {text:?} has a day but no month"));
        }
        Ok(Pattern {
            text: text.to_string(),
            tokens,
        })
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The precision of a date written with this pattern.
    pub(crate) fn precision(&self) -> Precision {
        if self.tokens.contains(&Token::Day) {
            Precision::Day
        } else if self.tokens.contains(&Token::Month) {
            Precision::Month
        } else {
            Precision::Year
        }
    }

    /// Reads the fields of `s`; `None` if it does not have the pattern's shape.
    fn read(&self, s: &str) -> Option<[Option<u32>; 6]> {
        let mut fields = [None; 6];
        let mut pos = 0;
        for tok in &self.tokens {
            let w = tok.width();
            let piece = s.get(pos..pos + w)?;
            match tok {
                Token::Literal(c) => {
                    if !piece.starts_with(*c) {
                        return None;
                    }
                }
                _ => {
                    if !piece.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    let v: u32 = piece.parse().ok()?;
                    let slot = match tok {
                        Token::Year => 0,
                        Token::Month => 1,
                        Token::Day => 2,
                        Token::Hour => 3,
                        Token::Minute => 4,
                        _ => 5,
                    };
                    fields[slot] = Some(v);
                }
            }
            pos += w;
        }
        (pos == s.len()).then_some(fields)
    }

    fn write(&self, f: [u32; 6]) -> String {
        let mut out = String::with_capacity(self.text.len());
        for tok in &self.tokens {
            match tok {
                Token::Year => push_padded(&mut out, f[0], 4),
                Token::Month => push_padded(&mut out, f[1], 2),
                Token::Day => push_padded(&mut out, f[2], 2),
                Token::Hour => push_padded(&mut out, f[3], 2),
                Token::Minute => push_padded(&mut out, f[4], 2),
                Token::Second => push_padded(&mut out, f[5], 2),
                Token::Literal(c) => out.push(*c),
            }
        }
        out
    }

    /// Parses a (partial) date with this pattern and checks that it exists.
    pub(crate) fn parse_date(&self, s: &str) -> Result<PartialDate, String> {
        let f = self
            .read(s)
            .ok_or_else(|| format!("{s:?} does not have the form {}", self.text))?;
        let year = f[0].unwrap_or(0) as i32;
        PartialDate::new(year, f[1], f[2]).map_err(|e| format!("{s:?}: {e}"))
    }

    /// Writes a partial date with this pattern (its precision must match the pattern's).
    pub(crate) fn format_date(&self, d: &PartialDate) -> String {
        self.write([
            d.year.max(0) as u32,
            d.month.unwrap_or(1),
            d.day.unwrap_or(1),
            0,
            0,
            0,
        ])
    }

    /// Parses a local date-time with this pattern in `zone`; missing time fields are zero.
    pub(crate) fn parse_datetime(
        &self,
        s: &str,
        zone: FixedOffset,
    ) -> Result<DateTime<FixedOffset>, String> {
        let f = self
            .read(s)
            .ok_or_else(|| format!("{s:?} does not have the form {}", self.text))?;
        let date = NaiveDate::from_ymd_opt(
            f[0].unwrap_or(0) as i32,
            f[1].unwrap_or(1),
            f[2].unwrap_or(1),
        )
        .ok_or_else(|| format!("{s:?} is not a date that exists"))?;
        let time = NaiveTime::from_hms_opt(f[3].unwrap_or(0), f[4].unwrap_or(0), f[5].unwrap_or(0))
            .ok_or_else(|| format!("{s:?} is not a time that exists"))?;
        zone.from_local_datetime(&NaiveDateTime::new(date, time))
            .single()
            .ok_or_else(|| format!("{s:?} is not a time that exists in {zone}"))
    }

    /// Writes a date-time in `zone` with this pattern.
    pub(crate) fn format_datetime(&self, t: &DateTime<FixedOffset>, zone: FixedOffset) -> String {
        use chrono::{Datelike, Timelike};
        let t = t.with_timezone(&zone);
        self.write([
            t.year().max(0) as u32,
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
        ])
    }
}

/// Writes `n` in decimal, zeros before it up to `width` digits (`format!("{n:0width$}")`,
/// without the formatting machinery: this runs for every date field the translator writes).
fn push_padded(out: &mut String, n: u32, width: usize) {
    let mut buf = [0u8; 20];
    let digits = crate::model::json_out::decimal(u64::from(n), &mut buf);
    for _ in digits.len()..width {
        out.push('0');
    }
    out.extend(digits.iter().map(|&d| char::from(d)));
}

/// Writes a date-time as canonical RFC 3339 with its offset, whole seconds.
pub(crate) fn rfc3339(t: &DateTime<FixedOffset>) -> String {
    use chrono::{Datelike, Timelike};
    let off = t.offset().local_minus_utc();
    let (sign, off) = if off < 0 { ('-', -off) } else { ('+', off) };
    let year = t.year();
    if !(0..=9999).contains(&year) {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = write!(
            out,
            "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            off / 3600,
            off % 3600 / 60
        );
        return out;
    }
    // Digit by digit: this runs for every date-time of every record.
    let mut out = String::with_capacity(25);
    let two = |out: &mut String, n: u32, after: Option<char>| {
        out.push(char::from(b'0' + (n / 10 % 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
        if let Some(c) = after {
            out.push(c);
        }
    };
    let year = year as u32;
    two(&mut out, year / 100, None);
    two(&mut out, year % 100, Some('-'));
    two(&mut out, t.month(), Some('-'));
    two(&mut out, t.day(), Some('T'));
    two(&mut out, t.hour(), Some(':'));
    two(&mut out, t.minute(), Some(':'));
    two(&mut out, t.second(), Some(sign));
    two(&mut out, (off / 3600) as u32, Some(':'));
    two(&mut out, (off % 3600 / 60) as u32, None);
    out
}

/// A code table compiled for both directions.
#[derive(Debug, Clone)]
pub(crate) struct CodeTable {
    pub name: String,
    inbound: HashMap<String, String>,
    outbound: HashMap<String, String>,
}

impl CodeTable {
    pub(crate) fn new(name: &str, map: &IndexMap<String, String>) -> CodeTable {
        // Canonical values are kept in NFC, as all text in the hub; codes as written.
        let map: Vec<(&String, String)> =
            map.iter().map(|(k, v)| (k, nfc(v).into_owned())).collect();
        let mut outbound = HashMap::default();
        for (code, value) in &map {
            // The first code listed for a canonical value is the one written out.
            outbound
                .entry(value.clone())
                .or_insert_with(|| (*code).clone());
        }
        CodeTable {
            name: name.to_string(),
            inbound: map.into_iter().map(|(k, v)| (k.clone(), v)).collect(),
            outbound,
        }
    }

    pub(crate) fn to_canonical(&self, code: &str) -> Result<&str, String> {
        self.inbound.get(code).map(String::as_str).ok_or_else(|| {
            let mut known: Vec<&str> = self.inbound.keys().map(String::as_str).collect();
            known.sort_unstable();
            format!(
                "{code:?} is not in code table {} (known: {})",
                self.name,
                known.join(", ")
            )
        })
    }

    pub(crate) fn to_external(&self, value: &str) -> Result<&str, String> {
        self.outbound.get(value).map(String::as_str).ok_or_else(|| {
            format!(
                "{value:?} has no code in code table {}; add a line for it",
                self.name
            )
        })
    }

    /// The canonical values this table can produce.
    pub(crate) fn canonical_values(&self) -> impl Iterator<Item = &str> {
        self.outbound.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests;
