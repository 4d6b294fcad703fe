//! The `pattern` keyword, with a direct check for patterns that fix every character.
//!
//! Content hashes (`^sha256:[0-9a-f]{64}$`) and codes (`^[0-9]{12}$`) are patterns of one
//! length whose every position is an ASCII literal or an ASCII class. A string matches such a
//! pattern when it has that length and each byte is in its position's class: no regex engine is
//! needed, and the check costs a few nanoseconds where the regex engine's costs about a
//! nanosecond per byte (three content hashes were about 5% of translating and validating a
//! dossier). Any other pattern, and the error of any string that does not match, are left to
//! the JSON Schema compiler's own `pattern` keyword, so the answers and the error reports are
//! the compiler's own; `tests` compares the two on generated strings.
//!
//! The pattern is read the way the compiler reads it: only a pattern that ECMA 262 accepts,
//! translated to the `regex` crate's syntax by the compiler's own translator
//! (`jsonschema-regex`), then parsed with `regex-syntax`.
//!
//! Two effects of the compiler running a custom keyword instead of its own, for any pattern:
//! a custom keyword runs after a schema's other keywords, so a value failing both `format` and
//! `pattern` reports the format error first (the compiler's own keyword ran before `format`);
//! and a pattern the regex engine cannot finish (a lookaround or back-reference over its
//! backtracking limit) counts as not matching, where the compiler reported the limit. No
//! shipped schema has a lookaround or a back-reference.

use jsonschema::paths::Location;
use jsonschema::{Keyword, ValidationError, Validator};
use regex_syntax::hir::{Class, Hir, HirKind, Look};
use serde_json::{Map, Value};

/// A pattern of one length: literal runs and runs of one ASCII class, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fixed {
    parts: Box<[Part]>,
    len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(Vec<u8>),
    /// `count` bytes, each one `admits`.
    Class {
        admits: Box<[bool; 256]>,
        count: usize,
    },
}

/// Longest pattern taken (a content hash is 71 characters).
const MAX_FIXED: usize = 256;

impl Fixed {
    /// The fixed form of an ECMA 262 `pattern`, if it has one: `^`, then ASCII literals and
    /// ASCII classes, each repeated an exact number of times, then `$`.
    pub(crate) fn compile(pattern: &str) -> Option<Fixed> {
        // Only patterns ECMA 262 accepts (Unicode mode), as the compiler requires before its
        // own rewrites: the compiler's engines and `regex-syntax` read some others differently
        // (`{ 64 }` is a count to `regex-syntax` and literal text to fancy-regex; `(?x)`).
        if !jsonschema_regex::is_valid_ecma_regex(pattern) {
            return None;
        }
        let translated = jsonschema_regex::to_rust_regex(pattern).ok()?;
        let hir = regex_syntax::Parser::new().parse(&translated).ok()?;
        let mut items = Vec::new();
        flatten(&hir, &mut items);
        let (first, rest) = items.split_first()?;
        let (last, middle) = rest.split_last()?;
        if !matches!(first.kind(), HirKind::Look(Look::Start))
            || !matches!(last.kind(), HirKind::Look(Look::End))
        {
            return None;
        }
        let (mut parts, mut len) = (Vec::new(), 0usize);
        for item in middle {
            match item.kind() {
                HirKind::Literal(literal) => {
                    for &b in literal.0.iter() {
                        push(&mut parts, ascii_literal(b)?, 1);
                    }
                    len += literal.0.len();
                }
                HirKind::Class(class) => {
                    push(&mut parts, ascii_class(class)?, 1);
                    len += 1;
                }
                HirKind::Repetition(rep) if Some(rep.min) == rep.max => {
                    let one = match rep.sub.kind() {
                        HirKind::Class(class) => ascii_class(class)?,
                        HirKind::Literal(literal) if literal.0.len() == 1 => {
                            ascii_literal(literal.0[0])?
                        }
                        _ => return None,
                    };
                    let count = usize::try_from(rep.min).ok().filter(|&n| n <= MAX_FIXED)?;
                    push(&mut parts, one, count);
                    len += count;
                }
                _ => return None,
            }
            if len > MAX_FIXED {
                return None;
            }
        }
        Some(Fixed {
            parts: parts.into(),
            len,
        })
    }

