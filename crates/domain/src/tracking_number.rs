//! Tracking numbers and the formats whose check digits let us tell a typo from a real number:
//! UPU S10 (international postal) and the Russian Post 14-digit domestic number.

use std::fmt;

use crate::ParseError;

/// A carrier's tracking number: trimmed, upper-cased, 4 to 40 ASCII letters and digits
/// (some consolidators use `-`). Whether it is *plausible for a carrier* is a separate
/// question, answered by [`TrackingNumber::format`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackingNumber(String);

/// What a tracking number's shape says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrackingFormat {
    /// UPU S10: two letters of service, eight digits, a valid check digit, the issuing
    /// post's ISO country code (e.g. `RB123456785GB`).
    S10 { service: String, country: String },
    /// Russian Post domestic (ШПИ): 14 digits with a valid check digit.
    RussianPostDomestic,
    /// Any other shape; only the carrier's own API can say whether it is real.
    Other,
}

impl TrackingNumber {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let normalized = text.trim().to_ascii_uppercase();
        if !(4..=40).contains(&normalized.len()) {
            return Err(ParseError::new(
                "tracking number",
                text,
                "expected 4 to 40 characters",
            ));
        }
        if !normalized
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(ParseError::new(
                "tracking number",
                text,
                "expected only latin letters, digits and '-'",
            ));
        }
        Ok(Self(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Recognizes the formats that carry a check digit. A number that has the *shape* of S10
    /// or of a Russian Post number but a wrong check digit is `Other`, since it is not a valid
    /// number of that format.
    pub fn format(&self) -> TrackingFormat {
        if let Some(format) = s10(&self.0) {
            return format;
        }
        if russian_post_domestic_is_valid(&self.0) {
            return TrackingFormat::RussianPostDomestic;
        }
        TrackingFormat::Other
    }
}

impl fmt::Display for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the check digit says about a number shaped like one a post issued under UPU S10.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S10Check {
    Valid,
    /// The check digit does not match: a typo, or a number that was never issued.
    WrongCheckDigit {
        country: String,
    },
}

impl TrackingNumber {
    /// For a number with the shape of an S10 number of a post — two letters, nine digits and
    /// an ISO 3166 country code — whether its check digit holds. `None` for every other shape,
    /// including carriers' numbers that borrow the shape with a suffix that is no country
    /// (Yanwen's `…YP`): those carry no S10 check digit.
    pub fn s10_check(&self) -> Option<S10Check> {
        let bytes = self.0.as_bytes();
        let shaped = bytes.len() == 13
            && bytes[..2].iter().all(u8::is_ascii_uppercase)
            && bytes[2..11].iter().all(u8::is_ascii_digit)
            && is_country(&self.0[11..]);
        if !shaped {
            return None;
        }
        Some(match s10(&self.0) {
            Some(_) => S10Check::Valid,
            None => S10Check::WrongCheckDigit {
                country: self.0[11..].to_owned(),
            },
        })
    }
}

/// Whether `code` is an ISO 3166-1 alpha-2 country code (the suffix of an S10 number).
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split_ascii_whitespace().any(|c| c == code)
}

/// ISO 3166-1 alpha-2, all 249 codes.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE \
     BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD \
     CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM \
     DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF \
     GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU \
     ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN \
     KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME \
     MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA \
     NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM \
     PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI \
     SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK \
     TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI \
     VN VU WF WS YE YT ZA ZM ZW";

const S10_WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];

/// The S10 check digit of an 8-digit serial. UPU's rule: C = 11 − (S mod 11), where 10 becomes
/// 0 and 11 becomes 5. Note that remainders 0 and 6 both give 5, so S10 does not catch every
/// single-digit error.
pub fn s10_check_digit(serial: &[u8; 8]) -> u8 {
    let sum: u32 = serial
        .iter()
        .zip(S10_WEIGHTS)
        .map(|(d, w)| u32::from(*d) * w)
        .sum();
    match 11 - (sum % 11) {
        10 => 0,
        11 => 5,
        // 1..=9 fit in a u8.
        c => c as u8,
    }
}

