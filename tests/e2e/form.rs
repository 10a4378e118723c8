//! The complaint form over HTTP: languages, weight, validation, abuse guards, photos,
//! double taps, escaping, and the status page it leads to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::db::queries::{cases, scans};
use mend_server::db::states::{EventKind, MailKind};
use mend_testing::{input_value, png_bomb, seed_demo, Post, TestApp, TestDb};

/// An app with the abuse guards off (each test turns on the one it checks) and a code.
async fn app_with(settings: &[(&str, &str)]) -> (TestApp, String) {
    let mut all = vec![
        ("MEND_FORM_MIN_SECONDS", "0"),
        ("MEND_FORM_RATE_LIMIT", "0"),
    ];
    all.extend_from_slice(settings);
    let app = TestApp::spawn_with(TestDb::sqlite(), &all).await;
    let code = seed_demo(&app).touchpoints[0].code.clone();
    (app, code)
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::DynamicImage::new_rgb8(width, height)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[tokio::test]
async fn the_form_speaks_each_language_chosen_by_query_then_browser_then_location() {
    let (app, code) = app_with(&[]).await;
    for (lang, title) in [
        ("en", "Tell us what went wrong"),
        ("ko", "무엇이 잘못되었는지 알려주세요"),
        ("ja", "何があったか教えてください"),
        ("pl", "Powiedz nam, co poszło nie tak"),
    ] {
        let html = app.open_form(&code, &format!("?lang={lang}")).await;
        assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{lang}");
        assert!(html.contains(title), "{lang}");
        // Korean breaks between words ("알려주세 / 요" is broken), by the page's lang.
        assert!(html.contains(":lang(ko){word-break:keep-all}"), "{lang}");
        assert!(
            html.contains("Mend Demo Café") && html.contains("Till 2"),
            "{lang}"
        );
        assert!(
            html.contains("aria-current=\"true\">"),
            "the switch marks the current language"
        );
    }
    let res = app
        .client
        .get(app.url(&format!("/t/{code}")))
        .header("Accept-Language", "de-DE, ja;q=0.9, en;q=0.5")
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("<html lang=\"ja\">"));
    assert!(
        app.open_form(&code, "")
            .await
            .contains("<html lang=\"en\">"),
        "the location's language"
    );
}

#[tokio::test]
async fn the_form_weighs_under_14_kb_compressed_and_needs_nothing_from_elsewhere() {
    let (app, code) = app_with(&[]).await;
    for lang in ["en", "ko", "ja", "pl"] {
        let res = app
            .client
            .get(app.url(&format!("/t/{code}?lang={lang}")))
            .header("Accept-Encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["content-encoding"], "gzip");
        let wire = res.bytes().await.unwrap().len();
        assert!(wire <= 14 * 1024, "{lang}: {wire} bytes on the wire");
    }
    let html = app.open_form(&code, "").await;
    for outside in ["<script", "<link", "src=", "@import", "url("] {
        assert!(!html.contains(outside), "{outside}");
    }
    assert!(
        html.contains("width=device-width,initial-scale=1\""),
        "no zoom lock"
    );
    assert!(!html.contains("user-scalable") && !html.contains("maximum-scale"));
    for id in ["body", "photo", "email"] {
        assert!(
            html.contains(&format!("for=\"{id}\"")),
            "a real label for {id}"
        );
    }
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let (app, code) = app_with(&[]).await;
    for path in [format!("/t/{code}"), "/healthz".into(), "/nowhere".into()] {
        let res = app.get(&path).await;
        let csp = res.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("script-src"),
            "{path}: {csp}"
        );
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        assert_eq!(res.headers()["referrer-policy"], "no-referrer");
    }
}

