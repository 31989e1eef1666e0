//! What a spreadsheet cell holds, typed until the writer, and the Excel profiles that decide how
//! each type is spelled in a CSV: the facts stay numbers and times so an XLSX gets real cells and
//! a CSV gets the separators its reader's Excel expects.

use std::borrow::Cow;

use chrono::{Datelike as _, NaiveDateTime, Timelike as _};

/// The Excel a file is meant for: its list separator, decimal mark and date spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Russian Excel: `;` between cells, a decimal comma, `DD.MM.YYYY HH:MM:SS`.
    Ru,
    /// Chinese Excel: `,` between cells, a decimal point, ISO dates.
    Zh,
    /// English Excel: as Chinese.
    En,
}

impl Profile {
    pub const ALL: [Profile; 3] = [Profile::Ru, Profile::Zh, Profile::En];

    pub fn parse(text: &str) -> Option<Profile> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ru" => Some(Profile::Ru),
            "zh" | "zh-cn" | "cn" => Some(Profile::Zh),
            "en" => Some(Profile::En),
            _ => None,
        }
    }

    /// The Excel the readers of a language have.
    pub fn for_language(language: ozontrack_domain::Language) -> Profile {
        use ozontrack_domain::Language;
        match language {
            Language::Ru => Profile::Ru,
            Language::Zh => Profile::Zh,
            Language::En => Profile::En,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Ru => "ru",
            Profile::Zh => "zh",
            Profile::En => "en",
        }
    }

    pub fn delimiter(self) -> u8 {
        match self {
            Profile::Ru => b';',
            Profile::Zh | Profile::En => b',',
        }
    }

    pub fn decimal_mark(self) -> u8 {
        match self {
            Profile::Ru => b',',
            Profile::Zh | Profile::En => b'.',
        }
    }

    /// How a CSV spells a date and time; Excel in that locale reads it back as a date.
    pub fn time_format(self) -> &'static str {
        match self {
            Profile::Ru => "%d.%m.%Y %H:%M:%S",
            Profile::Zh | Profile::En => "%Y-%m-%d %H:%M:%S",
        }
    }
}

