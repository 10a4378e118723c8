//! Photo uploads: any bytes are decoded under the byte and pixel bounds, re-encoded, or
//! refused with a localized reason; never a panic or an unbounded allocation (libFuzzer's
//! -rss_limit_mb catches the latter).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mend_server::domain::case::photo;

fuzz_target!(|data: &[u8]| {
    match photo::process(data, 10 * 1024 * 1024) {
        Ok(p) => assert!(photo::is_photo_hash(&p.hash)),
        Err(e) => assert!(e.message_key().starts_with("error.")),
    }
});