    /// Whether `s` matches the pattern.
    #[inline]
    pub(crate) fn is_match(&self, s: &str) -> bool {
        let bytes = s.as_bytes();
        if bytes.len() != self.len {
            return false;
        }
        let mut at = 0;
        for part in self.parts.iter() {
            let ok = match part {
                Part::Literal(l) => {
                    let ok = bytes[at..at + l.len()] == l[..];
                    at += l.len();
                    ok
                }
                Part::Class { admits, count } => {
                    // Without an early exit: a run of a content hash is checked in one pass.
                    let ok = bytes[at..at + count]
                        .iter()
                        .fold(true, |ok, &b| ok & admits[b as usize]);
                    at += count;
                    ok
                }
            };
            if !ok {
                return false;
            }
        }
        true
    }
}

/// Appends `count` positions admitting `members`: a single byte joins a literal run, a class
/// of more than one byte makes its own run.
fn push(parts: &mut Vec<Part>, members: u128, count: usize) {
    if count == 0 {
        return;
    }
    if members.count_ones() == 1 {
        let byte = members.trailing_zeros() as u8;
        match parts.last_mut() {
            Some(Part::Literal(l)) => l.extend(std::iter::repeat_n(byte, count)),
            _ => parts.push(Part::Literal(vec![byte; count])),
        }
        return;
    }
    let mut admits = Box::new([false; 256]);
    for (b, a) in admits.iter_mut().enumerate().take(128) {
        *a = (members >> b) & 1 == 1;
    }
    parts.push(Part::Class { admits, count });
}

fn flatten<'h>(hir: &'h Hir, items: &mut Vec<&'h Hir>) {
    match hir.kind() {
        HirKind::Concat(subs) => subs.iter().for_each(|sub| flatten(sub, items)),
        HirKind::Capture(capture) => flatten(&capture.sub, items),
        HirKind::Empty => {}
        _ => items.push(hir),
    }
}

fn ascii_literal(b: u8) -> Option<u128> {
    (b < 128).then(|| 1u128 << b)
}

/// The members of a class that holds only ASCII characters; `None` for any other class.
fn ascii_class(class: &Class) -> Option<u128> {
    let Class::Unicode(class) = class else {
        return None;
    };
    let mut members = 0u128;
    for range in class.ranges() {
        let (start, end) = (range.start() as u32, range.end() as u32);
        if end >= 128 {
            return None;
        }
        for c in start..=end {
            members |= 1 << c;
        }
    }
    (members != 0).then_some(members)
}

/// The `pattern` keyword: the direct check where the pattern is fixed, the compiler's own
/// keyword for everything else and for every error.
struct FastPattern {
    fixed: Option<Fixed>,
    builtin: Validator,
}

impl<'i> Keyword<'i> for FastPattern {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        if self.is_valid(instance) {
            Ok(())
        } else {
            self.builtin.validate(instance)
        }
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        match (&self.fixed, instance) {
            (Some(fixed), Value::String(s)) => fixed.is_match(s),
            _ => self.builtin.is_valid(instance),
        }
    }
}

/// The factory registered for `pattern` with the schema compiler.
pub(crate) fn keyword<'a>(
    _parent: &'a Map<String, Value>,
    value: &'a Value,
    _location: Location,
) -> Result<Box<dyn for<'i> Keyword<'i>>, ValidationError<'a>> {
    let mut schema = Map::new();
    schema.insert("pattern".into(), value.clone());
    let builtin = jsonschema::draft202012::options().build(&Value::Object(schema))?;
    let fixed = value.as_str().and_then(Fixed::compile);
    Ok(Box::new(FastPattern { fixed, builtin }))
}

#[cfg(test)]
mod tests;
