//! Which database to open, parsed from its URL once; the URL's password never reaches a log.

use std::fmt;
use std::path::PathBuf;

/// The engines ozontrack runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A parsed database URL: `sqlite://PATH` (or `sqlite:PATH`) or `postgres://…`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

/// Why a database URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error(
        "database URL {shown:?} has the unknown scheme {scheme:?}; expected sqlite://PATH or postgres://…"
    )]
    UnknownScheme { shown: String, scheme: String },
    #[error("database URL {0:?} has no scheme; expected sqlite://PATH or postgres://…")]
    NoScheme(String),
    #[error("database URL {0:?} names no SQLite file")]
    EmptySqlitePath(String),
}

impl DatabaseUrl {
    pub fn parse(text: &str) -> Result<Self, DatabaseUrlError> {
        let text = text.trim();
        let Some((scheme, rest)) = text.split_once(':') else {
            return Err(DatabaseUrlError::NoScheme(redact(text)));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => {
                let path = rest.trim_start_matches("//");
                // Query options (`?mode=…`) are ours to set, not the URL's.
                let path = path.split('?').next().unwrap_or_default();
                if path.is_empty() {
                    return Err(DatabaseUrlError::EmptySqlitePath(text.to_owned()));
                }
                Ok(Self::Sqlite(PathBuf::from(path)))
            }
            "postgres" | "postgresql" => Ok(Self::Postgres(text.to_owned())),
            other => Err(DatabaseUrlError::UnknownScheme {
                shown: redact(text),
                scheme: other.to_owned(),
            }),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL as it is safe to show: a password is replaced by `***`.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => redact(url),
        }
    }
}

/// `scheme://user:password@host…` cut into scheme, user, password and the rest, when it has
/// a password.
fn with_password(url: &str) -> Option<(&str, &str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let (userinfo, host) = rest.split_once('@')?;
    let (user, password) = userinfo.split_once(':')?;
    Some((scheme, user, password, host))
}

/// Replaces the password of `scheme://user:password@host…` by `***`.
fn redact(url: &str) -> String {
    match with_password(url) {
        Some((scheme, user, _, host)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// The URL's password as typed (`%40` → `@`), for a tool that takes it from the environment.
pub(crate) fn password_of(url: &str) -> Option<String> {
    with_password(url).map(|(_, _, password, _)| percent_decoded(password))
}

/// `%40` → `@`: a URL's password as typed (an invalid escape is kept as written).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_a_file() {
        let url = DatabaseUrl::parse("sqlite://ozontrack.db").unwrap();
        assert_eq!(url, DatabaseUrl::Sqlite(PathBuf::from("ozontrack.db")));
        assert_eq!(
            DatabaseUrl::parse("sqlite:/var/lib/o.db?mode=rwc")
                .unwrap()
                .redacted(),
            "sqlite:///var/lib/o.db"
        );
    }

    #[test]
    fn an_unknown_scheme_is_named_in_the_error() {
        let err = DatabaseUrl::parse("mysql://root:hunter2@localhost/db").unwrap_err();
        assert_eq!(
            err.to_string(),
            "database URL \"mysql://root:***@localhost/db\" has the unknown scheme \"mysql\"; expected sqlite://PATH or postgres://…"
        );
    }

    #[test]
    fn postgres_passwords_never_show_in_debug_or_display() {
        let url = DatabaseUrl::parse("postgres://ozt:s3cret@db:5432/ozontrack").unwrap();
        assert!(!format!("{url:?} {url}").contains("s3cret"));
        assert_eq!(url.backend(), Backend::Postgres);
    }

    #[test]
    fn a_password_is_read_from_the_url_for_the_environment() {
        assert_eq!(
            password_of("postgres://u:p%40ss@h:5432/db").as_deref(),
            Some("p@ss")
        );
        assert_eq!(password_of("postgres://u@h/db"), None);
        assert_eq!(password_of("postgres://h/db"), None);
    }
}
