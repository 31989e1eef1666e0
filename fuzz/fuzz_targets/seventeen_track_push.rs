//! 17TRACK push bodies, and their signature check: never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ozontrack_carriers::seventeen_track::parse_push(data);
    let _ = ozontrack_carriers::seventeen_track::verify(data, "00", "key");
});
