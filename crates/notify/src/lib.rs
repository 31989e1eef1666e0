//! The notification channels and message templates: how a notice becomes text in the reader's
//! language ([`render`]), how that text is marked up and cut for each service ([`channel`]),
//! the signatures the services check ([`sign`]), where a destination points and the secrets it
//! needs ([`address`]), and the sending itself with every answer read into a verdict
//! ([`send`]).
//!
//! This crate never decides *when* to notify or what to do with a verdict: the rules open
//! alerts, the engine writes the outbox and runs the dispatcher. The buyer chat goes through
//! the store's Ozon client (it shares the store's rate limit with the sync), so the engine
//! calls it; this crate renders its text.

pub mod address;
pub mod channel;
pub mod render;
pub mod send;
pub mod sign;

pub use address::{Address, Credentials, Expected, Parsed, Setup, SetupError, SmtpTls};
pub use channel::{Piece, pieces};
pub use render::{Extras, RenderError, Rendered, render};
pub use send::{Envelope, Sender};
