//! The part of a canonical record an adapter maps (`Shape`), read from the adapter's field
//! mappings: a record projected onto it (what the adapter can carry), checked against it, and
//! its leaves listed; and paths into a JSON Schema (`schema_node`, `path_is_optional`). The
//! round-trip properties (`tests/roundtrip.rs`) send generated records through an adapter in
//! this shape.

use lienthong::config::adapter::{Case, FieldDef};
use lienthong::translate::Adapter;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A field mapping's effect on a canonical leaf.
#[derive(Debug, Clone, Default)]
pub struct Leaf {
    /// Inbound, the field always takes this value.
    pub constant: Option<Value>,
    /// Inbound, the field takes this value when the document has none.
    pub default: Option<Value>,
    /// Inbound, the text is put in this case.
    pub case: Option<Case>,
}

/// The part of a canonical record an adapter maps, from its `FieldDef`s.
#[derive(Debug, Clone)]
pub enum Shape {
    Leaf(Leaf),
    Object(BTreeMap<String, Shape>),
    /// `array = true`: every item mapped by the inner shape.
    Array(Box<Shape>),
}

fn pointer_tokens(pointer: &str) -> Vec<String> {
    pointer
        .strip_prefix('/')
        .unwrap_or_else(|| panic!("{pointer:?} is not a JSON Pointer to a field"))
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

impl Shape {
    /// What `adapter` maps of a `record_type` record.
    pub fn of(adapter: &Adapter, record_type: &str) -> Shape {
        let record = &adapter.definition().records[record_type];
        Shape::of_fields(&record.fields)
    }

    /// What a list of field mappings maps.
    pub fn of_fields(fields: &[FieldDef]) -> Shape {
        let mut root = Shape::Object(BTreeMap::new());
        for f in fields {
            let Some(pointer) = &f.canonical else {
                continue; // an external-only constant
            };
            let node = if f.array {
                Shape::Array(Box::new(if f.fields.is_empty() {
                    Shape::Leaf(Leaf::default())
                } else {
                    Shape::of_fields(&f.fields)
                }))
            } else {
                Shape::Leaf(Leaf {
                    constant: f.constant.clone(),
                    default: f.default.clone(),
                    case: f.case,
                })
            };
            root.insert(&pointer_tokens(pointer), node);
        }
        root
    }

    fn insert(&mut self, tokens: &[String], node: Shape) {
        let Shape::Object(map) = self else {
            panic!("two mappings overlap at a leaf");
        };
        match tokens {
            [] => panic!("a mapping of the whole record"),
            [last] => {
                map.insert(last.clone(), node);
            }
            [first, rest @ ..] => map
                .entry(first.clone())
                .or_insert_with(|| Shape::Object(BTreeMap::new()))
                .insert(rest, node),
        }
    }

    /// The record restricted to this shape: unmapped leaves dropped, objects left empty dropped,
    /// constants and defaults as the adapter's inbound direction gives them.
    pub fn project(&self, record: &Value) -> Value {
        self.project_value(Some(record))
            .unwrap_or_else(|| Value::Object(Map::new()))
    }

    fn project_value(&self, v: Option<&Value>) -> Option<Value> {
        match self {
            Shape::Leaf(leaf) => leaf
                .constant
                .clone()
                .or_else(|| v.cloned())
                .or_else(|| leaf.default.clone()),
            Shape::Object(fields) => {
                let obj = v.and_then(Value::as_object);
                let mut out = Map::new();
                for (k, s) in fields {
                    if let Some(x) = s.project_value(obj.and_then(|o| o.get(k))) {
                        out.insert(k.clone(), x);
                    }
                }
                (!out.is_empty()).then_some(Value::Object(out))
            }
            Shape::Array(item) => {
                let items: Vec<Value> = v
                    .and_then(Value::as_array)?
                    .iter()
                    .map(|x| {
                        item.project_value(Some(x))
                            .unwrap_or_else(|| Value::Object(Map::new()))
                    })
                    .collect();
                (!items.is_empty()).then_some(Value::Array(items))
            }
        }
    }

    /// The projection keeps every mapped leaf of the record, and every field the schema requires
    /// in a kept object when the adapter maps that field.
    pub fn check_projection(
        &self,
        schema: &Value,
        original: Option<&Value>,
        projected: Option<&Value>,
        at: &str,
    ) -> Result<(), String> {
        match self {
            Shape::Leaf(leaf) => {
                let expected = leaf.constant.as_ref().or(original);
                if expected.is_some() && projected != expected {
                    return Err(format!("{at}: kept {projected:?}, expected {expected:?}"));
                }
            }
            Shape::Object(fields) => {
                if let Some(p) = projected {
                    let node = schema_node(schema, at).unwrap_or(&Value::Null);
                    for req in node
                        .get("required")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        if fields.contains_key(req) && p.get(req).is_none() {
                            return Err(format!("{at}/{req}: required, mapped, but dropped"));
                        }
                    }
                }
                for (k, s) in fields {
                    s.check_projection(
                        schema,
                        original.and_then(|o| o.get(k)),
                        projected.and_then(|p| p.get(k)),
                        &format!("{at}/{k}"),
                    )?;
                }
            }
            Shape::Array(item) => {
                let (Some(o), Some(p)) = (
                    original.and_then(Value::as_array),
                    projected.and_then(Value::as_array),
                ) else {
                    if original.is_some() != projected.is_some() {
                        return Err(format!("{at}: the array was dropped or invented"));
                    }
                    return Ok(());
                };
                if o.len() != p.len() {
                    return Err(format!("{at}: {} items became {}", o.len(), p.len()));
                }
                for (i, (x, y)) in o.iter().zip(p).enumerate() {
                    item.check_projection(schema, Some(x), Some(y), &format!("{at}/{i}"))?;
                }
            }
        }
        Ok(())
    }

    /// Mapped text is already in the case the adapter's inbound `case` transform puts it in.
    pub fn check_case(&self, v: Option<&Value>, at: &str) -> Result<(), String> {
        let Some(v) = v else {
            return Ok(());
        };
        match self {
            Shape::Leaf(leaf) => {
                if let (Some(case), Some(text)) = (leaf.case, v.as_str()) {
                    let normal = in_case(text, case);
                    if normal != text {
                        return Err(format!(
                            "{at}: {text:?} is not in {case:?} case (the adapter reads {normal:?})"
                        ));
                    }
                }
            }
            Shape::Object(fields) => {
                for (k, s) in fields {
                    s.check_case(v.get(k), &format!("{at}/{k}"))?;
                }
            }
            Shape::Array(item) => {
                for (i, x) in v.as_array().into_iter().flatten().enumerate() {
                    item.check_case(Some(x), &format!("{at}/{i}"))?;
                }
            }
        }
        Ok(())
    }

    /// The mapped leaves, as paths with `*` for array items.
    pub fn leaves(&self, at: &str) -> Vec<(String, Leaf)> {
        match self {
            Shape::Leaf(l) => vec![(at.to_string(), l.clone())],
            Shape::Object(fields) => fields
                .iter()
                .flat_map(|(k, s)| s.leaves(&format!("{at}/{k}")))
                .collect(),
            Shape::Array(item) => item.leaves(&format!("{at}/*")),
        }
    }

    /// The mapped leaves present in `v`, with the text of their scalar values.
    pub fn leaves_in(
        &self,
        v: Option<&Value>,
        at: &str,
        out: &mut BTreeMap<String, BTreeSet<String>>,
    ) {
        let Some(v) = v else {
            return;
        };
        match self {
            Shape::Leaf(_) => {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                out.entry(at.to_string()).or_default().insert(text);
            }
            Shape::Object(fields) => {
                for (k, s) in fields {
                    s.leaves_in(v.get(k), &format!("{at}/{k}"), out);
                }
            }
            Shape::Array(item) => {
                for x in v.as_array().into_iter().flatten() {
                    item.leaves_in(Some(x), &format!("{at}/*"), out);
                }
            }
        }
    }
}

