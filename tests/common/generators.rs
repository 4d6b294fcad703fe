//! Generators of valid canonical records with realistic Vietnamese values (proptest
//! strategies), one per record type (`generator`: citizen, dossier, dossier-status, document,
//! payment), and the parts they are made of: people whose personal ID agrees with their sex and
//! birth date, names, partial dates, addresses of the 2025 and the legacy scheme from the
//! reference units, businesses, agencies, procedures, times, codes, documents and fees. Every
//! record they make is valid against its embedded schema and the domain rules, its text in NFC
//! without stray whitespace (`tests/roundtrip.rs` checks it).

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone};
use lienthong::model::{LEGACY_PROVINCE_CODES, Sex};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Valid canonical records of `record_type`; panics for a record type no generator is written
/// for.
pub fn generator(record_type: &str) -> BoxedStrategy<Value> {
    match record_type {
        "citizen" => citizen().boxed(),
        "dossier" => dossier().boxed(),
        "dossier-status" => dossier_status().boxed(),
        "document" => document().boxed(),
        "payment" => payment().boxed(),
        other => panic!("no generator for record type {other:?}: write one"),
    }
}

/// An object from (key, value) pairs, leaving out absent values.
fn obj<const N: usize>(pairs: [(&str, Option<Value>); N]) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
            .collect(),
    )
}

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

fn opt(text: Option<String>) -> Option<Value> {
    text.map(Value::String)
}

const FAMILY_NAMES: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Lương", "Tạ", "Ông", "Ưng", "Âu", "Kiều",
];
const MIDDLE_NAMES_MALE: &[&str] = &[
    "Văn", "Hữu", "Đức", "Minh", "Quang", "Xuân", "Công", "Đình", "Trọng", "Thành", "Gia", "Bảo",
];
const MIDDLE_NAMES_FEMALE: &[&str] = &[
    "Thị", "Ngọc", "Thu", "Hồng", "Thanh", "Thùy", "Kim", "Mỹ", "Diệu", "Ánh", "Bích", "Khánh",
];
const GIVEN_NAMES_MALE: &[&str] = &[
    "Anh", "Bình", "Cường", "Dũng", "Đức", "Hải", "Hiếu", "Hùng", "Khải", "Long", "Minh", "Nam",
    "Phong", "Quân", "Sơn", "Thắng", "Trung", "Tuấn", "Việt", "Ước", "Lộc", "Nghĩa",
];
const GIVEN_NAMES_FEMALE: &[&str] = &[
    "Anh", "Chi", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Ngọc",
    "Nhung", "Phương", "Quỳnh", "Thảo", "Trang", "Uyên", "Yến", "Ánh", "Oanh", "Ý",
];

/// A full name in title case: a family name, zero to two middle names and a given name.
pub fn full_name(sex: Sex) -> impl Strategy<Value = String> {
    let (middle, given) = match sex {
        Sex::Male => (MIDDLE_NAMES_MALE, GIVEN_NAMES_MALE),
        Sex::Female => (MIDDLE_NAMES_FEMALE, GIVEN_NAMES_FEMALE),
    };
    (
        select(FAMILY_NAMES),
        proptest::collection::vec(select(middle), 0..=2),
        select(given),
    )
        .prop_map(|(family, middle, given)| {
            let mut words = vec![family];
            words.extend(middle);
            words.push(given);
            words.join(" ")
        })
}

/// How much of a birth date a record holds.
#[derive(Debug, Clone, Copy)]
pub enum Precision {
    Year,
    Month,
    Day,
}

pub fn precision() -> impl Strategy<Value = Precision> {
    prop_oneof![
        Just(Precision::Year),
        Just(Precision::Month),
        Just(Precision::Day)
    ]
}

pub fn partial_date(d: NaiveDate, p: Precision) -> String {
    match p {
        Precision::Year => format!("{:04}", d.year()),
        Precision::Month => format!("{:04}-{:02}", d.year(), d.month()),
        Precision::Day => d.format("%Y-%m-%d").to_string(),
    }
}