#[tokio::test]
async fn a_complaint_is_stored_and_leads_to_its_status_page() {
    let (app, code) = app_with(&[]).await;
    let res = app.submit(&code, Post::valid()).await;
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/c/") && location.contains("?k="),
        "{location}"
    );
    assert_eq!(app.case_count(), 1, "stored before the answer");

    let reference = location[3..10].to_owned();
    let case = app
        .db
        .read(|c| cases::find_by_reference(c, &reference))
        .unwrap()
        .unwrap();
    assert_eq!(case.body, "The restroom has no soap.");
    assert_eq!(case.contact_email.as_deref(), Some("guest@example.com"));
    assert!(case.contact_consent);
    assert_eq!(case.status.as_str(), "new");
    let received = app
        .db
        .read(|c| cases::events_of_kind(c, &case.id, mend_server::db::states::EventKind::Received))
        .unwrap();
    assert_eq!(received.len(), 1, "the timeline starts with the case");

    let page = app.get(&location).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let html = page.text().await.unwrap();
    assert!(html.contains(&reference));
    assert!(html.contains("aims to respond within 15 minutes"));
    assert!(html.contains("<li class=\"done\">Received</li>"));
    assert!(html.contains("<li>Seen by staff</li>"));
}

#[tokio::test]
async fn the_status_page_needs_its_token() {
    let (app, code) = app_with(&[]).await;
    let location = app.submit(&code, Post::valid()).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let reference = &location[3..10];
    for path in [
        format!("/c/{reference}"),
        format!("/c/{reference}?k=0000"),
        format!("{location}x"),
        "/c/AAA-AAA?k=whatever".into(),
    ] {
        assert_eq!(app.get(&path).await.status(), 404, "{path}");
    }
    let lower = location.replacen(reference, &reference.to_lowercase().replace('-', ""), 1);
    assert_eq!(
        app.get(&lower).await.status(),
        200,
        "the reference may be typed loosely"
    );
}

#[tokio::test]
async fn each_bad_field_is_refused_in_the_customers_language_keeping_what_was_typed() {
    let (app, code) = app_with(&[]).await;
    let cases = [
        (
            Post::valid().with("body", "   "),
            "Please tell us what happened.",
        ),
        (
            Post::valid().with("body", &"x".repeat(2_001)),
            "Please keep it under 2,000 characters.",
        ),
        (
            Post::valid().with("email", "guest@"),
            "This email address does not look right.",
        ),
        (
            Post::valid().with("category", "bananas"),
            "Please choose what it is about.",
        ),
        (
            Post::valid().without("category"),
            "Please choose what it is about.",
        ),
    ];
    for (post, message) in cases {
        let res = app.submit(&code, post.clone()).await;
        assert_eq!(res.status(), 400, "{message}");
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{message}");
        assert!(html.contains("Please check the marked fields."));
        let email = post
            .fields
            .iter()
            .find(|(n, _)| *n == "email")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(
            input_value(&html, "email").unwrap(),
            email,
            "the email is kept"
        );
    }
    let res = app
        .submit(&code, Post::valid().with("body", "").with("lang", "ko"))
        .await;
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("무슨 일이 있었는지 알려주세요."));
    let res = app
        .submit(
            &code,
            Post::valid()
                .with("email", "nope")
                .with("body", "kept <words>"),
        )
        .await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains(">kept &#60;words&#62;</textarea>"),
        "the text is kept, escaped"
    );
    assert_eq!(app.case_count(), 0, "nothing stored");
}

#[tokio::test]
async fn markup_in_every_field_and_name_is_shown_escaped() {
    let (app, code) = app_with(&[]).await;
    app.test_db.execute_behind_the_back(&format!(
        "UPDATE touchpoints SET label = '<img src=x onerror=alert(1)>' WHERE code = '{code}';
         UPDATE locations SET name = '\"><script>alert(2)</script>';"
    ));
    let html = app.open_form(&code, "").await;
    assert!(!html.contains("<img src=x") && !html.contains("<script>"));
    let bad = Post::valid()
        .with("email", "\"><script>alert(3)</script>")
        .with("body", "</textarea><script>alert(4)</script>");
    let html = app.submit(&code, bad).await.text().await.unwrap();
    assert!(!html.contains("<script>"), "{html}");
    let ok = app
        .submit(&code, Post::valid().with("body", "<b>bold</b>"))
        .await;
    let status = app
        .get(ok.headers()["location"].to_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(!status.contains("<script>"));
}

#[tokio::test]
async fn a_filled_honeypot_is_refused_and_nothing_is_stored() {
    let (app, code) = app_with(&[]).await;
    let res = app
        .submit(&code, Post::valid().with("website", "http://spam.example"))
        .await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("We could not accept this form."));
    assert_eq!(app.case_count(), 0);
}

