//! Tracking numbers: parsing, format and carrier detection never panic, and a parsed number
//! parses again to itself.
#![no_main]

use ozontrack_domain::TrackingNumber;
use ozontrack_domain::carrier;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(number) = TrackingNumber::parse(text) {
        let _ = number.format();
        let _ = carrier::from_number(&number);
        let _ = carrier::check_plausible(None, &number);
        let again = TrackingNumber::parse(number.as_str()).expect("a parsed number parses again");
        assert_eq!(again, number);
    }
});
