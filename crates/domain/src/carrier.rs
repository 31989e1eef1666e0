//! The carriers ozontrack knows, and how a leg's carrier is told from what Ozon and the number
//! itself say: the delivery method first, then the number's format.
//!
//! Ozon names carriers only through a delivery method's `tpl_provider` (name and id); the one
//! id the reference confirms is 24, Ozon's own logistics. Names are matched instead of ids
//! wherever the id is not published.

use crate::ids::CarrierCode;
use crate::leg::LegRole;
use crate::posting::{DeliveryMethod, Scheme};
use crate::tracking_number::{S10Check, TrackingFormat, TrackingNumber};

/// What part of a journey a carrier usually does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarrierKind {
    /// Chinese consolidators and express lines that carry to the Russian border.
    FirstMile,
    /// Russian carriers that deliver to the buyer.
    LastMile,
    /// A postal network end to end (S10 numbers).
    Postal,
}

/// One known carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarrierInfo {
    pub code: &'static str,
    pub name_en: &'static str,
    pub name_ru: &'static str,
    pub name_zh: &'static str,
    pub kind: CarrierKind,
    /// 17TRACK's carrier key, for carriers tracked through the aggregator.
    pub seventeen_track_key: Option<u32>,
    /// Lower-case fragments of Ozon `tpl_provider` names that mean this carrier.
    pub tpl_names: &'static [&'static str],
    /// Ozon `tpl_provider_id`s known to mean this carrier.
    pub tpl_ids: &'static [i64],
    /// On Ozon's default FBS whitelist of carriers.
    pub whitelisted: bool,
}

impl CarrierInfo {
    /// The carrier's name in a reader's language.
    pub fn name(&self, language: crate::store::Language) -> &'static str {
        match language {
            crate::store::Language::Zh => self.name_zh,
            crate::store::Language::Ru => self.name_ru,
            crate::store::Language::En => self.name_en,
        }
    }
}

/// Every carrier ozontrack knows, first mile first.
pub const CARRIERS: &[CarrierInfo] = &[
    CarrierInfo {
        code: "yanwen",
        name_en: "Yanwen",
        name_ru: "Yanwen",
        name_zh: "燕文物流",
        kind: CarrierKind::FirstMile,
        seventeen_track_key: Some(190_012),
        tpl_names: &["yanwen", "燕文"],
        tpl_ids: &[],
        whitelisted: true,
    },
    CarrierInfo {
        code: "4px",
        name_en: "4PX",
        name_ru: "4PX",
        name_zh: "递四方",
        kind: CarrierKind::FirstMile,
        seventeen_track_key: Some(190_094),
        tpl_names: &["4px", "递四方"],
        tpl_ids: &[],
        whitelisted: true,
    },
    CarrierInfo {
        code: "cainiao",
        name_en: "Cainiao",
        name_ru: "Cainiao",
        name_zh: "菜鸟",
        kind: CarrierKind::FirstMile,
        seventeen_track_key: Some(190_271),
        tpl_names: &["cainiao", "菜鸟"],
        tpl_ids: &[],
        whitelisted: true,
    },
    CarrierInfo {
        code: "cj_packet",
        name_en: "CJ Korea Express China",
        name_ru: "CJ Korea Express China",
        name_zh: "CJ大韩通运中国",
        kind: CarrierKind::FirstMile,
        seventeen_track_key: Some(190_283),
        tpl_names: &["cj packet", "cj korea", "cj大韩"],
        tpl_ids: &[],
        whitelisted: true,
    },
    CarrierInfo {
        code: "sunyou",
        name_en: "SunYou",
        name_ru: "SunYou",
        name_zh: "顺友物流",
        kind: CarrierKind::FirstMile,
        // The reference's provisional key (one client files it as Cainiao's by mistake).
        seventeen_track_key: Some(190_072),
        tpl_names: &["sunyou", "顺友"],
        tpl_ids: &[],
        // Not on Ozon's FBS whitelist: shipping FBS with it costs penalty points.
        whitelisted: false,
    },
    CarrierInfo {
        code: "china_post",
        name_en: "China Post",
        name_ru: "Почта Китая",
        name_zh: "中国邮政",
        kind: CarrierKind::Postal,
        seventeen_track_key: Some(3011),
        tpl_names: &["china post", "中国邮政"],
        tpl_ids: &[],
        whitelisted: false,
    },
    CarrierInfo {
        code: "ozon",
        name_en: "Ozon Logistics",
        name_ru: "Доставка Ozon",
        name_zh: "Ozon物流",
        kind: CarrierKind::LastMile,
        seventeen_track_key: None,
        tpl_names: &["ozon"],
        tpl_ids: &[24],
        whitelisted: true,
    },
    CarrierInfo {
        code: "russian_post",
        name_en: "Russian Post",
        name_ru: "Почта России",
        name_zh: "俄罗斯邮政",
        kind: CarrierKind::LastMile,
        seventeen_track_key: Some(18031),
        tpl_names: &["почта россии", "russian post"],
        tpl_ids: &[],
        whitelisted: true,
    },
    CarrierInfo {
        code: "cdek",
        name_en: "CDEK",
        name_ru: "СДЭК",
        name_zh: "CDEK",
        kind: CarrierKind::LastMile,
        seventeen_track_key: Some(100_030),
        tpl_names: &["сдэк", "cdek"],
        tpl_ids: &[],
        whitelisted: true,
    },
    CarrierInfo {
        code: "boxberry",
        name_en: "Boxberry",
        name_ru: "Boxberry",
        name_zh: "Boxberry",
        kind: CarrierKind::LastMile,
        seventeen_track_key: Some(100_157),
        tpl_names: &["boxberry"],
        tpl_ids: &[],
        whitelisted: true,
    },
];

