//! Places and addresses from the administrative units of the reference data under
//! src/units/data (names NFC, with type words): communes of the 2025 two-tier scheme and of the
//! legacy three-tier one, and canonical addresses of either form.

use super::{obj, opt, s};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// A commune with its (legacy) district and province.
#[derive(Debug, Clone)]
pub struct Place {
    pub commune: String,
    pub commune_code: String,
    /// Legacy three-tier places only: name and code of the district.
    pub district: Option<(String, String)>,
    pub province: String,
    pub province_code: String,
}

impl Place {
    /// Free text as registers write it: "Xã Cẩm Thạch, huyện Cẩm Xuyên, tỉnh Hà Tĩnh".
    pub fn text(&self) -> String {
        let mut parts = vec![self.commune.clone()];
        if let Some((d, _)) = &self.district {
            parts.push(lower_type_word(d));
        }
        parts.push(lower_type_word(&self.province));
        parts.join(", ")
    }
}

const TYPE_WORDS: &[&str] = &[
    "Thành phố",
    "Thị xã",
    "Thị trấn",
    "Đặc khu",
    "Huyện",
    "Quận",
    "Tỉnh",
    "Phường",
    "Xã",
];

/// "Huyện Cẩm Xuyên" → "huyện Cẩm Xuyên" (the type word in lower case, the name kept).
pub(super) fn lower_type_word(name: &str) -> String {
    for t in TYPE_WORDS {
        if let Some(rest) = name.strip_prefix(t) {
            return format!("{}{rest}", t.to_lowercase());
        }
    }
    name.to_string()
}

struct Units {
    /// Two-tier places (since 1 July 2025).
    current: Vec<Place>,
    /// Legacy three-tier places.
    legacy: Vec<Place>,
    /// Legacy places with exactly one 2025 successor: (successor, old place).
    converted: Vec<(Place, Place)>,
}

