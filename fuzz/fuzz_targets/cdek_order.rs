//! CDEK `GET /v2/orders` answers: never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ozontrack_carriers::cdek::parse_order("1234567890", data);
});