/// Looks a carrier up by our code.
pub fn by_code(code: &str) -> Option<&'static CarrierInfo> {
    CARRIERS.iter().find(|c| c.code == code)
}

/// Looks a carrier up by its 17TRACK key.
pub fn by_seventeen_track_key(key: u32) -> Option<&'static CarrierInfo> {
    CARRIERS.iter().find(|c| c.seventeen_track_key == Some(key))
}

/// Looks a carrier up by a name in any of its languages (case ignored), as aggregators and
/// carriers write it.
pub fn by_name(name: &str) -> Option<&'static CarrierInfo> {
    let name = name.trim().to_lowercase();
    CARRIERS.iter().find(|c| {
        [c.name_en, c.name_ru, c.name_zh]
            .iter()
            .any(|n| n.to_lowercase() == name)
    })
}

/// The carrier a delivery method names, from its `tpl_provider` id or name.
pub fn from_delivery_method(method: &DeliveryMethod) -> Option<&'static CarrierInfo> {
    if let Some(id) = method.tpl_provider_id
        && let Some(c) = CARRIERS.iter().find(|c| c.tpl_ids.contains(&id))
    {
        return Some(c);
    }
    let names = [method.tpl_provider.as_deref(), Some(method.name.as_str())];
    names.into_iter().flatten().find_map(|name| {
        let name = name.to_lowercase();
        CARRIERS
            .iter()
            .find(|c| c.tpl_names.iter().any(|n| name.contains(n)))
    })
}

/// The carrier a tracking number's shape points to, when the shape is distinctive.
pub fn from_number(number: &TrackingNumber) -> Option<&'static CarrierInfo> {
    let text = number.as_str();
    let digits = text.bytes().all(|b| b.is_ascii_digit());
    let code = match number.format() {
        TrackingFormat::S10 { country, .. } if country == "CN" => "china_post",
        TrackingFormat::S10 { country, .. } if country == "RU" => "russian_post",
        TrackingFormat::RussianPostDomestic => "russian_post",
        _ if text.starts_with("UG") && text.ends_with("YP") => "yanwen",
        _ if text.starts_with("4PX") => "4px",
        _ if text.starts_with("LP") && text.len() >= 14 => "cainiao",
        _ if text.starts_with("CJ") => "cj_packet",
        _ if text.starts_with("BB") => "boxberry",
        _ if digits && text.len() == 10 => "cdek",
        _ => return None,
    };
    by_code(code)
}

/// How a leg's carrier was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectedBy {
    DeliveryMethod,
    NumberFormat,
    /// Nothing told; the aggregator will have to.
    Unknown,
}

/// The leg a posting's tracking number stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberLeg {
    pub carrier: CarrierCode,
    pub role: LegRole,
    pub detected_by: DetectedBy,
}

/// Our code for a carrier not (yet) identified; the aggregator's auto-detection decides later.
pub const UNKNOWN_CARRIER: &str = "unknown";

/// Our code for Ozon's own logistics, and for the leg that is Ozon's view of a posting.
pub const OZON: &str = "ozon";

