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
mod index;
mod load;
pub mod names;
mod text;

pub use answer::{Candidate, Legacy, Resolution};
pub use load::shared;
pub use text::TextReading;

use crate::FastMap as HashMap;
use index::{Index, Scoped, Written};
use names::{Level, clean, key, plain, province_alias, strip_type};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

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

/// The provinces a written province may be: 2025 provinces, and the legacy ones (those
/// written, and those that went into a 2025 province written).
struct Provinces<'a> {
    current: Vec<&'a Unit>,
    legacy: BTreeSet<&'a str>,
}

impl Provinces<'_> {
    /// Whether a 2025 commune lies in these provinces.
    fn holds_commune(&self, c: &Unit) -> bool {
        self.current.iter().any(|p| p.code == c.parent)
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
    /// 2025 commune code → the legacy communes that went (wholly or in part) into it.
    predecessors: HashMap<String, Vec<usize>>,
    /// The key (`names::key`) of every unit's name and full name, as the data writes them.
    keys: HashMap<String, String>,
}

impl Units {
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

    /// The legacy communes that went (wholly or in part) into a 2025 commune.
    pub fn predecessors(&self, code: &str) -> Vec<&Unit> {
        self.predecessors
            .get(code)
            .map(|v| v.iter().map(|&i| &self.legacy_communes[i]).collect())
            .unwrap_or_default()
    }

    /// The old three-tier form of a legacy commune, by code.
    pub fn legacy_form(&self, code: &str) -> Option<Legacy> {
        self.legacy_commune(code).map(|c| self.legacy_of(c))
    }

    /// Among units of the same name, those whose type is the written one ("Xã Chi Lăng" and
    /// "Thị trấn Chi Lăng" can share a district); all of them when no type was written or none
    /// has it (types change: many communes became wards, sources disagree).
    fn prefer_type(&self, hits: Vec<usize>, units: &[Unit], written: &Written) -> Vec<usize> {
        let kept = Units::of_written_type(&hits, units, written);
        if kept.is_empty() { hits } else { kept }
    }

    /// Those of `hits` whose type is the one written (none when no type was written).
    fn of_written_type(hits: &[usize], units: &[Unit], written: &Written) -> Vec<usize> {
        let Some(wanted) = written.type_word.and_then(names::type_of_word) else {
            return Vec::new();
        };
        hits.iter()
            .copied()
            .filter(|&i| plain(&units[i].kind) == wanted)
            .collect()
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

    /// The provinces a written province (name, alias or two-digit code) may be; `None` when
    /// it is none.
    fn provinces_named(&self, written: &str) -> Option<Provinces<'_>> {
        let written = province_alias(written).unwrap_or(written);
        let is_code = written.len() == 2 && written.bytes().all(|b| b.is_ascii_digit());
        let (current, mut legacy): (Vec<&Unit>, BTreeSet<&str>) = if is_code {
            (
                self.province(written).into_iter().collect(),
                self.legacy_province(written)
                    .map(|p| p.code.as_str())
                    .into_iter()
                    .collect(),
            )
        } else {
            let w = Written::new(written, &self.keys);
            (
                index::find(&self.province_by_key, &w, Level::Province)
                    .iter()
                    .map(|&i| &self.provinces[i])
                    .collect(),
                index::find(&self.legacy_province_by_key, &w, Level::Province)
                    .iter()
                    .map(|&i| self.legacy_provinces[i].code.as_str())
                    .collect(),
            )
        };
        for p in &current {
            if let Some(set) = self.merged_from.get(&p.code) {
                legacy.extend(set.iter().map(String::as_str));
            }
        }
        (!current.is_empty() || !legacy.is_empty()).then_some(Provinces { current, legacy })
    }

    /// The legacy districts of these provinces a written district (name or three-digit code)
    /// may be.
    fn districts_named(&self, provinces: &Provinces, w: &Written) -> Vec<usize> {
        if w.text.len() == 3 && w.text.bytes().all(|b| b.is_ascii_digit()) {
            return self
                .legacy_district_by_code
                .get(&w.text)
                .copied()
                .filter(|&i| {
                    provinces
                        .legacy
                        .contains(self.legacy_districts[i].parent.as_str())
                })
                .into_iter()
                .collect();
        }
        let found = index::find_in(
            &self.legacy_district_by_key,
            provinces.legacy.iter().copied(),
            w,
            Level::District,
        );
        self.prefer_type(found, &self.legacy_districts, w)
    }

