//! The Ozon Seller API, typed: requests and responses of the posting, delivery-method,
//! warehouse, tracking-number, rFBS status, report and chat methods; push payloads; the
//! per-account rate limit and retries (through `ozontrack-http`).
//!
//! This crate talks HTTP and nothing else: it never touches the store, and it reads its base
//! URL from whoever builds the client, so the same code runs against Ozon and the sandbox.
//!
//! - [`wire`]: Ozon's JSON, tolerant of its inconsistencies.
//! - [`normalize`]: wire postings to domain postings.
//! - [`client`]: [`OzonClient`] and its errors.
//! - [`push`]: push notifications and the replies Ozon expects.

pub mod client;
pub mod normalize;
pub mod push;
pub mod wire;

pub use client::{ClientSettings, ListFilter, OzonClient, OzonError, PAGE_LIMIT, TRACKING_BATCH};
pub use normalize::{NormalizeError, Normalized};
