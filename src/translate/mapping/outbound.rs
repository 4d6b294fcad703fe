//! Outbound: a canonical record written into the external document (XML elements or JSON),
//! field by field, collecting every error.

use super::*;
use crate::translate::TranslateError;

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

pub(in crate::translate) fn outbound_xml(
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
    // A schema-validating receiver wants the `xsd:sequence` of the WSDL, which is the order
    // the fields declare, not the order they were written in (values, then lists).
    el.order_by(&record.xml_tree);
    let mut out = String::with_capacity(2048);
    el.write(&mut out);
    Ok(out)
}

pub(in crate::translate) fn outbound_json(
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