/// A day that exists in `years`.
pub fn date_in(years: std::ops::RangeInclusive<i32>) -> impl Strategy<Value = NaiveDate> {
    (years, 0u32..366).prop_map(|(y, ordinal)| {
        let days = if NaiveDate::from_ymd_opt(y, 2, 29).is_some() {
            366
        } else {
            365
        };
        NaiveDate::from_yo_opt(y, 1 + ordinal % days).expect("a day of the year")
    })
}

/// A person: sex, name, birth date, and a personal ID that agrees with both.
#[derive(Debug, Clone)]
pub struct Person {
    pub sex: Sex,
    pub full_name: String,
    pub birth: NaiveDate,
    pub personal_id: String,
}

/// The personal ID (CCCD) of someone of `sex` born in `year`, registered in `province`.
pub fn personal_id(sex: Sex, year: i32, province: u8, serial: u32) -> String {
    let century = (year / 100 - 19) * 2;
    let digit = century + i32::from(sex == Sex::Female);
    format!("0{province:02}{digit}{:02}{serial:06}", year % 100)
}

pub fn person(years: std::ops::RangeInclusive<i32>) -> impl Strategy<Value = Person> {
    (
        prop_oneof![
            (Just(Sex::Male), full_name(Sex::Male)),
            (Just(Sex::Female), full_name(Sex::Female)),
        ],
        date_in(years),
        select(LEGACY_PROVINCE_CODES.to_vec()),
        0u32..1_000_000,
    )
        .prop_map(|((sex, full_name), birth, province, serial)| Person {
            sex,
            full_name,
            personal_id: personal_id(sex, birth.year(), province, serial),
            birth,
        })
}

/// Any personal ID (of someone born 1930–2024).
pub fn any_personal_id() -> impl Strategy<Value = String> {
    person(1930..=2024).prop_map(|p| p.personal_id)
}

/// An enterprise code (tax code): ten digits, the first two a tax-office province code.
pub fn business_code() -> impl Strategy<Value = String> {
    (
        select(vec!["01", "03", "30", "29", "04", "31", "36"]),
        0u64..100_000_000,
    )
        .prop_map(|(p, n)| format!("{p}{n:08}"))
}

const BUSINESS_KINDS: &[&str] = &[
    "Công ty TNHH",
    "Công ty Cổ phần",
    "Công ty TNHH Một thành viên",
    "Hợp tác xã",
    "Doanh nghiệp tư nhân",
];
const BUSINESS_TRADES: &[&str] = &[
    "Thương mại và Dịch vụ",
    "Xây dựng",
    "Vận tải",
    "Nông nghiệp",
    "Thủy sản",
    "Du lịch",
    "Công nghệ thông tin",
];

pub fn business_name() -> impl Strategy<Value = String> {
    (
        select(BUSINESS_KINDS),
        select(BUSINESS_TRADES),
        select(GIVEN_NAMES_MALE),
        select(GIVEN_NAMES_FEMALE),
    )
        .prop_map(|(kind, trade, a, b)| format!("{kind} {trade} {a} {b}"))
}

const EMAIL_HANDLES: &[&str] = &[
    "nhung.nth",
    "tranvanbinh",
    "le.minh",
    "hoanganh",
    "pham_thu",
    "vuduc",
    "lienhe",
    "ketoan",
];
const EMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.com.vn",
    "outlook.com",
    "hatinh.gov.vn",
    "fpt.vn",
    "vnpt.vn",
];

pub fn email() -> impl Strategy<Value = String> {
    (select(EMAIL_HANDLES), 0u32..100, select(EMAIL_DOMAINS))
        .prop_map(|(h, n, d)| format!("{h}{n}@{d}"))
}

pub fn phone() -> impl Strategy<Value = String> {
    (
        select(vec!["9", "8", "3", "7"]),
        0u32..100,
        0u32..1000,
        0u32..1000,
    )
        .prop_flat_map(|(net, a, b, c)| {
            select(vec![
                format!("0{net}{a:02}{b:03}{c:03}"),
                format!("0{net}{a:02} {b:03} {c:03}"),
                format!("0{net}{a:02}.{b:03}.{c:03}"),
                format!("+84 {net}{a:02} {b:03} {c:03}"),
                format!("0239-{b:03}-{c:03}{a:01}", a = a % 10),
            ])
        })
}

