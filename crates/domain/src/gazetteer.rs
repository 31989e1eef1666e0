//! A built-in gazetteer of the cities carriers report on the China → Russia routes, with
//! coordinates, so that events can be put on a map without any online geocoder. Names are
//! matched in English, Russian and Chinese, and in the upper-case transliterations carriers use.

use chrono::{FixedOffset, Offset, Utc};

use crate::geo::GeoPoint;

/// A city with its names and coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct City {
    /// English name, used as the key.
    pub name: &'static str,
    pub name_ru: &'static str,
    pub name_zh: &'static str,
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
    pub lat: f64,
    pub lon: f64,
    /// Region (oblast, republic, province) in Russian for Russian cities, in English otherwise.
    pub region: &'static str,
    /// Rough population weight used by the sandbox to place buyers (thousands).
    pub weight: u32,
    /// Offset from UTC in whole hours (neither China nor Russia observes daylight saving).
    pub utc_offset_hours: i32,
}

impl City {
    pub fn point(&self) -> GeoPoint {
        // The tables below hold only valid coordinates; a test checks every entry.
        GeoPoint::from_table(self.lat, self.lon)
    }

    /// The city's name in a reader's language.
    pub fn name_in(&self, language: crate::store::Language) -> &'static str {
        match language {
            crate::store::Language::Zh => self.name_zh,
            crate::store::Language::Ru => self.name_ru,
            crate::store::Language::En => self.name,
        }
    }

    /// The city's local time zone as a fixed offset.
    pub fn utc_offset(&self) -> FixedOffset {
        // The table holds offsets between +2 and +10 hours; a test checks every entry.
        FixedOffset::east_opt(self.utc_offset_hours * 3600).unwrap_or(Utc.fix())
    }
}

macro_rules! city {
    ($name:literal, $ru:literal, $zh:literal, $cc:literal, $lat:literal, $lon:literal, $region:literal, $w:literal, $utc:literal) => {
        City {
            name: $name,
            name_ru: $ru,
            name_zh: $zh,
            country: $cc,
            lat: $lat,
            lon: $lon,
            region: $region,
            weight: $w,
            utc_offset_hours: $utc,
        }
    };
}

/// Chinese cities where sellers, warehouses and first-mile hubs are.
pub const CHINA: &[City] = &[
    city!(
        "Shenzhen",
        "Шэньчжэнь",
        "深圳",
        "CN",
        22.5431,
        114.0579,
        "Guangdong",
        17_500,
        8
    ),
    city!(
        "Guangzhou",
        "Гуанчжоу",
        "广州",
        "CN",
        23.1291,
        113.2644,
        "Guangdong",
        18_700,
        8
    ),
    city!(
        "Dongguan",
        "Дунгуань",
        "东莞",
        "CN",
        23.0207,
        113.7518,
        "Guangdong",
        10_500,
        8
    ),
    city!(
        "Yiwu", "Иу", "义乌", "CN", 29.3069, 120.0753, "Zhejiang", 1_900, 8
    ),
    city!(
        "Hangzhou",
        "Ханчжоу",
        "杭州",
        "CN",
        30.2741,
        120.1551,
        "Zhejiang",
        12_200,
        8
    ),
    city!(
        "Shanghai",
        "Шанхай",
        "上海",
        "CN",
        31.2304,
        121.4737,
        "Shanghai",
        24_900,
        8
    ),
    city!(
        "Beijing",
        "Пекин",
        "北京",
        "CN",
        39.9042,
        116.4074,
        "Beijing",
        21_800,
        8
    ),
    city!(
        "Harbin",
        "Харбин",
        "哈尔滨",
        "CN",
        45.8038,
        126.5350,
        "Heilongjiang",
        10_000,
        8
    ),
    city!(
        "Urumqi",
        "Урумчи",
        "乌鲁木齐",
        "CN",
        43.8256,
        87.6168,
        "Xinjiang",
        4_100,
        8
    ),
    city!(
        "Manzhouli",
        "Маньчжурия",
        "满洲里",
        "CN",
        49.5978,
        117.3786,
        "Inner Mongolia",
        300,
        8
    ),
    city!(
        "Suifenhe",
        "Суйфэньхэ",
        "绥芬河",
        "CN",
        44.4129,
        131.1520,
        "Heilongjiang",
        100,
        8
    ),
];

