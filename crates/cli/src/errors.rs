//! How the binary ends: one line on stderr and an exit code a script can branch on.

use std::fmt;
use std::process::ExitCode;

/// Bad input from the person or script running us (flags, configuration, files): exit code 2.
/// Everything else that fails (database down, I/O) exits with 1.
#[derive(Debug)]
pub(crate) struct InputError(String);

impl InputError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

pub(crate) const EXIT_FAILURE: u8 = 1;
pub(crate) const EXIT_INPUT: u8 = 2;

/// The exit code for an error: 2 when any cause in its chain is bad input.
pub(crate) fn exit_code(error: &anyhow::Error) -> ExitCode {
    let input = error.chain().any(|cause| {
        cause.is::<InputError>()
            || cause.is::<ozontrack_domain::ParseError>()
            || cause.is::<ozontrack_db::DatabaseUrlError>()
            || matches!(
                cause.downcast_ref::<ozontrack_db::KeyFileError>(),
                Some(
                    ozontrack_db::KeyFileError::Missing { .. }
                        | ozontrack_db::KeyFileError::TooOpen { .. }
                        | ozontrack_db::KeyFileError::Invalid { .. }
                        | ozontrack_db::KeyFileError::BadKey
                )
            )
            || matches!(
                cause.downcast_ref::<ozontrack_db::DbError>(),
                Some(
                    ozontrack_db::DbError::DuplicateStoreName(_)
                        | ozontrack_db::DbError::NoApiAccess(_)
                )
            )
            || matches!(
                cause.downcast_ref::<ozontrack_engine::Error>(),
                Some(
                    ozontrack_engine::Error::Invalid { .. }
                        | ozontrack_engine::Error::Conflict { .. }
                        | ozontrack_engine::Error::NotFound(_)
                )
            )
    });
    ExitCode::from(if input { EXIT_INPUT } else { EXIT_FAILURE })
}

/// Whether the error is stdout's reader having gone away.
pub(crate) fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line, whatever line breaks the causes contain. Many
/// library errors repeat their source in their own message; a cause already said is skipped.
pub(crate) fn one_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if text.is_empty() || parts.last().is_some_and(|last| last.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Repeats(std::io::Error);
    impl fmt::Display for Repeats {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "error communicating with database: {}", self.0)
        }
    }
    impl std::error::Error for Repeats {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_cause_repeated_by_its_parent_is_said_once_on_one_line() {
        let io = std::io::Error::other("Connection refused\n(os error 111)");
        let error = anyhow::Error::new(Repeats(io)).context("cannot open the database x");
        assert_eq!(
            one_line(&error),
            "cannot open the database x: error communicating with database: Connection refused (os error 111)"
        );
    }

    #[test]
    fn bad_input_anywhere_in_the_chain_exits_with_2() {
        let error = anyhow::Error::new(InputError::new("bad")).context("--name");
        assert_eq!(exit_code(&error), ExitCode::from(EXIT_INPUT));
        assert_eq!(
            exit_code(&anyhow::anyhow!("disk full")),
            ExitCode::from(EXIT_FAILURE)
        );
    }
}