// Administrative units: the reference data under src/units/data (names NFC, with type words).

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
fn lower_type_word(name: &str) -> String {
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
        let path = super::repo_path("src/units/data/units.json");
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

// Agencies, procedures, times, codes.

/// An agency code such as `000.00.10.H42`.
pub fn agency_code() -> impl Strategy<Value = String> {
    (
        prop_oneof![3 => Just(0u32), 1 => 0u32..1000],
        0u32..100,
        0u32..100,
        select(vec!['H', 'G', 'A']),
        1u32..100,
    )
        .prop_map(|(a, b, c, l, n)| format!("{a:03}.{b:02}.{c:02}.{l}{n:02}"))
}

/// (code, name, field code, field name)
const PROCEDURES: &[(&str, &str, &str, &str)] = &[
    (
        "1.001612",
        "Đăng ký thành lập hộ kinh doanh",
        "HKD",
        "Thành lập và hoạt động của hộ kinh doanh",
    ),
    ("1.001193", "Đăng ký khai sinh", "HT", "Hộ tịch"),
    ("1.000894", "Đăng ký kết hôn", "HT", "Hộ tịch"),
    (
        "1.004873",
        "Cấp bản sao có chứng thực từ bản chính hồ sơ, giấy tờ",
        "CT",
        "Chứng thực",
    ),
    (
        "1.009994",
        "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
        "XD",
        "Hoạt động xây dựng",
    ),
    (
        "1.003003",
        "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
        "DD",
        "Đất đai",
    ),
    (
        "2.000986",
        "Cấp Giấy xác nhận tình trạng hôn nhân",
        "HT",
        "Hộ tịch",
    ),
];

/// A procedure of the national catalogue, with its field.
#[derive(Debug, Clone)]
pub struct Procedure {
    pub code: String,
    pub name: &'static str,
    pub field_code: &'static str,
    pub field_name: &'static str,
}

pub fn procedure() -> impl Strategy<Value = Procedure> {
    (
        select(PROCEDURES),
        prop_oneof![3 => Just(None), 1 => (1u32..4, 0u32..1_000_000).prop_map(Some)],
    )
        .prop_map(|((code, name, field_code, field_name), other)| Procedure {
            code: match other {
                Some((a, b)) => format!("{a}.{b:06}"),
                None => code.to_string(),
            },
            name,
            field_code,
            field_name,
        })
}

pub fn vn_zone() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("+07:00")
}

/// A time in Vietnam, whole seconds, 2015–2030.
pub fn vn_time(seconds_since_2015: i64) -> DateTime<FixedOffset> {
    vn_zone()
        .with_ymd_and_hms(2015, 1, 1, 0, 0, 0)
        .single()
        .expect("a time")
        + Duration::seconds(seconds_since_2015)
}

pub fn rfc3339(t: DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

const DAY: i64 = 86_400;

/// Seconds since 2015 of a moment, 2015–2029: any second, or midnight of a day.
pub fn moment() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => 0i64..15 * 365 * DAY,
        1 => (0i64..15 * 365).prop_map(|d| d * DAY),
    ]
}

/// Seconds since 2015 of an issue date: recent, or a paper result from 1975 on (digitised).
pub fn issue_moment() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => moment(),
        1 => (-40 * 365 * DAY..0).prop_map(|s| s - s.rem_euclid(DAY)),
    ]
}

/// A later moment: the same second sometimes, else up to `days` later.
pub fn delay(days: i64) -> impl Strategy<Value = i64> {
    prop_oneof![1 => Just(0i64), 6 => 0i64..=days * DAY]
}

/// A dossier code: receiving agency, the day received (yyMMdd), a sequence number.
pub fn dossier_code(agency: &str, received: DateTime<FixedOffset>, seq: u32) -> String {
    format!("{agency}-{}-{seq:04}", received.format("%y%m%d"))
}

pub fn any_dossier_code() -> impl Strategy<Value = String> {
    (agency_code(), moment(), 1u32..10_000).prop_map(|(a, t, n)| dossier_code(&a, vn_time(t), n))
}

pub fn content_hash() -> impl Strategy<Value = String> {
    any::<[u8; 32]>().prop_map(|b| format!("sha256:{}", hex::encode(b)))
}