/// Which carrier and role a posting's tracking number has. A number whose shape names a
/// carrier other than the delivery method's last-mile carrier is the first mile (the
/// cross-border case: Ozon delivers, the seller uploaded Yanwen's number); a number of the
/// method's own carrier is that carrier's leg.
pub fn number_leg(
    scheme: Scheme,
    method: Option<&DeliveryMethod>,
    number: &TrackingNumber,
) -> NumberLeg {
    let by_method = method.and_then(from_delivery_method);
    let by_number = from_number(number);
    let leg = |c: &CarrierInfo, role, detected_by| NumberLeg {
        carrier: carrier_code(c.code),
        role,
        detected_by,
    };
    match (by_method, by_number) {
        (Some(m), Some(n)) if m.code == n.code => {
            let role = if m.kind == CarrierKind::LastMile && scheme != Scheme::Fbo {
                LegRole::LastMile
            } else {
                LegRole::Single
            };
            leg(m, role, DetectedBy::DeliveryMethod)
        }
        (Some(m), None) if m.kind != CarrierKind::LastMile => {
            leg(m, LegRole::Single, DetectedBy::DeliveryMethod)
        }
        (_, Some(n)) => {
            let role = match n.kind {
                CarrierKind::FirstMile => LegRole::FirstMile,
                CarrierKind::Postal => LegRole::Single,
                CarrierKind::LastMile => LegRole::LastMile,
            };
            leg(n, role, DetectedBy::NumberFormat)
        }
        (_, None) => NumberLeg {
            carrier: carrier_code(UNKNOWN_CARRIER),
            role: LegRole::FirstMile,
            detected_by: DetectedBy::Unknown,
        },
    }
}

fn carrier_code(code: &'static str) -> CarrierCode {
    // Registry codes are lower-case ASCII with digits and `_` (a test checks every one).
    CarrierCode::parse(code).unwrap_or_else(|_| unreachable!("invalid registry code {code}"))
}

/// Ozon's own leg of a posting: Ozon's view of it, fed by the sync and never polled. It is the
/// last mile when Ozon logistics delivers, the whole journey for FBO, and otherwise the
/// marketplace's status beside the carriers' legs.
pub fn ozon_leg_role(scheme: Scheme, method: Option<&DeliveryMethod>) -> LegRole {
    if scheme == Scheme::Fbo {
        return LegRole::Single;
    }
    match method.and_then(from_delivery_method) {
        Some(c) if c.code == OZON => LegRole::LastMile,
        _ => LegRole::Marketplace,
    }
}

/// Country suffixes of the posts whose S10 numbers ozontrack expects.
const POSTS: [&str; 6] = ["CN", "RU", "HK", "SG", "KZ", "BY"];

/// Whether `number` could be a tracking number for a posting shipped by `method`: a number
/// shaped like a UPU S10 number of a post on the China–Russia routes must carry a valid check
/// digit (carriers such as Yanwen reuse the shape with their own suffix, unchecked), and a
/// number of one Russian carrier on a method of another (a Russian Post number on a CDEK
/// delivery) is refused.
pub fn check_plausible(
    method: Option<&DeliveryMethod>,
    number: &TrackingNumber,
) -> Result<(), String> {
    if let Some(S10Check::WrongCheckDigit { country }) = number.s10_check()
        && POSTS.contains(&country.as_str())
    {
        return Err("looks like a UPU S10 number but its check digit is wrong".into());
    }
    let text = number.as_str().as_bytes();
    let digits_only = text.iter().all(u8::is_ascii_digit);
    if digits_only && text.len() == 14 && number.format() != TrackingFormat::RussianPostDomestic {
        return Err("looks like a Russian Post number but its check digit is wrong".into());
    }
    let Some(expected) = method.and_then(from_delivery_method) else {
        return Ok(());
    };
    // A first-mile or postal number is the cross-border leg before the method's carrier takes
    // over; only another Russian carrier's number contradicts the method.
    match from_number(number) {
        Some(found)
            if expected.kind == CarrierKind::LastMile
                && found.kind == CarrierKind::LastMile
                && expected.code != OZON
                && found.code != expected.code =>
        {
            Err(format!(
                "the delivery method is {} but the number looks like {}",
                expected.name_en, found.name_en
            ))
        }
        _ => Ok(()),
    }
}

