//! People: names, birth dates of some precision, personal IDs that agree with both; businesses,
//! e-mail addresses and phone numbers.

use chrono::{Datelike, NaiveDate};
use lienthong::model::{LEGACY_PROVINCE_CODES, Sex};
use proptest::prelude::*;
use proptest::sample::select;

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