const STATUSES: &[&str] = &[
    "received",
    "accepted",
    "rejected",
    "in_progress",
    "supplement_requested",
    "financial_obligation_requested",
    "resolved",
    "result_returned",
    "withdrawn",
    "suspended",
];
const CHANNELS: &[&str] = &["online", "desk", "post"];

const DOCUMENT_TYPES: &[&str] = &[
    "Giấy đề nghị đăng ký hộ kinh doanh",
    "Bản sao Căn cước công dân",
    "Tờ khai đăng ký khai sinh",
    "Giấy chứng sinh",
    "Hợp đồng thuê mặt bằng kinh doanh",
    "Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất",
    "Giấy xác nhận tình trạng hôn nhân",
    "Bản vẽ thiết kế xây dựng",
    "TK01",
];
const FILE_NAMES: &[&str] = &[
    "giay-de-nghi-dang-ky-ho-kinh-doanh.pdf",
    "cccd-mat-truoc.jpg",
    "to-khai-khai-sinh.pdf",
    "hop-dong-thue-mat-bang.pdf",
    "Bản vẽ mặt bằng tầng 1.pdf",
    "scan_0001.tif",
];

pub fn document_reference() -> impl Strategy<Value = String> {
    prop_oneof![
        (10u32..100, 2000u32..2026, 0u32..1_000_000)
            .prop_map(|(p, y, n)| format!("GCN-{p}-{y}-DA{n:06}")),
        (any_dossier_code(), 1u32..10).prop_map(|(d, n)| format!("KQ-{d}-{n:02}")),
        any::<[u8; 8]>().prop_map(|b| format!("urn:lienthong:evidence:{}", hex::encode(b))),
    ]
}

/// A document reference of a dossier or status event.
pub fn document_ref() -> impl Strategy<Value = Value> {
    (
        select(DOCUMENT_TYPES),
        content_hash(),
        select(vec!["citizen-upload", "issued", "digitised"]),
        proptest::option::of(select(FILE_NAMES)),
        proptest::option::of(document_reference()),
        proptest::option::of(prop_oneof![0u64..10_000_000, 0u64..=2_000_000_000]),
    )
        .prop_map(|(t, hash, origin, name, reference, size)| {
            obj([
                ("document_type", Some(s(t))),
                ("content_hash", Some(s(hash))),
                ("origin", Some(s(origin))),
                ("name", name.map(s)),
                ("reference", opt(reference)),
                ("size_bytes", size.map(|n| json!(n))),
            ])
        })
}

pub fn documents() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(proptest::collection::vec(document_ref(), 1..=3).prop_map(Value::Array))
}

const FEE_NAMES: &[&str] = &[
    "Lệ phí đăng ký hộ kinh doanh",
    "Lệ phí cấp giấy phép xây dựng",
    "Phí thẩm định hồ sơ",
    "Lệ phí chứng thực",
    "Lệ phí đăng ký biến động đất đai",
];

/// An amount in đồng: round thousands mostly, any amount sometimes, and nothing.
pub fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => (0u64..=5_000).prop_map(|k| k * 1_000),
        1 => 0u64..=50_000_000,
        1 => Just(0u64),
    ]
}

pub fn fees() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(
        proptest::collection::vec(
            (select(FEE_NAMES), amount())
                .prop_map(|(name, amount)| json!({"name": name, "amount": amount})),
            1..=2,
        )
        .prop_map(Value::Array),
    )
}

const DOSSIER_NOTES: &[&str] = &[
    "Hồ sơ nộp trực tuyến qua Cổng Dịch vụ công quốc gia.",
    "Công dân đề nghị nhận kết quả qua dịch vụ bưu chính công ích.",
    "Diện tích sàn < 100 m² & không quá 3 tầng.",
    "Đã nộp bản chính \"Giấy chứng sinh\" tại bộ phận một cửa.",
    "Hẹn trả kết quả buổi sáng.",
];
const SHOPS: &[&str] = &[
    "Tiệm bánh Hồng Nhung",
    "Cửa hàng Minh & Anh",
    "Quán cơm Bếp Nhà",
    "Tạp hóa Cô Ba",
];