/// Russian cities: exchange offices, sorting hubs and where buyers live.
pub const RUSSIA: &[City] = &[
    city!(
        "Moscow",
        "Москва",
        "莫斯科",
        "RU",
        55.7558,
        37.6173,
        "Москва",
        13_100,
        3
    ),
    city!(
        "Saint Petersburg",
        "Санкт-Петербург",
        "圣彼得堡",
        "RU",
        59.9343,
        30.3351,
        "Санкт-Петербург",
        5_600,
        3
    ),
    city!(
        "Novosibirsk",
        "Новосибирск",
        "新西伯利亚",
        "RU",
        55.0302,
        82.9204,
        "Новосибирская область",
        1_630,
        7
    ),
    city!(
        "Yekaterinburg",
        "Екатеринбург",
        "叶卡捷琳堡",
        "RU",
        56.8389,
        60.6057,
        "Свердловская область",
        1_540,
        5
    ),
    city!(
        "Kazan",
        "Казань",
        "喀山",
        "RU",
        55.7961,
        49.1064,
        "Республика Татарстан",
        1_310,
        3
    ),
    city!(
        "Nizhny Novgorod",
        "Нижний Новгород",
        "下诺夫哥罗德",
        "RU",
        56.3269,
        44.0059,
        "Нижегородская область",
        1_230,
        3
    ),
    city!(
        "Chelyabinsk",
        "Челябинск",
        "车里雅宾斯克",
        "RU",
        55.1644,
        61.4368,
        "Челябинская область",
        1_180,
        5
    ),
    city!(
        "Krasnoyarsk",
        "Красноярск",
        "克拉斯诺亚尔斯克",
        "RU",
        56.0153,
        92.8932,
        "Красноярский край",
        1_190,
        7
    ),
    city!(
        "Samara",
        "Самара",
        "萨马拉",
        "RU",
        53.1959,
        50.1002,
        "Самарская область",
        1_160,
        4
    ),
    city!(
        "Ufa",
        "Уфа",
        "乌法",
        "RU",
        54.7388,
        55.9721,
        "Республика Башкортостан",
        1_160,
        5
    ),
    city!(
        "Rostov-on-Don",
        "Ростов-на-Дону",
        "顿河畔罗斯托夫",
        "RU",
        47.2357,
        39.7015,
        "Ростовская область",
        1_140,
        3
    ),
    city!(
        "Omsk",
        "Омск",
        "鄂木斯克",
        "RU",
        54.9885,
        73.3242,
        "Омская область",
        1_110,
        6
    ),
    city!(
        "Krasnodar",
        "Краснодар",
        "克拉斯诺达尔",
        "RU",
        45.0355,
        38.9753,
        "Краснодарский край",
        1_100,
        3
    ),
    city!(
        "Voronezh",
        "Воронеж",
        "沃罗涅日",
        "RU",
        51.6720,
        39.1843,
        "Воронежская область",
        1_050,
        3
    ),
    city!(
        "Perm",
        "Пермь",
        "彼尔姆",
        "RU",
        58.0105,
        56.2502,
        "Пермский край",
        1_030,
        5
    ),
    city!(
        "Volgograd",
        "Волгоград",
        "伏尔加格勒",
        "RU",
        48.7080,
        44.5133,
        "Волгоградская область",
        1_020,
        3
    ),
    city!(
        "Tyumen",
        "Тюмень",
        "秋明",
        "RU",
        57.1613,
        65.5250,
        "Тюменская область",
        850,
        5
    ),
    city!(
        "Irkutsk",
        "Иркутск",
        "伊尔库茨克",
        "RU",
        52.2870,
        104.3050,
        "Иркутская область",
        610,
        8
    ),
    city!(
        "Khabarovsk",
        "Хабаровск",
        "哈巴罗夫斯克",
        "RU",
        48.4802,
        135.0719,
        "Хабаровский край",
        620,
        10
    ),
    city!(
        "Vladivostok",
        "Владивосток",
        "符拉迪沃斯托克",
        "RU",
        43.1155,
        131.8855,
        "Приморский край",
        600,
        10
    ),
    city!(
        "Kaliningrad",
        "Калининград",
        "加里宁格勒",
        "RU",
        54.7104,
        20.4522,
        "Калининградская область",
        490,
        2
    ),
    city!(
        "Podolsk",
        "Подольск",
        "波多利斯克",
        "RU",
        55.4242,
        37.5547,
        "Московская область",
        310,
        3
    ),
    city!(
        "Zabaykalsk",
        "Забайкальск",
        "后贝加尔斯克",
        "RU",
        49.6516,
        117.3236,
        "Забайкальский край",
        10,
        9
    ),
];

