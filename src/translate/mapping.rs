//! Applying a compiled mapping: inbound (external document → canonical record) and outbound
//! (canonical record → external document), field by field, collecting every error.

use super::compile::{Adapter, DateTimeFormat, ExtPath, Field, Record};
use super::json;
use super::transforms::{apply_case, nfc, rfc3339, split_words};
use super::xml::{OutElem, Step};
use super::xml_read::Frame;
use crate::config::adapter::ValueType;
use crate::model::PartialDate;
use crate::validate::{FieldError, escape_token};
use chrono::DateTime;
use serde_json::{Map, Number, Value};

mod outbound;
mod shape;
pub(super) use outbound::{outbound_json, outbound_xml};
pub(super) use shape::Shape;

/// A value read from the external document.
#[derive(Debug, Clone, Copy)]
enum Raw<'d> {
    Text(&'d str),
    Json(&'d Value),
}

/// Read access to an external document, XML or JSON.
trait Source<'d>: Copy {
    fn scalar(self, path: &ExtPath) -> Result<Option<Raw<'d>>, String>;
    fn items(self, path: &ExtPath) -> Result<Vec<Self>, String>;
    fn own(self) -> Option<Raw<'d>>;
}

impl<'d> Source<'d> for &'d Frame<'d> {
    fn scalar(self, path: &ExtPath) -> Result<Option<Raw<'d>>, String> {
        Ok(match path {
            ExtPath::Xml { slot, .. } => self
                .values
                .get(*slot as usize)
                .and_then(|v| v.as_deref())
                .map(Raw::Text),
            ExtPath::Json(_) => None,
        })
    }

    fn items(self, path: &ExtPath) -> Result<Vec<Self>, String> {
        Ok(match path {
            ExtPath::Xml { slot, .. } => self
                .arrays
                .get(*slot as usize)
                .map(|items| items.iter().collect())
                .unwrap_or_default(),
            ExtPath::Json(_) => Vec::new(),
        })
    }

    fn own(self) -> Option<Raw<'d>> {
        // A scalar item's own text is the first value slot of its scope.
        self.values
            .first()
            .and_then(|v| v.as_deref())
            .map(Raw::Text)
    }
}

impl<'d> Source<'d> for &'d Value {
    fn scalar(self, path: &ExtPath) -> Result<Option<Raw<'d>>, String> {
        let ExtPath::Json(tokens) = path else {
            return Ok(None);
        };
        Ok(json::get(self, tokens).and_then(|v| v.own()))
    }

    fn items(self, path: &ExtPath) -> Result<Vec<Self>, String> {
        let ExtPath::Json(tokens) = path else {
            return Ok(Vec::new());
        };
        match json::get(self, tokens) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.iter().collect()),
            Some(_) => Err("expected an array".into()),
        }
    }

    fn own(self) -> Option<Raw<'d>> {
        match self {
            Value::Null => None,
            Value::String(s) => Some(Raw::Text(s)),
            v => Some(Raw::Json(v)),
        }
    }
}

fn pointer_join(prefix: &str, tokens: &[String]) -> String {
    let mut s = prefix.to_string();
    for t in tokens {
        s.push('/');
        s.push_str(&escape_token(t));
    }
    s
}

/// Where a field list sits in the canonical record, for error pointers: the record itself, or
/// an item of an array field. Rendered only when there is an error to report.
#[derive(Clone, Copy)]
enum At<'a> {
    Record,
    Item {
        parent: &'a At<'a>,
        tokens: &'a [String],
        index: usize,
    },
}

impl At<'_> {
    fn pointer(&self, tokens: &[String]) -> String {
        match self {
            At::Record => pointer_join("", tokens),
            At::Item {
                parent,
                tokens: array,
                index,
            } => pointer_join(&format!("{}/{index}", parent.pointer(array)), tokens),
        }
    }
}

