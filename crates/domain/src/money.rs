//! Money as integer minor units plus a currency, never floating point: Ozon sends prices as
//! decimal strings ("1530.0000") and a kopeck lost to rounding is a dispute lost.

use std::fmt;

use crate::ParseError;

closed_enum! {
    /// The currencies Ozon settles in, by ISO 4217 code.
    pub enum Currency ("currency") {
        Rub => "RUB",
        Cny => "CNY",
        Usd => "USD",
        Eur => "EUR",
        Byn => "BYN",
        Kzt => "KZT",
    }
}

impl Currency {
    /// The ISO 4217 code.
    pub fn code(self) -> &'static str {
        self.as_str()
    }

    /// Digits after the decimal point (ISO 4217 minor unit); 2 for every currency Ozon uses.
    pub fn exponent(self) -> u32 {
        2
    }
}

/// An amount in minor units (kopecks, fen, cents) of one currency; as JSON,
/// `{"minor": 1176000, "currency": "RUB"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Parses a decimal amount such as `"1530.0000"`, `"-12.5"` or `"7"`. Digits beyond the
    /// currency's minor unit must be zeros: a price of `"1.005"` is refused, not rounded.
    pub fn parse_decimal(text: &str, currency: Currency) -> Result<Self, ParseError> {
        let raw = text.trim();
        let (negative, unsigned) = match raw.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(ParseError::new(
                "amount",
                text,
                "expected a decimal number like 1530.00",
            ));
        }
        let exponent = currency.exponent() as usize;
        let (kept, dropped) = fraction.split_at(fraction.len().min(exponent));
        if dropped.bytes().any(|b| b != b'0') {
            let reason = format!("{currency} has only {exponent} decimal places");
            return Err(ParseError::new("amount", text, reason));
        }
        let too_large = || ParseError::new("amount", text, "the amount is too large");
        let whole: i64 = whole.parse().map_err(|_| too_large())?;
        let mut cents: i64 = 0;
        for i in 0..exponent {
            let digit = kept.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
            cents = cents * 10 + digit;
        }
        let minor = whole
            .checked_mul(10_i64.pow(currency.exponent()))
            .and_then(|m| m.checked_add(cents))
            .ok_or_else(too_large)?;
        Ok(Self {
            minor: if negative { -minor } else { minor },
            currency,
        })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scale = 10_i64.pow(self.currency.exponent());
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        let scale = scale.unsigned_abs();
        let width = self.currency.exponent() as usize;
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            abs / scale,
            abs % scale,
            self.currency
        )
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn ozon_price_strings_become_kopecks() {
        let price = Money::parse_decimal("1530.0000", Currency::Rub).unwrap();
        assert_eq!(price, Money::from_minor(153_000, Currency::Rub));
        assert_eq!(Money::parse_decimal("7", Currency::Cny).unwrap().minor, 700);
        assert_eq!(
            Money::parse_decimal("-12.5", Currency::Usd).unwrap().minor,
            -1250
        );
    }

    #[test]
    fn sub_minor_amounts_are_refused_rather_than_rounded() {
        let err = Money::parse_decimal("1.005", Currency::Rub).unwrap_err();
        assert!(
            err.to_string().contains("RUB has only 2 decimal places"),
            "{err}"
        );
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for bad in ["", ".5", "1,5", "1e3", "--1", "١٢"] {
            assert!(Money::parse_decimal(bad, Currency::Rub).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_currencies_are_refused_with_the_list_of_known_ones() {
        let err = Currency::parse("JPY").unwrap_err();
        assert!(err.to_string().contains("RUB, CNY"), "{err}");
        assert_eq!(Currency::parse("rub").unwrap(), Currency::Rub);
    }

    #[test]
    fn money_displays_with_its_minor_digits() {
        assert_eq!(
            Money::from_minor(-5, Currency::Rub).to_string(),
            "-0.05 RUB"
        );
        assert_eq!(
            Money::from_minor(153_000, Currency::Cny).to_string(),
            "1530.00 CNY"
        );
    }

    proptest! {
        #[test]
        fn display_and_parse_round_trip(minor in -1_000_000_000_000i64..1_000_000_000_000) {
            let money = Money::from_minor(minor, Currency::Rub);
            let text = money.to_string();
            let amount = text.trim_end_matches(" RUB");
            prop_assert_eq!(Money::parse_decimal(amount, Currency::Rub).unwrap(), money);
        }
    }
}
