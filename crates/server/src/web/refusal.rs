//! A dashboard form's refusal in its reader's words: the engine says which field and what is
//! wrong with it as facts; here the field is named by the label the form shows it under and
//! the problem is worded through the catalogue.

use ozontrack_engine::{Error, Problem};
use ozontrack_i18n::{Arg, Tr};
use ozontrack_notify::Expected;

/// A form's fields: the engine's name of each, and the catalogue id of its label on the form.
pub(super) type Labels<'a> = &'a [(&'static str, &'static str)];

/// The words for `e` when it is the person's to fix (a value, a name taken, a state, a thing
/// gone meanwhile); `None` for the rest, which the caller answers with an error page.
pub(super) fn words(tr: &Tr, e: &Error, labels: Labels) -> Option<String> {
    match e {
        Error::NotFound(what) => Some(tr.a("refused-not-found", &[("what", what)])),
        Error::Invalid { field, problem } | Error::Conflict { field, problem } => {
            Some(field_words(tr, field, problem, labels))
        }
        _ => None,
    }
}

/// "Field: what is wrong", the field by its label in `labels` (else by its own name).
pub(super) fn field_words(tr: &Tr, field: &str, problem: &Problem, labels: Labels) -> String {
    let label = labels
        .iter()
        .find(|(name, _)| *name == field)
        .map_or_else(|| field.to_owned(), |(_, id)| tr.t(id));
    tr.a(
        "refused-field",
        &[("field", &label), ("problem", &problem_words(tr, problem))],
    )
}

fn number(n: usize) -> Arg<'static> {
    Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
}

fn problem_words(tr: &Tr, problem: &Problem) -> String {
    let value = |id: &str, value: &str| tr.a(id, &[("value", value)]);
    match problem {
        Problem::Empty => tr.t("problem-empty"),
        Problem::TooLong { max } => tr.with("problem-too-long", &[("max", number(*max))]),
        Problem::Length { min, max } => tr.with(
            "problem-length",
            &[("min", number(*min)), ("max", number(*max))],
        ),
        Problem::ControlCharacters => tr.t("problem-control"),
        Problem::OneWord => tr.t("problem-one-word"),
        Problem::Reserved(name) => value("problem-reserved", name),
        Problem::Taken(name) => value("problem-taken", name),
        Problem::TooLarge { mib, max_mib } => tr.with(
            "problem-too-large",
            &[
                ("mib", Arg::Number(i64::try_from(*mib).unwrap_or(i64::MAX))),
                (
                    "max",
                    Arg::Number(i64::try_from(*max_mib).unwrap_or(i64::MAX)),
                ),
            ],
        ),
        Problem::TooMany(max) => tr.with("problem-too-many", &[("max", number(*max))]),
        Problem::UnknownZone(zone) => value("problem-zone", zone),
        Problem::TimeOfDay(text) => value("problem-time-of-day", text),
        Problem::DateOrTime(text) => value("problem-date-or-time", text),
        Problem::OutOfRange { value, min, max } => {
            let n = |n: &u64| Arg::Number(i64::try_from(*n).unwrap_or(i64::MAX));
            tr.with(
                "problem-out-of-range",
                &[("value", n(value)), ("min", n(min)), ("max", n(max))],
            )
        }
        Problem::NotOneOf { value, known } => tr.a(
            "problem-not-one-of",
            &[("value", value), ("known", &known.join(", "))],
        ),
        Problem::Setup(expected) => setup_words(tr, expected),
        Problem::BuyerChatTest => tr.t("problem-buyer-chat-test"),
        Problem::NotRetryable(state) => tr.a(
            "problem-not-retryable",
            &[("state", &tr.message_state(*state))],
        ),
        Problem::NothingToTell => tr.t("problem-nothing-to-tell"),
        Problem::WhichLeg(count) => tr.with("problem-which-leg", &[("count", number(*count))]),
        // Another system's words (a parser's, a file's, the operating system's): as they are.
        Problem::Said(words) => words.clone(),
    }
}