/// The applicant of a dossier: a citizen (personal ID and birth date agree) or a business.
pub fn applicant() -> impl Strategy<Value = Value> {
    let contact = || {
        (
            proptest::option::of(email()),
            proptest::option::of(phone()),
            proptest::option::of(address_2025()),
        )
    };
    prop_oneof![
        (
            person(1940..=2007),
            proptest::bool::weighted(0.8),
            proptest::option::of(precision()),
            contact(),
        )
            .prop_map(|(p, with_id, birth, (email, phone, address))| {
                obj([
                    ("type", Some(s("citizen"))),
                    ("full_name", Some(s(&p.full_name))),
                    ("personal_id", with_id.then(|| s(&p.personal_id))),
                    ("birth_date", birth.map(|b| s(partial_date(p.birth, b)))),
                    ("email", opt(email)),
                    ("phone", opt(phone)),
                    ("address", address),
                ])
            }),
        (
            business_name(),
            proptest::option::weighted(0.8, business_code()),
            contact(),
        )
            .prop_map(|(name, code, (email, phone, address))| {
                obj([
                    ("type", Some(s("business"))),
                    ("full_name", Some(s(name))),
                    ("business_code", opt(code)),
                    ("email", opt(email)),
                    ("phone", opt(phone)),
                    ("address", address),
                ])
            }),
    ]
}

pub fn dossier() -> impl Strategy<Value = Value> {
    (
        (
            agency_code(),
            proptest::option::of(agency_code()),
            1u32..10_000,
            procedure(),
            (any::<bool>(), any::<bool>(), any::<bool>()),
        ),
        applicant(),
        (select(CHANNELS), select(STATUSES), moment(), delay(90)),
        (
            proptest::option::of((0usize..3, select(SHOPS))),
            proptest::option::of(select(DOSSIER_NOTES)),
        ),
        documents(),
        fees(),
    )
        .prop_map(
            |(
                (receiving, resolving, seq, pr, (with_name, with_field_code, with_field_name)),
                applicant,
                (channel, status, received, due),
                (summary, note),
                documents,
                fees,
            )| {
                let received_at = vn_time(received);
                let summary = summary.map(|(kind, shop)| match kind {
                    0 => pr.name.to_string(),
                    1 => format!(
                        "{} cho {}",
                        pr.name,
                        applicant["full_name"].as_str().unwrap_or("")
                    ),
                    _ => format!("{}: \"{shop}\"", pr.name),
                });
                obj([
                    (
                        "dossier_code",
                        Some(s(dossier_code(&receiving, received_at, seq))),
                    ),
                    ("procedure_code", Some(s(&pr.code))),
                    ("procedure_name", with_name.then(|| s(pr.name))),
                    ("field_code", with_field_code.then(|| s(pr.field_code))),
                    ("field_name", with_field_name.then(|| s(pr.field_name))),
                    ("receiving_agency", Some(s(&receiving))),
                    ("resolving_agency", opt(resolving)),
                    ("applicant", Some(applicant)),
                    ("channel", Some(s(channel))),
                    ("received_at", Some(s(rfc3339(received_at)))),
                    ("due_at", Some(s(rfc3339(vn_time(received + due))))),
                    ("status", Some(s(status))),
                    ("summary", opt(summary)),
                    ("documents", documents),
                    ("fees", fees),
                    ("note", note.map(s)),
                ])
            },
        )
}

const OFFICIAL_TITLES: &[&str] = &[
    "Chuyên viên",
    "Phó Trưởng phòng",
    "Trưởng phòng",
    "Công chức Tư pháp - Hộ tịch",
    "Cán bộ một cửa",
];
const DEPARTMENTS: &[&str] = &[
    "Phòng Tư pháp",
    "Bộ phận Tiếp nhận và Trả kết quả",
    "Phòng Kinh tế",
    "Văn phòng Đăng ký đất đai",
    "Phòng Quản lý đô thị",
];
const STATUS_NOTES: &[&str] = &[
    "Chuyển phòng chuyên môn thẩm định.",
    "Yêu cầu bổ sung: bản sao Giấy chứng nhận quyền sử dụng đất.",
    "Đã trả kết quả cho công dân tại bộ phận một cửa.",
    "Hồ sơ chờ thực hiện nghĩa vụ tài chính <thuế & lệ phí>.",
];

