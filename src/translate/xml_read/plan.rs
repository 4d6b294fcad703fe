//! The reading plan compiled from a record mapping: the element paths it reads, each mapped
//! place given a slot.

use super::*;

#[derive(Debug, Clone, Default)]
pub(super) struct PlanNode {
    pub(super) children: Vec<(u32, Box<str>, u32)>,
    pub(super) attrs: Vec<(u32, Box<str>, u32)>,
    pub(super) text: Option<u32>,
    /// Entering this element starts a new item of array slot `.0` (in the enclosing scope),
    /// read with scope `.1`.
    pub(super) item: Option<(u32, u32)>,
}

/// What one record mapping reads from a document.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The namespaces of the adapter; a step's `ns_index` is its position here + 1.
    pub(super) namespaces: Vec<String>,
    pub(super) root: Step,
    pub(super) nodes: Vec<PlanNode>,
    /// Per scope: number of value slots and of array slots.
    pub(super) scopes: Vec<(u32, u32)>,
}

impl Plan {
    /// A plan for a record whose root element is `root`; `namespaces` must start with the SOAP
    /// 1.1 and 1.2 envelope namespaces (indices 1 and 2).
    pub(crate) fn new(namespaces: Vec<String>, root: Step) -> Plan {
        Plan {
            namespaces,
            root,
            nodes: vec![PlanNode::default()],
            scopes: vec![(0, 0)],
        }
    }

    /// The root scope, to add fields to.
    pub(crate) fn root_scope() -> Scope {
        Scope { node: 0, id: 0 }
    }

    pub(super) fn node_for(&mut self, from: u32, steps: &[Step]) -> u32 {
        let mut at = from;
        for s in steps {
            let found = self.nodes[at as usize]
                .children
                .iter()
                .find(|(ns, local, _)| *ns == s.ns_index && **local == *s.local)
                .map(|c| c.2);
            at = match found {
                Some(n) => n,
                None => {
                    let n = self.nodes.len() as u32;
                    self.nodes.push(PlanNode::default());
                    self.nodes[at as usize]
                        .children
                        .push((s.ns_index, s.local.clone().into(), n));
                    n
                }
            };
        }
        at
    }

    pub(super) fn new_value_slot(&mut self, scope: u32) -> u32 {
        let s = &mut self.scopes[scope as usize];
        s.0 += 1;
        s.0 - 1
    }

    /// Reads the text (or, for a last step `@name`, the attribute) at `steps` in `scope`;
    /// returns its value slot.
    pub(crate) fn scalar(&mut self, scope: Scope, steps: &[Step]) -> u32 {
        let Some((last, init)) = steps.split_last() else {
            return self.text_slot(scope, scope.node);
        };
        if last.attribute {
            let node = self.node_for(scope.node, init);
            if let Some(existing) = self.nodes[node as usize]
                .attrs
                .iter()
                .find(|(ns, local, _)| *ns == last.ns_index && **local == *last.local)
            {
                return existing.2;
            }
            let slot = self.new_value_slot(scope.id);
            self.nodes[node as usize]
                .attrs
                .push((last.ns_index, last.local.clone().into(), slot));
            slot
        } else {
            let node = self.node_for(scope.node, steps);
            self.text_slot(scope, node)
        }
    }

    pub(super) fn text_slot(&mut self, scope: Scope, node: u32) -> u32 {
        if let Some(s) = self.nodes[node as usize].text {
            return s;
        }
        let slot = self.new_value_slot(scope.id);
        self.nodes[node as usize].text = Some(slot);
        slot
    }

    /// Reads repeated elements at `steps` in `scope` as an array; returns its array slot and
    /// the scope of each item (its own text is `scalar(item, &[])`).
    pub(crate) fn array(&mut self, scope: Scope, steps: &[Step]) -> (u32, Scope) {
        let node = self.node_for(scope.node, steps);
        if let Some((slot, id)) = self.nodes[node as usize].item {
            return (slot, Scope { node, id });
        }
        let s = &mut self.scopes[scope.id as usize];
        s.1 += 1;
        let slot = s.1 - 1;
        let id = self.scopes.len() as u32;
        self.scopes.push((0, 0));
        self.nodes[node as usize].item = Some((slot, id));
        (slot, Scope { node, id })
    }

    pub(super) fn frame<'a>(&self, scope: u32) -> Frame<'a> {
        let (values, arrays) = self.scopes[scope as usize];
        Frame {
            values: vec![None; values as usize],
            arrays: vec![Vec::new(); arrays as usize],
        }
    }

    pub(super) fn ns_label(&self, index: u32, foreign: &[String]) -> String {
        match index {
            0 => "no namespace".into(),
            i if (i as usize) <= self.namespaces.len() => {
                format!("namespace {}", self.namespaces[i as usize - 1])
            }
            i => match foreign.get((i - FOREIGN_BASE) as usize) {
                Some(uri) => format!("namespace {uri}"),
                None => "another namespace".into(),
            },
        }
    }
}

/// A place in a plan where fields are added: the root, or an array item.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scope {
    pub(super) node: u32,
    pub(super) id: u32,
}

/// The values read for one scope: the record, or one array item.
#[derive(Debug, Clone)]
pub(crate) struct Frame<'a> {
    pub values: Vec<Option<Cow<'a, str>>>,
    pub arrays: Vec<Vec<Frame<'a>>>,
}
