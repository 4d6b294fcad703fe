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
    "t.",
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

/// Type words as official names write them, with the space after them, and their plain form.
const OFFICIAL_TYPE_WORDS: [(&str, &str); 9] = [
    ("Thành phố ", "thanh pho"),
    ("Thị trấn ", "thi tran"),
    ("Thị xã ", "thi xa"),
    ("Đặc khu ", "dac khu"),
    ("Phường ", "phuong"),
    ("Huyện ", "huyen"),
    ("Quận ", "quan"),
    ("Tỉnh ", "tinh"),
    ("Xã ", "xa"),
];

fn is_tone(c: char) -> bool {
    matches!(c, '\u{300}' | '\u{301}' | '\u{303}' | '\u{309}' | '\u{323}')
}

/// A unit's tier: what a type word can stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Province,
    District,
    Commune,
}

/// The tiers a type word (plain form, as `strip_type` gives it) can name: "thành phố" is a
/// province or a district, "xã" only a commune.
pub fn levels_of_word(word: &str) -> &'static [Level] {
    use Level::*;
    match type_of_word(word) {
        Some("tinh") => &[Province],
        Some("thanh pho") => &[Province, District],
        Some("quan" | "huyen" | "thi xa") => &[District],
        Some("phuong" | "xa" | "thi tran" | "dac khu") => &[Commune],
        _ => &[Province, District, Commune],
    }
}

/// An address as the resolver reads it: Unicode NFC, spaces collapsed, no punctuation at its
/// ends (a clerk's trailing comma or full stop), no country at the end ("…, Việt Nam").
pub fn clean(text: &str) -> String {
    use unicode_normalization::{IsNormalized, is_nfc_quick};
    let nfc: std::borrow::Cow<str> = if is_nfc_quick(text.chars()) == IsNormalized::Yes {
        text.into()
    } else {
        text.nfc().collect::<String>().into()
    };
    let mut out = if nfc.contains("  ") || nfc.contains(|c: char| c.is_whitespace() && c != ' ') {
        nfc.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        nfc.into_owned()
    };
    loop {
        let trimmed = out
            .trim_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':'))
            .trim_end_matches('.')
            .trim();
        let done = trimmed.len() == out.len();
        if !done {
            out = trimmed.to_string();
        }
        if let Some(i) = out.rfind([',', ';'])
            && out.len() - i <= 16
        {
            let last = plain(&out[i + 1..]).replace([' ', '.'], "");
            if matches!(last.as_str(), "vietnam" | "vn") {
                out.truncate(i);
                continue;
            }
        }
        if done {
            return out;
        }
    }
}

/// A province written as clerks shorten it ("TP.HCM", "Tp HCM", "HCM", "TP.HN"), as its name.
pub fn province_alias(written: &str) -> Option<&'static str> {
    if written.len() > 24 {
        return None; // "Thành phố Hồ Chí Minh" needs no alias
    }
    let squashed: String = plain(written)
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect();
    Some(match squashed.as_str() {
        "tphcm" | "hcm" | "tphochiminh" | "hcmc" => "Thành phố Hồ Chí Minh",
        "tphn" | "hn" => "Thành phố Hà Nội",
        _ => return None,
    })
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

/// The key of a name with the spelling variants official sources differ by taken out, so that
/// variants of one name share it while other names keep theirs:
/// - spaces, hyphens and apostrophes between syllables: "Ea Bar" = "EaBar", "Ia H'Drai" =
///   "Ia HDrai";
/// - Roman and Arabic numerals: "IV" = "4" (a token of capital I, V and X, or a whole name);
/// - "NT" or "N.T" for "Nông trường";
/// - "i" and "y" alone after a consonant ("Sỹ"/"Sĩ", "Quý"/"Quí", "Vỹ"/"Vĩ"), and "Qư" for
///   "Qu" ("Qưới"/"Quới"): spellings of one syllable that official lists both use.
///
/// A misspelt Vietnamese syllable ("Hông" for "Hồng") keeps its own key. Names of the
/// Central Highlands' and the northern mountains' languages are matched more loosely by
/// `loose`.
pub fn variant(name: &str) -> String {
    let name: std::borrow::Cow<str> = if unicode_normalization::is_nfc(name) {
        name.into()
    } else {
        name.nfc().collect::<String>().into()
    };
    let tokens: Vec<&str> = name
        .split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .filter(|t| !t.is_empty())
        .collect();
    let whole = tokens.len() == 1;
    let mut joined = String::with_capacity(name.len() + 8);
    for t in tokens {
        let t: std::borrow::Cow<str> = if t.chars().any(is_apostrophe) {
            t.chars()
                .filter(|c| !is_apostrophe(*c))
                .collect::<String>()
                .into()
        } else {
            t.into()
        };
        if let Some(n) = roman(&t, whole) {
            joined.push_str(&n.to_string());
            continue;
        }
        if t.len() <= 4 && matches!(t.to_lowercase().as_str(), "nt" | "n.t" | "n.t.") {
            joined.push_str("nôngtrường");
            continue;
        }
        short_i(&t, &mut joined);
    }
    key(&normalise_number(&joined))
}

