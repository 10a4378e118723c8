//! Property tests: arbitrary input where the outside world reaches Mend (issue 10). The
//! complaint form over HTTP answers 2xx, 3xx or 4xx whatever is posted, never a 5xx or a
//! panic; photo decoding, form validation and the kiosk JSON never panic on anything.
//! Each runs a bounded number of cases (`PROPTEST_CASES` raises it for a longer hunt).
//!
//! The cargo-fuzz targets in fuzz/ hunt below HTTP with coverage guidance; these go
//! through the whole server, in every test run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Text with the awkward parts over-represented: controls, quotes, markup, non-BMP,
/// right-to-left marks, NULs, long runs.
fn nasty_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(&format!(".{{0,{max}}}")).unwrap(),
        proptest::collection::vec(
            prop_oneof![
                Just("\0".to_owned()),
                Just("\r\n".to_owned()),
                Just("<script>".to_owned()),
                Just("\"'&;".to_owned()),
                Just("\u{202e}".to_owned()),
                Just("😀".to_owned()),
                Just("=cmd|".to_owned()),
                Just("%00%ZZ".to_owned()),
                "[a-z@. ]{0,20}".prop_map(|s| s),
            ],
            0..40
        )
        .prop_map(|parts| parts.concat()),
        (0usize..5000).prop_map(|n| "x".repeat(n)),
    ]
}

#[derive(Debug, Clone)]
struct Posted {
    stamp: Option<String>,
    fields: Vec<(&'static str, String)>,
    photo: Option<Vec<u8>>,
}

fn posted() -> impl Strategy<Value = Posted> {
    let field = |name: &'static str, max: usize| {
        proptest::option::of(nasty_text(max)).prop_map(move |v| v.map(|v| (name, v)))
    };
    (
        proptest::option::of(prop_oneof![Just("valid".to_owned()), nasty_text(80)]),
        field("category", 40),
        field("body", 3000),
        field("email", 300),
        field("consent", 5),
        field("lang", 20),
        field("website", 10),
        field("photo_ref", 80),
        field("handoff", 200),
        proptest::option::of(prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..2048),
            Just(tiny_png()).prop_map(|p| p),
            (0usize..200).prop_map(|cut| tiny_png()[..cut.min(tiny_png().len())].to_vec()),
        ]),
    )
        .prop_map(
            |(stamp, category, body, email, consent, lang, website, photo_ref, handoff, photo)| {
                Posted {
                    stamp,
                    fields: [
                        category, body, email, consent, lang, website, photo_ref, handoff,
                    ]
                    .into_iter()
                    .flatten()
                    .collect(),
                    photo,
                }
            },
        )
}

fn tiny_png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(8, 8, image::Rgb([200, 30, 30]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn any_complaint_post_gets_a_2xx_3xx_or_4xx_never_a_5xx() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (app, store) = rt.block_on(mend_testing::spawn_demo(
        mend_testing::TestDb::sqlite(),
        &[
            ("MEND_FORM_MIN_SECONDS", "0"),
            ("MEND_FORM_RATE_LIMIT", "0"),
        ],
    ));
    let code = store.touchpoints[0].code.clone();
    let mut runner = TestRunner::new(Config {
        cases: cases(150),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&posted(), |p| {
            let status = rt.block_on(async {
                let mut form = reqwest::multipart::Form::new();
                match p.stamp.as_deref() {
                    Some("valid") => {
                        let page = app.open_form(&code, "").await;
                        let stamp = mend_testing::input_value(&page, "stamp").unwrap();
                        form = form.text("stamp", stamp);
                    }
                    Some(other) => form = form.text("stamp", other.to_owned()),
                    None => {}
                }
                for (name, value) in &p.fields {
                    form = form.text(*name, value.clone());
                }
                if let Some(bytes) = &p.photo {
                    form = form.part(
                        "photo",
                        reqwest::multipart::Part::bytes(bytes.clone()).file_name("p.png"),
                    );
                }
                app.client
                    .post(app.url(&format!("/t/{code}")))
                    .multipart(form)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            });
            prop_assert!((200..500).contains(&status), "{status} for {p:?}");
            Ok(())
        })
        .unwrap();
    // The server is still well.
    assert_eq!(
        rt.block_on(app.get("/healthz")).status(),
        200,
        "the server is unwell after the property run"
    );
}

#[test]
fn any_query_string_or_path_gets_an_answer_under_500() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (app, store) = rt.block_on(mend_testing::spawn_demo(
        mend_testing::TestDb::sqlite(),
        &[],
    ));
    let code = store.touchpoints[0].code.clone();
    let mut runner = TestRunner::new(Config {
        cases: cases(150),
        failure_persistence: None,
        ..Config::default()
    });
    let target = (
        prop_oneof![
            Just(format!("/t/{code}")),
            Just(format!("/t/{code}/qr.png")),
            Just(format!("/t/{code}/qr.svg")),
            Just("/c/ABC-DEF".to_owned()),
            Just("/s/token".to_owned()),
            Just("/u".to_owned()),
            Just("/ack/ABC-DEF".to_owned()),
            "/[a-zA-Z0-9%._~-]{0,30}".prop_map(|s| s),
        ],
        "[a-zA-Z0-9%=&+._~-]{0,120}",
    );
    runner
        .run(&target, |(path, query)| {
            let status = rt.block_on(async {
                app.client
                    .get(format!("{}?{query}", app.url(&path)))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            });
            prop_assert!(status < 500, "{status} for {path}?{query}");
            Ok(())
        })
        .unwrap();
}

proptest! {
    #![proptest_config(Config { cases: cases(300), failure_persistence: None, ..Config::default() })]

    #[test]
    fn photo_decoding_never_panics(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..4096),
        (0usize..400, any::<u8>(), 0usize..400).prop_map(|(at, b, cut)| {
            // A real PNG with one byte changed and its tail cut.
            let mut png = tiny_png();
            let at = at % png.len();
            png[at] = b;
            png.truncate(png.len().saturating_sub(cut % png.len()));
            png
        }),
    ]) {
        let _ = mend_server::domain::case::photo::process(&bytes, 1024 * 1024);
    }

    #[test]
    fn validation_never_panics(
        category in nasty_text(50),
        body in nasty_text(3000),
        email in nasty_text(400),
        consent in any::<bool>(),
    ) {
        let form = mend_server::domain::case::complaint::ComplaintForm { category, body, email, consent };
        let categories = vec!["cleanliness".to_owned(), "other".to_owned()];
        let _ = mend_server::domain::case::complaint::validate(&form, &categories);
    }

    #[test]
    fn kiosk_json_never_panics(body in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        nasty_text(300).prop_map(String::into_bytes),
        (any::<i64>(), nasty_text(60), nasty_text(60)).prop_map(|(rating, key, at)| {
            serde_json::json!({"taps": [{"key": key, "rating": rating, "tapped_at": at}]})
                .to_string()
                .into_bytes()
        }),
    ]) {
        if let Ok(batch) = serde_json::from_slice::<mend_server::domain::kiosk::TapBatch>(&body) {
            let _ = mend_server::domain::kiosk::check_batch(batch, chrono::Utc::now().naive_utc());
        }
    }
}
