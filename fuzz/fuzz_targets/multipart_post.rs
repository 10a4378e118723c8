//! The complaint post's multipart body, through the same reader and limits the server
//! uses (`form_post::read`): any body is read into the form or refused as too large or
//! malformed, never a panic; a photo over the limit never keeps more than the limit.
#![no_main]

use actix_multipart::Multipart;
use actix_web::test::TestRequest;
use libfuzzer_sys::fuzz_target;
use mend_server::web::public::form_post::read;

const BOUNDARY: &str = "mendfuzzboundary";
const PHOTO_MAX: usize = 16 * 1024;

thread_local! {
    static RUNTIME: actix_rt::Runtime = match actix_rt::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("no runtime for the fuzz target: {e}"),
    };
}

fuzz_target!(|body: &[u8]| {
    let (req, payload) = TestRequest::post()
        .uri("/t/TP")
        .insert_header((
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        ))
        .set_payload(body.to_vec())
        .to_http_parts();
    let outcome = RUNTIME.with(|rt| rt.block_on(read(Multipart::new(req.headers(), payload), PHOTO_MAX)));
    if let Ok(posted) = outcome {
        assert!(posted.photo.as_ref().is_none_or(|p| p.len() <= PHOTO_MAX));
    }
});
