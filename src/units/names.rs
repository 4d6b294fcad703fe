//! Name keys for matching administrative units as people and systems write them: Unicode NFC or
//! NFD, any case, either tone-mark placement ("Thuỷ"/"Thủy", "Hoà"/"Hòa"), with or without the
//! type word ("Tỉnh", "Thành phố", "TP.", "Q.", "P.", "X.", …), number wards ("Phường 01",
//! "P.1").
//!
//! A key keeps the letters and the vowel shapes (â, ă, ê, ô, ơ, ư, đ) and moves the tone marks
//! (grave, acute, hook, tilde, dot below) to the end in order: "Thủy" and "Thuỷ" give the same
//! key, "Hà" and "Hạ" do not.

use unicode_normalization::UnicodeNormalization;

/// Type words, longest first, as they appear before a unit's name (compared on keys).
const TYPE_WORDS: &[&str] = &[
    "thanh pho truc thuoc trung uong",
    "thanh pho",
    "thi tran",
    "thi xa",
    "dac khu",
    "phuong",
    "huyen",
    "quan",
    "tinh",
    "xa",
    "tp.",
    "tp",
    "tx.",
    "tx",
    "tt.",
    "tt",
    "q.",
    "h.",
    "p.",
    "x.",
];

fn is_tone(c: char) -> bool {
    matches!(c, '\u{300}' | '\u{301}' | '\u{303}' | '\u{309}' | '\u{323}')
}

/// The matching key of a name (type word included, if any).
pub fn key(name: &str) -> String {
    let mut base = String::with_capacity(name.len());
    let mut tones = String::new();
    let mut last_space = true;
    for c in name.nfd() {
        if is_tone(c) {
            tones.push(match c {
                '\u{300}' => 'f',
                '\u{301}' => 's',
                '\u{303}' => 'x',
                '\u{309}' => 'r',
                _ => 'j',
            });
            continue;
        }
        let c = c.to_lowercase().next().unwrap_or(c);
        if c.is_whitespace() || c == '-' || c == '_' {
            if !last_space {
                base.push(' ');
                last_space = true;
            }
            continue;
        }
        base.push(c);
        last_space = false;
    }
    // The key stays decomposed: it is only compared with keys made the same way.
    if base.ends_with(' ') {
        base.pop();
    }
    if !tones.is_empty() {
        base.push('|');
        base.push_str(&tones);
    }
    base
}

/// The key of the letters without any mark (for suggestions and the type-word test).
pub fn plain(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.nfd() {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue;
        }
        let c = match c {
            'đ' | 'Đ' => 'd',
            c => c.to_lowercase().next().unwrap_or(c),
        };
        out.push(c);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Splits a written unit into its type word (plain form, if any) and its name. "Thành phố Hà
/// Nội" → ("thanh pho", "Hà Nội"); "P.1" → ("p.", "1"); "Phường 01" → ("phuong", "1").
pub fn strip_type(written: &str) -> (Option<&'static str>, String) {
    let trimmed = written.trim();
    let p = plain(trimmed);
    for tw in TYPE_WORDS {
        if let Some(rest) = p.strip_prefix(tw) {
            // A word boundary after the type word (or a dot, which is one).
            let ok = tw.ends_with('.')
                || rest.is_empty()
                || rest.starts_with(' ')
                || rest.starts_with(|c: char| c.is_ascii_digit());
            if !ok || rest.trim().is_empty() {
                continue;
            }
            // Cut the same number of characters from the original (plain keeps one char per
            // base letter, spaces collapsed): walk the original until the plain prefix is used.
            let name = cut_prefix(trimmed, tw);
            return (Some(tw), normalise_number(name.trim()));
        }
    }
    (None, normalise_number(trimmed))
}

fn cut_prefix<'a>(original: &'a str, plain_prefix: &str) -> &'a str {
    let wanted: Vec<char> = plain_prefix
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut seen = 0;
    for (i, c) in original.char_indices() {
        if seen == wanted.len() {
            return &original[i..];
        }
        if c.is_whitespace() {
            continue;
        }
        let p = plain(&c.to_string());
        if p.chars().next().is_some() {
            seen += 1;
        }
    }
    ""
}

/// "01" → "1" for numbered units; other names unchanged.
fn normalise_number(name: &str) -> String {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        let n = name.trim_start_matches('0');
        if n.is_empty() { "0".into() } else { n.into() }
    } else {
        name.to_string()
    }
}

/// The unit type (plain form) a type word stands for: "p." → "phuong", "tt" → "thi tran".
pub fn type_of_word(word: &str) -> Option<&'static str> {
    Some(match word {
        "tinh" => "tinh",
        "thanh pho" | "tp." | "tp" | "thanh pho truc thuoc trung uong" => "thanh pho",
        "quan" | "q." => "quan",
        "huyen" | "h." => "huyen",
        "thi xa" | "tx." | "tx" => "thi xa",
        "phuong" | "p." => "phuong",
        "xa" | "x." => "xa",
        "thi tran" | "tt." | "tt" => "thi tran",
        "dac khu" => "dac khu",
        _ => return None,
    })
}

/// Levenshtein distance on characters, for suggestions.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j + 1] + 1)
                .min(cur[j] + 1)
                .min(prev[j] + usize::from(ca != *cb));
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_form_case_and_tone_placement_but_not_tones() {
        assert_eq!(key("Thuỷ"), key("Thủy"));
        assert_eq!(key("Hoà Bình"), key("HÒA  BÌNH"));
        assert_eq!(key("Nguye\u{302}\u{303}n"), key("Nguyễn"));
        assert_ne!(key("Hà"), key("Hạ"));
        assert_ne!(key("Ô"), key("O"));
        assert_eq!(plain("Đắk Lắk"), "dak lak");
    }

    #[test]
    fn type_words_and_number_wards_are_stripped() {
        assert_eq!(
            strip_type("Thành phố Hà Nội"),
            (Some("thanh pho"), "Hà Nội".into())
        );
        assert_eq!(
            strip_type("TP. Hồ Chí Minh"),
            (Some("tp."), "Hồ Chí Minh".into())
        );
        assert_eq!(strip_type("Tp Huế"), (Some("tp"), "Huế".into()));
        assert_eq!(strip_type("Q. Ba Đình"), (Some("q."), "Ba Đình".into()));
        assert_eq!(strip_type("P.1"), (Some("p."), "1".into()));
        assert_eq!(strip_type("Phường 01"), (Some("phuong"), "1".into()));
        assert_eq!(strip_type("Xã Cẩm Thạch"), (Some("xa"), "Cẩm Thạch".into()));
        assert_eq!(
            strip_type("Thị trấn Nghèn"),
            (Some("thi tran"), "Nghèn".into())
        );
        // "Xá" alone, or a name that merely starts with the letters of a type word, keeps them.
        assert_eq!(strip_type("Phúc Xá"), (None, "Phúc Xá".into()));
        assert_eq!(strip_type("Quang Trung"), (None, "Quang Trung".into()));
        assert_eq!(strip_type("Tiên Phong"), (None, "Tiên Phong".into()));
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("hong ha", "hong ha"), 0);
        assert_eq!(distance("hong ha", "hong hai"), 1);
        assert_eq!(distance("", "abc"), 3);
    }
}
