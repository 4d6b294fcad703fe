//! Applying a compiled mapping: inbound (external document → canonical record) and outbound
//! (canonical record → external document), field by field, collecting every error.

use super::compile::{Adapter, DateTimeFormat, ExtPath, Field, Record};
use super::transforms::{apply_case, nfc, rfc3339, split_words};
use super::xml::{OutElem, Step};
use super::xml_read::Frame;
use super::{TranslateError, json};
use crate::config::adapter::ValueType;
use crate::model::PartialDate;
use crate::validate::{FieldError, escape_token};
use chrono::DateTime;
use serde_json::{Map, Number, Value};

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

pub(super) fn inbound_xml<'d>(
    adapter: &Adapter,
    record: &Record,
    root: &'d Frame<'d>,
) -> Result<Value, TranslateError> {
    inbound(adapter, record, root)
}

pub(super) fn inbound_json(
    adapter: &Adapter,
    record: &Record,
    root: &Value,
) -> Result<Value, TranslateError> {
    inbound(adapter, record, root)
}

fn inbound<'d, S: Source<'d>>(
    adapter: &Adapter,
    record: &Record,
    root: S,
) -> Result<Value, TranslateError> {
    let mut out = Value::Object(Map::new());
    let mut errors = Vec::new();
    map_in(adapter, &record.fields, root, &mut out, "", &mut errors);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(TranslateError::Fields(errors))
    }
}

