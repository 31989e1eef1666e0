//! The dashboard's and buyer page's words in Chinese, Russian and English, from Fluent files
//! compiled into the binary: CLDR plural rules (Russian one / few / many) come with Fluent,
//! and a message missing from a language is a test failure, not a blank on the page.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use ozontrack_domain::Language;

const SOURCES: [(Language, &str, &str); 3] = [
    (Language::Zh, "zh-CN", include_str!("../locales/zh-CN.ftl")),
    (Language::Ru, "ru", include_str!("../locales/ru.ftl")),
    (Language::En, "en", include_str!("../locales/en.ftl")),
];

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static [Bundle; 3] {
    static BUNDLES: OnceLock<[Bundle; 3]> = OnceLock::new();
    BUNDLES.get_or_init(|| SOURCES.map(|(_, tag, text)| bundle(tag, text)))
}

fn bundle(tag: &str, text: &str) -> Bundle {
    // The files are ours and compiled in; the tests parse every one, so a failure here is a
    // bug caught before release, never a seller's input.
    let locale = tag.parse().expect("the built-in locale tags are valid");
    let resource = FluentResource::try_new(text.to_owned())
        .unwrap_or_else(|(_, errors)| panic!("{tag}.ftl does not parse: {errors:?}"));
    let mut bundle = Bundle::new_concurrent(vec![locale]);
    // Isolation marks (U+2068/9) around arguments would end up in copied posting numbers.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .unwrap_or_else(|errors| panic!("{tag}.ftl repeats a message: {errors:?}"));
    bundle
}

/// The words of one language.
#[derive(Clone, Copy)]
pub struct Tr {
    language: Language,
    bundle: &'static Bundle,
}

impl std::fmt::Debug for Tr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tr")
            .field("language", &self.language)
            .finish()
    }
}

impl Tr {
    pub fn new(language: Language) -> Self {
        let index = SOURCES
            .iter()
            .position(|(l, _, _)| *l == language)
            .unwrap_or(0);
        Self {
            language,
            bundle: &bundles()[index],
        }
    }

    pub fn language(&self) -> Language {
        self.language
    }

    /// The BCP 47 tag for `<html lang>` and the browser's `Intl` formatting.
    pub fn tag(&self) -> &'static str {
        SOURCES
            .iter()
            .find(|(l, _, _)| *l == self.language)
            .map_or("zh-CN", |(_, tag, _)| tag)
    }

    fn format(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        let Some(pattern) = self.bundle.get_message(id).and_then(|m| m.value()) else {
            // A missing message shows its id: visible in a screenshot, caught by the tests.
            return id.to_owned();
        };
        let mut errors = Vec::new();
        self.bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned()
    }

    /// A message without arguments.
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// A message with `$count`, in the language's plural form.
    pub fn n(&self, id: &str, count: u64) -> String {
        let mut args = FluentArgs::new();
        args.set("count", FluentValue::from(count));
        self.format(id, Some(&args))
    }

    /// A message with named text arguments.
    pub fn a(&self, id: &str, args: &[(&str, &str)]) -> String {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            fluent.set(*name, FluentValue::from(*value));
        }
        self.format(id, Some(&fluent))
    }
}

/// Every message id of a language's file, for the completeness test.
#[cfg(test)]
fn ids(text: &str) -> Vec<String> {
    let resource = FluentResource::try_new(text.to_owned()).unwrap_or_else(|(r, _)| r);
    resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_message_of_the_english_file() {
        let english = ids(SOURCES[2].2);
        for (_, tag, text) in SOURCES {
            let mine = ids(text);
            let missing: Vec<&String> = english.iter().filter(|id| !mine.contains(id)).collect();
            assert!(missing.is_empty(), "{tag}.ftl lacks {missing:?}");
            assert_eq!(mine.len(), english.len(), "{tag}.ftl has extra messages");
        }
    }

    #[test]
    fn russian_counts_take_the_one_few_and_many_forms() {
        let ru = Tr::new(Language::Ru);
        assert_eq!(ru.n("postings-count", 1), "1 отправление");
        assert_eq!(ru.n("postings-count", 3), "3 отправления");
        assert_eq!(ru.n("postings-count", 5), "5 отправлений");
        assert_eq!(ru.n("postings-count", 21), "21 отправление");
        assert_eq!(ru.n("postings-count", 22), "22 отправления");
        assert_eq!(ru.n("postings-count", 111), "111 отправлений");
        assert_eq!(ru.n("days", 2), "2 дня");
    }

    #[test]
    fn english_and_chinese_counts_read_naturally() {
        assert_eq!(Tr::new(Language::En).n("postings-count", 1), "1 posting");
        assert_eq!(Tr::new(Language::En).n("postings-count", 2), "2 postings");
        assert_eq!(Tr::new(Language::Zh).n("postings-count", 2), "共 2 个货件");
    }

    #[test]
    fn arguments_come_out_without_isolation_marks() {
        let text = Tr::new(Language::En).a("posting-title", &[("number", "0123-1")]);
        assert_eq!(text, "Posting 0123-1");
    }

    #[test]
    fn a_missing_message_shows_its_id() {
        assert_eq!(
            Tr::new(Language::Ru).t("no-such-message"),
            "no-such-message"
        );
    }
}