fn s10(text: &str) -> Option<TrackingFormat> {
    let bytes = text.as_bytes();
    if bytes.len() != 13 {
        return None;
    }
    let letters = |r: std::ops::Range<usize>| bytes[r].iter().all(u8::is_ascii_uppercase);
    let digits = bytes[2..11].iter().all(u8::is_ascii_digit);
    if !(letters(0..2) && digits && letters(11..13)) {
        return None;
    }
    let mut serial = [0u8; 8];
    for (slot, b) in serial.iter_mut().zip(&bytes[2..10]) {
        *slot = b - b'0';
    }
    if s10_check_digit(&serial) != bytes[10] - b'0' {
        return None;
    }
    Some(TrackingFormat::S10 {
        service: text[0..2].to_owned(),
        country: text[11..13].to_owned(),
    })
}

/// The check digit of the first 13 digits of a Russian Post domestic number: odd positions
/// (1st, 3rd, …, 13th) weigh 3, even ones 1, and the check digit brings the sum to a multiple
/// of 10.
pub fn russian_post_check_digit(first13: &[u8; 13]) -> u8 {
    let sum: u32 = first13
        .iter()
        .enumerate()
        .map(|(i, d)| u32::from(*d) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    // A value below 10 fits in a u8.
    ((10 - sum % 10) % 10) as u8
}

fn russian_post_domestic_is_valid(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != 14 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut first13 = [0u8; 13];
    for (slot, b) in first13.iter_mut().zip(bytes) {
        *slot = b - b'0';
    }
    russian_post_check_digit(&first13) == bytes[13] - b'0'
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn format_of(text: &str) -> TrackingFormat {
        TrackingNumber::parse(text).unwrap().format()
    }

    #[test]
    fn the_upu_worked_example_is_a_valid_s10_number() {
        assert_eq!(
            format_of("RB123456785GB"),
            TrackingFormat::S10 {
                service: "RB".into(),
                country: "GB".into()
            }
        );
    }

    #[test]
    fn s10_check_digit_maps_ten_to_zero_and_eleven_to_five() {
        // Wikipedia's 47312482 has the sum 200, remainder 2, check digit 9.
        assert_eq!(s10_check_digit(&[4, 7, 3, 1, 2, 4, 8, 2]), 9);
        // A sum that is a multiple of 11 gives 11 - 0 = 11, written as 5.
        assert_eq!(s10_check_digit(&[0, 0, 0, 0, 0, 0, 0, 0]), 5);
        // A remainder of 1 gives 10, written as 0: 8 * 1 = 8 ≡ 8, so use 6 * 2 = 12 ≡ 1.
        assert_eq!(s10_check_digit(&[0, 2, 0, 0, 0, 0, 0, 0]), 0);
    }

    #[test]
    fn s10_numbers_are_read_in_any_case_and_with_spaces_around() {
        assert!(matches!(
            format_of("  rb123456785gb "),
            TrackingFormat::S10 { .. }
        ));
    }

    #[test]
    fn an_s10_shape_with_a_wrong_check_digit_is_not_s10() {
        assert_eq!(format_of("RB123456784GB"), TrackingFormat::Other);
    }

    #[test]
    fn a_russian_post_number_with_a_valid_check_digit_is_recognized() {
        let first13 = [1, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6];
        let check = russian_post_check_digit(&first13);
        let text: String = first13
            .iter()
            .chain([&check])
            .map(|d| char::from(b'0' + d))
            .collect();
        assert_eq!(format_of(&text), TrackingFormat::RussianPostDomestic);
    }

    #[test]
    fn an_s10_shape_is_checked_whenever_its_suffix_is_a_country_and_never_otherwise() {
        let check = |text: &str| TrackingNumber::parse(text).unwrap().s10_check();
        assert_eq!(check("RB123456785GB"), Some(S10Check::Valid));
        assert_eq!(
            check("RB123456786US"),
            Some(S10Check::WrongCheckDigit {
                country: "US".into()
            })
        );
        assert_eq!(
            check("AA473124828GB"),
            Some(S10Check::WrongCheckDigit {
                country: "GB".into()
            })
        );
        // Yanwen borrows the shape with a suffix that is no country: nothing to check.
        assert_eq!(check("UG123456789YP"), None);
        assert_eq!(check("LP00123456789012"), None);
    }

    #[test]
    fn the_country_list_holds_all_249_codes_once_each() {
        let codes: Vec<&str> = COUNTRIES.split_ascii_whitespace().collect();
        assert_eq!(codes.len(), 249);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 249);
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "kept sorted");
        assert!(is_country("CN") && is_country("RU") && !is_country("YP") && !is_country("C"));
    }

    #[test]
    fn other_shapes_are_accepted_but_unrecognized() {
        assert_eq!(format_of("YT2312345678901234"), TrackingFormat::Other);
        assert_eq!(format_of("4PX3001518625089CN"), TrackingFormat::Other);
    }

    #[test]
    fn tracking_numbers_with_other_characters_are_rejected() {
        assert!(TrackingNumber::parse("RB 123").is_err());
        assert!(TrackingNumber::parse("абв12345").is_err());
        assert!(TrackingNumber::parse("ab").is_err());
    }

    fn s10_text(service: &str, serial: [u8; 8], country: &str) -> String {
        let check = s10_check_digit(&serial);
        let digits: String = serial
            .iter()
            .chain([&check])
            .map(|d| char::from(b'0' + d))
            .collect();
        format!("{service}{digits}{country}")
    }

    fn s10_remainder(serial: &[u8]) -> u32 {
        serial
            .iter()
            .zip(S10_WEIGHTS)
            .map(|(d, w)| u32::from(*d) * w)
            .sum::<u32>()
            % 11
    }

    proptest! {
        #[test]
        fn any_generated_s10_number_is_valid(
            service in "[A-Z]{2}", serial in proptest::array::uniform8(0u8..10), country in "[A-Z]{2}",
        ) {
            let is_s10 = matches!(format_of(&s10_text(&service, serial, &country)), TrackingFormat::S10 { .. });
            prop_assert!(is_s10);
        }

        // UPU maps remainders 0 and 6 to the same check digit 5, so a change that moves the
        // weighted sum between those two remainders cannot be seen; every other single-digit
        // change must be rejected.
        #[test]
        fn an_s10_number_with_one_digit_changed_is_rejected_unless_the_check_digit_aliases(
            serial in proptest::array::uniform8(0u8..10),
            position in 2usize..11,
            delta in 1u8..10,
        ) {
            let valid = s10_text("RR", serial, "CN");
            let mut bytes = valid.clone().into_bytes();
            bytes[position] = b'0' + (bytes[position] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes.clone()).unwrap();
            let new_serial: Vec<u8> = bytes[2..10].iter().map(|b| b - b'0').collect();
            let aliases = position < 10
                && [0, 6].contains(&s10_remainder(&serial))
                && [0, 6].contains(&s10_remainder(&new_serial));
            let accepted = matches!(format_of(&changed), TrackingFormat::S10 { .. });
            prop_assert_eq!(accepted, aliases, "{} -> {}", valid, changed);
        }

        #[test]
        fn an_s10_number_of_any_country_with_a_wrong_check_digit_gets_that_verdict(
            service in "[A-Z]{2}",
            serial in proptest::array::uniform8(0u8..10),
            country in proptest::sample::select(COUNTRIES.split_ascii_whitespace().collect::<Vec<_>>()),
            delta in 1u8..10,
        ) {
            let valid = s10_text(&service, serial, country);
            prop_assert_eq!(TrackingNumber::parse(&valid).unwrap().s10_check(), Some(S10Check::Valid));
            let mut bytes = valid.into_bytes();
            bytes[10] = b'0' + (bytes[10] - b'0' + delta) % 10;
            let wrong = TrackingNumber::parse(std::str::from_utf8(&bytes).unwrap()).unwrap();
            prop_assert_eq!(wrong.s10_check(), Some(S10Check::WrongCheckDigit { country: country.to_owned() }));
        }

        #[test]
        fn a_russian_post_number_with_one_digit_changed_is_rejected(
            first13 in proptest::array::uniform13(0u8..10),
            position in 0usize..14,
            delta in 1u8..10,
        ) {
            let check = russian_post_check_digit(&first13);
            let mut digits: Vec<u8> = first13.iter().chain([&check]).copied().collect();
            digits[position] = (digits[position] + delta) % 10;
            let changed: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assert_ne!(format_of(&changed), TrackingFormat::RussianPostDomestic);
        }

        #[test]
        fn parsing_never_panics_on_arbitrary_text(text in "\\PC{0,50}") {
            let _ = TrackingNumber::parse(&text).map(|n| n.format());
        }
    }
}
