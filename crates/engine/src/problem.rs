//! Why a request is refused, as facts rather than sentences: the console and the API read them
//! in English (`Display`), the dashboard in its reader's language through the catalogue.

use ozontrack_domain::notify::MessageState;

/// What is wrong with the value a request gave for one field ([`crate::Error::Invalid`]), or
/// why what it names cannot do that now ([`crate::Error::Conflict`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Nothing given where something is needed.
    #[error("cannot be empty")]
    Empty,
    #[error("at most {max} characters")]
    TooLong { max: usize },
    #[error("{min} to {max} characters")]
    Length { min: usize, max: usize },
    /// A line break or another control character in a one-line value.
    #[error("no control characters")]
    ControlCharacters,
    #[error("one word, without spaces")]
    OneWord,
    /// A name ozontrack keeps for itself: the console's own sign-in.
    #[error("{0:?} is the console's own sign-in; choose another name")]
    Reserved(String),
    /// A name another of its kind already has.
    #[error("{0:?} already exists")]
    Taken(String),
    /// A file larger than allowed, in MiB (`evidence.max_attachment_mb` for an attachment).
    #[error("{mib} MiB; at most {max_mib} MiB")]
    TooLarge { mib: u64, max_mib: u64 },
    /// More items than one request may name.
    #[error("at most {0} at once")]
    TooMany(usize),
    /// Not an IANA time zone name.
    #[error("unknown IANA time zone {0:?}")]
    UnknownZone(String),
    /// Not a time of day like 09:00.
    #[error("{0:?} is not a time like 09:00")]
    TimeOfDay(String),
    /// Neither a date like 2026-11-01 nor an RFC 3339 time.
    #[error("{0:?} is not a date (2026-11-01) or an RFC 3339 time")]
    DateOrTime(String),
    /// A whole number outside the range the field takes.
    #[error("{value} is not from {min} to {max}")]
    OutOfRange { value: u64, min: u64, max: u64 },
    /// Not one of the values the field takes; `known` lists them.
    #[error("{value:?} is not one of: {}", known.join(", "))]
    NotOneOf { value: String, known: Vec<String> },
    /// What a channel's setup needs in that field.
    #[error(transparent)]
    Setup(#[from] ozontrack_notify::Expected),
    /// A buyer chat is never tested: a test would reach a real buyer.
    #[error("a buyer chat cannot be tested: a test would reach a real buyer")]
    BuyerChatTest,
    /// Only failed or skipped messages are sent again.
    #[error("only failed or skipped messages are sent again; this one is {0}")]
    NotRetryable(MessageState),
    /// Nothing to tell a buyer: the posting has no alert.
    #[error("the posting has no alert to tell of")]
    NothingToTell,
    /// A posting with several carrier legs: the request must say which.
    #[error("the posting has {0} carrier legs: say which by its tracking number")]
    WhichLeg(usize),
    /// Refused in words of their own: another system's (a value's parser, a template engine,
    /// a zip or JSON reader, the operating system) or a console-only operation's (a backup,
    /// a restore). They are shown as they are.
    #[error("{0}")]
    Said(String),
}

impl Problem {
    /// `value` is not one of `known`.
    pub fn not_one_of(
        value: impl Into<String>,
        known: impl IntoIterator<Item = impl Into<String>>,
    ) -> Problem {
        Problem::NotOneOf {
            value: value.into(),
            known: known.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<ozontrack_reports::Refusal> for Problem {
    fn from(refusal: ozontrack_reports::Refusal) -> Self {
        use ozontrack_reports::Refusal;
        match refusal {
            Refusal::Empty => Problem::Empty,
            Refusal::NotOneOf { value, known } => Problem::NotOneOf { value, known },
            Refusal::UnknownZone(zone) => Problem::UnknownZone(zone),
        }
    }
}

impl From<ozontrack_domain::ParseError> for Problem {
    fn from(e: ozontrack_domain::ParseError) -> Self {
        Problem::Said(e.to_string())
    }
}