/// The record read from an XML document, as far as its fields translate, and the error of
/// every field that did not (each such field is left out of the record).
pub(super) fn inbound_xml<'d>(
    adapter: &Adapter,
    record: &Record,
    root: &'d Frame<'d>,
) -> (Value, Vec<FieldError>) {
    inbound(adapter, record, root)
}

/// The same for a JSON document's record object.
pub(super) fn inbound_json(
    adapter: &Adapter,
    record: &Record,
    root: &Value,
) -> (Value, Vec<FieldError>) {
    inbound(adapter, record, root)
}

fn inbound<'d, S: Source<'d>>(
    adapter: &Adapter,
    record: &Record,
    root: S,
) -> (Value, Vec<FieldError>) {
    let mut errors = Vec::new();
    let out = map_in(
        adapter,
        &record.fields,
        record.shape.as_ref(),
        root,
        At::Record,
        &mut errors,
    );
    (out, errors)
}

/// The canonical object of `fields` read from `src`.
fn map_in<'d, S: Source<'d>>(
    adapter: &Adapter,
    fields: &[Field],
    shape: Option<&Shape>,
    src: S,
    at: At<'_>,
    errors: &mut Vec<FieldError>,
) -> Value {
    let mut slots: Vec<Option<Value>> = vec![None; fields.len()];
    for (f, slot) in fields.iter().zip(slots.iter_mut()) {
        let Some(tokens) = &f.canonical else {
            continue; // an external-only constant
        };
        let err = |code: &str, message: String| {
            FieldError::new(at.pointer(tokens), code, message).with_source(f.external_text.clone())
        };
        if let Some(c) = &f.constant {
            *slot = Some(c.clone());
            continue;
        }
        let value = if f.array {
            let items = match src.items(&f.external[0]) {
                Ok(items) => items,
                Err(e) => {
                    errors.push(err("translate.type", e));
                    continue;
                }
            };
            let mut values = Vec::with_capacity(items.len());
            for (index, item) in items.into_iter().enumerate() {
                let item_at = At::Item {
                    parent: &at,
                    tokens,
                    index,
                };
                if f.children.is_empty() {
                    match item.own().map(|raw| convert_in(adapter, f, raw)) {
                        Some(Ok(Some(v))) => values.push(v),
                        Some(Err((code, m))) => errors.push(
                            FieldError::new(item_at.pointer(&[]), code, m)
                                .with_source(f.external_text.clone()),
                        ),
                        _ => {}
                    }
                } else {
                    values.push(map_in(
                        adapter,
                        &f.children,
                        f.children_shape.as_ref(),
                        item,
                        item_at,
                        errors,
                    ));
                }
            }
            (!values.is_empty()).then_some(Value::Array(values))
        } else {
            match read_in(adapter, f, src) {
                Ok(v) => v,
                Err((code, m)) => {
                    errors.push(err(code, m));
                    continue;
                }
            }
        };
        // Each value goes straight into its slot.
        *slot = match value {
            Some(v) => Some(v),
            None => match &f.default {
                Some(d) => Some(d.clone()),
                None => {
                    if f.required {
                        errors.push(err(
                            "translate.required",
                            format!("{} is missing or empty", f.external_text),
                        ));
                    }
                    None
                }
            },
        };
    }
    if let Some(shape) = shape {
        return shape
            .build(&mut slots)
            .unwrap_or_else(|| Value::Object(Map::new()));
    }
    // Pointers that do not form a tree: set one by one, in field order.
    let mut out = Value::Object(Map::new());
    for (f, v) in fields.iter().zip(slots) {
        if let (Some(tokens), Some(v)) = (&f.canonical, v) {
            json::set(&mut out, tokens, v, false);
        }
    }
    out
}

