//! The two ways ozontrack reads and writes enums as text, so that every enum of either kind
//! parses, prints and (de)serializes the same way:
//!
//! - [`open_string_enum!`]: values outside systems send us (Ozon statuses, event sources), which
//!   must keep what we have never seen instead of failing: Ozon and carriers add values without
//!   notice.
//! - [`closed_enum!`]: our own vocabulary (modes, severities, rules, roles…), where an unknown
//!   value is a mistake to refuse, naming what was expected.

/// Defines an enum of known string values plus `Unknown(String)`.
///
/// Parsing never fails: an unseen value becomes `Unknown` with the original text, and
/// `as_str` gives that text back, so a value read and written again is unchanged. It
/// serializes as that text.
macro_rules! open_string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of ozontrack does not know, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// Every known variant, in declaration order.
            pub const KNOWN: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// Reads a value; unseen values are kept as `Unknown`, never rejected.
            pub fn parse(text: &str) -> Self {
                match text {
                    $( $text $(| $alias)* => $name::$variant, )+
                    other => $name::Unknown(other.to_owned()),
                }
            }

            /// The canonical text of the value (for `Unknown`, the text it was read from).
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Unknown(text) => text,
                }
            }

            /// Whether this is a value ozontrack knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Unknown(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as $crate::__serde::Deserialize>::deserialize(d)?;
                Ok(Self::parse(&text))
            }
        }
    };
}

/// Defines a closed enum of our own vocabulary, written as text in storage, files, the API and
/// URLs: `ALL`, `as_str`, `parse` (trimmed, ASCII case ignored, aliases allowed; an unknown
/// value is a [`crate::ParseError`] listing the expected ones), `Display`, `FromStr`, and serde
/// as that text. `$what` names the kind of value in errors ("mode", "severity").
#[macro_export]
macro_rules! closed_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order (which is also their order).
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The value's text, as stored and sent.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// Reads the text [`Self::as_str`] gives (or an alias), trimmed, ASCII case ignored.
            pub fn parse(text: &str) -> Result<Self, $crate::ParseError> {
                // The text as stored, matched at once: stored values are read a million times
                // in an export, where comparing each value's text ignoring case was a tenth of
                // decoding a line.
                match text {
                    $( $text => return Ok($name::$variant), )+
                    _ => {}
                }
                let wanted = text.trim();
                $(
                    if wanted.eq_ignore_ascii_case($text) $(|| wanted.eq_ignore_ascii_case($alias))* {
                        return Ok($name::$variant);
                    }
                )+
                let expected: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                Err($crate::ParseError::new(
                    $what,
                    text,
                    format!("expected one of {}", expected.join(", ")),
                ))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::Closed for $name {
            const WHAT: &'static str = $what;

            fn texts() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.as_str()).collect()
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ParseError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text)
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as $crate::__serde::Deserialize>::deserialize(d)?;
                Self::parse(&text).map_err(<D::Error as $crate::__serde::de::Error>::custom)
            }
        }
    };
}
