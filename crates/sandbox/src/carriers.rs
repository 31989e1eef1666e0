//! The carriers of the simulated world and how each is reached: through 17TRACK (the Chinese
//! first mile, Boxberry), its own API (Russian Post, CDEK), or Ozon's posting status (Ozon
//! logistics). Ids and keys follow `parcel-tracking.md`; where the reference marks a value as
//! invented, so is ours.

use crate::rng::Rng;

/// A carrier in the simulated world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Carrier {
    Yanwen,
    FourPx,
    Cainiao,
    ChinaPost,
    CjPacket,
    /// SunYou, a consolidator not on Ozon's FBS whitelist: sellers who ship with it anyway
    /// collect penalty points.
    SunYou,
    Ozon,
    RussianPost,
    Cdek,
    Boxberry,
}

/// Where a carrier's events can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    SeventeenTrack,
    RussianPost,
    Cdek,
    /// Only through the posting's status in the Ozon Seller API.
    OzonStatus,
}

impl Carrier {
    pub const ALL: [Carrier; 10] = [
        Carrier::Yanwen,
        Carrier::FourPx,
        Carrier::Cainiao,
        Carrier::ChinaPost,
        Carrier::CjPacket,
        Carrier::SunYou,
        Carrier::Ozon,
        Carrier::RussianPost,
        Carrier::Cdek,
        Carrier::Boxberry,
    ];

    /// Our carrier code (`domain::CarrierCode` spelling).
    pub fn code(self) -> &'static str {
        match self {
            Carrier::Yanwen => "yanwen",
            Carrier::FourPx => "4px",
            Carrier::Cainiao => "cainiao",
            Carrier::ChinaPost => "china_post",
            Carrier::CjPacket => "cj_packet",
            Carrier::SunYou => "sunyou",
            Carrier::Ozon => "ozon",
            Carrier::RussianPost => "russian_post",
            Carrier::Cdek => "cdek",
            Carrier::Boxberry => "boxberry",
        }
    }

    /// 17TRACK's numeric carrier key (the reference's provisional table); `None` for carriers
    /// 17TRACK does not list.
    pub fn seventeen_track_key(self) -> Option<u32> {
        match self {
            Carrier::Yanwen => Some(190_012),
            Carrier::FourPx => Some(190_094),
            Carrier::Cainiao => Some(190_271),
            Carrier::SunYou => Some(190_072),
            Carrier::ChinaPost => Some(3011),
            Carrier::CjPacket => Some(190_283),
            Carrier::RussianPost => Some(18031),
            Carrier::Cdek => Some(100_030),
            Carrier::Boxberry => Some(100_157),
            Carrier::Ozon => None,
        }
    }

    /// The name as 17TRACK and Ozon show it.
    pub fn display_name(self) -> &'static str {
        match self {
            Carrier::Yanwen => "Yanwen",
            Carrier::FourPx => "4PX",
            Carrier::Cainiao => "Cainiao",
            Carrier::ChinaPost => "China Post",
            Carrier::CjPacket => "CJ Packet",
            Carrier::SunYou => "SunYou",
            Carrier::Ozon => "Доставка Ozon",
            Carrier::RussianPost => "Почта России",
            Carrier::Cdek => "СДЭК",
            Carrier::Boxberry => "Boxberry",
        }
    }

    /// Ozon's `tpl_provider_id`. 24 (Ozon) is observed in every official example; the others
    /// are invented, as the reference notes there is no carrier catalogue.
    pub fn tpl_provider_id(self) -> i64 {
        match self {
            Carrier::Ozon => 24,
            Carrier::RussianPost => 1014,
            Carrier::Cdek => 1457,
            Carrier::Boxberry => 1022,
            Carrier::Yanwen => 2401,
            Carrier::FourPx => 2402,
            Carrier::Cainiao => 2403,
            Carrier::ChinaPost => 2404,
            Carrier::CjPacket => 2405,
            Carrier::SunYou => 2406,
        }
    }

    pub fn feed(self) -> Feed {
        match self {
            Carrier::RussianPost => Feed::RussianPost,
            Carrier::Cdek => Feed::Cdek,
            Carrier::Ozon => Feed::OzonStatus,
            _ => Feed::SeventeenTrack,
        }
    }

    /// A fresh tracking number in the carrier's usual shape (check digits where it has them).
    pub fn tracking_number(self, rng: &mut Rng) -> String {
        match self {
            Carrier::Yanwen => format!("UG{}YP", rng.digits(9)),
            Carrier::FourPx => format!("4PX3{}CN", rng.digits(12)),
            Carrier::Cainiao => format!("LP00{}", rng.digits(12)),
            Carrier::SunYou => format!("SYAE{}", rng.digits(10)),
            Carrier::CjPacket => format!("CJPKL{}", rng.digits(10)),
            Carrier::ChinaPost => {
                let service = *rng.pick(&["RR", "LM", "EE", "UA"]);
                s10(rng, service, "CN")
            }
            Carrier::RussianPost => russian_post_domestic(rng),
            Carrier::Cdek => format!("1{}", rng.digits(9)),
            Carrier::Boxberry => format!("BB{}", rng.digits(10)),
            Carrier::Ozon => format!("OZ{}", rng.digits(12)),
        }
    }
}

fn s10(rng: &mut Rng, service: &str, country: &str) -> String {
    let digits = rng.digits(8);
    let mut serial = [0u8; 8];
    for (slot, b) in serial.iter_mut().zip(digits.bytes()) {
        *slot = b - b'0';
    }
    let check = ozontrack_domain::tracking_number::s10_check_digit(&serial);
    format!("{service}{digits}{check}{country}")
}

fn russian_post_domestic(rng: &mut Rng) -> String {
    // Index of a Moscow international exchange office, month code, serial.
    let first13 = format!("10{}", rng.digits(11));
    let mut digits = [0u8; 13];
    for (slot, b) in digits.iter_mut().zip(first13.bytes()) {
        *slot = b - b'0';
    }
    let check = ozontrack_domain::tracking_number::russian_post_check_digit(&digits);
    format!("{first13}{check}")
}

#[cfg(test)]
mod tests {
    use ozontrack_domain::{TrackingFormat, TrackingNumber};

    use super::*;

    #[test]
    fn generated_numbers_parse_and_postal_ones_carry_valid_check_digits() {
        let mut rng = Rng::new(3);
        for carrier in Carrier::ALL {
            for _ in 0..50 {
                let number = TrackingNumber::parse(&carrier.tracking_number(&mut rng)).unwrap();
                match carrier {
                    Carrier::ChinaPost => assert!(
                        matches!(number.format(), TrackingFormat::S10 { ref country, .. } if country == "CN")
                    ),
                    Carrier::RussianPost => {
                        assert_eq!(number.format(), TrackingFormat::RussianPostDomestic);
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn carrier_codes_are_valid_domain_codes() {
        for carrier in Carrier::ALL {
            assert!(ozontrack_domain::CarrierCode::parse(carrier.code()).is_ok());
        }
    }
}
