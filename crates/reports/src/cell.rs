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

    pub fn decimal_mark(self) -> char {
        match self {
            Profile::Ru => ',',
            Profile::Zh | Profile::En => '.',
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

    /// Whether the cell holds text from outside: the others are spelled by ozontrack (digits,
    /// signs, separators) and never hold a quote.
    pub fn is_text(&self) -> bool {
        matches!(self, Cell::Text(_) | Cell::Link(_))
    }

    /// The cell as CSV text in this profile (what the tests compare a written file with).
    #[cfg(test)]
    pub(crate) fn csv(&self, profile: Profile) -> String {
        self.csv_in(profile, &mut String::new()).to_owned()
    }

    /// The cell as CSV text in this profile: its own text when that needs no change, else
    /// spelled into `scratch`. A writer keeps one scratch for every cell, so a row of text costs
    /// no allocation.
    pub fn csv_in<'s>(&'s self, profile: Profile, scratch: &'s mut String) -> &'s str {
        use std::fmt::Write as _;
        scratch.clear();
        // Writing to a String cannot fail.
        let _ = match self {
            Cell::Empty => Ok(()),
            Cell::Text(text) | Cell::Link(text) => match neutralised(text) {
                Cow::Borrowed(text) => return text,
                Cow::Owned(guarded) => {
                    *scratch = guarded;
                    Ok(())
                }
            },
            Cell::Int(n) => {
                scratch.push_str(itoa::Buffer::new().format(*n));
                Ok(())
            }
            Cell::Number(x, decimals) => {
                let written = match scaled(*x, *decimals) {
                    Some(units) => {
                        spell_fixed(scratch, x.is_sign_negative(), units, *decimals);
                        Ok(())
                    }
                    None => write!(scratch, "{x:.prec$}", prec = usize::from(*decimals)),
                };
                if profile.decimal_mark() != '.'
                    && let Some(dot) = scratch.find('.')
                {
                    scratch.replace_range(dot..=dot, ",");
                }
                written
            }
            // Written out rather than through `time_format`'s pattern, which chrono would parse
            // again for every cell, and digit by digit into the pattern's bytes: `core::fmt`'s
            // padded integers were a sixth of the CSV writer's time, `itoa`'s a tenth (five times
            // a row). A test holds both spellings equal to the pattern.
            Cell::Time(t) => match time_digits(*t, profile) {
                // The pattern and the digits are ASCII.
                Some(digits) => {
                    scratch.push_str(std::str::from_utf8(&digits).unwrap_or_default());
                    Ok(())
                }
                // A year before 0 or after 9999: the pattern's own spelling.
                None => write!(scratch, "{}", t.format(profile.time_format())),
            },
        };
        scratch
    }
}

/// `t` spelled as the profile's [`time_format`](Profile::time_format) spells it, when its year
/// has four digits.
fn time_digits(t: NaiveDateTime, profile: Profile) -> Option<[u8; 19]> {
    let (d, h) = (t.date(), t.time());
    let year = u32::try_from(d.year()).ok().filter(|y| *y <= 9999)?;
    let (mut out, date) = match profile {
        Profile::Ru => (
            *b"00.00.0000 00:00:00",
            [(0, d.day(), 2), (3, d.month(), 2), (6, year, 4)],
        ),
        Profile::Zh | Profile::En => (
            *b"0000-00-00 00:00:00",
            [(0, year, 4), (5, d.month(), 2), (8, d.day(), 2)],
        ),
    };
    let time = [(11, h.hour(), 2), (14, h.minute(), 2), (17, h.second(), 2)];
    for (at, mut n, width) in date.into_iter().chain(time) {
        for digit in out[at..at + width].iter_mut().rev() {
            *digit = b"0123456789"[(n % 10) as usize];
            n /= 10;
        }
    }
    Some(out)
}

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

/// Appends `units` (of the last of `decimals` decimals) as a number with a point, its sign as
/// `core::fmt` writes it (a negative that rounds to zero stays `-0.0`).
fn spell_fixed(out: &mut String, negative: bool, units: u64, decimals: u8) {
    let scale = 10u64.pow(u32::from(decimals));
    if negative {
        out.push('-');
    }
    padded(out, units / scale, 1);
    if decimals > 0 {
        out.push('.');
        padded(out, units % scale, usize::from(decimals));
    }
}

/// Appends `n` in at least `width` digits, zeros in front.
fn padded(out: &mut String, n: impl Into<u64>, width: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n.into());
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(digits);
}

/// The first characters that make a spreadsheet read a cell as a formula or split it: OWASP's
/// list and ASVS 5.0 V1.2.10's, together.
const FORMULA_STARTS: [char; 8] = ['=', '+', '-', '@', '\t', '\r', '\n', '\0'];

/// Text from outside made inert in Excel terms: a leading formula character gets a `'` in front
/// (prefixed, never stripped, so nothing the seller wrote is lost). Quoting every CSV cell keeps
/// an embedded separator or quote inside its cell.
pub fn neutralised(text: &str) -> Cow<'_, str> {
    // Every one of them is ASCII: the first byte tells, without decoding the first character.
    if text
        .as_bytes()
        .first()
        .is_some_and(|b| FORMULA_STARTS.contains(&char::from(*b)))
    {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
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
        fn no_neutralised_text_starts_a_formula(text in ".*") {
            let out = neutralised(&text);
            prop_assert!(!out.starts_with(FORMULA_STARTS));
            prop_assert!(out.ends_with(text.as_str()));
        }
    }
}