/// Whether a name holds a syllable Vietnamese spelling cannot make (an initial cluster such
/// as "Kr", "Dl", "Mr", "Bh"; a final "k", "h", "r", "l"; a letter twice in a row; a
/// consonant alone): it transcribes a language of the Central Highlands or the northern
/// mountains, whose marks, spaces and doubled letters sources write differently ("Đắk" /
/// "Đăk" / "Đak", "Krăi" / "KRai", "Choáh" / "Choah", "Lêê" / "Lê", "Cư K Róa" / "Cư Króa").
pub fn minority(name: &str) -> bool {
    let nfc: std::borrow::Cow<str> = if unicode_normalization::is_nfc(name) {
        name.into()
    } else {
        name.nfc().collect::<String>().into()
    };
    nfc.split(|c: char| c.is_whitespace() || c == '-' || c == '_')
        .map(|t| {
            t.chars()
                .filter(|c| !is_apostrophe(*c))
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|t| !t.is_empty())
        .any(|t| !vietnamese_syllable(&t))
}

/// The loose key of a name: letters only, no mark ("đ" as "d"), no space or apostrophe, a
/// letter twice in a row once. For names that `minority` finds: "Đa Krông" = "Đakrông",
/// "Ea Chà Rang" = "Eachà Rang", "Bha Lê" = "Bha Lêê".
pub fn loose(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last = None;
    for c in plain(name).replace('đ', "d").chars() {
        if c.is_whitespace() || c == '-' || c == '_' || is_apostrophe(c) {
            continue;
        }
        if Some(c) != last {
            out.push(c);
        }
        last = Some(c);
    }
    normalise_number(&out)
}

/// Onsets of Vietnamese syllables (marks aside), longest first.
const ONSETS: &[&str] = &[
    "ngh", "ng", "gh", "gi", "kh", "nh", "ph", "qu", "th", "tr", "ch", "b", "c", "d", "g", "h",
    "k", "l", "m", "n", "p", "r", "s", "t", "v", "x",
];

/// Finals of Vietnamese syllables after the vowels.
const FINALS: &[&str] = &["", "c", "ch", "m", "n", "ng", "nh", "p", "t"];

/// Whether a syllable (lower case, marks on) can be Vietnamese: an onset Vietnamese has, one
/// to three vowels and no vowel letter twice in a row (shapes counted: "ưu" is fine, "êê" is
/// not), and a final Vietnamese has.
fn vietnamese_syllable(token: &str) -> bool {
    // One pass over the decomposed letters: the bare letters (no mark, "đ" as "d") and
    // whether a vowel letter of one shape comes twice in a row ("ưu" is fine, "êê" is not).
    let mut bare = String::with_capacity(token.len());
    let mut doubled = false;
    let (mut last, mut last_shape, mut shape) = ('\0', '\0', '\0');
    let mut flush = |letter: char, shape: char, bare: &mut String, doubled: &mut bool| {
        if letter != '\0' {
            if is_vowel(letter) && letter == last && shape == last_shape {
                *doubled = true;
            }
            last = letter;
            last_shape = shape;
            bare.push(letter);
        }
    };
    let mut letter = '\0';
    for c in token.nfd() {
        match c {
            '\u{302}' | '\u{306}' | '\u{31b}' => shape = c,
            c if is_tone(c) => {}
            c => {
                flush(letter, shape, &mut bare, &mut doubled);
                shape = '\0';
                letter = match c.to_lowercase().next().unwrap_or(c) {
                    'đ' => 'd',
                    l => l,
                };
            }
        }
    }
    flush(letter, shape, &mut bare, &mut doubled);
    if bare.is_empty() || !bare.bytes().all(|b| b.is_ascii_lowercase()) {
        return true; // digits, dots: not a syllable to judge
    }
    let onset = ONSETS
        .iter()
        .find(|o| bare.starts_with(**o) && bare.len() > o.len())
        .map_or("", |o| *o);
    let rest = &bare[onset.len()..];
    let vowels = rest
        .bytes()
        .take_while(|&b| is_vowel(char::from(b)))
        .count();
    NUCLEI.contains(&&rest[..vowels]) && FINALS.contains(&&rest[vowels..]) && !doubled
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

/// The vowel groups of Vietnamese syllables, marks off ("ươ" as "uo"), after the onset ("qu"
/// and "gi" take their own vowel). "ea" is not among them: "Ea" is the Ê Đê word for water.
const NUCLEI: &[&str] = &[
    "a", "e", "i", "o", "u", "y", "ai", "ao", "au", "ay", "eo", "eu", "ia", "ie", "iu", "oa", "oe",
    "oi", "oo", "ua", "ue", "ui", "uo", "uu", "uy", "ye", "ieu", "oai", "oao", "oay", "oeo", "uay",
    "uoi", "uou", "uya", "uye", "uyu", "yeu",
];

/// A syllable with its tone marks taken off (the vowel shapes kept), lower case, NFC.
fn without_tones(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_tone(*c))
        .flat_map(char::to_lowercase)
        .nfc()
        .collect()
}

/// "y" alone after a consonant written "i" (its tone kept), and "qư" written "qu".
fn short_i(syllable: &str, out: &mut String) {
    // Only a syllable that ends in "y" (any tone), or has "qư", is written otherwise.
    let ends_in_y = syllable
        .chars()
        .last()
        .and_then(|c| c.nfd().next())
        .is_some_and(|b| b == 'y' || b == 'Y');
    let q_u_horn = syllable.contains("qư") || syllable.contains("Qư");
    if !ends_in_y && !q_u_horn {
        out.push_str(syllable);
        return;
    }
    let s = syllable.replacen("qư", "qu", 1).replacen("Qư", "Qu", 1);
    let shaped = without_tones(&s);
    let onset = ONSETS
        .iter()
        .find(|o| shaped.starts_with(**o) && shaped.len() > o.len())
        .map_or("", |o| *o);
    if !onset.is_empty() && &shaped[onset.len()..] == "y" {
        let i: String = s
            .nfd()
            .map(|c| match c {
                'y' => 'i',
                'Y' => 'I',
                c => c,
            })
            .nfc()
            .collect();
        out.push_str(&i);
        return;
    }
    out.push_str(&s);
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}' | '\u{2018}' | '\u{2bc}' | '`' | '\u{b4}'
    )
}

/// The value of a Roman numeral from 1 to 39: written in capitals, or in any case when it is
/// the whole name.
fn roman(token: &str, whole: bool) -> Option<u32> {
    if token.is_empty() || !(whole || token.chars().all(|c| matches!(c, 'I' | 'V' | 'X'))) {
        return None;
    }
    let digit = |c: char| match c.to_ascii_uppercase() {
        'I' => Some(1),
        'V' => Some(5),
        'X' => Some(10),
        _ => None,
    };
    let values: Vec<i64> = token.chars().map(digit).collect::<Option<_>>()?;
    // Read from the right: a smaller digit before a larger one is taken away (IV, IX).
    let mut total = 0i64;
    let mut largest = 0i64;
    for v in values.into_iter().rev() {
        if v < largest {
            total -= v;
        } else {
            total += v;
            largest = v;
        }
    }
    let canonical = to_roman(u32::try_from(total).ok()?)?;
    // Only the canonical spelling counts ("IIII" or "VX" is not a numeral).
    canonical
        .eq_ignore_ascii_case(token)
        .then_some(total as u32)
}

fn to_roman(mut n: u32) -> Option<String> {
    if n == 0 || n > 39 {
        return None;
    }
    let mut out = String::new();
    for (v, s) in [(10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")] {
        while n >= v {
            out.push_str(s);
            n -= v;
        }
    }
    Some(out)
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
    // The official type words, as the data writes them (NFC): no need to take marks off.
    for (official, word) in OFFICIAL_TYPE_WORDS {
        if let Some(rest) = trimmed.strip_prefix(official)
            && !rest.trim().is_empty()
            && !(word == "thanh pho" && plain(rest).starts_with("truc thuoc"))
        {
            return (Some(word), normalise_number(rest.trim()));
        }
    }
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
        // A mark written apart (decomposed text) belongs to the letter before it.
        if seen == wanted.len() && !('\u{300}'..='\u{36f}').contains(&c) {
            return &original[i..];
        }
        if c.is_whitespace() {
            continue;
        }
        // A letter, not a mark written apart.
        if c.nfd()
            .next()
            .is_some_and(|b| !('\u{300}'..='\u{36f}').contains(&b))
        {
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
