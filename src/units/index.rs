//! The name indexes of the reference data and how a written name is looked up in them:
//! as written, without its type word, as a spelling variant, and loosely between names of
//! minority languages.

use super::HashMap;
use super::names::{Level, clean, key, levels_of_word, loose, minority, strip_type, variant};

/// Units by the key of their name (`names::key`); by the key of its spelling variants
/// (`names::variant`), looked up only when no name matches as written; and by its loose key
/// (`names::loose`), looked up last and only between names of the Central Highlands' and the
/// northern mountains' languages (`names::minority`), whose marks sources write differently.
#[derive(Debug, Default)]
pub(super) struct Index {
    exact: HashMap<String, Vec<usize>>,
    variant: HashMap<String, Vec<usize>>,
    /// Only the names of minority languages.
    loose: HashMap<String, Vec<usize>>,
}

impl Index {
    pub(super) fn add(&mut self, name: &str, i: usize) {
        self.exact.entry(key(name)).or_default().push(i);
        self.variant.entry(variant(name)).or_default().push(i);
        if minority(name) {
            self.loose.entry(loose(name)).or_default().push(i);
        }
    }
}

/// scope (a parent's code) → units of that parent by name.
pub(super) type Scoped = HashMap<String, Index>;

pub(super) fn push_scoped(index: &mut Scoped, scope: &str, name: &str, i: usize) {
    index.entry(scope.to_string()).or_default().add(name, i);
}

/// A written unit, cleaned (`names::clean`) and keyed once: as written and without its type
/// word, exactly and as a spelling variant.
pub(super) struct Written {
    pub(super) text: String,
    /// The name without its type word, when there was one (or a number to normalise).
    pub(super) name: Option<String>,
    pub(super) full: String,
    pub(super) stripped: Option<String>,
    pub(super) type_word: Option<&'static str>,
    /// Keyed only when the exact keys find nothing: as a spelling variant (full, stripped),
    /// and loosely with whether the name is of a minority language.
    variants: std::cell::OnceCell<(String, Option<String>)>,
    loose: std::cell::OnceCell<(String, bool)>,
}

impl Written {
    /// `keys`: the keys of the units' own names, with and without their type word, made
    /// once when the data loaded: most names are written as the data writes them.
    pub(super) fn new(text: &str, keys: &HashMap<String, String>) -> Written {
        let text = clean(text);
        let (type_word, name) = strip_type(&text);
        let unchanged = type_word.is_none() && name == text;
        let key_of = |s: &str| keys.get(s).cloned().unwrap_or_else(|| key(s));
        let full = key_of(&text);
        let (stripped, name) = if unchanged {
            (None, None)
        } else {
            (Some(key_of(&name)), Some(name))
        };
        Written {
            text,
            name,
            full,
            stripped,
            type_word,
            variants: std::cell::OnceCell::new(),
            loose: std::cell::OnceCell::new(),
        }
    }

    /// The name as written without its type word.
    pub(super) fn bare(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.text)
    }

    pub(super) fn variants(&self) -> &(String, Option<String>) {
        self.variants
            .get_or_init(|| (variant(&self.text), self.name.as_deref().map(variant)))
    }

    pub(super) fn loose(&self) -> &(String, bool) {
        self.loose
            .get_or_init(|| (loose(self.bare()), minority(self.bare())))
    }

    /// Whether the written type word (if any) can name a unit of this tier: "Thành phố Hạ
    /// Long" can be a district, never a ward.
    pub(super) fn may_be(&self, level: Level) -> bool {
        self.type_word
            .is_none_or(|t| levels_of_word(t).contains(&level))
    }
}

/// Looks a name up in an index: as written, then without its type word (when that word
/// can name a unit of `level`), then as a spelling variant the same two ways, then (the
/// type word off) by its loose key, where the name written and the unit's are both of a
/// minority language.
pub(super) fn find(index: &Index, w: &Written, level: Level) -> Vec<usize> {
    find_among(&[index], w, level)
}

/// The same within scopes (parents' codes): the first way that finds the name in any of
/// them decides, so a name as written in one scope is never passed over for a variant
/// in another.
pub(super) fn find_in<'a>(
    index: &'a Scoped,
    scopes: impl IntoIterator<Item = &'a str>,
    w: &Written,
    level: Level,
) -> Vec<usize> {
    let indexes: Vec<&Index> = scopes.into_iter().filter_map(|s| index.get(s)).collect();
    find_among(&indexes, w, level)
}

fn find_among(indexes: &[&Index], w: &Written, level: Level) -> Vec<usize> {
    let gather = |get: &dyn Fn(&Index) -> Option<&Vec<usize>>| -> Vec<usize> {
        indexes
            .iter()
            .filter_map(|i| get(i))
            .flatten()
            .copied()
            .collect()
    };
    let fits = w.may_be(level);
    let hits = gather(&|i| i.exact.get(&w.full));
    if !hits.is_empty() {
        return hits;
    }
    if !fits {
        // The type word names another tier: only a name written with it whole can match.
        return Vec::new();
    }
    if let Some(k) = &w.stripped {
        let hits = gather(&|i| i.exact.get(k));
        if !hits.is_empty() {
            return hits;
        }
    }
    let (variant_full, variant_stripped) = w.variants();
    for k in std::iter::once(variant_full).chain(variant_stripped) {
        let hits = gather(&|i| i.variant.get(k));
        if !hits.is_empty() {
            return hits;
        }
    }
    // Both names must be of a minority language: a typo that makes a Vietnamese name
    // look foreign ("Hồng Hàa") does not lose its marks to match.
    let (loose_key, minority) = w.loose();
    if *minority {
        gather(&|i| i.loose.get(loose_key))
    } else {
        Vec::new()
    }
}