fn map_in<'d, S: Source<'d>>(
    adapter: &Adapter,
    fields: &[Field],
    src: S,
    out: &mut Value,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) {
    for f in fields {
        let Some(tokens) = &f.canonical else {
            continue; // an external-only constant
        };
        let pointer = || pointer_join(prefix, tokens);
        let err = |code: &str, message: String| {
            FieldError::new(pointer(), code, message).with_source(f.external_text.clone())
        };
        if let Some(c) = &f.constant {
            json::set(out, tokens, c.clone(), false);
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
            for (i, item) in items.into_iter().enumerate() {
                let item_prefix = format!("{}/{i}", pointer());
                if f.children.is_empty() {
                    match item.own().map(|raw| convert_in(adapter, f, raw)) {
                        Some(Ok(Some(v))) => values.push(v),
                        Some(Err((code, m))) => errors.push(
                            FieldError::new(item_prefix, code, m)
                                .with_source(f.external_text.clone()),
                        ),
                        _ => {}
                    }
                } else {
                    let mut obj = Value::Object(Map::new());
                    map_in(adapter, &f.children, item, &mut obj, &item_prefix, errors);
                    values.push(obj);
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
        match value {
            Some(v) => {
                json::set(out, tokens, v, false);
            }
            None => {
                if let Some(d) = &f.default {
                    json::set(out, tokens, d.clone(), false);
                } else if f.required {
                    errors.push(err(
                        "translate.required",
                        format!("{} is missing or empty", f.external_text),
                    ));
                }
            }
        }
    }
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
        Some(c) => std::borrow::Cow::Owned(apply_case(&text, c)),
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

/// Converts one canonical value into its external value.
fn convert_out(adapter: &Adapter, f: &Field, v: &Value) -> Result<Value, Failure> {
    if let Some(i) = f.code_table {
        let s = v
            .as_str()
            .ok_or_else(|| ("translate.type", format!("expected text, found {v}")))?;
        return adapter
            .table(i)
            .to_external(s)
            .map(|c| Value::String(c.to_string()))
            .map_err(|m| ("translate.code", m));
    }
    if !f.dates.is_empty() {
        let s = v
            .as_str()
            .ok_or_else(|| ("translate.date", format!("expected a date, found {v}")))?;
        let d = PartialDate::parse(s).map_err(|e| ("translate.date", e.to_string()))?;
        let p = f
            .dates
            .iter()
            .find(|p| p.precision() == d.precision())
            .ok_or_else(|| {
                (
                    "translate.date",
                    format!("{s:?}: no date pattern of this field has that precision"),
                )
            })?;
        return Ok(Value::String(p.format_date(&d)));
    }
    if let Some(dt) = &f.datetime {
        let s = v.as_str().ok_or_else(|| {
            (
                "translate.datetime",
                format!("expected a date-time, found {v}"),
            )
        })?;
        let t = DateTime::parse_from_rfc3339(s)
            .map_err(|e| ("translate.datetime", format!("{s:?}: {e}")))?;
        return Ok(Value::String(match dt {
            DateTimeFormat::Rfc3339 => rfc3339(&t.with_timezone(&adapter.zone)),
            DateTimeFormat::Pattern(p) => p.format_datetime(&t, adapter.zone),
        }));
    }
    if f.value_type.is_some_and(|t| t != ValueType::String) && !v.is_string() {
        return Ok(Value::String(v.to_string()));
    }
    Ok(v.clone())
}

fn text_of(v: &Value) -> Result<String, Failure> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(v.to_string()),
        Value::Null => Ok(String::new()),
        _ => Err((
            "translate.type",
            format!("expected a single value, found {v}"),
        )),
    }
}

/// Where outbound values are written: an XML element or a JSON object.
trait Sink {
    fn put(&mut self, path: &ExtPath, value: Value) -> Result<(), Failure>;
    fn put_items(&mut self, path: &ExtPath, items: Vec<ItemOut>) -> Result<(), Failure>;
}

/// One outbound array item: its fields (objects) or its own value (scalars).
enum ItemOut {
    Fields(Vec<(ExtPath, Value)>, Vec<(ExtPath, Vec<ItemOut>)>),
    Scalar(Value),
}

impl Sink for OutElem {
    fn put(&mut self, path: &ExtPath, value: Value) -> Result<(), Failure> {
        let ExtPath::Xml { steps, .. } = path else {
            return Ok(());
        };
        let text = text_of(&value)?;
        let Some((last, init)) = steps.split_last() else {
            return Ok(());
        };
        let mut at = self;
        for s in init {
            at = at.child_mut(&qname(s));
        }
        if last.attribute {
            at.set_attr(&qname(last), text);
        } else {
            at.child_mut(&qname(last)).set_text(text);
        }
        Ok(())
    }

    fn put_items(&mut self, path: &ExtPath, items: Vec<ItemOut>) -> Result<(), Failure> {
        let ExtPath::Xml { steps, .. } = path else {
            return Ok(());
        };
        let Some((last, init)) = steps.split_last() else {
            return Ok(());
        };
        let mut at = self;
        for s in init {
            at = at.child_mut(&qname(s));
        }
        for item in items {
            let el = at.push_child(&qname(last));
            match item {
                ItemOut::Scalar(v) => el.set_text(text_of(&v)?),
                ItemOut::Fields(values, arrays) => {
                    for (p, v) in values {
                        el.put(&p, v)?;
                    }
                    for (p, sub) in arrays {
                        el.put_items(&p, sub)?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl Sink for Value {
    fn put(&mut self, path: &ExtPath, value: Value) -> Result<(), Failure> {
        let ExtPath::Json(tokens) = path else {
            return Ok(());
        };
        if json::set(self, tokens, value, true) {
            Ok(())
        } else {
            Err((
                "translate.path",
                "two fields write to the same external place".into(),
            ))
        }
    }

    fn put_items(&mut self, path: &ExtPath, items: Vec<ItemOut>) -> Result<(), Failure> {
        let mut arr = Vec::with_capacity(items.len());
        for item in items {
            match item {
                ItemOut::Scalar(v) => arr.push(v),
                ItemOut::Fields(values, arrays) => {
                    let mut obj = Value::Object(Map::new());
                    for (p, v) in values {
                        obj.put(&p, v)?;
                    }
                    for (p, sub) in arrays {
                        obj.put_items(&p, sub)?;
                    }
                    arr.push(obj);
                }
            }
        }
        self.put(path, Value::Array(arr))
    }
}

fn qname(s: &Step) -> String {
    match &s.prefix {
        Some(p) => format!("{p}:{}", s.local),
        None => s.local.clone(),
    }
}

/// The outbound values of a list of fields, as (place, value) and (place, items) pairs.
#[allow(clippy::type_complexity)]
fn map_out(
    adapter: &Adapter,
    fields: &[Field],
    record: &Value,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> (Vec<(ExtPath, Value)>, Vec<(ExtPath, Vec<ItemOut>)>) {
    let mut values = Vec::new();
    let mut arrays = Vec::new();
    for f in fields {
        let Some(first) = f.external.first() else {
            continue; // a canonical-only constant
        };
        let pointer = || match &f.canonical {
            Some(t) => pointer_join(prefix, t),
            None => prefix.to_string(),
        };
        let err = |code: &str, m: String| {
            FieldError::new(pointer(), code, m).with_source(f.external_text.clone())
        };
        if let Some(c) = &f.constant {
            values.push((first.clone(), c.clone()));
            continue;
        }
        let Some(tokens) = &f.canonical else {
            continue;
        };
        let v = json::get(record, tokens).filter(|v| !v.is_null());
        let Some(v) = v else {
            if f.required {
                errors.push(err(
                    "translate.required",
                    format!(
                        "{} is required by the destination but missing in the record",
                        f.canonical_text
                    ),
                ));
            }
            continue;
        };
        if f.array {
            let Some(list) = v.as_array() else {
                errors.push(err(
                    "translate.type",
                    format!("expected an array, found {v}"),
                ));
                continue;
            };
            let mut items = Vec::with_capacity(list.len());
            for (i, item) in list.iter().enumerate() {
                let item_prefix = format!("{}/{i}", pointer());
                if f.children.is_empty() {
                    match convert_out(adapter, f, item) {
                        Ok(v) => items.push(ItemOut::Scalar(v)),
                        Err((c, m)) => errors.push(
                            FieldError::new(item_prefix, c, m).with_source(f.external_text.clone()),
                        ),
                    }
                } else {
                    let (vs, arrs) = map_out(adapter, &f.children, item, &item_prefix, errors);
                    items.push(ItemOut::Fields(vs, arrs));
                }
            }
            if !items.is_empty() {
                arrays.push((first.clone(), items));
            }
            continue;
        }
        match convert_out(adapter, f, v) {
            Ok(out) => {
                if let Some(sep) = &f.join {
                    let text = out.as_str().unwrap_or_default();
                    let parts = split_words(text, sep, f.external.len());
                    for (p, part) in f.external.iter().zip(parts) {
                        if !part.is_empty() {
                            values.push((p.clone(), Value::String(part)));
                        }
                    }
                } else {
                    values.push((first.clone(), out));
                }
            }
            Err((c, m)) => errors.push(err(c, m)),
        }
    }
    (values, arrays)
}

fn write_into<S: Sink>(
    sink: &mut S,
    values: Vec<(ExtPath, Value)>,
    arrays: Vec<(ExtPath, Vec<ItemOut>)>,
    errors: &mut Vec<FieldError>,
) {
    for (p, v) in values {
        if let Err((c, m)) = sink.put(&p, v) {
            errors.push(FieldError::new("", c, m));
        }
    }
    for (p, items) in arrays {
        if let Err((c, m)) = sink.put_items(&p, items) {
            errors.push(FieldError::new("", c, m));
        }
    }
}

pub(super) fn outbound_xml(
    adapter: &Adapter,
    record: &Record,
    root: &Step,
    canonical: &Value,
) -> Result<String, TranslateError> {
    let mut errors = Vec::new();
    let (values, arrays) = map_out(adapter, &record.fields, canonical, "", &mut errors);
    let mut el = OutElem::new(qname(root));
    for (prefix, uri) in &adapter.xmlns {
        let attr = if prefix.is_empty() {
            "xmlns".to_string()
        } else {
            format!("xmlns:{prefix}")
        };
        el.set_attr(&attr, uri.clone());
    }
    write_into(&mut el, values, arrays, &mut errors);
    if !errors.is_empty() {
        return Err(TranslateError::Fields(errors));
    }
    let mut out = String::with_capacity(2048);
    el.write(&mut out);
    Ok(out)
}

pub(super) fn outbound_json(
    adapter: &Adapter,
    record: &Record,
    canonical: &Value,
) -> Result<Value, TranslateError> {
    let mut errors = Vec::new();
    let (values, arrays) = map_out(adapter, &record.fields, canonical, "", &mut errors);
    let mut obj = Value::Object(Map::new());
    write_into(&mut obj, values, arrays, &mut errors);
    if errors.is_empty() {
        Ok(obj)
    } else {
        Err(TranslateError::Fields(errors))
    }
}
