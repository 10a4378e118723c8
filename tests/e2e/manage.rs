//! The manager pages: sign-in, who may see which location's stickers, and logo uploads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::db::queries::locations;
use mend_testing::{csrf_in, png_bomb, seed_demo, TestApp, TestDb};

const PASSWORD: &str = "a long enough password";

async fn app_with_manager() -> (TestApp, String) {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let store = seed_demo(&app);
    let location = app.location_of(&store.touchpoints[0].code);
    app.add_user("manager", "boss@store.example", PASSWORD, &[&location]);
    (app, location)
}

#[tokio::test]
async fn manager_pages_send_a_stranger_to_sign_in_and_back() {
    let (app, location) = app_with_manager().await;
    let path = format!("/manage/locations/{location}/stickers?paper=letter");
    let res = app.browser().get(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap();
    assert!(
        to.starts_with("/manage/login?next=%2Fmanage%2Flocations%2F"),
        "{to}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_refused_without_saying_which_part_was_wrong() {
    let (app, _) = app_with_manager().await;
    for (email, password) in [
        ("boss@store.example", "wrong"),
        ("nobody@store.example", PASSWORD),
    ] {
        let client = app.browser();
        let res = app.submit_login(&client, email, password).await;
        assert_eq!(res.status(), 401);
        let body = res.text().await.unwrap();
        assert!(body.contains("The email or the password is not right"));
        assert!(
            body.contains(&format!("value=\"{email}\"")),
            "the email is kept"
        );
    }
}

#[tokio::test]
async fn password_guessing_is_slowed_per_account_and_per_client() {
    let (app, _) = app_with_manager().await;
    let client = app.browser();
    for _ in 0..5 {
        let res = app
            .submit_login(&client, "boss@store.example", "guess")
            .await;
        assert_eq!(res.status(), 401);
    }
    // Even the right password waits now: the account has had its tries for this minute.
    let res = app
        .submit_login(&client, "BOSS@store.example", PASSWORD)
        .await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "60");
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Too many sign-in attempts"));

    // One client trying many accounts is stopped too (20 tries a minute in all).
    for n in 0..14 {
        let res = app
            .submit_login(&client, &format!("user{n}@store.example"), "guess")
            .await;
        assert_eq!(res.status(), 401, "try {n}");
    }
    let res = app
        .submit_login(&client, "another@store.example", "guess")
        .await;
    assert_eq!(res.status(), 429);
}

#[tokio::test]
async fn a_session_ends_twelve_hours_after_sign_in() {
    let (app, _) = app_with_manager().await;
    let client = app.sign_in("boss@store.example", PASSWORD).await;
    let res = client.get(app.url("/manage/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    app.advance(std::time::Duration::from_secs(11 * 3600));
    assert_eq!(
        client
            .get(app.url("/manage/"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.advance(std::time::Duration::from_secs(3600 + 60));
    let res = client.get(app.url("/manage/cases")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/manage/login"));
}

#[tokio::test]
async fn signing_in_with_any_letter_case_of_the_email_works_and_signing_out_ends_it() {
    let (app, _) = app_with_manager().await;
    let client = app.sign_in("Boss@Store.Example", PASSWORD).await;
    let page = client.get(app.url("/manage/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Mend Demo Café"));
    let out = client
        .post(app.url("/manage/logout"))
        .form(&[("csrf", csrf_in(&html))])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(
        client
            .get(app.url("/manage/"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused() {
    let (app, _) = app_with_manager().await;
    let client = app.browser();
    client.get(app.url("/manage/login")).send().await.unwrap();
    // The refusal is in the reader's language, not English on a Korean page; a malformed
    // query too.
    for (lang, refusal) in [
        ("en", "This form has expired"),
        ("ko", "이 양식은 만료되었습니다"),
    ] {
        let res = client
            .post(app.url("/manage/login"))
            .header("accept-language", lang)
            .form(&[
                ("csrf", "forged"),
                ("email", "boss@store.example"),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let page = res.text().await.unwrap();
        assert!(page.contains(refusal), "{page}");
        if lang != "en" {
            assert!(!page.contains("expired"), "{page}");
        }
    }
    let res = client
        .get(app.url("/s/sometoken?r=lots"))
        .header("accept-language", "ja")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("アドレスにこのページが理解できない部分があります"),
        "{page}"
    );
}

#[tokio::test]
async fn only_managers_of_the_location_and_admins_see_its_stickers() {
    let (app, location) = app_with_manager().await;
    app.add_user("staff", "till@store.example", PASSWORD, &[&location]);
    app.add_user("manager", "other@store.example", PASSWORD, &[]);
    app.add_user("admin", "root@store.example", PASSWORD, &[]);
    let path = format!("/manage/locations/{location}/stickers");
    for (email, status) in [
        ("boss@store.example", 200),
        ("root@store.example", 200),
        ("till@store.example", 403),
        ("other@store.example", 404),
    ] {
        let client = app.sign_in(email, PASSWORD).await;
        assert_eq!(
            client.get(app.url(&path)).send().await.unwrap().status(),
            status,
            "{email}"
        );
    }
    let client = app.sign_in("boss@store.example", PASSWORD).await;
    let res = client
        .get(app.url("/manage/locations/no-such-place/stickers"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn the_sheet_has_one_sticker_per_touchpoint_with_label_short_url_and_call_to_action() {
    let (app, location) = app_with_manager().await;
    let store = seed_demo(&app);
    let client = app.sign_in("boss@store.example", PASSWORD).await;
    let html = client
        .get(app.url(&format!(
            "/manage/locations/{location}/stickers?paper=letter&size=70"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("@page{size:letter;margin:0}"));
    assert!(html.contains("grid-template-columns:repeat(2,70mm)"));
    assert_eq!(
        html.matches("class=\"sticker\"").count(),
        store.touchpoints.len()
    );
    assert_eq!(
        html.matches("Something wrong? Tell us in 30 seconds.")
            .count(),
        store.touchpoints.len()
    );
    let host = app.base_url.trim_start_matches("http://");
    for tp in &store.touchpoints {
        assert!(html.contains(&format!("{host}/t/{}", tp.code)));
        assert!(html.contains(&format!("<div class=\"label\">{}</div>", tp.label)));
    }
    let bad = client
        .get(app.url(&format!("/manage/locations/{location}/stickers?size=60")))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("a size of 50 or 70 mm"));
}

#[tokio::test]
async fn the_call_to_action_is_in_the_locations_language_and_labels_are_escaped() {
    let (app, location) = app_with_manager().await;
    let code = seed_demo(&app).touchpoints[0].code.clone();
    app.test_db.execute_behind_the_back(&format!(
        "UPDATE locations SET default_language = 'ko' WHERE id = '{location}';
         UPDATE touchpoints SET label = '<b>Till</b> & \"2\"' WHERE code = '{code}';"
    ));
    let client = app.sign_in("boss@store.example", PASSWORD).await;
    let html = client
        .get(app.url(&format!("/manage/locations/{location}/stickers")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("class=\"sticker\" lang=\"ko\""),
        "the stickers speak the store's language"
    );
    assert!(html.contains("불편하셨나요? 30초 만에 알려주세요."));
    assert!(!html.contains("<b>Till</b>"));
    assert!(
        html.contains("&#60;b&#62;Till&#60;/b&#62;") || html.contains("&lt;b&gt;Till&lt;/b&gt;"),
        "labels are escaped"
    );
}

async fn upload(
    app: &TestApp,
    client: &reqwest::Client,
    location: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let sheet = client
        .get(app.url(&format!("/manage/locations/{location}/stickers")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf_in(&sheet))
        .part(
            "logo",
            reqwest::multipart::Part::bytes(bytes)
                .file_name("logo.png")
                .mime_str("image/png")
                .unwrap(),
        );
    client
        .post(app.url(&format!("/manage/locations/{location}/logo")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

fn stored_logo(app: &TestApp, location: &str) -> Option<String> {
    app.db.read(|c| locations::logo_etag(c, location)).unwrap()
}

#[tokio::test]
async fn a_logo_upload_is_stored_and_shown_on_every_sticker() {
    let (app, location) = app_with_manager().await;
    let client = app.sign_in("boss@store.example", PASSWORD).await;
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
        120,
        60,
        image::Rgb([200, 0, 0]),
    ));
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let res = upload(&app, &client, &location, png).await;
    assert_eq!(res.status(), 303);
    assert!(stored_logo(&app, &location).is_some());
    let html = client
        .get(app.url(&format!("/manage/locations/{location}/stickers")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        html.matches("<symbol id=\"mend-logo\"").count(),
        1,
        "the logo is carried once"
    );
    assert_eq!(html.matches("href=\"#mend-logo\"").count(), 3);
}

#[tokio::test]
async fn an_upload_that_is_not_an_image_or_is_a_bomb_is_refused_and_nothing_is_stored() {
    let (app, location) = app_with_manager().await;
    let client = app.sign_in("boss@store.example", PASSWORD).await;

    let res = upload(
        &app,
        &client,
        &location,
        b"<html>not an image</html>".to_vec(),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("This is not a PNG or JPEG image."));

    // 6000 x 6000 black pixels: a few kilobytes that decode to 36 megapixels.
    let bomb = png_bomb(6000, 6000);
    let res = upload(&app, &client, &location, bomb).await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("larger than 4096 x 4096 pixels"));

    let res = upload(&app, &client, &location, vec![0x89; 3 * 1024 * 1024]).await;
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    assert!(body.contains("larger than 2 MB"), "{body}");

    assert_eq!(stored_logo(&app, &location), None);
}
