//! Per-store settings: how a seller's shop wants times and messages shown.

closed_enum! {
    /// The languages ozontrack speaks.
    #[derive(Default)]
    pub enum Language ("language") {
        /// Simplified Chinese, the default for sellers.
        #[default]
        Zh => "zh" | "zh-cn" | "zh_cn" | "cn",
        /// Russian, the default for buyers.
        Ru => "ru",
        En => "en",
    }
}

/// Settings a store carries besides its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// IANA time zone in which the store's people read times (e.g. `Asia/Shanghai`).
    pub timezone: String,
    pub language: Language,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            timezone: "Asia/Shanghai".to_owned(),
            language: Language::Zh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_accept_common_spellings() {
        assert_eq!(Language::parse("zh-CN").unwrap(), Language::Zh);
        assert_eq!(Language::parse("RU").unwrap(), Language::Ru);
        assert!(Language::parse("de").is_err());
    }
}
