//! Agencies, procedures of the national catalogue, times in Vietnam, dossier codes, content
//! hashes, document references and fees.

use super::{obj, opt, s};
use chrono::{DateTime, Duration, FixedOffset, TimeZone};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

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

pub(super) const STATUSES: &[&str] = &[
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
pub(super) const CHANNELS: &[&str] = &["online", "desk", "post"];

pub(super) const DOCUMENT_TYPES: &[&str] = &[
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
pub(super) const FILE_NAMES: &[&str] = &[
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

pub(super) const FEE_NAMES: &[&str] = &[
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