/// Finds a city by any of its names, ignoring case and surrounding text such as "г. " or
/// "MOSCOW SORTING CENTER" (the first known city name contained in the text wins).
pub fn find(text: &str) -> Option<&'static City> {
    let lower = text.to_lowercase();
    // Longest names first, so that "Nizhny Novgorod" is not read as "Novgorod".
    NAMES
        .iter()
        .find(|(name, _)| lower.contains(name.as_str()))
        .map(|(_, city)| *city)
}

/// Every name of every city in lower case, longest first (ties: table order). Events are
/// located by the thousand on every carrier check, so the names are lowered once.
static NAMES: std::sync::LazyLock<Vec<(String, &'static City)>> = std::sync::LazyLock::new(|| {
    let mut names: Vec<(String, &'static City)> = CHINA
        .iter()
        .chain(RUSSIA)
        .flat_map(|city| {
            [city.name, city.name_ru, city.name_zh]
                .into_iter()
                .map(move |name| (name.to_lowercase(), city))
        })
        .collect();
    names.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
    names
});

/// A city by its English name.
pub fn by_name(name: &str) -> Option<&'static City> {
    CHINA.iter().chain(RUSSIA).find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_city_has_valid_coordinates_and_a_known_country() {
        for city in CHINA.iter().chain(RUSSIA) {
            assert!(GeoPoint::new(city.lat, city.lon).is_ok(), "{}", city.name);
            assert!(["CN", "RU"].contains(&city.country), "{}", city.name);
            assert!((2..=12).contains(&city.utc_offset_hours), "{}", city.name);
            assert_eq!(
                city.utc_offset().local_minus_utc(),
                city.utc_offset_hours * 3600
            );
        }
    }

    #[test]
    fn cities_are_found_by_any_of_their_names_inside_carrier_text() {
        assert_eq!(
            find("г. Казань, сортировочный центр").unwrap().name,
            "Kazan"
        );
        assert_eq!(find("SHENZHEN SORTING CENTER").unwrap().name, "Shenzhen");
        assert_eq!(find("【深圳市】已揽收").unwrap().name, "Shenzhen");
        assert_eq!(find("Nizhny Novgorod hub").unwrap().name, "Nizhny Novgorod");
        assert!(find("Atlantis").is_none());
    }

    #[test]
    fn russian_cities_keep_their_real_time_zones() {
        // Longitude alone would put Novosibirsk at +6 and Vladivostok at +9.
        let hours = |name| by_name(name).unwrap().utc_offset_hours;
        assert_eq!(
            (hours("Moscow"), hours("Novosibirsk"), hours("Vladivostok")),
            (3, 7, 10)
        );
        assert_eq!(
            (hours("Kaliningrad"), hours("Samara"), hours("Shenzhen")),
            (2, 4, 8)
        );
    }

    #[test]
    fn names_are_unique_keys() {
        for city in CHINA.iter().chain(RUSSIA) {
            assert_eq!(by_name(city.name).unwrap(), city);
        }
    }
}
