//! Russian Post `getOperationHistory` SOAP answers: never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ozontrack_carriers::russian_post::parse_history("10204512345678", data);
});