/// The official who handled an event: absent, or with at least one part.
pub fn official() -> impl Strategy<Value = Option<Value>> {
    proptest::option::of(
        (
            proptest::option::of(person(1960..=2000).prop_map(|p| p.full_name)),
            proptest::option::of(select(OFFICIAL_TITLES)),
            proptest::option::of(select(DEPARTMENTS)),
        )
            .prop_map(|(name, title, department)| {
                obj([
                    ("name", opt(name)),
                    ("title", title.map(s)),
                    ("department", department.map(s)),
                ])
            }),
    )
    .prop_map(|o| o.filter(|o| o.as_object().is_some_and(|m| !m.is_empty())))
}

pub fn dossier_status() -> impl Strategy<Value = Value> {
    (
        (
            agency_code(),
            proptest::option::of(agency_code()),
            1u32..10_000,
            procedure(),
            proptest::option::of(1u32..100),
        ),
        proptest::option::of(prop_oneof![any_personal_id(), business_code()]),
        (select(CHANNELS), select(STATUSES)),
        (
            moment(),
            delay(90),
            delay(60),
            proptest::option::of(delay(30)),
        ),
        official(),
        proptest::option::of(select(STATUS_NOTES)),
        proptest::option::of(
            proptest::collection::vec(document_ref(), 1..=2).prop_map(Value::Array),
        ),
    )
        .prop_map(
            |(
                (receiving, resolving, seq, pr, event_seq),
                applicant_id,
                (channel, status),
                (received, due, event, finished),
                official,
                note,
                results,
            )| {
                let received_at = vn_time(received);
                let code = dossier_code(&receiving, received_at, seq);
                obj([
                    ("event_id", event_seq.map(|n| s(format!("{code}-E{n:02}")))),
                    ("dossier_code", Some(s(code))),
                    ("procedure_code", Some(s(&pr.code))),
                    ("receiving_agency", Some(s(&receiving))),
                    ("resolving_agency", opt(resolving)),
                    ("applicant_id", opt(applicant_id)),
                    ("status", Some(s(status))),
                    ("event_at", Some(s(rfc3339(vn_time(received + event))))),
                    ("received_at", Some(s(rfc3339(received_at)))),
                    ("due_at", Some(s(rfc3339(vn_time(received + due))))),
                    (
                        "finished_at",
                        finished.map(|f| s(rfc3339(vn_time(received + event + f)))),
                    ),
                    ("channel", Some(s(channel))),
                    ("official", official),
                    ("note", note.map(s)),
                    ("result_documents", results),
                ])
            },
        )
}

const DOCUMENT_TITLES: &[&str] = &[
    "Giấy chứng nhận đăng ký hộ kinh doanh số 42A8012345",
    "Giấy khai sinh số 318, quyển số 01/2003",
    "Giấy phép xây dựng số 125/GPXD",
    "Trích lục kết hôn",
];

pub fn document() -> impl Strategy<Value = Value> {
    (
        (
            prop_oneof![
                (any_dossier_code(), 1u32..10).prop_map(|(d, n)| format!("KQ-{d}-{n:02}")),
                (10u32..100, 1980u32..2026, 0u32..1_000_000)
                    .prop_map(|(p, y, n)| format!("SH-{p}-{y}-KS-{n:06}")),
            ],
            select(DOCUMENT_TYPES),
            proptest::option::of(select(DOCUMENT_TITLES)),
            any_personal_id(),
            agency_code(),
        ),
        (
            issue_moment(),
            proptest::option::of(30i64..3650),
            content_hash(),
            select(vec!["issued", "digitised"]),
        ),
        (
            proptest::option::of(any_dossier_code()),
            proptest::option::of(document_reference()),
            proptest::option::of(any::<bool>()),
        ),
    )
        .prop_map(
            |(
                (id, kind, title, subject, agency),
                (issued, valid_days, hash, origin),
                (dossier, reference, revoked),
            )| {
                let issued_at = vn_time(issued);
                let valid_until = valid_days.map(|d| {
                    (issued_at + Duration::days(d))
                        .format("%Y-%m-%d")
                        .to_string()
                });
                obj([
                    ("document_id", Some(s(id))),
                    ("document_type", Some(s(kind))),
                    ("title", title.map(s)),
                    ("subject_id", Some(s(subject))),
                    ("issuing_agency", Some(s(agency))),
                    ("issued_at", Some(s(rfc3339(issued_at)))),
                    ("valid_until", opt(valid_until)),
                    ("content_hash", Some(s(hash))),
                    ("origin", Some(s(origin))),
                    ("dossier_code", opt(dossier)),
                    ("reference", opt(reference)),
                    ("revoked", revoked.map(Value::Bool)),
                ])
            },
        )
}