type Failure = (&'static str, String);

fn read_in<'d, S: Source<'d>>(
    adapter: &Adapter,
    f: &Field,
    src: S,
) -> Result<Option<Value>, Failure> {
    if let Some(sep) = &f.join {
        let mut parts = Vec::with_capacity(f.external.len());
        for e in &f.external {
            match src.scalar(e).map_err(|m| ("translate.type", m))? {
                Some(Raw::Text(t)) => {
                    let t = if f.trim { t.trim() } else { t };
                    if !t.is_empty() {
                        parts.push(t);
                    }
                }
                Some(Raw::Json(v)) => {
                    return Err(("translate.type", format!("expected text, found {v}")));
                }
                None => {}
            }
        }
        if parts.is_empty() {
            return Ok(None);
        }
        let joined = parts.join(sep);
        return convert_in(adapter, f, Raw::Text(&joined));
    }
    match src
        .scalar(&f.external[0])
        .map_err(|m| ("translate.type", m))?
    {
        Some(raw) => convert_in(adapter, f, raw),
        None => Ok(None),
    }
}

/// Converts one external value into its canonical value; `None` when it is empty.
fn convert_in(adapter: &Adapter, f: &Field, raw: Raw<'_>) -> Result<Option<Value>, Failure> {
    let text = match raw {
        Raw::Text(t) => t,
        Raw::Json(v) => {
            if v.is_object() || v.is_array() {
                return Err(("translate.type", "expected a single value".into()));
            }
            if let Some(i) = f.code_table {
                let code = v.to_string();
                let t = adapter.table(i);
                return t
                    .to_canonical(&code)
                    .map(|s| Some(Value::String(s.to_string())))
                    .map_err(|m| ("translate.code", m));
            }
            return Ok(Some(v.clone()));
        }
    };
    let text = if f.trim { text.trim() } else { text };
    if text.is_empty() {
        return Ok(None);
    }
    let text = nfc(text);
    let text = match f.case {
        // A change of case can undo composition (a few letters have no composed capital).
        Some(c) => std::borrow::Cow::Owned(nfc(&apply_case(&text, c)).into_owned()),
        None => text,
    };
    if let Some(i) = f.code_table {
        return adapter
            .table(i)
            .to_canonical(&text)
            .map(|s| Some(Value::String(s.to_string())))
            .map_err(|m| ("translate.code", m));
    }
    if !f.dates.is_empty() {
        let mut last = String::new();
        for p in &f.dates {
            match p.parse_date(&text) {
                Ok(d) => return Ok(Some(Value::String(d.to_string()))),
                Err(e) => last = e,
            }
        }
        let forms: Vec<&str> = f.dates.iter().map(|p| p.text()).collect();
        let msg = if f.dates.len() == 1 {
            last
        } else {
            format!("{text:?} has none of the forms {}", forms.join(", "))
        };
        return Err(("translate.date", msg));
    }
    if let Some(dt) = &f.datetime {
        let parsed = match dt {
            DateTimeFormat::Rfc3339 => DateTime::parse_from_rfc3339(&text)
                .map(|t| t.with_timezone(&adapter.zone))
                .map_err(|e| format!("{text:?} is not an RFC 3339 date-time: {e}")),
            DateTimeFormat::Pattern(p) => p.parse_datetime(&text, adapter.zone),
        };
        return parsed
            .map(|t| Some(Value::String(rfc3339(&t))))
            .map_err(|m| ("translate.datetime", m));
    }
    match f.value_type {
        None | Some(ValueType::String) => Ok(Some(Value::String(text.into_owned()))),
        Some(ValueType::Integer) => text
            .parse::<i64>()
            .map(Number::from)
            .or_else(|_| text.parse::<u64>().map(Number::from))
            .map(|n| Some(Value::Number(n)))
            .map_err(|_| ("translate.type", format!("{text:?} is not an integer"))),
        Some(ValueType::Number) => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(|n| Some(Value::Number(n)))
            .ok_or_else(|| ("translate.type", format!("{text:?} is not a number"))),
        Some(ValueType::Boolean) => match text.as_ref() {
            "true" | "1" | "True" | "TRUE" => Ok(Some(Value::Bool(true))),
            "false" | "0" | "False" | "FALSE" => Ok(Some(Value::Bool(false))),
            _ => Err(("translate.type", format!("{text:?} is not a boolean"))),
        },
    }
}
