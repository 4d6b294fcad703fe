//! How the canonical object of a list of fields is put together.
//!
//! Setting each mapped value by its pointer walks the object from the root and searches every
//! level's map, once per field. When the fields' pointers form a tree (no pointer twice, none
//! inside another, none empty), which is what adapters write, the shape of the object is known
//! when the adapter is compiled: the values are read into one slot per field, and each object
//! is then built once from its present members, in key order. Other field lists are set value
//! by value, in field order, as before.

use super::Field;
use serde_json::{Map, Value};

/// One member of an object: the value of a field, or an object of further members.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    Leaf(usize),
    /// Members sorted by key.
    Object(Vec<(String, Shape)>),
}

impl Shape {
    /// The shape of `fields`' canonical pointers, if they form a tree. Fields with no
    /// canonical place (external-only constants) have no member.
    pub(crate) fn of(fields: &[Field]) -> Option<Shape> {
        let mut root = Shape::Object(Vec::new());
        for (i, f) in fields.iter().enumerate() {
            if let Some(tokens) = &f.canonical {
                root.add(tokens, i)?;
            }
        }
        root.sort();
        Some(root)
    }

    fn add(&mut self, tokens: &[String], field: usize) -> Option<()> {
        let Shape::Object(members) = self else {
            return None; // inside another field's value
        };
        let (first, rest) = tokens.split_first()?; // an empty pointer: the whole object
        let at = match members.iter().position(|(k, _)| k == first) {
            Some(at) => at,
            None => {
                let member = if rest.is_empty() {
                    Shape::Leaf(field)
                } else {
                    Shape::Object(Vec::new())
                };
                members.push((first.clone(), member));
                if rest.is_empty() {
                    return Some(());
                }
                members.len() - 1
            }
        };
        if rest.is_empty() {
            return None; // the same place twice, or a place that holds other fields
        }
        members[at].1.add(rest, field)
    }

    fn sort(&mut self) {
        if let Shape::Object(members) = self {
            members.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, m) in members {
                m.sort();
            }
        }
    }

    /// Builds the value, taking the fields' values out of `slots`; `None` when no field under
    /// it has a value (as when setting by pointer: no empty objects are made).
    pub(crate) fn build(&self, slots: &mut [Option<Value>]) -> Option<Value> {
        match self {
            Shape::Leaf(i) => slots.get_mut(*i).and_then(Option::take),
            Shape::Object(members) => {
                let present: Vec<(String, Value)> = members
                    .iter()
                    .filter_map(|(k, m)| m.build(slots).map(|v| (k.clone(), v)))
                    .collect();
                // Already in key order: the map is built without a search per member.
                (!present.is_empty())
                    .then(|| Value::Object(present.into_iter().collect::<Map<_, _>>()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(pointers: &[&str]) -> Option<Shape> {
        let fields: Vec<Field> = pointers
            .iter()
            .map(|p| Field::for_test(crate::translate::json::tokens(p)))
            .collect();
        Shape::of(&fields)
    }

    #[test]
    fn pointers_that_form_a_tree_have_a_shape() {
        let s = shape(&["/b/y", "/a", "/b/x"]).expect("a tree");
        assert_eq!(
            s,
            Shape::Object(vec![
                ("a".into(), Shape::Leaf(1)),
                (
                    "b".into(),
                    Shape::Object(vec![
                        ("x".into(), Shape::Leaf(2)),
                        ("y".into(), Shape::Leaf(0))
                    ])
                ),
            ])
        );
    }

    #[test]
    fn pointers_that_do_not_form_a_tree_have_none() {
        assert_eq!(shape(&["/a", "/a"]), None, "the same place twice");
        assert_eq!(shape(&["/a", "/a/b"]), None, "a place inside another");
        assert_eq!(shape(&["/a/b", "/a"]), None, "a place holding another");
        assert_eq!(shape(&[""]), None, "the whole object");
    }

    #[test]
    fn building_takes_present_values_and_makes_no_empty_objects() {
        let s = shape(&["/b/y", "/a", "/b/x", "/c/d/e"]).expect("a tree");
        let mut slots = vec![Some(Value::from(1)), None, Some(Value::from("x")), None];
        let v = s.build(&mut slots).expect("a value");
        assert_eq!(v, serde_json::json!({"b": {"x": "x", "y": 1}}));
        assert!(slots.iter().all(Option::is_none));
        let mut none = vec![None, None, None, None];
        assert_eq!(s.build(&mut none), None);
    }

    #[test]
    fn every_shipped_record_mapping_has_a_shape() {
        // The golden files then test the built path, not the fallback.
        use crate::translate::Adapter;
        use crate::validate::{SchemaRegistry, ValidationOptions};
        let registry = SchemaRegistry::embedded(&ValidationOptions::default()).expect("schemas");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("adapters") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let adapter = Adapter::load(&path, &registry).expect("adapter");
            for (name, record) in adapter.records_for_test() {
                assert!(record.shape.is_some(), "{}: {name}", path.display());
                let mut lists = vec![&record.fields];
                while let Some(fields) = lists.pop() {
                    for f in fields.iter().filter(|f| !f.children.is_empty()) {
                        assert!(f.children_shape.is_some(), "{}: {name}", path.display());
                        lists.push(&f.children);
                    }
                }
                seen += 1;
            }
        }
        assert!(seen >= 5, "only {seen} record mappings");
    }
}