pub fn payment() -> impl Strategy<Value = Value> {
    (
        (any_dossier_code(), 1u32..10),
        prop_oneof![any_personal_id(), business_code()],
        (proptest::option::of(select(FEE_NAMES)), amount()),
        (
            moment(),
            select(vec!["online", "counter", "transfer"]),
            select(vec!["paid", "refunded", "failed"]),
        ),
        (
            proptest::option::of((25u32..31, 0u64..1_000_000_000_000)),
            proptest::option::of(agency_code()),
        ),
    )
        .prop_map(
            |((dossier, n), payer, (fee, amount), (paid, method, status), (tx, agency))| {
                obj([
                    ("payment_id", Some(s(format!("TT-{dossier}-{n:02}")))),
                    ("dossier_code", Some(s(dossier))),
                    ("payer_id", Some(s(payer))),
                    ("fee_name", fee.map(s)),
                    ("amount", Some(json!(amount))),
                    ("currency", Some(s("VND"))),
                    ("paid_at", Some(s(rfc3339(vn_time(paid))))),
                    ("method", Some(s(method))),
                    ("status", Some(s(status))),
                    (
                        "transaction_ref",
                        tx.map(|(y, n)| s(format!("FT{y}{n:012}"))),
                    ),
                    ("receiving_agency", opt(agency)),
                ])
            },
        )
}

const NATIONALITIES: &[&str] = &["LA", "KH", "CN", "KR", "JP", "US", "FR"];
const ETHNICITIES: &[&str] = &[
    "Kinh", "Tày", "Thái", "Mường", "Khmer", "Hoa", "Nùng", "H'Mông", "Dao", "Gia Rai", "Ê Đê",
];
const RELIGIONS: &[&str] = &[
    "Không",
    "Phật giáo",
    "Công giáo",
    "Tin lành",
    "Cao Đài",
    "Phật giáo Hòa Hảo",
];
const RELATIONS: &[&str] = &["Vợ", "Chồng", "Con", "Cháu", "Mẹ", "Bố", "Em", "Con dâu"];

pub fn citizen() -> impl Strategy<Value = Value> {
    (
        (person(1930..=2024), precision()),
        prop_oneof![9 => Just("VN"), 1 => select(NATIONALITIES)],
        (
            proptest::option::of(select(ETHNICITIES)),
            proptest::option::of(select(RELIGIONS)),
            proptest::option::of(legacy_place()),
            proptest::option::of(legacy_place()),
        ),
        (
            proptest::option::of(address()),
            proptest::option::of(address()),
        ),
        proptest::option::of(prop_oneof![
            Just(None),
            (any_personal_id(), select(RELATIONS)).prop_map(Some),
        ]),
    )
        .prop_map(
            |(
                (p, precision),
                nationality,
                (ethnicity, religion, hometown, registered),
                (permanent, current),
                household,
            )| {
                let household = household.map(|h| match h {
                    None => json!({"head_personal_id": p.personal_id, "relation": "Chủ hộ"}),
                    Some((head, relation)) => {
                        json!({"head_personal_id": head, "relation": relation})
                    }
                });
                obj([
                    ("personal_id", Some(s(&p.personal_id))),
                    ("full_name", Some(s(&p.full_name))),
                    ("birth_date", Some(s(partial_date(p.birth, precision)))),
                    ("sex", Some(s(p.sex.as_str()))),
                    ("nationality", Some(s(nationality))),
                    ("ethnicity", ethnicity.map(s)),
                    ("religion", religion.map(s)),
                    ("hometown", hometown.map(|h| s(h.text()))),
                    (
                        "birth_registration_place",
                        registered
                            .map(|r| s(format!("Ủy ban nhân dân {}", lower_type_word(&r.text())))),
                    ),
                    ("permanent_address", permanent),
                    ("current_address", current),
                    ("household", household),
                ])
            },
        )
}
