//! A customer's request under the GDPR, answered by an admin with the CLI (issue 10):
//! `customer export` prints everything held about them; `customer erase` erases it (their
//! email, words, photos, survey comments, the address on mail) and leaves the cases,
//! anonymized, for the figures. Other customers are untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::db::states::MailKind;
use mend_server::domain::privacy::customer_data::ERASED_TEXT;
use mend_testing::processes::{binary, run};
use mend_testing::{spawn_demo, Post, TestApp, TestDb};

fn env(app: &TestApp) -> Vec<(&'static str, String)> {
    vec![
        ("MEND_DATABASE_URL", app.test_db.url()),
        ("MEND_DATA_DIR", app.data_dir.path().display().to_string()),
    ]
}

fn png() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([10, 120, 200]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn an_admin_exports_then_erases_one_customers_data() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_FORM_MIN_SECONDS", "0")]).await;
    let code = &store.touchpoints[0].code;
    for (email, body, photo) in [
        ("Guest@Example.com", "The soap dispenser is empty.", true),
        ("guest@example.com", "Still no soap, a week later.", false),
        ("other@example.com", "The floor is wet.", false),
    ] {
        let mut post = Post::valid().with("email", email).with("body", body);
        if photo {
            post = post.photo(png());
        }
        assert_eq!(app.submit(code, post).await.status(), 303);
    }

    let json = run(
        "mend-server",
        &["customer", "export", "--email", " GUEST@example.com "],
        &env(&app),
    );
    let data: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(data["email"], "guest@example.com");
    let cases = data["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2, "{json}");
    assert_eq!(cases[0]["what_they_wrote"], "The soap dispenser is empty.");
    assert_eq!(cases[0]["has_photo"], true);
    assert_eq!(cases[1]["what_they_wrote"], "Still no soap, a week later.");
    assert!(!json.contains("The floor is wet."));

    let photo = {
        let case = app
            .db
            .read(|c| {
                use diesel::prelude::*;
                mend_server::db::schema::cases::table
                    .filter(mend_server::db::schema::cases::photo_path.is_not_null())
                    .select(mend_server::db::models::Case::as_select())
                    .first(c)
            })
            .unwrap();
        case.photo_path.unwrap()
    };
    assert!(app.stored_photo(&photo).await.is_some());

    let said = run(
        "mend-server",
        &["customer", "erase", "--email", "guest@example.com"],
        &env(&app),
    );
    assert!(said.starts_with("erased 2 cases"), "{said}");
    assert!(said.ends_with("2 photos\n"), "{said}");
    assert!(app.stored_photo(&photo).await.is_none());

    let all = app
        .db
        .read(|c| {
            use diesel::prelude::*;
            mend_server::db::schema::cases::table
                .order(mend_server::db::schema::cases::created_at.asc())
                .select(mend_server::db::models::Case::as_select())
                .load(c)
        })
        .unwrap();
    assert_eq!(all.len(), 3, "the cases stay");
    for case in &all[..2] {
        assert_eq!(case.body, ERASED_TEXT);
        assert_eq!(case.contact_email, None);
        assert_eq!(case.photo_path, None);
        assert_eq!(case.category, "cleanliness");
    }
    assert_eq!(all[2].body, "The floor is wet.");
    assert_eq!(all[2].contact_email.as_deref(), Some("other@example.com"));
    let addresses: Vec<String> = app.outbox_rows().into_iter().map(|r| r.recipient).collect();
    assert!(
        !addresses.iter().any(|a| a.contains("guest@")),
        "{addresses:?}"
    );

    // Nothing is left to export; a malformed address is refused with exit code 2.
    let json = run(
        "mend-server",
        &["customer", "export", "--email", "guest@example.com"],
        &env(&app),
    );
    assert!(json.contains("\"cases\": []"), "{json}");
    let out = std::process::Command::new(binary("mend-server"))
        .args(["customer", "erase", "--email", "not an address"])
        .envs(env(&app))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The status page's erase form's fields.
fn erase_form(page: &str) -> Option<(String, String)> {
    // The erase form, not the "what would make it right" one above it.
    let action = page
        .split("<form method=\"post\" action=\"")
        .filter_map(|f| f.split('"').next())
        .find(|a| a.ends_with("/erase"))?
        .to_owned();
    Some((action, mend_testing::input_value(page, "k")?))
}

#[tokio::test]
async fn a_customer_erases_their_data_from_their_status_page_and_is_told_by_email() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_FORM_MIN_SECONDS", "0")]).await;
    let code = &store.touchpoints[0].code;
    let res = app
        .submit(
            code,
            Post::valid()
                .with("email", "guest@example.com")
                .with("body", "My name is Jan Kowalski and the soap is gone.")
                .with("lang", "pl")
                .photo(png()),
        )
        .await;
    assert_eq!(res.status(), 303);
    let status = res.headers()["location"].to_str().unwrap().to_owned();
    let page = app.get(&status).await.text().await.unwrap();
    assert!(page.contains("Twoje dane"), "{page}");
    let (action, token) = erase_form(&page).expect("the erase form");
    let case = || {
        app.db
            .read(|c| {
                mend_server::db::queries::cases::find_by_reference(
                    c,
                    status[3..].split('?').next().unwrap(),
                )
            })
            .unwrap()
            .unwrap()
    };
    let photo = case().photo_path.unwrap();

    // A wrong token erases nothing; an unticked box erases nothing.
    let post = |k: String, confirm: bool| {
        let mut form = vec![("k", k)];
        if confirm {
            form.push(("confirm", "yes".to_owned()));
        }
        app.client.post(app.url(&action)).form(&form).send()
    };
    assert_eq!(post("wrong".into(), true).await.unwrap().status(), 404);
    let res = app
        .client
        .post(app.url("/c/NOP-E00/erase"))
        .form(&[("k", token.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(post(token.clone(), false).await.unwrap().status(), 303);
    assert!(case().contact_email.is_some() && app.stored_photo(&photo).await.is_some());

    let res = post(token.clone(), true).await.unwrap();
    assert_eq!(res.status(), 303);
    let erased = case();
    assert_eq!(erased.body, ERASED_TEXT);
    assert_eq!(erased.contact_email, None);
    assert!(app.stored_photo(&photo).await.is_none());
    let page = app
        .get(res.headers()["location"].to_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Twoje dane zostały usunięte"), "{page}");
    assert!(erase_form(&page).is_none());

    // One last email, in their language, then the address goes from the outbox too.
    let rows = app
        .wait_for_outbox(
            "the confirmation",
            std::time::Duration::from_secs(20),
            |rows| {
                rows.iter()
                    .any(|r| r.kind == MailKind::ErasureConfirmation && r.sent_at.is_some())
            },
        )
        .await;
    let row = rows
        .iter()
        .find(|r| r.kind == MailKind::ErasureConfirmation)
        .unwrap();
    assert_eq!(row.recipient, "guest@example.com");
    let eml =
        std::fs::read_to_string(app.data_dir.path().join(format!("mail/{}.eml", row.id))).unwrap();
    assert!(eml.contains("To: guest@example.com"));
    mend_server::domain::privacy::retention::apply(&app.db, app.data_dir.path(), app.clock.now())
        .unwrap();
    let addresses: Vec<String> = app.outbox_rows().into_iter().map(|r| r.recipient).collect();
    assert!(
        !addresses.iter().any(|a| a.contains("guest@")),
        "{addresses:?}"
    );

    // Erasing twice is harmless.
    assert_eq!(post(token, true).await.unwrap().status(), 303);
}

/// A complaint whose words happen to be the erasure marker is still erasable by its
/// author: erasure is a flag on the case, not its text.
#[tokio::test]
async fn a_complaint_that_reads_like_the_erasure_marker_can_still_be_erased() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_FORM_MIN_SECONDS", "0")]).await;
    let code = &store.touchpoints[0].code;
    let res = app
        .submit(
            code,
            Post::valid()
                .with("email", "guest@example.com")
                .with("body", ERASED_TEXT)
                .photo(png()),
        )
        .await;
    assert_eq!(res.status(), 303);
    let status = res.headers()["location"].to_str().unwrap().to_owned();
    let page = app.get(&status).await.text().await.unwrap();
    let (action, token) = erase_form(&page).expect("not shown as erased: it was not");
    let res = app
        .client
        .post(app.url(&action))
        .form(&[("k", token.as_str()), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let case = app
        .db
        .read(|c| {
            mend_server::db::queries::cases::find_by_reference(
                c,
                status[3..].split('?').next().unwrap(),
            )
        })
        .unwrap()
        .unwrap();
    assert!(case.erased_at.is_some());
    assert_eq!(case.contact_email, None, "the email went too");
    assert_eq!(case.photo_path, None, "and the photo");
}