/// A doubt that does not stop a number: it is shaped like the S10 number of a post off the
/// China–Russia routes (where [`check_plausible`] refuses) and its check digit is wrong. A
/// carrier may reuse that shape with its own digits, so it is said, not refused.
pub fn plausibility_warning(number: &TrackingNumber) -> Option<String> {
    match number.s10_check() {
        Some(S10Check::WrongCheckDigit { country }) if !POSTS.contains(&country.as_str()) => {
            Some(format!(
                "looks like a UPU S10 number of the {country} post but its check digit is wrong"
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> TrackingNumber {
        TrackingNumber::parse(text).unwrap()
    }

    fn method(provider: &str, id: i64) -> DeliveryMethod {
        DeliveryMethod {
            id: 1,
            name: format!("{provider}, склад"),
            tpl_provider_id: Some(id),
            tpl_provider: Some(provider.to_owned()),
            warehouse_id: None,
            warehouse: None,
        }
    }

    #[test]
    fn every_registry_code_is_a_valid_carrier_code_and_unique() {
        for c in CARRIERS {
            assert!(CarrierCode::parse(c.code).is_ok(), "{}", c.code);
            assert_eq!(CARRIERS.iter().filter(|o| o.code == c.code).count(), 1);
        }
    }

    #[test]
    fn ozon_logistics_is_recognised_by_its_provider_id_whatever_its_name() {
        let m = method("Доставка Ozon", 24);
        assert_eq!(from_delivery_method(&m).unwrap().code, "ozon");
        let renamed = method("Ozon Логистика", 24);
        assert_eq!(from_delivery_method(&renamed).unwrap().code, "ozon");
    }

    #[test]
    fn a_yanwen_number_on_an_ozon_delivery_is_the_first_mile() {
        let leg = number_leg(
            Scheme::Fbs,
            Some(&method("Доставка Ozon", 24)),
            &number("UG123456789YP"),
        );
        assert_eq!(leg.carrier.as_str(), "yanwen");
        assert_eq!(leg.role, LegRole::FirstMile);
        assert_eq!(leg.detected_by, DetectedBy::NumberFormat);
    }

    #[test]
    fn a_cdek_number_on_a_cdek_method_is_its_last_mile() {
        let leg = number_leg(
            Scheme::Rfbs,
            Some(&method("СДЭК", 1457)),
            &number("1523498765"),
        );
        assert_eq!(leg.carrier.as_str(), "cdek");
        assert_eq!(leg.role, LegRole::LastMile);
        assert_eq!(leg.detected_by, DetectedBy::DeliveryMethod);
    }

    #[test]
    fn carriers_are_found_by_17track_key_and_by_name_in_any_language() {
        assert_eq!(by_seventeen_track_key(18031).unwrap().code, "russian_post");
        assert_eq!(by_name("Почта России").unwrap().code, "russian_post");
        assert_eq!(by_name("СДЭК").unwrap().code, "cdek");
        assert_eq!(by_name(" boxberry ").unwrap().code, "boxberry");
        assert!(by_seventeen_track_key(1).is_none());
        assert!(by_name("Nobody Express").is_none());
    }

    #[test]
    fn a_china_post_s10_number_is_direct_mail_end_to_end() {
        let leg = number_leg(
            Scheme::Rfbs,
            Some(&method("China Post", 9)),
            &number("RR123456785CN"),
        );
        assert_eq!(leg.carrier.as_str(), "china_post");
        assert_eq!(leg.role, LegRole::Single);
    }

    #[test]
    fn a_number_nothing_recognises_is_left_to_the_aggregator() {
        let leg = number_leg(Scheme::Fbs, None, &number("ZZ-0001-XY"));
        assert_eq!(leg.carrier.as_str(), UNKNOWN_CARRIER);
        assert_eq!(leg.detected_by, DetectedBy::Unknown);
    }

    #[test]
    fn implausible_numbers_are_refused_with_the_reason() {
        let cdek = method("СДЭК", 1457);
        assert!(check_plausible(Some(&cdek), &number("1523498765")).is_ok());
        let wrong = check_plausible(Some(&cdek), &number("BB1234567890")).unwrap_err();
        assert!(
            wrong.contains("CDEK") && wrong.contains("Boxberry"),
            "{wrong}"
        );
        let first_mile = check_plausible(Some(&cdek), &number("UG123456789YP"));
        assert!(first_mile.is_ok(), "the cross-border first mile is fine");
        let bad_check = check_plausible(None, &number("RR123456789CN")).unwrap_err();
        assert!(bad_check.contains("check digit"), "{bad_check}");
        let ozon = method("Доставка Ozon", 24);
        assert!(check_plausible(Some(&ozon), &number("UG123456789YP")).is_ok());
    }

    #[test]
    fn a_wrong_s10_check_digit_of_another_post_is_a_warning_and_a_borrowed_shape_nothing() {
        for text in ["RB123456786US", "AA473124828GB"] {
            let n = number(text);
            assert!(check_plausible(None, &n).is_ok(), "{text} is not refused");
            let warning = plausibility_warning(&n).unwrap();
            assert!(warning.contains("check digit"), "{warning}");
        }
        // The posts of the China–Russia routes are refused, not warned about.
        assert!(plausibility_warning(&number("RR123456789CN")).is_none());
        assert!(plausibility_warning(&number("UG123456789YP")).is_none());
        assert!(plausibility_warning(&number("RB123456785GB")).is_none());
    }

    #[test]
    fn ozons_own_leg_is_the_last_mile_only_when_ozon_delivers() {
        let ozon = method("Доставка Ozon", 24);
        let cdek = method("СДЭК", 1457);
        assert_eq!(ozon_leg_role(Scheme::Fbs, Some(&ozon)), LegRole::LastMile);
        assert_eq!(
            ozon_leg_role(Scheme::Rfbs, Some(&cdek)),
            LegRole::Marketplace
        );
        assert_eq!(ozon_leg_role(Scheme::Fbo, None), LegRole::Single);
    }
}
