//! The complaint post's multipart body, through the same extractor and limits the server
//! uses: any body is read into the form or refused with a 4xx, never a panic or a 5xx.
#![no_main]

use actix_multipart::form::MultipartForm;
use actix_web::{test::TestRequest, FromRequest};
use libfuzzer_sys::fuzz_target;
use mend_server::web::public::form::{upload_config, Posted};

const BOUNDARY: &str = "mendfuzzboundary";

thread_local! {
    static RUNTIME: actix_rt::Runtime = match actix_rt::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("no runtime for the fuzz target: {e}"),
    };
}

fuzz_target!(|body: &[u8]| {
    let (req, mut payload) = TestRequest::post()
        .uri("/t/TP")
        .insert_header((
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        ))
        .app_data(upload_config(16 * 1024))
        .set_payload(body.to_vec())
        .to_http_parts();
    let outcome =
        RUNTIME.with(|rt| rt.block_on(MultipartForm::<Posted>::from_request(&req, &mut payload)));
    if let Err(e) = outcome {
        let status = e.as_response_error().status_code();
        assert!(status.is_client_error(), "{status} for a posted body");
    }
});
