//! The sandbox: a simulated China → Russia parcel world that knows the truth about every
//! parcel, so that ozontrack runs, is tested and is measured without Ozon or carrier
//! credentials.
//!
//! - [`world`]: the deterministic world generator and the ground truth.
//! - [`carriers`]: the carriers of the world and how each is reached.
//! - [`rng`]: the seeded random stream everything is drawn from.
//! - [`fakes`]: the Ozon Seller API, 17TRACK, Russian Post and CDEK as HTTP routers.
//! - [`server`]: runs the fakes on loopback ([`Sandbox::start`]).
//!
//! Production code paths never link this crate, except `ozontrack demo` and tests.

// The Ozon posting object is a large `json!` literal.
#![recursion_limit = "256"]

pub mod carriers;
pub mod fakes;
pub mod faults;
pub mod rng;
pub mod server;
pub mod truth;
pub mod world;

pub use carriers::{Carrier, Feed};
pub use server::{CLOCK_PATH, ClockReading, Sandbox, ServeConfig, Urls};
pub use truth::TrueState;
pub use world::{
    CarrierEvent, EventKind, FailureKind, FailureRates, Mode, OzonStep, Parcel, Setting, SimLeg,
    TrueFailure, World, WorldConfig,
};

/// An HTTP client for the sandbox's own pushes and for tests. reqwest is built with rustls and
/// no crypto provider of its own, so one must be installed before a client is built (the
/// fakes speak plain HTTP, but reqwest sets TLS up anyway).
pub fn http_client() -> reqwest::Client {
    // Installing twice fails harmlessly: the first provider stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
