//! What a spreadsheet cell holds, typed until the writer, and the Excel profiles that decide how
//! each type is spelled in a CSV: the facts stay numbers and times so an XLSX gets real cells and
//! a CSV gets the separators its reader's Excel expects.

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
/// typed, so `-474.00` is a number and not a formula guard's victim.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Int(i64),
    /// A number shown with this many decimals.
    Number(f64, u8),
    /// A wall-clock time, already in the zone the row states.
    Time(NaiveDateTime),
    /// An absolute URL (text in both formats; blue in XLSX).
    Link(String),
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        let text = text.into();
        if text.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(text)
        }
    }

    pub fn opt_text(text: Option<impl Into<String>>) -> Cell {
        text.map_or(Cell::Empty, Cell::text)
    }

    /// The cell as CSV text in this profile (what the tests compare a written file with).
    #[cfg(test)]
    pub(crate) fn csv(&self, profile: Profile) -> String {
        self.csv_in(profile, &mut String::new()).to_owned()
    }

    /// The cell as CSV text in this profile: its own text when that needs no change, else
    /// spelled into `scratch`. A writer keeps one scratch for every cell, so a row of text costs
    /// no allocation.
    pub fn csv_in<'a>(&'a self, profile: Profile, scratch: &'a mut String) -> &'a str {
        use std::fmt::Write as _;
        scratch.clear();
        // Writing to a String cannot fail.
        let _ = match self {
            Cell::Empty => Ok(()),
            Cell::Text(text) | Cell::Link(text) => match neutralised(text) {
                std::borrow::Cow::Borrowed(text) => return text,
                std::borrow::Cow::Owned(guarded) => {
                    *scratch = guarded;
                    Ok(())
                }
            },
            Cell::Int(n) => write!(scratch, "{n}"),
            Cell::Number(x, decimals) => {
                let written = write!(scratch, "{x:.prec$}", prec = usize::from(*decimals));
                if profile.decimal_mark() != '.'
                    && let Some(dot) = scratch.find('.')
                {
                    scratch.replace_range(dot..=dot, ",");
                }
                written
            }
            // Written out rather than through `time_format`'s pattern, which chrono would parse
            // again for every cell (a few per cent of a CSV export); a test holds them equal.
            Cell::Time(t) => {
                let (d, h) = (t.date(), t.time());
                let (year, month, day) = (d.year(), d.month(), d.day());
                let (hour, minute, second) = (h.hour(), h.minute(), h.second());
                match profile {
                    Profile::Ru => write!(
                        scratch,
                        "{day:02}.{month:02}.{year:04} {hour:02}:{minute:02}:{second:02}"
                    ),
                    Profile::Zh | Profile::En => write!(
                        scratch,
                        "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}"
                    ),
                }
            }
        };
        scratch
    }
}

/// The first characters that make a spreadsheet read a cell as a formula or split it: OWASP's
/// list and ASVS 5.0 V1.2.10's, together.
const FORMULA_STARTS: [char; 8] = ['=', '+', '-', '@', '\t', '\r', '\n', '\0'];

/// Text from outside made inert in Excel terms: a leading formula character gets a `'` in front
/// (prefixed, never stripped, so nothing the seller wrote is lost). Quoting every CSV cell keeps
/// an embedded separator or quote inside its cell.
pub fn neutralised(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(FORMULA_STARTS) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
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
            secs in 0i64..4_102_444_800,
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
        fn no_neutralised_text_starts_a_formula(text in ".*") {
            let out = neutralised(&text);
            prop_assert!(!out.starts_with(FORMULA_STARTS));
            prop_assert!(out.ends_with(text.as_str()));
        }
    }
}
