//! The personal identification number (số định danh cá nhân, printed on the CCCD card).
//!
//! Twelve digits `PPP G YY NNNNNN`: `PPP` is the birth-registration province in the legacy
//! 63-province code list (`0` + the two-digit statistics code), `G` encodes sex and century of
//! birth, `YY` the last two digits of the birth year, `NNNNNN` a serial. The number is therefore
//! checkable against a record's own sex and birth date (see `validate::domain`).

use std::fmt;

/// The 63 legacy (pre-2025) province codes, two digits each.
///
/// Source: the legacy province list of the PyPI package `vietnamadminunits` 1.0.4 (MIT),
/// the same data embedded under `src/units/data/`; a test checks that the two agree.
pub const LEGACY_PROVINCE_CODES: [u8; 63] = [
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37,
    38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77,
    79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
];

/// Sex as the register records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// The canonical spelling used in the schemas (`male` / `female`).
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    /// Parses the canonical spelling.
    pub fn parse(s: &str) -> Option<Sex> {
        match s {
            "male" => Some(Sex::Male),
            "female" => Some(Sex::Female),
            _ => None,
        }
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not a personal identification number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonalIdError {
    #[error("a personal ID number has 12 digits; this one has {len} characters")]
    Length { len: usize },
    #[error("a personal ID number has only digits; character {position} is not a digit")]
    NotDigit { position: usize },
    #[error(
        "the first three digits ({code}) are not an assigned birth-registration province code \
         (001 Hà Nội … 096 Cà Mau, the 63 legacy codes)"
    )]
    UnknownProvince { code: String },
}

impl PersonalIdError {
    /// A stable machine code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            PersonalIdError::Length { .. } => "personal-id.length",
            PersonalIdError::NotDigit { .. } => "personal-id.not-digit",
            PersonalIdError::UnknownProvince { .. } => "personal-id.province",
        }
    }
}

/// A checked personal identification number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonalId([u8; 12]);

impl PersonalId {
    /// Parses and checks the length, the digits and the province code.
    pub fn parse(s: &str) -> Result<PersonalId, PersonalIdError> {
        let bytes = s.as_bytes();
        if bytes.len() != 12 {
            return Err(PersonalIdError::Length {
                len: s.chars().count(),
            });
        }
        let mut digits = [0u8; 12];
        for (i, b) in bytes.iter().enumerate() {
            if !b.is_ascii_digit() {
                return Err(PersonalIdError::NotDigit { position: i + 1 });
            }
            digits[i] = *b;
        }
        let province = (digits[1] - b'0') * 10 + (digits[2] - b'0');
        if digits[0] != b'0' || !LEGACY_PROVINCE_CODES.contains(&province) {
            return Err(PersonalIdError::UnknownProvince {
                code: s[..3].to_string(),
            });
        }
        Ok(PersonalId(digits))
    }

    /// The twelve digits.
    pub fn as_str(&self) -> &str {
        // The bytes are ASCII digits by construction.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The three-digit birth-registration province code (`001`…`096`).
    pub fn province_code(&self) -> &str {
        &self.as_str()[..3]
    }

    fn gender_century_digit(&self) -> u8 {
        self.0[3] - b'0'
    }

    /// The sex encoded by the fourth digit (even male, odd female).
    pub fn sex(&self) -> Sex {
        if self.gender_century_digit().is_multiple_of(2) {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// The birth year encoded by the fourth digit (century) and the fifth and sixth (year).
    pub fn birth_year(&self) -> i32 {
        let century = 1900 + 100 * i32::from(self.gender_century_digit() / 2);
        let yy = i32::from(self.0[4] - b'0') * 10 + i32::from(self.0[5] - b'0');
        century + yy
    }

    /// The personal ID with all but the province code and the last two digits masked,
    /// for log lines and messages (`042*******89`).
    pub fn masked(&self) -> String {
        let s = self.as_str();
        format!("{}*******{}", &s[..3], &s[10..])
    }
}

impl fmt::Debug for PersonalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print a personal ID in clear by accident (logs, panics).
        write!(f, "PersonalId({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_valid_number_and_decodes_sex_and_year() {
        let id = PersonalId::parse("042185000123").unwrap();
        assert_eq!(id.province_code(), "042");
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.birth_year(), 1985);
        let id = PersonalId::parse("001201000001").unwrap();
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(id.birth_year(), 2001);
        let id = PersonalId::parse("079399000001").unwrap();
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.birth_year(), 2099);
        let id = PersonalId::parse("096600000001").unwrap();
        assert_eq!(id.sex(), Sex::Male);
        assert_eq!(id.birth_year(), 2200);
    }

    #[test]
    fn refuses_wrong_length_non_digits_and_unassigned_provinces() {
        assert_eq!(
            PersonalId::parse("04218500012"),
            Err(PersonalIdError::Length { len: 11 })
        );
        assert_eq!(
            PersonalId::parse("0421850001234"),
            Err(PersonalIdError::Length { len: 13 })
        );
        assert_eq!(
            PersonalId::parse("04218500012a"),
            Err(PersonalIdError::NotDigit { position: 12 })
        );
        // 003 and 097 are gaps in the code list; 100 has a wrong leading digit.
        for bad in [
            "003185000123",
            "097185000123",
            "100185000123",
            "000185000123",
        ] {
            assert!(
                matches!(
                    PersonalId::parse(bad),
                    Err(PersonalIdError::UnknownProvince { .. })
                ),
                "{bad}"
            );
        }
        // Full-width digits are not ASCII digits, whatever their length in bytes.
        assert!(PersonalId::parse("０４２185000123").is_err());
    }

    #[test]
    fn debug_output_masks_the_number() {
        let id = PersonalId::parse("042185000123").unwrap();
        let shown = format!("{id:?}");
        assert!(!shown.contains("042185000123"), "{shown}");
        assert!(shown.contains("042*******23"), "{shown}");
    }

    #[test]
    fn there_are_sixty_three_distinct_legacy_codes() {
        let mut codes = LEGACY_PROVINCE_CODES.to_vec();
        codes.dedup();
        assert_eq!(codes.len(), 63);
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
    }
}