#[tokio::test]
async fn a_post_sooner_than_the_minimum_or_with_a_forged_stamp_is_refused_politely() {
    let (app, code) = app_with(&[("MEND_FORM_MIN_SECONDS", "30")]).await;
    let res = app.submit(&code, Post::valid()).await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    assert!(html.contains("That was very fast."));
    assert!(
        html.contains("The restroom has no soap."),
        "nothing typed is lost"
    );
    let forged = app
        .post_raw(&code, &Post::valid().with("stamp", "1.abc.def"))
        .await;
    assert_eq!(forged.status(), 400);
    assert!(forged
        .text()
        .await
        .unwrap()
        .contains("We could not accept this form."));
    let missing = app.post_raw(&code, &Post::valid()).await;
    assert_eq!(missing.status(), 400);
    assert_eq!(app.case_count(), 0);
}

#[tokio::test]
async fn too_many_complaints_from_one_client_get_a_localized_429() {
    let (app, code) = app_with(&[("MEND_FORM_RATE_LIMIT", "2")]).await;
    for _ in 0..2 {
        assert_eq!(app.submit(&code, Post::valid()).await.status(), 303);
    }
    let res = app.submit(&code, Post::valid().with("lang", "pl")).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Spróbuj ponownie za minutę."));
    assert_eq!(app.case_count(), 2);
}

#[tokio::test]
async fn a_double_tap_on_send_gives_the_same_case() {
    let (app, code) = app_with(&[]).await;
    let page = app.open_form(&code, "").await;
    let post = Post::valid().with("stamp", &input_value(&page, "stamp").unwrap());
    let first = app.post_raw(&code, &post).await;
    let second = app.post_raw(&code, &post).await;
    assert_eq!(first.status(), 303);
    assert_eq!(first.headers()["location"], second.headers()["location"]);
    assert_eq!(app.case_count(), 1);
}

#[tokio::test]
async fn a_photo_is_shrunk_stripped_of_gps_and_kept_for_staff() {
    let (app, code) = app_with(&[]).await;
    let mut photo = Vec::new();
    image::DynamicImage::new_rgb8(2400, 1800)
        .write_to(
            &mut std::io::Cursor::new(&mut photo),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    // An EXIF block with GPS, as a phone writes it.
    let mut with_gps = photo[..2].to_vec();
    let exif = b"Exif\0\0II*\0\x08\0\0\0\x01\0\x25\x88\x04\0\x01\0\0\0\x1a\0\0\0\0\0\0\0\x01\0\x01\0\x02\0\x02\0\0\0N\0\0\0\0\0\0\0";
    with_gps.extend([0xFF, 0xE1]);
    with_gps.extend(((exif.len() + 2) as u16).to_be_bytes());
    with_gps.extend(exif);
    with_gps.extend(&photo[2..]);

    let res = app.submit(&code, Post::valid().photo(with_gps)).await;
    assert_eq!(res.status(), 303);
    let reference = res.headers()["location"].to_str().unwrap()[3..10].to_owned();
    let case = app
        .db
        .read(|c| cases::find_by_reference(c, &reference))
        .unwrap()
        .unwrap();
    let stored = app
        .stored_photo(&case.photo_path.unwrap())
        .await
        .expect("the photo is in the photo store");
    assert!(
        !stored.windows(4).any(|w| w == b"Exif"),
        "EXIF and GPS are gone"
    );
    let img = image::load_from_memory(&stored).unwrap();
    assert_eq!((img.width(), img.height()), (1600, 1200));
    let thumb = app
        .stored_photo(&case.photo_thumb_path.unwrap())
        .await
        .expect("and its thumbnail");
    assert!(image::load_from_memory(&thumb).unwrap().width() <= 320);
    assert!(
        !app.data_dir.path().join("photos").exists(),
        "nothing on the instance's disk"
    );
    assert!(
        !app.get("/photos").await.status().is_success(),
        "photos are not public"
    );
}

#[tokio::test]
async fn bad_photos_are_refused_with_the_reason_and_nothing_is_stored() {
    let (app, code) = app_with(&[("MEND_PHOTO_MAX_MB", "1")]).await;
    let bomb = png_bomb(20_000, 4);
    for (photo, message) in [
        (
            b"%PDF-1.4 not a photo".to_vec(),
            "This file is not a photo (JPEG, PNG or WebP).",
        ),
        (bomb, "This photo has too many pixels."),
    ] {
        let res = app.submit(&code, Post::valid().photo(photo)).await;
        assert_eq!(res.status(), 400, "{message}");
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{message}");
        assert!(
            html.contains("The restroom has no soap."),
            "the text is kept"
        );
    }
    // 10,000 x 10,000 is inside the side limit but no phone's photo: refused from its
    // header (it used to be decoded, 400 MB of pixels, for a 389 KB upload).
    let res = app
        .submit(&code, Post::valid().photo(png_bomb(10_000, 4)))
        .await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("This photo has too many pixels."));
    // Over the size limit: the form again, with what was typed (the email and consent
    // come after the photo in the post) and the reason, in the language chosen on the
    // form, not an error page that loses the words.
    let huge = app
        .submit(&code, Post::valid().photo(vec![0xFF; 2 * 1024 * 1024]))
        .await;
    assert_eq!(huge.status(), 413);
    let html = huge.text().await.unwrap();
    assert!(html.contains("This photo is too large."));
    assert!(html.contains("The restroom has no soap.") && html.contains("guest@example.com"));
    assert!(html.contains("name=\"stamp\""), "a form to send again");
    let huge = app
        .submit(
            &code,
            Post::valid()
                .with("lang", "ko")
                .with("body", "비누가 없어요.")
                .photo(vec![0xFF; 2 * 1024 * 1024]),
        )
        .await;
    assert_eq!(huge.status(), 413);
    let html = huge.text().await.unwrap();
    assert!(html.contains("사진이 너무 큽니다.") && html.contains("비누가 없어요."));
    assert!(html.contains("<html lang=\"ko\""));
    assert_eq!(app.case_count(), 0);
}

