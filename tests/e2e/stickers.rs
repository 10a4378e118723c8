//! Sticker QR codes over HTTP: they decode to the touchpoint's form URL, cache well, and
//! refuse bad input with a clear message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::db::queries::locations;
use mend_server::domain::sticker::logo;
use mend_testing::{decode_qr_codes, seed_demo, TestApp, TestDb};

async fn png_decodes(app: &TestApp, path: &str) -> (u32, Vec<String>) {
    let res = app.get(path).await;
    assert_eq!(res.status(), 200, "{path}");
    assert_eq!(res.headers()["content-type"], "image/png");
    let img = image::load_from_memory(&res.bytes().await.unwrap())
        .unwrap()
        .to_luma8();
    (img.width(), decode_qr_codes(&img))
}

#[tokio::test]
async fn sticker_png_decodes_to_the_form_url_at_several_sizes() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let store = seed_demo(&app);
    for tp in &store.touchpoints {
        for px in [128, 600, 1024] {
            let (side, decoded) =
                png_decodes(&app, &format!("/t/{}/qr.png?px={px}", tp.code)).await;
            assert_eq!(decoded, vec![format!("{}/t/{}", app.base_url, tp.code)]);
            assert!(side <= px && side * 10 >= px * 9);
        }
    }
    // The default size is 1024.
    let (side, _) = png_decodes(&app, &format!("/t/{}/qr.png", store.touchpoints[0].code)).await;
    assert!((922..=1024).contains(&side));
}

#[tokio::test]
async fn a_code_typed_in_lower_case_still_finds_its_sticker() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let code = seed_demo(&app).touchpoints[0].code.clone();
    let (_, decoded) =
        png_decodes(&app, &format!("/t/{}/qr.png?px=300", code.to_lowercase())).await;
    assert_eq!(decoded, vec![format!("{}/t/{code}", app.base_url)]);
}

#[tokio::test]
async fn images_carry_an_etag_and_a_long_cache_and_answer_304_when_unchanged() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let code = seed_demo(&app).touchpoints[0].code.clone();
    for path in [
        format!("/t/{code}/qr.png?px=600"),
        format!("/t/{code}/qr.svg"),
    ] {
        let res = app.get(&path).await;
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        let cache = res.headers()["cache-control"].to_str().unwrap().to_owned();
        assert!(cache.contains("max-age=2592000"), "{cache}");
        let again = app
            .client
            .get(format!("{}{path}", app.address))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
    }
    let svg = app.get(&format!("/t/{code}/qr.svg")).await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().starts_with("<svg"));
}

#[tokio::test]
async fn a_location_logo_changes_the_image_and_it_still_decodes() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let code = seed_demo(&app).touchpoints[0].code.clone();
    let path = format!("/t/{code}/qr.png?px=600");
    let before = app.get(&path).await.headers()["etag"].clone();

    let art = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(300, 300, |x, y| {
        image::Rgb([(x % 256) as u8, 20, (y % 256) as u8])
    }));
    let mut upload = Vec::new();
    art.write_to(
        &mut std::io::Cursor::new(&mut upload),
        image::ImageFormat::Png,
    )
    .unwrap();
    let normalized = logo::normalize(&upload).unwrap();
    let location_id = app
        .db
        .read(|c| mend_server::db::queries::touchpoints::find_by_code(c, &code))
        .unwrap()
        .unwrap()
        .location_id;
    app.db
        .write(|c| -> Result<bool, mend_server::db::DbError> {
            Ok(locations::set_logo(
                c,
                &location_id,
                Some((&normalized.png, &normalized.etag)),
            )?)
        })
        .unwrap();

    let res = app.get(&path).await;
    assert_ne!(res.headers()["etag"], before, "a new logo is a new image");
    let (_, decoded) = png_decodes(&app, &path).await;
    assert_eq!(decoded, vec![format!("{}/t/{code}", app.base_url)]);
}

#[tokio::test]
async fn an_unknown_code_gets_the_404_page() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    for path in [
        "/t/NOSUCHCODE/qr.png",
        "/t/NOSUCHCODE/qr.svg",
        "/t/%E2%9C%93/qr.png",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 404, "{path}");
        assert!(res.text().await.unwrap().contains("Page not found"));
    }
}

#[tokio::test]
async fn an_absurd_or_non_numeric_size_gets_a_400_that_says_what_is_allowed() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let code = seed_demo(&app).touchpoints[0].code.clone();
    for px in ["0", "127", "4097", "99999999999", "abc", "", "600px", "-1"] {
        let res = app.get(&format!("/t/{code}/qr.png?px={px}")).await;
        assert_eq!(res.status(), 400, "px={px}");
        let body = res.text().await.unwrap();
        assert!(
            body.contains("px must be a whole number from 128 to 4096"),
            "px={px}: {body}"
        );
    }
}
