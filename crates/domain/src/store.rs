//! Per-store settings: how a seller's shop wants times and messages shown.

use crate::ParseError;

/// The languages ozontrack speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    /// Simplified Chinese, the default for sellers.
    #[default]
    Zh,
    /// Russian, the default for buyers.
    Ru,
    En,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::Zh, Language::Ru, Language::En];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::Zh => "zh",
            Language::Ru => "ru",
            Language::En => "en",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let lower = text.trim().to_ascii_lowercase();
        let code = match lower.as_str() {
            "zh-cn" | "zh_cn" | "cn" => "zh",
            other => other,
        };
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == code)
            .ok_or_else(|| ParseError::new("language", text, "expected zh, ru or en"))
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
