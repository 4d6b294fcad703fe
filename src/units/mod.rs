//! Administrative units after the reform of 1 July 2025: the 2025 list (34 provinces, 3,321
//! communes, no districts), the legacy list (63 provinces, their districts and communes) and
//! the old-to-new succession, with a resolver that turns an address written either way into
//! the 2025 unit (`current`, `converted`), every candidate when an old commune was split
//! (`ambiguous`), or the nearest names (`unknown`).
//!
//! The data is generated from the PyPI package `vietnamadminunits` 1.0.4 (MIT) by
//! `scripts/gen-units.py` into `src/units/data/units.json` (source, version and licence in
//! `src/units/data/SOURCE.md`), embedded in the binary; `Units::load` reads a newer file.
//! Indexes are built once; resolving does look-ups only.

mod answer;
pub mod names;

pub use answer::{Candidate, Legacy, Resolution};

use names::{key, plain, strip_type};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

const EMBEDDED: &str = include_str!("data/units.json");

/// The embedded data, loaded once per process (for formats and transforms); `None` if it
/// does not load, which a test of the embedded file rules out.
pub fn shared() -> Option<&'static Units> {
    static SHARED: std::sync::OnceLock<Option<Units>> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| Units::embedded().ok()).as_ref()
}

/// The generated file, as written by `scripts/gen-units.py`.
#[derive(Debug, Deserialize)]
struct File {
    format: u32,
    source: Source,
    provinces: Vec<(String, String, String)>,
    communes: Vec<(String, String, String, String)>,
    legacy_provinces: Vec<(String, String, String)>,
    legacy_districts: Vec<(String, String, String, String)>,
    legacy_communes: Vec<(String, String, String, String)>,
    succession: Vec<(String, Vec<String>)>,
}

/// Where the data came from.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Source {
    pub package: String,
    pub version: String,
    pub licence: String,
}

/// One unit: code, name without the type word, type word.
#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    pub code: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The parent's code (province of a commune or district; district of a legacy commune).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub parent: String,
}

impl Unit {
    /// The official name with its type word, e.g. "Phường Hồng Hà".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }
}

/// Why the data could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum UnitsError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

type Index = HashMap<String, Vec<usize>>;
/// scope (a parent's code) → name key → units.
type Scoped = HashMap<String, Index>;

fn push(index: &mut Index, k: String, i: usize) {
    index.entry(k).or_default().push(i);
}

fn push_scoped(index: &mut Scoped, scope: &str, k: String, i: usize) {
    index
        .entry(scope.to_string())
        .or_default()
        .entry(k)
        .or_default()
        .push(i);
}

/// A written unit, keyed once: as written, and without its type word.
struct Written {
    full: String,
    stripped: Option<String>,
    type_word: Option<&'static str>,
}

impl Written {
    fn new(text: &str) -> Written {
        let (type_word, name) = strip_type(text);
        let full = key(text);
        let bare = if type_word.is_none() && name == text.trim() {
            full.clone()
        } else {
            key(&name)
        };
        Written {
            stripped: (bare != full).then_some(bare),
            full,
            type_word,
        }
    }
}

/// The reference data with its indexes.
#[derive(Debug)]
pub struct Units {
    pub source: Source,
    pub provinces: Vec<Unit>,
    pub communes: Vec<Unit>,
    pub legacy_provinces: Vec<Unit>,
    pub legacy_districts: Vec<Unit>,
    pub legacy_communes: Vec<Unit>,
    succession: HashMap<String, Vec<String>>,
    province_by_code: HashMap<String, usize>,
    province_by_key: Index,
    commune_by_code: HashMap<String, usize>,
    /// province code → key → 2025 communes.
    commune_by_key: Scoped,
    legacy_province_by_code: HashMap<String, usize>,
    legacy_province_by_key: Index,
    legacy_district_by_code: HashMap<String, usize>,
    /// legacy province code → key → districts.
    legacy_district_by_key: Scoped,
    legacy_commune_by_code: HashMap<String, usize>,
    /// district code → key → legacy communes.
    legacy_commune_by_district: Scoped,
    /// legacy province code → key → legacy communes.
    legacy_commune_by_province: Scoped,
    /// 2025 province code → the legacy provinces whose communes went into it.
    merged_from: HashMap<String, BTreeSet<String>>,
}

impl Units {
    /// The data embedded in the binary.
    pub fn embedded() -> Result<Units, UnitsError> {
        Units::parse("units.json (embedded)", EMBEDDED)
    }