fn setup_words(tr: &Tr, expected: &Expected) -> String {
    match expected {
        Expected::HttpUrl => tr.t("setup-http-url"),
        Expected::RobotUrl(key) => tr.a("setup-robot-url", &[("key", key)]),
        Expected::FeishuHook => tr.t("setup-feishu-hook"),
        Expected::DingtalkSecret => tr.t("setup-dingtalk-secret"),
        Expected::SigningSecret => tr.t("setup-signing-secret"),
        Expected::BotToken => tr.t("setup-bot-token"),
        Expected::ChatId => tr.t("setup-chat-id"),
        Expected::SmtpUrl => tr.t("setup-smtp-url"),
        Expected::Sender => tr.t("setup-sender"),
        Expected::Recipients => tr.t("setup-recipients"),
        Expected::Mailbox(text) => tr.a("setup-mailbox", &[("value", text)]),
        Expected::Store => tr.t("setup-store"),
    }
}

#[cfg(test)]
mod tests {
    use ozontrack_domain::Language;
    use ozontrack_domain::notify::MessageState;

    use super::*;

    const LABELS: Labels = &[("name", "users-name")];

    fn every_problem() -> Vec<Problem> {
        let mut all = vec![
            Problem::Empty,
            Problem::TooLong { max: 64 },
            Problem::Length { min: 10, max: 1024 },
            Problem::ControlCharacters,
            Problem::OneWord,
            Problem::Reserved("console".into()),
            Problem::Taken("ops".into()),
            Problem::TooLarge {
                mib: 30,
                max_mib: 20,
            },
            Problem::TooMany(500),
            Problem::UnknownZone("Mars/Base".into()),
            Problem::TimeOfDay("25:00".into()),
            Problem::DateOrTime("yesterday".into()),
            Problem::OutOfRange {
                value: 0,
                min: 1,
                max: 1_000_000,
            },
            Problem::NotOneOf {
                value: "dhl".into(),
                known: vec!["cainiao".into(), "cdek".into()],
            },
            Problem::BuyerChatTest,
            Problem::NotRetryable(MessageState::Sent),
            Problem::NothingToTell,
            Problem::WhichLeg(2),
        ];
        all.extend(
            [
                Expected::HttpUrl,
                Expected::RobotUrl("key"),
                Expected::FeishuHook,
                Expected::DingtalkSecret,
                Expected::SigningSecret,
                Expected::BotToken,
                Expected::ChatId,
                Expected::SmtpUrl,
                Expected::Sender,
                Expected::Recipients,
                Expected::Mailbox("ops@".into()),
                Expected::Store,
            ]
            .map(Problem::Setup),
        );
        all
    }

    #[test]
    fn every_problem_reads_in_every_language_without_a_raw_message_id() {
        for language in Language::ALL {
            let tr = Tr::new(*language);
            for problem in every_problem() {
                let said = words(&tr, &Error::invalid("name", problem.clone()), LABELS)
                    .expect("a problem is the person's to fix");
                assert!(
                    !said.contains("problem-") && !said.contains("setup-"),
                    "{language:?} {problem:?}: {said}"
                );
                assert!(
                    said.starts_with(&tr.t("users-name")),
                    "the field is named by its label: {said}"
                );
                if *language != Language::En {
                    assert_ne!(
                        said,
                        words(
                            &Tr::new(Language::En),
                            &Error::invalid("name", problem),
                            LABELS
                        )
                        .unwrap_or_default()
                    );
                }
            }
        }
    }

    #[test]
    fn a_name_taken_is_worded_in_the_readers_language_with_the_name() {
        let taken = Error::conflict("name", Problem::Taken("ops".into()));
        let zh = words(&Tr::new(Language::Zh), &taken, LABELS).unwrap_or_default();
        assert_eq!(zh, "名称：“ops”已被使用。");
        let ru = words(&Tr::new(Language::Ru), &taken, LABELS).unwrap_or_default();
        assert_eq!(ru, "Имя: «ops» уже занято.");
    }

    #[test]
    fn something_gone_meanwhile_is_named_and_a_failure_of_ours_is_not_the_persons() {
        let tr = Tr::new(Language::Zh);
        assert_eq!(
            words(&tr, &Error::NotFound("user"), LABELS).as_deref(),
            Some("该用户不存在（或已被删除）。")
        );
        assert_eq!(
            words(
                &tr,
                &Error::Unavailable("the password could not be hashed"),
                LABELS
            ),
            None
        );
    }
}