    /// A commune given by its code, checked against the province and district written beside
    /// it: a code from elsewhere is not taken.
    fn resolve_code(
        &self,
        code: &str,
        provinces: Option<&Provinces>,
        province: &str,
        district: Option<&Written>,
    ) -> Option<Resolution> {
        let elsewhere = |unit: &str| Resolution::Unknown {
            reason: format!(
                "the commune code {code} is {unit}, not in {}",
                [district.map_or("", |d| d.text.as_str()), province]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            suggestions: vec![unit.to_string()],
        };
        if district.is_none()
            && let Some(c) = self.commune(code)
        {
            if provinces.is_some_and(|p| !p.holds_commune(c)) {
                let p = self.province(&c.parent).map(Unit::full_name);
                return Some(elsewhere(&format!(
                    "{}, {}",
                    c.full_name(),
                    p.unwrap_or_default()
                )));
            }
            return Some(self.current(c));
        }
        let &i = self.legacy_commune_by_code.get(code)?;
        let old = &self.legacy_communes[i];
        let form = self.legacy_of(old);
        let in_province = provinces.is_none_or(|p| p.legacy.contains(form.province_code.as_str()));
        let in_district = match (district, provinces) {
            (None, _) => true,
            (Some(d), Some(p)) => self
                .districts_named(p, d)
                .iter()
                .any(|&j| self.legacy_districts[j].code == form.district_code),
            (Some(d), None) => {
                d.text == form.district_code
                    || key(&strip_type(&d.text).1) == key(&strip_type(&form.district).1)
            }
        };
        if !in_province || !in_district {
            return Some(elsewhere(&format!(
                "{}, {}, {}",
                form.commune, form.district, form.province
            )));
        }
        Some(self.resolve_legacy(&[i]))
    }

    /// Resolves a structured address: province, optional district (legacy form), commune; by
    /// names (any form, known spelling variants) or codes. A commune is looked for only where
    /// it is written: a district written and found holds it or the answer is `unknown`, with
    /// the nearest names; a district written and not found is `unknown` too. Never another
    /// unit that matches part of the text.
    pub fn resolve(&self, province: &str, district: Option<&str>, commune: &str) -> Resolution {
        let province = clean(province);
        let provinces = (!province.is_empty())
            .then(|| self.provinces_named(&province))
            .flatten();
        let district = district.map(|d| Written::new(d, &self.keys));
        self.resolve_in(provinces.as_ref(), &province, district.as_ref(), commune)
    }

    /// `resolve`, the province (cleaned) found already: `None` when it names none.
    fn resolve_in(
        &self,
        provinces: Option<&Provinces>,
        province: &str,
        district: Option<&Written>,
        commune: &str,
    ) -> Resolution {
        let district = district.filter(|d| !d.text.is_empty());
        let commune = clean(commune);
        let commune = commune.as_str();
        if commune.len() == 5
            && commune.bytes().all(|b| b.is_ascii_digit())
            && let Some(r) = self.resolve_code(commune, provinces, province, district)
        {
            return r;
        }
        let Some(provinces) = provinces else {
            return Resolution::Unknown {
                reason: format!("no province or city {province:?}"),
                suggestions: self.suggest(
                    self.provinces.iter().chain(self.legacy_provinces.iter()),
                    province,
                ),
            };
        };
        let wc = Written::new(commune, &self.keys);
        if let Some(district) = district {
            return self.resolve_in_district(provinces, province, district, &wc);
        }
        // The 2025 form (commune and province), or an old commune named without its district;
        // the type written decides between a 2025 and an old commune of one name.
        let current = index::find_in(
            &self.commune_by_key,
            provinces.current.iter().map(|p| p.code.as_str()),
            &wc,
            Level::Commune,
        );
        let olds = index::find_in(
            &self.legacy_commune_by_province,
            provinces.legacy.iter().copied(),
            &wc,
            Level::Commune,
        );
        let current_typed = Units::of_written_type(&current, &self.communes, &wc);
        let olds_typed = Units::of_written_type(&olds, &self.legacy_communes, &wc);
        let take_current = !current.is_empty()
            && (wc.type_word.is_none() || !current_typed.is_empty() || olds_typed.is_empty());
        if take_current {
            let hits = if current_typed.is_empty() {
                current
            } else {
                current_typed
            };
            return self.one_current(&hits, commune, province);
        }
        if !olds.is_empty() {
            let olds = if olds_typed.is_empty() {
                olds
            } else {
                olds_typed
            };
            return self.resolve_legacy(&olds);
        }
        let codes: BTreeSet<&String> = provinces.current.iter().map(|p| &p.code).collect();
        Resolution::Unknown {
            reason: format!("no commune {commune:?} in {province:?}"),
            suggestions: self.suggest(
                self.communes
                    .iter()
                    .filter(|c| codes.contains(&c.parent))
                    .chain(self.legacy_communes.iter().filter(|c| {
                        self.legacy_district(&c.parent)
                            .is_some_and(|d| provinces.legacy.contains(d.parent.as_str()))
                    })),
                commune,
            ),
        }
    }

    /// The old three-tier form: the district in the province, then the commune in it.
    fn resolve_in_district(
        &self,
        provinces: &Provinces,
        province: &str,
        district: &Written,
        wc: &Written,
    ) -> Resolution {
        let districts = self.districts_named(provinces, district);
        let district = district.text.as_str();
        if districts.is_empty() {
            return Resolution::Unknown {
                reason: format!("no district {district:?} in {province:?}"),
                suggestions: self.suggest(
                    self.legacy_districts
                        .iter()
                        .filter(|d| provinces.legacy.contains(d.parent.as_str())),
                    district,
                ),
            };
        }
        let olds = index::find_in(
            &self.legacy_commune_by_district,
            districts
                .iter()
                .map(|&d| self.legacy_districts[d].code.as_str()),
            wc,
            Level::Commune,
        );
        if olds.is_empty() {
            return Resolution::Unknown {
                reason: format!("no commune {:?} in {district:?}, {province:?}", wc.text),
                suggestions: self.suggest(
                    districts.iter().flat_map(|&d| {
                        let code = &self.legacy_districts[d].code;
                        self.legacy_communes
                            .iter()
                            .filter(move |c| &c.parent == code)
                    }),
                    &wc.text,
                ),
            };
        }
        let olds = self.prefer_type(olds, &self.legacy_communes, wc);
        self.resolve_legacy(&olds)
    }

    /// One 2025 commune, or `unknown` naming every commune the name fits.
    fn one_current(&self, hits: &[usize], commune: &str, province: &str) -> Resolution {
        match hits {
            [i] => self.current(&self.communes[*i]),
            _ => {
                let names: Vec<String> = hits
                    .iter()
                    .map(|&i| {
                        let c = &self.communes[i];
                        format!("{} ({})", c.full_name(), c.code)
                    })
                    .collect();
                Resolution::Unknown {
                    reason: format!(
                        "{commune:?} in {province:?} may be any of {}: write its type word or code",
                        names.join(", ")
                    ),
                    suggestions: hits.iter().map(|&i| self.communes[i].full_name()).collect(),
                }
            }
        }
    }

    /// Whether a written unit names a legacy district of these provinces.
    fn names_district(&self, provinces: Option<&Provinces>, written: &Written) -> bool {
        provinces.is_some_and(|p| !self.districts_named(p, written).is_empty())
    }

    /// Whether a written unit names a commune (2025 or legacy) of these provinces.
    fn names_commune(&self, provinces: Option<&Provinces>, w: &Written) -> bool {
        let Some(p) = provinces else {
            return false;
        };
        let current = p.current.iter().map(|c| c.code.as_str());
        !index::find_in(&self.commune_by_key, current, w, Level::Commune).is_empty()
            || !index::find_in(
                &self.legacy_commune_by_province,
                p.legacy.iter().copied(),
                w,
                Level::Commune,
            )
            .is_empty()
    }
}

#[cfg(test)]
mod tests;