fn units() -> &'static Units {
    static UNITS: OnceLock<Units> = OnceLock::new();
    UNITS.get_or_init(|| {
        let path = super::super::repo_path("src/units/data/units.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let data: Value = serde_json::from_str(&text).expect("units.json is JSON");
        let rows = |key: &str| -> Vec<Vec<String>> {
            data[key]
                .as_array()
                .unwrap_or_else(|| panic!("units.json has no {key}"))
                .iter()
                .map(|row| {
                    row.as_array()
                        .expect("a row")
                        .iter()
                        .map(|c| c.as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .collect()
        };
        // [code, name, type, parent code]
        let by_code = |key: &str| -> BTreeMap<String, Vec<String>> {
            rows(key).into_iter().map(|r| (r[0].clone(), r)).collect()
        };
        let named = |r: &[String]| format!("{} {}", r[2], r[1]);
        let provinces = by_code("provinces");
        let legacy_provinces = by_code("legacy_provinces");
        let legacy_districts = by_code("legacy_districts");
        let current = rows("communes")
            .iter()
            .map(|c| {
                let p = &provinces[&c[3]];
                Place {
                    commune: named(c),
                    commune_code: c[0].clone(),
                    district: None,
                    province: named(p),
                    province_code: p[0].clone(),
                }
            })
            .collect();
        let legacy: Vec<Place> = rows("legacy_communes")
            .iter()
            .map(|c| {
                let d = &legacy_districts[&c[3]];
                let p = &legacy_provinces[&d[3]];
                Place {
                    commune: named(c),
                    commune_code: c[0].clone(),
                    district: Some((named(d), d[0].clone())),
                    province: named(p),
                    province_code: p[0].clone(),
                }
            })
            .collect();
        let current: Vec<Place> = current;
        let by_new: BTreeMap<&str, &Place> = current
            .iter()
            .map(|p| (p.commune_code.as_str(), p))
            .collect();
        let by_old: BTreeMap<&str, &Place> = legacy
            .iter()
            .map(|p| (p.commune_code.as_str(), p))
            .collect();
        let converted = data["succession"]
            .as_array()
            .expect("units.json has a succession")
            .iter()
            .filter_map(|row| {
                let old = row[0].as_str()?;
                let [one] = row[1].as_array()?.as_slice() else {
                    return None;
                };
                Some((
                    (*by_new.get(one.as_str()?)?).clone(),
                    (*by_old.get(old)?).clone(),
                ))
            })
            .collect();
        Units {
            current,
            legacy,
            converted,
        }
    })
}

/// A canonical address of the 2025 form (schema v2) as the `address` transform writes it:
/// official names and codes; for an address that arrived in the old form, the old form
/// kept whole under `legacy`.
pub fn address_2025() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        any::<Index>(),
        proptest::option::weighted(0.8, street()),
    )
        .prop_map(|(old, i, street)| {
            let u = units();
            let (new, legacy) = if old {
                let (n, o) = &u.converted[i.index(u.converted.len())];
                (n.clone(), Some(o.clone()))
            } else {
                (u.current[i.index(u.current.len())].clone(), None)
            };
            obj([
                ("street", opt(street)),
                ("commune", Some(s(&new.commune))),
                ("commune_code", Some(s(&new.commune_code))),
                ("province", Some(s(&new.province))),
                ("province_code", Some(s(&new.province_code))),
                (
                    "legacy",
                    legacy.map(|o| {
                        let (d, dc) = o.district.clone().unwrap_or_default();
                        obj([
                            ("commune", Some(s(&o.commune))),
                            ("commune_code", Some(s(&o.commune_code))),
                            ("district", Some(s(d))),
                            ("district_code", Some(s(dc))),
                            ("province", Some(s(&o.province))),
                            ("province_code", Some(s(&o.province_code))),
                        ])
                    }),
                ),
            ])
        })
}

/// A place, two-tier or legacy three-tier.
pub fn place() -> impl Strategy<Value = Place> {
    (any::<bool>(), any::<Index>()).prop_map(|(legacy, i)| {
        let list = if legacy {
            &units().legacy
        } else {
            &units().current
        };
        list[i.index(list.len())].clone()
    })
}

/// A legacy three-tier place (hometowns and birth registrations are written that way).
pub fn legacy_place() -> impl Strategy<Value = Place> {
    any::<Index>().prop_map(|i| units().legacy[i.index(units().legacy.len())].clone())
}

const STREETS: &[&str] = &[
    "Hà Huy Tập",
    "Trần Phú",
    "Nguyễn Du",
    "Phan Đình Phùng",
    "Lê Lợi",
    "Cầu Giấy",
    "Xuân Diệu",
    "Nguyễn Huệ",
    "Hai Bà Trưng",
    "Điện Biên Phủ",
];
const VILLAGES: &[&str] = &["Đông", "Tây", "Trung", "Yên Thịnh", "Phú Lộc", "Bắc Sơn"];

pub fn street() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..300, select(STREETS)).prop_map(|(n, s)| format!("Số {n} đường {s}")),
        (1u32..300, 1u32..200, select(STREETS))
            .prop_map(|(n, m, s)| format!("Số {n} ngõ {m} phố {s}")),
        (1u32..300, select(STREETS), 1u32..20)
            .prop_map(|(n, s, t)| format!("Số {n} đường {s}, tổ dân phố {t}")),
        select(VILLAGES).prop_map(|v| format!("Thôn {v}")),
    ]
}

/// A canonical address: the province always, every other part sometimes.
pub fn address() -> impl Strategy<Value = Value> {
    let some = || proptest::bool::weighted(0.8);
    (
        place(),
        proptest::option::weighted(0.8, street()),
        (some(), some(), some(), some(), some()),
    )
        .prop_map(
            |(p, street, (commune, commune_code, district, district_code, province_code))| {
                let (d, dc) = p.district.clone().unzip();
                obj([
                    ("street", opt(street)),
                    ("commune", commune.then(|| s(&p.commune))),
                    ("district", d.filter(|_| district).map(s)),
                    ("province", Some(s(&p.province))),
                    ("commune_code", commune_code.then(|| s(&p.commune_code))),
                    ("district_code", dc.filter(|_| district_code).map(s)),
                    ("province_code", province_code.then(|| s(&p.province_code))),
                ])
            },
        )
}
