//! Identifiers that arrive as text from Ozon, files and people, parsed once so that the rest
//! of the code never re-checks them.

use std::fmt;
use std::str::FromStr;

use crate::ParseError;

/// An Ozon posting number: the order number plus a shipment index, `<order>-<n>`,
/// e.g. `0132112277-0101-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PostingNumber(String);

impl PostingNumber {
    /// Accepts dash-separated groups of ASCII digits, at least two of them (the order number
    /// has one or more groups, the shipment index is the last one).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let text = text.trim();
        check_digit_groups("posting number", text, 2)?;
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The order this posting belongs to: everything before the last dash.
    pub fn order_number(&self) -> OrderNumber {
        OrderNumber(self.order_part().to_owned())
    }

    /// The text of [`order_number`](Self::order_number), borrowed (an export spells it for
    /// every row).
    pub fn order_part(&self) -> &str {
        Self::order_part_of(&self.0)
    }

    /// [`order_part`](Self::order_part) of a posting number's text (an export's rows keep the
    /// texts of parsed numbers); a text without a dash is all order part.
    pub fn order_part_of(number: &str) -> &str {
        let cut = number.rfind('-').unwrap_or(number.len());
        &number[..cut]
    }
}

/// An Ozon order number, e.g. `0132112277-0101`; an order has one or more postings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderNumber(String);

impl OrderNumber {
    /// Accepts one or more dash-separated groups of ASCII digits.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let text = text.trim();
        check_digit_groups("order number", text, 1)?;
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn check_digit_groups(what: &'static str, text: &str, min_groups: usize) -> Result<(), ParseError> {
    if text.is_empty() {
        return Err(ParseError::new(what, text, "it is empty"));
    }
    if text.len() > 40 {
        return Err(ParseError::new(
            what,
            text,
            "it is longer than 40 characters",
        ));
    }
    let groups: Vec<&str> = text.split('-').collect();
    if groups
        .iter()
        .any(|g| g.is_empty() || !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(ParseError::new(
            what,
            text,
            "expected groups of digits separated by '-'",
        ));
    }
    if groups.len() < min_groups {
        let reason = format!("expected at least {min_groups} groups of digits separated by '-'");
        return Err(ParseError::new(what, text, reason));
    }
    Ok(())
}

/// Our id of a posting row.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct PostingId(pub i64);

/// Our id of a leg row.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct LegId(pub i64);

/// Our id of a notification destination (a robot, a chat, a mailbox, a webhook endpoint).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct DestinationId(pub i64);

/// Our own id of a connected Ozon seller account (a "store").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct StoreId(pub i64);

impl fmt::Display for StoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The name a seller gives a store in ozontrack: how commands and the dashboard refer to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreName(String);

impl StoreName {
    /// 1 to 64 characters after trimming, no control characters.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ParseError::new("store name", text, "it is empty"));
        }
        if text.chars().count() > 64 {
            return Err(ParseError::new(
                "store name",
                text,
                "it is longer than 64 characters",
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(ParseError::new(
                "store name",
                text,
                "it contains control characters",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StoreName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Ozon's seller account id, sent as the `Client-Id` header: always a positive number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(u64);

impl ClientId {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let trimmed = text.trim();
        if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::new(
                "Client-Id",
                text,
                "expected a number such as 123456",
            ));
        }
        match trimmed.parse::<u64>() {
            Ok(0) => Err(ParseError::new("Client-Id", text, "it must not be 0")),
            Ok(id) => Ok(Self(id)),
            Err(_) => Err(ParseError::new(
                "Client-Id",
                text,
                "the number is too large",
            )),
        }
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl FromStr for ClientId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Our code for a carrier (`yanwen`, `russian_post`, `cdek`, …): lowercase ASCII letters,
/// digits and `_`, 2 to 32 characters. The registry of known carriers gives them meaning.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CarrierCode(String);

impl CarrierCode {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let text = text.trim();
        let len_ok = (2..=32).contains(&text.len());
        let chars_ok = text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !len_ok || !chars_ok {
            return Err(ParseError::new(
                "carrier code",
                text,
                "expected 2 to 32 of a-z, 0-9 and _ (e.g. russian_post)",
            ));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for PostingNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for PostingNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for CarrierCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for CarrierCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for CarrierCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for PostingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_posting_number_knows_its_order_number() {
        let posting = PostingNumber::parse("0132112277-0101-1").unwrap();
        assert_eq!(posting.order_number().as_str(), "0132112277-0101");
    }

    #[test]
    fn posting_numbers_are_trimmed_once_at_the_edge() {
        let posting = PostingNumber::parse("  39268230-0002-3 ").unwrap();
        assert_eq!(posting.as_str(), "39268230-0002-3");
    }

    #[test]
    fn a_posting_number_without_a_shipment_index_is_rejected() {
        let err = PostingNumber::parse("0132112277").unwrap_err();
        assert!(err.to_string().contains("at least 2 groups"), "{err}");
    }

    #[test]
    fn posting_numbers_with_letters_or_empty_groups_are_rejected() {
        for bad in ["", "-1", "12--1", "12-1-", "12-a-1", "１２-1"] {
            assert!(PostingNumber::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_non_numeric_client_id_is_rejected_with_an_example() {
        let err = ClientId::parse("abc").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Client-Id \"abc\" is invalid: expected a number such as 123456"
        );
    }

    #[test]
    fn carrier_codes_are_lowercase_slugs() {
        assert!(CarrierCode::parse("russian_post").is_ok());
        assert!(CarrierCode::parse("4px").is_ok());
        assert!(CarrierCode::parse("Russian Post").is_err());
        assert!(CarrierCode::parse("x").is_err());
    }

    #[test]
    fn store_names_refuse_blank_and_control_characters() {
        assert!(StoreName::parse("  ").is_err());
        assert!(StoreName::parse("shop\u{7}").is_err());
        assert_eq!(StoreName::parse(" 深圳小店 ").unwrap().as_str(), "深圳小店");
    }

    proptest! {
        #[test]
        fn any_digit_groups_parse_and_keep_their_order_number(
            order in "[0-9]{1,10}(-[0-9]{1,4}){0,2}",
            index in "[0-9]{1,3}",
        ) {
            let text = format!("{order}-{index}");
            let posting = PostingNumber::parse(&text).unwrap();
            prop_assert_eq!(posting.as_str(), text.as_str());
            let order_number = posting.order_number();
            prop_assert_eq!(order_number.as_str(), order.as_str());
        }

        #[test]
        fn client_ids_round_trip_through_text(id in 1u64..u64::MAX) {
            prop_assert_eq!(ClientId::parse(&id.to_string()).unwrap().get(), id);
        }
    }
}
