//! One generator a record type: the applicant and dossier, the status event, the issued
//! document, the payment, the citizen.

use super::{obj, opt, s};
use super::{people::*, places::*, procedures::*};
use chrono::Duration;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

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
