//! A macro for the string enums that outside systems send us, which must keep values we have
//! never seen instead of failing: Ozon and carriers add statuses without notice.

/// Defines an enum of known string values plus `Unknown(String)`.
///
/// Parsing never fails: an unseen value becomes `Unknown` with the original text, and
/// `as_str` gives that text back, so a value read and written again is unchanged.
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
    };
}
