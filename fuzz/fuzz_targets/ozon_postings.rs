//! Ozon posting answers (v4 FBS list, v3 FBO list, v3 FBS get, v2 FBO get) and the error body:
//! any bytes give postings with notes or an error, never a panic.
#![no_main]

use ozontrack_ozon::wire::{self, Envelope, ErrorBody, FboPosting, FbsPosting, Page};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(page) = wire::decode::<Page<FbsPosting>>(data) {
        for p in &page.value.postings {
            let _ = ozontrack_ozon::normalize::fbs(ozontrack_domain::StoreId(1), p);
        }
    }
    if let Ok(page) = wire::decode::<Page<FboPosting>>(data) {
        for p in &page.value.postings {
            let _ = ozontrack_ozon::normalize::fbo(ozontrack_domain::StoreId(1), p);
        }
    }
    let _ = wire::decode::<Envelope<FbsPosting>>(data);
    let _ = wire::decode::<Envelope<FboPosting>>(data);
    let _ = wire::decode::<ErrorBody>(data);
});
