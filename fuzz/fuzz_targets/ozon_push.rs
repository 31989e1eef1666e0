//! Ozon push bodies: any bytes give a message or a refusal with Ozon's error code, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(e) = ozontrack_ozon::push::parse(data) {
        let _ = e.body();
    }
});