/// Text in a case (title: each space-separated word capitalised, the rest in lower case).
fn in_case(text: &str, case: Case) -> String {
    match case {
        Case::Upper => text.to_uppercase(),
        Case::Lower => text.to_lowercase(),
        Case::Title => text
            .split(' ')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first
                        .to_uppercase()
                        .chain(chars.flat_map(char::to_lowercase))
                        .collect()
                })
            })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// Follows a local `$ref`.
fn resolve<'s>(root: &'s Value, mut s: &'s Value) -> &'s Value {
    while let Some(r) = s.get("$ref").and_then(Value::as_str) {
        s = r
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .unwrap_or_else(|| panic!("unresolved $ref {r}"));
    }
    s
}

/// The sub-schema at a path of the record (`*` or an index for array items).
pub fn schema_node<'s>(root: &'s Value, path: &str) -> Option<&'s Value> {
    let mut at = resolve(root, root);
    for t in path.split('/').skip(1) {
        let next = if at.get("type").and_then(Value::as_str) == Some("array") {
            at.get("items")?
        } else {
            at.get("properties")?.get(t)?
        };
        at = resolve(root, next);
    }
    Some(at)
}

/// Whether a record may lack the leaf at `path` (a step not required by its parent).
pub fn path_is_optional(root: &Value, path: &str) -> bool {
    let mut at = resolve(root, root);
    for t in path.split('/').skip(1) {
        if at.get("type").and_then(Value::as_str) == Some("array") {
            at = resolve(root, &at["items"]);
            continue;
        }
        let required = at
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|x| x == t));
        if !required {
            return true;
        }
        at = resolve(root, &at["properties"][t]);
    }
    false
}