#[tokio::test]
async fn an_accepted_photo_is_not_asked_for_again_after_another_field_was_wrong() {
    let (app, code) = app_with(&[]).await;
    let res = app
        .submit(&code, Post::valid().with("body", "").photo(png(800, 600)))
        .await;
    assert_eq!(res.status(), 400);
    let html = res.text().await.unwrap();
    let kept = input_value(&html, "photo_ref").expect("the photo is kept");
    assert!(html.contains("Your photo is attached."));
    let retry = Post::valid()
        .with("photo_ref", &kept)
        .with("stamp", &input_value(&html, "stamp").unwrap());
    let res = app.post_raw(&code, &retry).await;
    assert_eq!(res.status(), 303);
    let reference = res.headers()["location"].to_str().unwrap()[3..10].to_owned();
    let case = app
        .db
        .read(|c| cases::find_by_reference(c, &reference))
        .unwrap()
        .unwrap();
    assert!(case.photo_path.unwrap().contains(&kept));
    // A made-up reference names no file.
    let res = app
        .submit(&code, Post::valid().with("photo_ref", "../../secret"))
        .await;
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn every_visitor_is_counted_once_for_its_touchpoint_and_day() {
    let (app, code) = app_with(&[]).await;
    // Three phones, each with its device cookie, one of them reloading; then a script
    // without cookies asking 300 times: four visitors.
    for device in ["a", "b", "c", "a"] {
        let res = app
            .client
            .get(app.url(&format!("/t/{code}")))
            .header("cookie", format!("mend_device={}", device.repeat(32)))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    for _ in 0..300 {
        app.open_form(&code, "").await;
    }
    app.scans.flush(&app.db).unwrap();
    let tp = app
        .db
        .read(|c| mend_server::db::queries::touchpoints::find_by_code(c, &code))
        .unwrap()
        .unwrap();
    let from = chrono::Utc::now().date_naive() - chrono::Days::new(2);
    let counted = app
        .db
        .read(|c| scans::per_day(c, &tp.id, from, from + chrono::Days::new(4)))
        .unwrap();
    assert_eq!(counted.iter().map(|(_, n)| n).sum::<i32>(), 4);
}

#[tokio::test]
async fn an_unknown_touchpoint_gets_a_404_in_the_browsers_language() {
    let (app, _) = app_with(&[]).await;
    let res = app
        .client
        .get(app.url("/t/NOSUCHCODE"))
        .header("Accept-Language", "ko")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("페이지를 찾을 수 없습니다"));
}

#[tokio::test]
async fn the_status_page_shows_staff_updates_and_progress_escaped_in_the_store_time_zone() {
    use mend_server::db::models::{new_id, CaseEvent};
    let (app, code) = app_with(&[]).await;
    let location = app
        .submit(&code, Post::valid().with("lang", "pl"))
        .await
        .headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let case = app
        .db
        .read(|c| cases::find_by_reference(c, &location[3..10]))
        .unwrap()
        .unwrap();
    let at =
        chrono::NaiveDateTime::parse_from_str("2026-07-01 10:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
    app.db
        .write(|c| -> Result<(), mend_server::db::DbError> {
            cases::add_event(
                c,
                &CaseEvent {
                    id: new_id(),
                    case_id: case.id.clone(),
                    actor_user_id: None,
                    kind: EventKind::PublicUpdate,
                    detail: r#"{"text":"Soap refilled <b>now</b>"}"#.into(),
                    created_at: at,
                },
            )?;
            Ok(())
        })
        .unwrap();
    app.test_db.execute_behind_the_back(&format!(
        "UPDATE cases SET acknowledged_at = created_at, status = 'in_progress' WHERE id = '{}'",
        case.id
    ));
    let html = app.get(&location).await.text().await.unwrap();
    assert!(html.contains("<html lang=\"pl\">"), "the case's language");
    assert!(
        html.contains("Soap refilled &#60;b&#62;now&#60;/b&#62;"),
        "{html}"
    );
    assert!(
        html.contains("1.07.2026, 12:00 CEST") || html.contains("01.07.2026, 12:00 CEST"),
        "10:00 UTC is 12:00 in Warsaw in July, written the Polish way: {html}"
    );
    assert!(html.contains("<li class=\"done\">Zobaczone przez obsługę</li>"));
    assert!(html.contains("<li class=\"done\">W naprawie</li>"));
    assert!(html.contains("<li>Rozwiązane</li>"));
}

/// A post that is not from our form (no stamp, a forged one) is refused before its photo
/// is read: the photo is neither decoded nor stored.
#[tokio::test]
async fn a_photo_is_read_only_for_a_post_from_our_own_form() {
    let (app, code) = app_with(&[]).await;
    let photos = || {
        app.db
            .read(mend_server::db::queries::photos::counts)
            .unwrap()
            .0
    };
    for stamp in ["", "1.abc.00ff"] {
        let res = app
            .submit(
                &code,
                Post::valid().with("stamp", stamp).photo(png(640, 480)),
            )
            .await;
        assert_eq!(res.status(), 400, "{stamp:?}");
        assert_eq!(photos(), 0, "nothing stored for a forged post");
    }
    let res = app.submit(&code, Post::valid().photo(png(640, 480))).await;
    assert_eq!(res.status(), 303);
    assert_eq!(photos(), 2, "the photo and its thumbnail");
}

/// A case's own times and its alert rows come from one clock (the app's): moved three
/// hours ahead, both are three hours ahead, so "received" and "escalate at" agree.
#[tokio::test]
async fn a_case_and_its_alert_rows_are_stamped_by_one_clock() {
    let (app, code) = app_with(&[]).await;
    app.advance(std::time::Duration::from_secs(3 * 3600));
    let res = app.submit(&code, Post::valid()).await;
    assert_eq!(res.status(), 303);
    let case = app
        .db
        .read(|c| {
            use diesel::prelude::*;
            mend_server::db::schema::cases::table
                .select(mend_server::db::models::Case::as_select())
                .first(c)
        })
        .unwrap();
    let alert = app
        .outbox_rows()
        .into_iter()
        .find(|r| r.kind == MailKind::Alert)
        .unwrap();
    assert!(
        case.created_at > chrono::Utc::now().naive_utc() + chrono::Duration::hours(2),
        "the case is stamped by the app's clock: {}",
        case.created_at
    );
    assert!((alert.created_at - case.created_at).num_seconds().abs() < 60);
}
