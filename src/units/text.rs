//! Free-text addresses: which parts of "…, commune, [district,] province" are the units,
//! which the street, and the answer.

use super::index::Written;
use super::names::{Level, clean};
use super::{Resolution, Units};

/// A free-text address as read: the parts taken for units, the rest (a street), and the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextReading {
    /// What came before the units ("Số 5 Hàng Bông"), if anything.
    pub street: Option<String>,
    pub commune: String,
    /// The district of the old three-tier form, when the text was read so.
    pub district: Option<String>,
    pub province: String,
    pub resolution: Resolution,
}

impl Units {
    /// Resolves a free-text address, "…, commune, [district,] province" (comma-separated; a
    /// street part before them is kept apart).
    pub fn resolve_text(&self, text: &str) -> Resolution {
        self.read_text(text).resolution
    }

    /// Reads a free-text address: which parts are the units, which the street, and the answer.
    /// The part before the province is a district when its type word says so (or, without a
    /// type word, when it names a district of the province and no commune), and a commune
    /// otherwise; a name that is both a district and a commune of the province, leading to
    /// different units, is `unknown`: the text does not say which.
    pub fn read_text(&self, text: &str) -> TextReading {
        let text = clean(text);
        let parts: Vec<&str> = text
            .split([',', ';'])
            .map(|p| p.trim().trim_end_matches('.').trim())
            .filter(|p| !p.is_empty())
            .collect();
        let unknown = |reason: String| TextReading {
            street: None,
            commune: text.clone(),
            district: None,
            province: String::new(),
            resolution: Resolution::Unknown {
                reason,
                suggestions: Vec::new(),
            },
        };
        let n = parts.len();
        if n == 0 {
            return unknown("the address is empty".into());
        }
        if n == 1 {
            return unknown(format!(
                "{text:?} names no commune (write \"commune, [district,] province\")"
            ));
        }
        let province = parts[n - 1];
        let provinces = self.provinces_named(province);
        let before = parts[n - 2];
        let wb = Written::new(before, &self.keys);
        let three = n >= 3 && wb.may_be(Level::District);
        let two = wb.may_be(Level::Commune);
        let reading = |used: usize| {
            let commune = parts[n - used];
            let district = (used == 3).then_some(&wb);
            let rest = parts[..n - used].join(", ");
            TextReading {
                street: (!rest.is_empty()).then_some(rest),
                commune: commune.to_string(),
                district: district.map(|_| before.to_string()),
                province: province.to_string(),
                resolution: self.resolve_in(provinces.as_ref(), province, district, commune),
            }
        };
        let is_district = three && self.names_district(provinces.as_ref(), &wb);
        let is_commune = two && self.names_commune(provinces.as_ref(), &wb);
        match (is_district, is_commune) {
            (true, false) => reading(3),
            (false, true) => reading(2),
            (true, true) => {
                let (r3, r2) = (reading(3), reading(2));
                let same = identity(&r3.resolution).is_some()
                    && identity(&r3.resolution) == identity(&r2.resolution);
                if same {
                    return r3;
                }
                TextReading {
                    resolution: Resolution::Unknown {
                        reason: format!(
                            "{before:?} is both a district and a commune of {province:?}, which \
                             lead to different units: write its type word (Huyện, Quận, Xã, \
                             Phường …)"
                        ),
                        suggestions: [&r3.resolution, &r2.resolution]
                            .into_iter()
                            .filter_map(|r| match r {
                                Resolution::Current { commune, .. }
                                | Resolution::Converted { commune, .. } => Some(commune.clone()),
                                _ => None,
                            })
                            .collect(),
                    },
                    ..r3
                }
            }
            (false, false) if two => reading(2),
            (false, false) => reading(3.min(n)),
        }
    }
}

/// The 2025 commune a resolution settles on, if one.
fn identity(r: &Resolution) -> Option<&str> {
    match r {
        Resolution::Current { commune_code, .. } | Resolution::Converted { commune_code, .. } => {
            Some(commune_code)
        }
        _ => None,
    }
}