/// One cell. Text that came from outside (a product name, a carrier's event text, a note) is
/// [`Cell::Text`] and is always neutralised; numbers and times ozontrack formats itself stay
/// typed, so `-474.00` is a number and not a formula guard's victim. A text borrows what it can
/// from the row it is made from: an export makes a million rows' cells.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Empty,
    Text(Cow<'a, str>),
    Int(i64),
    /// A number shown with this many decimals.
    Number(f64, u8),
    /// A wall-clock time, already in the zone the row states.
    Time(NaiveDateTime),
    /// An absolute URL (text in both formats; blue in XLSX).
    Link(Cow<'a, str>),
}

impl<'a> Cell<'a> {
    pub fn text(text: impl Into<Cow<'a, str>>) -> Cell<'a> {
        let text = text.into();
        if text.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(text)
        }
    }

    pub fn opt_text(text: Option<impl Into<Cow<'a, str>>>) -> Cell<'a> {
        text.map_or(Cell::Empty, Cell::text)
    }

    /// The cell's text in a CSV of this profile (what the tests compare a written file with).
    #[cfg(test)]
    pub(crate) fn csv(&self, profile: Profile) -> String {
        let mut field = Vec::new();
        self.write_csv(profile, &mut field);
        let inside = field.get(1..field.len() - 1).unwrap_or_default();
        String::from_utf8_lossy(inside).replace("\"\"", "\"")
    }

    /// Appends the cell to `out` as one CSV field of this profile (RFC 4180): between double
    /// quotes, a text's own quotes doubled, so a separator, a quote or a line break inside stays
    /// in the cell; text from outside neutralised. Spelled straight into the row: a spelling into
    /// a string of its own and a copy after were a sixth of the CSV writer's instructions.
    pub fn write_csv(&self, profile: Profile, out: &mut Vec<u8>) {
        out.push(b'"');
        match self {
            Cell::Empty => {}
            Cell::Text(text) | Cell::Link(text) => {
                if starts_formula(text) {
                    out.push(b'\'');
                }
                escaped(out, text);
            }
            Cell::Int(n) => out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes()),
            Cell::Number(x, decimals) => {
                let mark = profile.decimal_mark();
                match scaled(*x, *decimals) {
                    Some(units) => {
                        spell_fixed(out, x.is_sign_negative(), units, *decimals, mark);
                    }
                    None => out.extend(
                        format!("{x:.prec$}", prec = usize::from(*decimals))
                            .bytes()
                            .map(|b| if b == b'.' { mark } else { b }),
                    ),
                }
            }
            // Written out rather than through `time_format`'s pattern, which chrono would parse
            // again for every cell, and into the pattern's bytes two digits at a time (see
            // `time_digits`): `core::fmt`'s padded integers were a sixth of the CSV writer's time,
            // `itoa`'s a tenth (five times a row). A test holds both spellings equal to the
            // pattern.
            Cell::Time(t) => match time_digits(*t, profile) {
                Some(digits) => out.extend_from_slice(&digits),
                // A year before 0 or after 9999: the pattern's own spelling.
                None => {
                    out.extend_from_slice(t.format(profile.time_format()).to_string().as_bytes());
                }
            },
        }
        out.push(b'"');
    }
}

/// `text` with each of its quotes doubled. Few cells hold a quote.
fn escaped(out: &mut Vec<u8>, text: &str) {
    if has_quote(text.as_bytes()) {
        for piece in text.split_inclusive('"') {
            out.extend_from_slice(piece.as_bytes());
            if piece.ends_with('"') {
                out.push(b'"');
            }
        }
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

/// Whether `bytes` hold a double quote, looked for eight bytes at a time in a word: a cell is a
/// few dozen bytes, where `memchr`'s set-up for each cell was a tenth of the CSV writer's
/// instructions, and a search byte by byte a twentieth of its time.
fn has_quote(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_ne_bytes([b'"'; 8]);
    // A byte of the word is a quote when that byte of `x` is zero, which this finds exactly.
    let quote_in = |word: &[u8; 8]| {
        let x = u64::from_ne_bytes(*word) ^ QUOTES;
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    };
    let (words, rest) = bytes.as_chunks::<8>();
    words.iter().any(quote_in) || rest.contains(&b'"')
}

/// `t` spelled as the profile's [`time_format`](Profile::time_format) spells it, when its year
/// has four digits.
fn time_digits(t: NaiveDateTime, profile: Profile) -> Option<[u8; 19]> {
    let (d, h) = (t.date(), t.time());
    let year = u32::try_from(d.year()).ok().filter(|y| *y <= 9999)?;
    let (mut out, [day, month, year_high, year_low]): (_, [usize; 4]) = match profile {
        Profile::Ru => (*b"00.00.0000 00:00:00", [0, 3, 6, 8]),
        Profile::Zh | Profile::En => (*b"0000-00-00 00:00:00", [8, 5, 0, 2]),
    };
    for (at, n) in [
        (day, d.day()),
        (month, d.month()),
        (year_high, year / 100),
        (year_low, year % 100),
        (11, h.hour()),
        (14, h.minute()),
        (17, h.second()),
    ] {
        let pair = (n as usize % 100) * 2;
        out[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    Some(out)
}

/// "00" to "99" one after the other: a time's fields are spelled two digits at a time, where a
/// digit at a time was a sixth of the CSV writer's instructions.
const DIGIT_PAIRS: [u8; 200] = {
    let mut pairs = [0u8; 200];
    let mut n = 0;
    while n < 100 {
        pairs[2 * n] = b'0' + (n / 10) as u8;
        pairs[2 * n + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    pairs
};

/// `|x|` in units of the last of `decimals` decimals, rounded as `format!("{x:.decimals$}")`
/// rounds it, when that is certain without its exact expansion: `x` times the power of ten is
/// below 10^8 (so it is off by under 10^-8) and not within 10^-6 of a half. Else `None`, and
/// the caller spells it through `core::fmt`, whose exact algorithm was a tenth of a CSV row.
fn scaled(x: f64, decimals: u8) -> Option<u64> {
    if decimals > 6 || !x.is_finite() {
        return None;
    }
    let units = (x * 10f64.powi(i32::from(decimals))).abs();
    if units >= 1e8 || (units.fract() - 0.5).abs() < 1e-6 {
        return None;
    }
    // Below 10^8 and not negative: a u64 holds it exactly.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some(units.round() as u64)
}

/// Appends `units` (of the last of `decimals` decimals) as a number with `mark` before its
/// decimals, its sign as `core::fmt` writes it (a negative that rounds to zero stays `-0.0`).
fn spell_fixed(out: &mut Vec<u8>, negative: bool, units: u64, decimals: u8, mark: u8) {
    let scale = 10u64.pow(u32::from(decimals));
    if negative {
        out.push(b'-');
    }
    padded(out, units / scale, 1);
    if decimals > 0 {
        out.push(mark);
        padded(out, units % scale, usize::from(decimals));
    }
}

/// Appends `n` in at least `width` digits, zeros in front.
fn padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n);
    out.resize(out.len() + width.saturating_sub(digits.len()), b'0');
    out.extend_from_slice(digits.as_bytes());
}

/// The first characters that make a spreadsheet read a cell as a formula or split it: OWASP's
/// list and ASVS 5.0 V1.2.10's, together.
const FORMULA_STARTS: [char; 8] = ['=', '+', '-', '@', '\t', '\r', '\n', '\0'];

/// Text from outside made inert in Excel terms: a leading formula character gets a `'` in front
/// (prefixed, never stripped, so nothing the seller wrote is lost). Quoting every CSV cell keeps
/// an embedded separator or quote inside its cell.
pub fn neutralised(text: &str) -> Cow<'_, str> {
    if starts_formula(text) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Whether `text` starts with one of [`FORMULA_STARTS`]. Every one of them is ASCII: the first
/// byte tells, without decoding the first character.
fn starts_formula(text: &str) -> bool {
    text.as_bytes()
        .first()
        .is_some_and(|b| FORMULA_STARTS.contains(&char::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_profile_spells_numbers_and_times_for_its_excel() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 3, 7)
            .and_then(|d| d.and_hms_opt(9, 5, 0))
            .unwrap();
        assert_eq!(Cell::Number(1013.3, 2).csv(Profile::Ru), "1013,30");
        assert_eq!(Cell::Number(1013.3, 2).csv(Profile::Zh), "1013.30");
        assert_eq!(Cell::Number(-474.0, 2).csv(Profile::En), "-474.00");
        assert_eq!(Cell::Time(t).csv(Profile::Ru), "07.03.2026 09:05:00");
        assert_eq!(Cell::Time(t).csv(Profile::Zh), "2026-03-07 09:05:00");
    }

    #[test]
    fn hostile_text_is_prefixed_and_kept_whole() {
        for hostile in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "\nx",
        ] {
            assert_eq!(neutralised(hostile), format!("'{hostile}"));
        }
        assert_eq!(neutralised("Москва"), "Москва");
        assert_eq!(neutralised("a=b"), "a=b");
    }

    proptest! {
        #[test]
        fn a_time_cell_reads_as_its_profiles_pattern_says(
            secs in prop_oneof![0i64..4_102_444_800, -8_000_000_000_000i64..8_000_000_000_000],
            ru in any::<bool>(),
        ) {
            let t = chrono::DateTime::from_timestamp(secs, 0).unwrap().naive_utc();
            let profile = if ru { Profile::Ru } else { Profile::En };
            prop_assert_eq!(
                Cell::Time(t).csv(profile),
                t.format(profile.time_format()).to_string()
            );
        }

        #[test]
        fn a_number_cell_reads_as_core_fmt_rounds_it(
            x in prop_oneof![
                -2e6f64..2e6,
                (-2_000_000i64..2_000_000).prop_map(|n| n as f64 / 1000.0),
                (0i64..20_000).prop_map(|minutes| minutes as f64 / 1440.0),
                any::<f64>(),
            ],
            decimals in 0u8..=2,
        ) {
            let expected = format!("{x:.prec$}", prec = usize::from(decimals));
            prop_assert_eq!(Cell::Number(x, decimals).csv(Profile::En), expected.clone());
            prop_assert_eq!(Cell::Number(x, decimals).csv(Profile::Ru), expected.replace('.', ","));
        }

        #[test]
        fn a_quote_is_found_wherever_it_is(text in "[^\"]{0,40}", at in 0usize..41) {
            prop_assert!(!has_quote(text.as_bytes()));
            let at = text.char_indices().map(|(i, _)| i).chain([text.len()]).nth(at).unwrap_or(0);
            let quoted = format!("{}\"{}", &text[..at], &text[at..]);
            prop_assert!(has_quote(quoted.as_bytes()));
        }

        #[test]
        fn no_neutralised_text_starts_a_formula(text in ".*") {
            let out = neutralised(&text);
            prop_assert!(!out.starts_with(FORMULA_STARTS));
            prop_assert!(out.ends_with(text.as_str()));
        }
    }
}
