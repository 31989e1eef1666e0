//! 17TRACK `gettrackinfo` answers: any bytes give events or an error, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ozontrack_carriers::seventeen_track::parse_track_info(data);
});