    /// A newer data file, in the format `scripts/gen-units.py` writes.
    pub fn load(path: &Path) -> Result<Units, UnitsError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| UnitsError::Invalid {
            file: file.clone(),
            message: e.to_string(),
        })?;
        Units::parse(&file, &text)
    }

    fn parse(file: &str, text: &str) -> Result<Units, UnitsError> {
        let invalid = |message: String| UnitsError::Invalid {
            file: file.to_string(),
            message,
        };
        let f: File = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if f.format != 1 {
            return Err(invalid(format!("format {} is not 1", f.format)));
        }
        let unit = |(code, name, kind, parent): (String, String, String, String)| Unit {
            code,
            name,
            kind,
            parent,
        };
        let top = |(code, name, kind): (String, String, String)| Unit {
            code,
            name,
            kind,
            parent: String::new(),
        };
        let mut u = Units {
            source: f.source,
            provinces: f.provinces.into_iter().map(top).collect(),
            communes: f.communes.into_iter().map(unit).collect(),
            legacy_provinces: f.legacy_provinces.into_iter().map(top).collect(),
            legacy_districts: f.legacy_districts.into_iter().map(unit).collect(),
            legacy_communes: f.legacy_communes.into_iter().map(unit).collect(),
            succession: f.succession.into_iter().collect(),
            province_by_code: HashMap::new(),
            province_by_key: HashMap::new(),
            commune_by_code: HashMap::new(),
            commune_by_key: HashMap::new(),
            legacy_province_by_code: HashMap::new(),
            legacy_province_by_key: HashMap::new(),
            legacy_district_by_code: HashMap::new(),
            legacy_district_by_key: HashMap::new(),
            legacy_commune_by_code: HashMap::new(),
            legacy_commune_by_district: HashMap::new(),
            legacy_commune_by_province: HashMap::new(),
            merged_from: HashMap::new(),
        };
        for (i, p) in u.provinces.iter().enumerate() {
            u.province_by_code.insert(p.code.clone(), i);
            push(&mut u.province_by_key, key(&p.name), i);
        }
        for (i, c) in u.communes.iter().enumerate() {
            u.commune_by_code.insert(c.code.clone(), i);
            push_scoped(&mut u.commune_by_key, &c.parent, key(&c.name), i);
        }
        for (i, p) in u.legacy_provinces.iter().enumerate() {
            u.legacy_province_by_code.insert(p.code.clone(), i);
            push(&mut u.legacy_province_by_key, key(&p.name), i);
        }
        for (i, d) in u.legacy_districts.iter().enumerate() {
            u.legacy_district_by_code.insert(d.code.clone(), i);
            push_scoped(&mut u.legacy_district_by_key, &d.parent, key(&d.name), i);
        }
        for (i, c) in u.legacy_communes.iter().enumerate() {
            u.legacy_commune_by_code.insert(c.code.clone(), i);
            let k = key(&c.name);
            push_scoped(&mut u.legacy_commune_by_district, &c.parent, k.clone(), i);
            if let Some(&d) = u.legacy_district_by_code.get(&c.parent) {
                let prov = u.legacy_districts[d].parent.clone();
                push_scoped(&mut u.legacy_commune_by_province, &prov, k, i);
                for new in u.succession.get(&c.code).into_iter().flatten() {
                    if let Some(&n) = u.commune_by_code.get(new) {
                        u.merged_from
                            .entry(u.communes[n].parent.clone())
                            .or_default()
                            .insert(prov.clone());
                    }
                }
            }
        }
        Ok(u)
    }

    /// A 2025 commune by code.
    pub fn commune(&self, code: &str) -> Option<&Unit> {
        self.commune_by_code.get(code).map(|&i| &self.communes[i])
    }

    /// A 2025 province by code.
    pub fn province(&self, code: &str) -> Option<&Unit> {
        self.province_by_code.get(code).map(|&i| &self.provinces[i])
    }

    /// A legacy commune by code.
    pub fn legacy_commune(&self, code: &str) -> Option<&Unit> {
        self.legacy_commune_by_code
            .get(code)
            .map(|&i| &self.legacy_communes[i])
    }

    /// A legacy district by code.
    pub fn legacy_district(&self, code: &str) -> Option<&Unit> {
        self.legacy_district_by_code
            .get(code)
            .map(|&i| &self.legacy_districts[i])
    }

    /// A legacy province by code.
    pub fn legacy_province(&self, code: &str) -> Option<&Unit> {
        self.legacy_province_by_code
            .get(code)
            .map(|&i| &self.legacy_provinces[i])
    }

    /// The 2025 successors of a legacy commune (the package's default first).
    pub fn successors(&self, legacy_code: &str) -> &[String] {
        self.succession
            .get(legacy_code)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Looks a name up in an index, as written, then without its type word.
    fn find<'a>(index: &'a Index, w: &Written) -> &'a [usize] {
        if let Some(hit) = index.get(&w.full) {
            return hit;
        }
        w.stripped
            .as_ref()
            .and_then(|k| index.get(k))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The same within one scope (a parent's code).
    fn find_in<'a>(index: &'a Scoped, scope: &str, w: &Written) -> &'a [usize] {
        index
            .get(scope)
            .map(|i| Units::find(i, w))
            .unwrap_or_default()
    }

    /// Among units of the same name, those whose type is the written one ("Xã Chi Lăng" and
    /// "Thị trấn Chi Lăng" can share a district); all of them when no type was written or none
    /// has it.
    fn prefer_type(&self, hits: Vec<usize>, units: &[Unit], written: &Written) -> Vec<usize> {
        let Some(tw) = written.type_word else {
            return hits;
        };
        let wanted = names::type_of_word(tw);
        let kept: Vec<usize> = hits
            .iter()
            .copied()
            .filter(|&i| wanted.is_some_and(|w| plain(&units[i].kind) == w))
            .collect();
        if kept.is_empty() { hits } else { kept }
    }

    fn legacy_of(&self, commune: &Unit) -> Legacy {
        let district = self.legacy_district(&commune.parent);
        let province = district.and_then(|d| self.legacy_province(&d.parent));
        Legacy {
            commune_code: commune.code.clone(),
            commune: commune.full_name(),
            district_code: district.map(|d| d.code.clone()).unwrap_or_default(),
            district: district.map(Unit::full_name).unwrap_or_default(),
            province_code: province.map(|p| p.code.clone()).unwrap_or_default(),
            province: province.map(Unit::full_name).unwrap_or_default(),
        }
    }

    fn current(&self, c: &Unit) -> Resolution {
        let p = self.province(&c.parent);
        Resolution::Current {
            province_code: c.parent.clone(),
            province: p.map(Unit::full_name).unwrap_or_default(),
            commune_code: c.code.clone(),
            commune: c.full_name(),
        }
    }

    /// The resolution of old communes (one or several with the same name): converted when all
    /// lead to one 2025 commune, ambiguous otherwise.
    fn resolve_legacy(&self, olds: &[usize]) -> Resolution {
        let mut candidates: Vec<Candidate> = Vec::new();
        for &i in olds {
            for code in self.successors(&self.legacy_communes[i].code) {
                if let Some(c) = self.commune(code)
                    && !candidates.iter().any(|x| x.commune_code == c.code)
                {
                    candidates.push(Candidate {
                        commune_code: c.code.clone(),
                        commune: c.full_name(),
                        province_code: c.parent.clone(),
                    });
                }
            }
        }
        let legacy = self.legacy_of(&self.legacy_communes[olds[0]]);
        match candidates.as_slice() {
            [one] => {
                let p = self.province(&one.province_code);
                Resolution::Converted {
                    province_code: one.province_code.clone(),
                    province: p.map(Unit::full_name).unwrap_or_default(),
                    commune_code: one.commune_code.clone(),
                    commune: one.commune.clone(),
                    legacy,
                }
            }
            [] => Resolution::Unknown {
                reason: format!("{} has no successor in the data", legacy.commune),
                suggestions: Vec::new(),
            },
            _ => Resolution::Ambiguous { legacy, candidates },
        }
    }

    fn suggest<'a>(&self, pool: impl Iterator<Item = &'a Unit>, written: &str) -> Vec<String> {
        let (_, name) = strip_type(written);
        let target = plain(&name);
        let mut scored: Vec<(usize, String)> = pool
            .map(|u| (names::distance(&plain(&u.name), &target), u.full_name()))
            .collect();
        scored.sort();
        scored.dedup_by(|a, b| a.1 == b.1);
        let limit = (target.chars().count() / 2).max(2);
        scored
            .into_iter()
            .filter(|(d, _)| *d <= limit)
            .take(5)
            .map(|(_, n)| n)
            .collect()
    }

    /// Resolves a structured address: province, optional district (legacy form), commune; by
    /// names (any form) or codes.
    pub fn resolve(&self, province: &str, district: Option<&str>, commune: &str) -> Resolution {
        let province = province.trim();
        let commune = commune.trim();
        let district = district.map(str::trim).filter(|d| !d.is_empty());
        // Codes.
        if commune.len() == 5 && commune.bytes().all(|b| b.is_ascii_digit()) {
            if district.is_none()
                && let Some(c) = self.commune(commune)
            {
                return self.current(c);
            }
            if let Some(&i) = self.legacy_commune_by_code.get(commune) {
                return self.resolve_legacy(&[i]);
            }
        }
        let is_code = province.len() == 2 && province.bytes().all(|b| b.is_ascii_digit());
        let wp = Written::new(if is_code { "" } else { province });
        let wd = district.map(Written::new);
        let wc = Written::new(commune);
        let new_provinces: Vec<&Unit> = if is_code {
            self.province(province).into_iter().collect()
        } else {
            Units::find(&self.province_by_key, &wp)
                .iter()
                .map(|&i| &self.provinces[i])
                .collect()
        };
        let mut old_provinces: BTreeSet<&str> = if is_code {
            self.legacy_province(province)
                .map(|p| p.code.as_str())
                .into_iter()
                .collect()
        } else {
            Units::find(&self.legacy_province_by_key, &wp)
                .iter()
                .map(|&i| self.legacy_provinces[i].code.as_str())
                .collect()
        };
        for p in &new_provinces {
            if let Some(set) = self.merged_from.get(&p.code) {
                old_provinces.extend(set.iter().map(String::as_str));
            }
        }
        if new_provinces.is_empty() && old_provinces.is_empty() {
            return Resolution::Unknown {
                reason: format!("no province or city {province:?}"),
                suggestions: self.suggest(
                    self.provinces.iter().chain(self.legacy_provinces.iter()),
                    province,
                ),
            };
        }
        if let (Some(district), Some(wd)) = (district, &wd) {
            // The old three-tier form: district, then commune within it.
            let mut districts = Vec::new();
            for p in &old_provinces {
                districts.extend_from_slice(Units::find_in(&self.legacy_district_by_key, p, wd));
            }
            if !districts.is_empty() {
                let mut olds = Vec::new();
                for &d in &districts {
                    let code = &self.legacy_districts[d].code;
                    olds.extend_from_slice(Units::find_in(
                        &self.legacy_commune_by_district,
                        code,
                        &wc,
                    ));
                }
                if !olds.is_empty() {
                    let olds = self.prefer_type(olds, &self.legacy_communes, &wc);
                    return self.resolve_legacy(&olds);
                }
                return Resolution::Unknown {
                    reason: format!("no commune {commune:?} in {district:?}"),
                    suggestions: self.suggest(
                        districts.iter().flat_map(|&d| {
                            let code = self.legacy_districts[d].code.clone();
                            self.legacy_communes
                                .iter()
                                .filter(move |c| c.parent == code)
                        }),
                        commune,
                    ),
                };
            }
        }
        // The 2025 form: commune within the province.
        for p in &new_provinces {
            let hits = Units::find_in(&self.commune_by_key, &p.code, &wc).to_vec();
            if let Some(&i) = self.prefer_type(hits, &self.communes, &wc).first() {
                return self.current(&self.communes[i]);
            }
        }
        // An old commune named without its district.
        let mut olds = Vec::new();
        for p in &old_provinces {
            olds.extend_from_slice(Units::find_in(&self.legacy_commune_by_province, p, &wc));
        }
        if !olds.is_empty() {
            let olds = self.prefer_type(olds, &self.legacy_communes, &wc);
            return self.resolve_legacy(&olds);
        }
        let codes: BTreeSet<&String> = new_provinces.iter().map(|p| &p.code).collect();
        Resolution::Unknown {
            reason: format!("no commune {commune:?} in {province:?}"),
            suggestions: self.suggest(
                self.communes
                    .iter()
                    .filter(|c| codes.contains(&c.parent))
                    .chain(self.legacy_communes.iter().filter(|c| {
                        self.legacy_district(&c.parent)
                            .is_some_and(|d| old_provinces.contains(d.parent.as_str()))
                    })),
                commune,
            ),
        }
    }

    /// Resolves a free-text address, "…, commune, [district,] province" (comma-separated; a
    /// street part before them is ignored).
    pub fn resolve_text(&self, text: &str) -> Resolution {
        let parts: Vec<&str> = text
            .split([',', ';'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        let Some((province, rest)) = parts.split_last() else {
            return Resolution::Unknown {
                reason: "the address is empty".into(),
                suggestions: Vec::new(),
            };
        };
        let Some((last, before)) = rest.split_last() else {
            return Resolution::Unknown {
                reason: format!(
                    "{text:?} names no commune (write \"commune, [district,] province\")"
                ),
                suggestions: Vec::new(),
            };
        };
        if let Some(commune) = before.last() {
            let r = self.resolve(province, Some(last), commune);
            if !matches!(r, Resolution::Unknown { .. }) {
                return r;
            }
        }
        self.resolve(province, None, last)
    }
}

#[cfg(test)]
mod tests;
