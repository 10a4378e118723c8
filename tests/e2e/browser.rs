//! A customer in a real browser on a phone-sized screen: opens the form, fills it in,
//! sends it and lands on the status page, with JavaScript on and off, in each language.
//! Screenshots go to target/screenshots/, or to docs/screenshots/ (shown in the README)
//! when MEND_UPDATE_SCREENSHOTS is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fantoccini::Locator;
use mend_server::db::states::MailKind;
use mend_testing::{seed_demo, Browser, TestApp, TestDb};

const TEXTS: [(&str, &str, &str); 4] = [
    (
        "en",
        "The soap dispenser in the restroom is empty.",
        "Thank you. We have your report.",
    ),
    (
        "ko",
        "화장실 비누가 다 떨어졌어요.",
        "감사합니다. 신고가 접수되었습니다.",
    ),
    (
        "ja",
        "トイレの石けんが空です。",
        "ありがとうございます。報告を受け付けました。",
    ),
    (
        "pl",
        "W łazience skończyło się mydło.",
        "Dziękujemy. Mamy Twoje zgłoszenie.",
    ),
];

fn screenshots() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("MEND_UPDATE_SCREENSHOTS").is_some() {
        root.join("docs/screenshots")
    } else {
        root.join("target/screenshots")
    }
}

async fn fill_and_send(app: &TestApp, code: &str, javascript: bool) {
    let Some(browser) = Browser::phone(javascript).await else {
        return;
    };
    let c = &browser.client;
    for (lang, text, thanks) in TEXTS {
        c.goto(&app.url(&format!("/t/{code}?lang={lang}")))
            .await
            .unwrap();
        let html_lang = c
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap();
        assert_eq!(html_lang.as_deref(), Some(lang));
        if javascript {
            browser
                .screenshot_to(&screenshots().join(format!("form-{lang}.png")))
                .await;
        }
        c.find(Locator::Css("label[for=c-cleanliness]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.find(Locator::Id("body"))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
        c.find(Locator::Id("email"))
            .await
            .unwrap()
            .send_keys("guest@example.com")
            .await
            .unwrap();
        c.find(Locator::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // The 303 leads to the status page.
        let mut landed = false;
        for _ in 0..50 {
            if c.current_url().await.unwrap().path().starts_with("/c/") {
                landed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(
            landed,
            "{lang} (javascript {javascript}): still at {}",
            c.current_url().await.unwrap()
        );
        let heading = c
            .find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(heading, thanks, "{lang}");
        if javascript {
            browser
                .screenshot_to(&screenshots().join(format!("status-{lang}.png")))
                .await;
        }
    }
    browser.close().await;
}

#[tokio::test]
async fn a_customer_fills_in_the_form_and_lands_on_the_status_page_with_javascript_on_and_off() {
    let app = TestApp::spawn_with(
        TestDb::sqlite(),
        &[
            ("MEND_FORM_MIN_SECONDS", "0"),
            ("MEND_FORM_RATE_LIMIT", "0"),
        ],
    )
    .await;
    let code = seed_demo(&app).touchpoints[0].code.clone();
    let before = app.case_count();
    fill_and_send(&app, &code, true).await;
    fill_and_send(&app, &code, false).await;
    if mend_testing::browser_tools().is_some() {
        assert_eq!(app.case_count() - before, 8, "four languages, twice");
    }
}

#[tokio::test]
async fn the_form_fits_a_320_px_screen_without_sideways_scrolling() {
    let app = TestApp::spawn(TestDb::sqlite()).await;
    let code = seed_demo(&app).touchpoints[0].code.clone();
    let Some(browser) = Browser::phone(true).await else {
        return;
    };
    browser.viewport(320, 640).await;
    for lang in ["en", "ko", "ja", "pl"] {
        browser
            .client
            .goto(&app.url(&format!("/t/{code}?lang={lang}")))
            .await
            .unwrap();
        let width = browser
            .client
            .execute("return document.documentElement.scrollWidth", vec![])
            .await
            .unwrap();
        assert!(
            width.as_u64().unwrap() <= 320,
            "{lang}: page is {width} px wide"
        );
        // Every tap target is at least 44 px tall.
        let smallest = browser
            .client
            .execute(
                "return Math.min(...[...document.querySelectorAll('.chips label, button, input[type=email], .langs a')].map(e => e.getBoundingClientRect().height))",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            smallest.as_f64().unwrap() >= 44.0,
            "{lang}: a tap target is {smallest} px tall"
        );
    }
    browser.close().await;
}

/// Waits until the browser's path starts with `prefix`.
async fn wait_for_path(c: &fantoccini::Client, prefix: &str) {
    for _ in 0..50 {
        if c.current_url().await.unwrap().path().starts_with(prefix) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "expected {prefix}, still at {}",
        c.current_url().await.unwrap()
    );
}

#[tokio::test]
async fn staff_take_a_case_from_the_alert_on_a_phone_and_work_it_to_resolution() {
    let (app, store) = mend_testing::spawn_demo(TestDb::sqlite(), &[]).await;
    let res = app
        .submit(
            &store.touchpoints[1].code,
            mend_testing::Post::valid()
                .with("body", "No soap in the restroom, and the floor is wet."),
        )
        .await;
    assert_eq!(res.status(), 303);
    let Some(browser) = Browser::phone(false).await else {
        return;
    };
    // The alert as written to the data dir (no SMTP here): its first link is "I'm on it".
    let rows = app
        .wait_for_outbox(
            "the alert written",
            std::time::Duration::from_secs(20),
            |rows| {
                rows.iter()
                    .any(|r| r.kind == MailKind::Alert && r.sent_at.is_some())
            },
        )
        .await;
    let alert = rows.iter().find(|r| r.kind == MailKind::Alert).unwrap();
    let eml = std::fs::read(app.data_dir.path().join(format!("mail/{}.eml", alert.id))).unwrap();
    let parsed = mail_parser::MessageParser::default().parse(&eml).unwrap();
    let text = parsed.body_text(0).unwrap().into_owned();
    let links: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.starts_with("http://"))
        .collect();
    let (ack, case) = (links[0], links[1]);

    let c = &browser.client;
    c.goto(ack).await.unwrap();
    browser
        .screenshot_to(&screenshots().join("staff-ack.png"))
        .await;
    browser.click("button[type=submit]").await;
    let mut done = String::new();
    for _ in 0..50 {
        // While the next page loads, the old heading may vanish under our hands.
        if let Ok(h1) = c.find(Locator::Css("h1")).await {
            done = h1.text().await.unwrap_or_default();
        }
        if done.contains("on it") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(done, "Thank you. You're on it.");

    // The case link asks for a sign-in first, then shows the case.
    c.goto(case).await.unwrap();
    wait_for_path(c, "/manage/login").await;
    browser.type_into("email", &store.manager_email).await;
    browser.type_into("password", "demo-password-1").await;
    browser.click("button[type=submit]").await;
    wait_for_path(c, "/manage/cases/").await;
    let page = c.source().await.unwrap();
    assert!(page.contains("No soap in the restroom, and the floor is wet."));
    assert!(page.contains("Acknowledged by manager@demo.mend.example"));
    browser
        .screenshot_to(&screenshots().join("staff-case.png"))
        .await;

    // Tell the customer, then resolve with the root cause and a voucher, on the phone.
    browser
        .type_into("update-text", "Someone is on the way with soap.")
        .await;
    browser.click("form[action$='/update'] button").await;
    wait_for_text(
        c,
        "Update to the customer: Someone is on the way with soap.",
    )
    .await;
    browser
        .type_into("resolution", "Refilled the soap and dried the floor.")
        .await;
    browser.click("#root_cause option[value=cleaning]").await;
    browser
        .click("#compensation_type option[value=voucher]")
        .await;
    browser.type_into("compensation_value", "5").await;
    browser.click("form[action$='/resolve'] button").await;
    wait_for_text(
        c,
        "Resolved (Cleaning): Refilled the soap and dried the floor.",
    )
    .await;
    browser
        .screenshot_to(&screenshots().join("staff-resolved.png"))
        .await;
    browser.close().await;
    let status = app.outbox_rows();
    assert!(status.iter().any(|r| r.kind == MailKind::CustomerUpdate));
    assert!(status.iter().any(|r| r.kind == MailKind::CustomerResolved));
}

/// Waits until the page shows `text`.
async fn wait_for_text(c: &fantoccini::Client, text: &str) {
    for _ in 0..50 {
        if c.source().await.map(|s| s.contains(text)).unwrap_or(false) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "{text} never appeared in {}",
        c.source().await.unwrap_or_default()
    );
}

#[tokio::test]
async fn a_customer_answers_the_survey_on_a_phone_without_javascript() {
    let (app, store) = mend_testing::spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let page = app.open_form(code, "?lang=ja").await;
    let res = app
        .post_raw(
            code,
            &mend_testing::Post::valid()
                .with("stamp", &mend_testing::input_value(&page, "stamp").unwrap())
                .with("lang", "ja")
                .with("email", ""),
        )
        .await;
    let status_path = res.headers()["location"].to_str().unwrap().to_owned();
    let reference = status_path
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let case_page = app
        .page(&manager, &format!("/manage/cases/{reference}"))
        .await;
    manager
        .post(app.url(&format!("/manage/cases/{reference}/resolve")))
        .form(&[
            ("csrf", mend_testing::csrf_in(&case_page).as_str()),
            ("resolution", "石けんを補充しました。"),
            ("root_cause", "cleaning"),
        ])
        .send()
        .await
        .unwrap();
    let Some(browser) = Browser::phone(false).await else {
        return;
    };
    let c = &browser.client;
    c.goto(&app.url(&status_path)).await.unwrap();
    browser.click("a.survey").await;
    wait_for_path(c, "/s/").await;
    browser
        .screenshot_to(&screenshots().join("survey-ja.png"))
        .await;
    browser.click("label[for=r-4]").await;
    browser.click("label[for=f-yes]").await;
    browser.click("label[for=b-9]").await;
    browser.type_into("comment", "ありがとう").await;
    browser.click("button[type=submit]").await;
    wait_for_text(c, "ありがとうございます！").await;
    browser.close().await;
    let case = app
        .db
        .read(|c| mend_server::db::queries::cases::find_by_reference(c, &reference))
        .unwrap()
        .unwrap();
    let answered = app
        .db
        .read(|c| mend_server::db::queries::surveys::for_case(c, &case.id))
        .unwrap();
    assert_eq!(answered[0].csat, Some(4));
    assert_eq!(answered[0].fixed.as_deref(), Some("yes"));
    assert_eq!(answered[0].return_likelihood, Some(9));
    assert_eq!(answered[0].comment.as_deref(), Some("ありがとう"));
}

#[tokio::test]
async fn a_manager_reads_the_dashboard_on_a_phone_and_a_laptop() {
    use mend_server::domain::demo::history::{seed_history, HistoryPlan};
    let (app, store) = mend_testing::spawn_demo(TestDb::sqlite(), &[]).await;
    let plan = HistoryPlan {
        days: 70,
        stores: 3,
        seed: 2026,
    };
    let now = mend_server::db::models::now_utc();
    seed_history(&app.db, plan, now, &store.manager_email, &mut |_, _| {}).unwrap();
    let Some(browser) = Browser::phone(true).await else {
        return;
    };
    let c = &browser.client;
    c.goto(&app.url("/manage/dashboard")).await.unwrap();
    wait_for_path(c, "/manage/login").await;
    browser.type_into("email", &store.manager_email).await;
    browser.type_into("password", "demo-password-1").await;
    browser.click("button[type=submit]").await;
    wait_for_path(c, "/manage/dashboard").await;
    wait_for_text(c, "When complaints come").await;

    // Every chart is drawn, fits the phone's width, and the page does not scroll sideways
    // (the wide per-store table scrolls inside its own box).
    let measured = c
        .execute(
            "const charts = [...document.querySelectorAll('svg.chart')];
             return [charts.length,
                     Math.max(...charts.map(s => s.getBoundingClientRect().right)),
                     Math.min(...charts.map(s => s.getBoundingClientRect().height)),
                     document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    let v: Vec<f64> = measured
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_f64().unwrap())
        .collect();
    assert_eq!(v[0], 5.0, "five charts");
    assert!(v[1] <= v[4], "charts fit the screen: {v:?}");
    assert!(v[2] > 100.0, "charts are drawn at a readable height: {v:?}");
    assert!(v[3] <= v[4], "no sideways scrolling: {v:?}");
    browser
        .full_page_screenshot_to(&screenshots().join("dashboard-phone.png"))
        .await;

    browser.laptop(1280, 900).await;
    c.refresh().await.unwrap();
    wait_for_text(c, "When complaints come").await;
    browser
        .full_page_screenshot_to(&screenshots().join("dashboard-laptop.png"))
        .await;
    browser.close().await;
}

#[tokio::test]
async fn a_customer_taps_an_unhappy_face_on_the_kiosk_and_continues_on_their_phone() {
    use mend_testing::processes::{wait_for_200, Process};
    let app = TestApp::spawn_with(TestDb::sqlite(), &[("MEND_FORM_MIN_SECONDS", "0")]).await;
    let store = seed_demo(&app);
    let (_, token) = mend_server::domain::kiosk::register(
        &app.db,
        mend_server::domain::demo::LOCATION_NAME,
        "Exit",
        app.clock.now(),
    )
    .unwrap();
    let Some(browser) = Browser::phone(false).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let kiosk_url = format!("http://127.0.0.1:{}", mend_testing::smtp::free_port());
    let _kiosk = Process::start(
        "mend-kiosk",
        &[],
        &[
            ("MEND_KIOSK_SERVER_URL", app.address.clone()),
            ("MEND_KIOSK_TOKEN", token),
            (
                "MEND_KIOSK_BIND",
                kiosk_url.trim_start_matches("http://").into(),
            ),
            ("MEND_KIOSK_DATA_DIR", dir.path().display().to_string()),
            ("MEND_KIOSK_HEARTBEAT_SECONDS", "1".into()),
        ],
        &dir.path().join("kiosk.log"),
    );
    let status = format!("{kiosk_url}/status");
    wait_for_200(&status, std::time::Duration::from_secs(30)).await;
    // The first heartbeat tells the kiosk its store (and so its sticker).
    for _ in 0..100 {
        let s: serde_json::Value = reqwest::get(&status).await.unwrap().json().await.unwrap();
        if s["store"] == mend_server::domain::demo::LOCATION_NAME {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // A kiosk screen: landscape, touch.
    browser.laptop(1280, 800).await;
    let c = &browser.client;
    c.goto(&format!("{kiosk_url}/?lang=ko")).await.unwrap();
    wait_for_text(c, "오늘 방문은 어떠셨나요?").await;
    c.goto(&format!("{kiosk_url}/")).await.unwrap();
    wait_for_text(c, "How was your visit today?").await;
    let faces = screenshots().join("kiosk-faces.png");
    browser.screenshot_to(&faces).await;
    // The store's sticker is on screen for those who prefer their phone.
    let shot = image::open(&faces).unwrap().to_luma8();
    let sticker = format!("{}/t/{}", app.base_url, store.touchpoints[0].code);
    assert_eq!(mend_testing::decode_qr_codes(&shot), vec![sticker.clone()]);

    browser.click("button[data-rating='1']").await;
    wait_for_path(c, "/thanks/").await;
    wait_for_text(c, "Thank you!").await;
    let tap_key = c.current_url().await.unwrap().path()["/thanks/".len()..].to_owned();
    let handoff = screenshots().join("kiosk-handoff.png");
    let mut codes = Vec::new();
    for _ in 0..50 {
        browser.screenshot_to(&handoff).await;
        codes = mend_testing::decode_qr_codes(&image::open(&handoff).unwrap().to_luma8());
        if !codes.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(codes.len(), 1, "{codes:?}");
    let link = &codes[0];
    assert!(
        link.starts_with(&format!("{sticker}?h={tap_key}.")),
        "{link}"
    );

    // On the customer's own phone, the link opens the store's form, tagged with the tap.
    browser.viewport(390, 844).await;
    c.goto(link).await.unwrap();
    browser.click("label[for=c-waiting_time]").await;
    browser
        .type_into("body", "The queue at the till was 20 minutes long.")
        .await;
    browser.click("button[type=submit]").await;
    wait_for_path(c, "/c/").await;
    let tagged = app
        .db
        .read(|conn| {
            use diesel::prelude::*;
            use mend_server::db::schema::kiosk_handoffs;
            kiosk_handoffs::table
                .select(kiosk_handoffs::tap_key)
                .load::<String>(conn)
        })
        .unwrap();
    assert_eq!(tagged, vec![tap_key]);
    browser.close().await;
}

/// No part of the page sticks out to the side: the page does not scroll sideways, and
/// no element is wider than the window (a clipped label would be).
async fn fits_the_width(c: &fantoccini::Client, what: &str) {
    let measured = c
        .execute(
            "const w = window.innerWidth;
             const wide = [...document.querySelectorAll('main *, footer *')]
               .filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > w + 1)
               .map(e => e.tagName + ' ' + (e.textContent || '').slice(0, 40));
             return [document.documentElement.scrollWidth <= w, wide];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(measured[0], true, "{what} scrolls sideways: {measured}");
    assert!(
        measured[1].as_array().unwrap().is_empty(),
        "{what} has parts wider than the screen: {measured}"
    );
}

async fn sign_in_in_browser(browser: &Browser, app: &TestApp, email: &str, password: &str) {
    let c = &browser.client;
    c.goto(&app.url("/manage/login")).await.unwrap();
    browser.type_into("email", email).await;
    browser.type_into("password", password).await;
    browser.click("button[type=submit]").await;
    wait_for_path(c, "/manage/").await;
}

/// A Korean shift worker works a case on her phone through a whole recovery, with a
/// voucher in won; a Japanese manager reads the dashboard and the settings and resolves a
/// case with yen. Not a word of English on their pages; nothing sticks out at 390 px or at
/// 1280 px. Screenshots of each in both sizes.
#[tokio::test]
async fn a_korean_shift_worker_and_a_japanese_manager_run_the_store_in_their_languages() {
    use mend_server::domain::demo::history::{seed_history, HistoryPlan};
    const PASSWORD: &str = "a long enough password";
    let (app, store) = mend_testing::spawn_demo(TestDb::sqlite(), &[]).await;
    let location = app.location_of(&store.touchpoints[0].code);
    app.test_db.execute_behind_the_back(&format!(
        "UPDATE locations SET currency = 'KRW', time_zone = 'Asia/Seoul', \
         default_language = 'ko' WHERE id = '{location}'"
    ));
    let worker = "minji@shop.example";
    let manager = "haruto@shop.example";
    let worker_id = app.add_user("staff", worker, PASSWORD, &[&location]);
    let manager_id = app.add_user("manager", manager, PASSWORD, &[&location]);
    app.test_db.execute_behind_the_back(&format!(
        "UPDATE users SET language = 'ko' WHERE id = '{worker_id}';
         UPDATE users SET language = 'ja' WHERE id = '{manager_id}';"
    ));
    let plan = HistoryPlan {
        days: 35,
        stores: 1,
        seed: 7,
    };
    let now = mend_server::db::models::now_utc();
    seed_history(&app.db, plan, now, &store.manager_email, &mut |_, _| {}).unwrap();
    let mut references = Vec::new();
    for body in [
        "아이스 아메리카노가 미지근해요.",
        "테라스 테이블이 끈적거려요.",
    ] {
        let res = app
            .submit(
                &store.touchpoints[0].code,
                mend_testing::Post::valid().with("body", body),
            )
            .await;
        assert_eq!(res.status(), 303);
        references.push(
            res.headers()["location"].to_str().unwrap()[3..]
                .split('?')
                .next()
                .unwrap()
                .to_owned(),
        );
    }
    app.drain_outbox().await;
    let english = [
        "Open cases",
        "Acknowledged by",
        "Resolve",
        "Root cause",
        "Internal note",
        "Timeline",
        "Locations",
        "Dashboard",
        "waited",
    ];
    let no_english = |page: &str, what: &str| {
        for word in english {
            assert!(!page.contains(word), "{what} has \"{word}\"");
        }
    };

    let Some(browser) = Browser::phone(false).await else {
        return;
    };
    let c = &browser.client;
    sign_in_in_browser(&browser, &app, worker, PASSWORD).await;
    c.goto(&app.url("/manage/cases")).await.unwrap();
    wait_for_text(c, "처리 중인 건").await;
    no_english(&c.source().await.unwrap(), "the inbox");
    fits_the_width(c, "the Korean inbox").await;
    browser
        .full_page_screenshot_to(&screenshots().join("staff-inbox-ko-phone.png"))
        .await;
    let case = &references[0];
    c.goto(&app.url(&format!("/manage/cases/{case}")))
        .await
        .unwrap();
    wait_for_text(c, "아이스 아메리카노가 미지근해요.").await;
    browser.click("form[action$='/acknowledge'] button").await;
    wait_for_text(c, "님이 확인").await;
    browser
        .type_into("update-text", "새로 만들어 드릴게요. 잠시만 기다려 주세요.")
        .await;
    browser.click("form[action$='/update'] button").await;
    wait_for_text(c, "고객에게 보낸 소식: 새로 만들어 드릴게요.").await;
    browser
        .type_into("resolution", "새 음료를 드리고 쿠폰을 드렸습니다.")
        .await;
    browser.click("#root_cause option[value=equipment]").await;
    browser
        .click("#compensation_type option[value=voucher]")
        .await;
    browser.type_into("compensation_value", "5000").await;
    browser.click("form[action$='/resolve'] button").await;
    wait_for_text(c, "해결(장비): 새 음료를 드리고 쿠폰을 드렸습니다.").await;
    let page = c.source().await.unwrap();
    assert!(page.contains("₩5,000"), "won without decimals: {page}");
    assert!(page.contains("년") && page.contains("KST"), "Korean dates");
    no_english(&page, "the Korean case page");
    fits_the_width(c, "the Korean case page").await;
    browser
        .full_page_screenshot_to(&screenshots().join("staff-case-ko-phone.png"))
        .await;
    browser.laptop(1280, 900).await;
    c.refresh().await.unwrap();
    wait_for_text(c, "₩5,000").await;
    fits_the_width(c, "the Korean case page on a laptop").await;
    browser
        .full_page_screenshot_to(&screenshots().join("staff-case-ko-laptop.png"))
        .await;
    browser.close().await;

    let Some(browser) = Browser::phone(true).await else {
        return;
    };
    let c = &browser.client;
    sign_in_in_browser(&browser, &app, manager, PASSWORD).await;
    c.goto(&app.url("/manage/dashboard")).await.unwrap();
    wait_for_text(c, "申告が来る時間").await;
    let page = c.source().await.unwrap();
    no_english(&page, "the Japanese dashboard");
    assert!(page.contains("₩5,000"), "compensation in won: {page}");
    fits_the_width(c, "the Japanese dashboard").await;
    browser
        .full_page_screenshot_to(&screenshots().join("dashboard-ja-phone.png"))
        .await;
    c.goto(&app.url(&format!("/manage/locations/{location}/settings")))
        .await
        .unwrap();
    wait_for_text(c, "通知先").await;
    no_english(&c.source().await.unwrap(), "the Japanese settings");
    fits_the_width(c, "the Japanese settings").await;
    browser
        .full_page_screenshot_to(&screenshots().join("settings-ja-phone.png"))
        .await;
    let other = &references[1];
    c.goto(&app.url(&format!("/manage/cases/{other}")))
        .await
        .unwrap();
    wait_for_text(c, "테라스 테이블이 끈적거려요.").await;
    browser
        .type_into("resolution", "テーブルを拭き、お詫びとして割引しました。")
        .await;
    browser.click("#root_cause option[value=cleaning]").await;
    browser
        .click("#compensation_type option[value=discount]")
        .await;
    browser.type_into("compensation_value", "500").await;
    c.execute(
        "document.getElementById('compensation_currency').value = 'JPY';",
        vec![],
    )
    .await
    .unwrap();
    browser.click("form[action$='/resolve'] button").await;
    wait_for_text(c, "¥500").await;
    let page = c.source().await.unwrap();
    no_english(&page, "the Japanese case page");
    assert!(page.contains("解決済み"), "{page}");
    browser.laptop(1280, 900).await;
    c.goto(&app.url("/manage/dashboard")).await.unwrap();
    wait_for_text(c, "申告が来る時間").await;
    fits_the_width(c, "the Japanese dashboard on a laptop").await;
    browser
        .full_page_screenshot_to(&screenshots().join("dashboard-ja-laptop.png"))
        .await;
    browser.close().await;
}

/// The customer's side of a recovery in a real browser, in Korean: the form, the receipt
/// through a real SMTP server, its link back to the status page, and after staff resolve
/// the case, what was done on that page (at 390 and 1280 px).
#[tokio::test]
async fn a_korean_customer_gets_a_receipt_and_reads_the_outcome_on_their_status_page() {
    let Some(sink) = mend_testing::smtp::SmtpSink::start() else {
        return;
    };
    let (app, store) =
        mend_testing::spawn_demo(TestDb::sqlite(), &[("MEND_SMTP_URL", &sink.url())]).await;
    let Some(browser) = Browser::phone(false).await else {
        return;
    };
    let c = &browser.client;
    let code = &store.touchpoints[0].code;
    c.goto(&app.url(&format!("/t/{code}?lang=ko")))
        .await
        .unwrap();
    c.find(Locator::Css("label[for=c-cleanliness]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("body"))
        .await
        .unwrap()
        .send_keys("화장실에 비누가 없어요.")
        .await
        .unwrap();
    c.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys("kim@customer.example")
        .await
        .unwrap();
    c.find(Locator::Css("input[name=consent]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(c, "/c/").await;

    // The receipt, in Korean, with the way back.
    let receipt = loop {
        if let Some(m) = sink
            .messages()
            .into_iter()
            .find(|m| m.kind == "customer_receipt")
        {
            break m;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(receipt.rcpt_tos, ["kim@customer.example"]);
    assert!(receipt.text.contains("화장실에 비누가 없어요."));
    let link = receipt
        .text
        .split_whitespace()
        .find(|w| w.contains("/c/"))
        .unwrap()
        .to_owned();
    let reference = link
        .split("/c/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();

    // Staff resolve it; the customer opens the link from the receipt.
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    app.case_action_done(
        &manager,
        &reference,
        "resolve",
        &[
            (
                "resolution",
                "Soap refilled in both restrooms; we now check every hour.",
            ),
            ("root_cause", "cleaning"),
        ],
    )
    .await;
    c.goto(&link).await.unwrap();
    let page = c.source().await.unwrap();
    assert!(
        page.contains("조치 내용"),
        "the outcome's heading in Korean"
    );
    assert!(page.contains("Soap refilled in both restrooms"));
    assert!(!page.contains("분 안에"), "no reply promised any more");
    browser
        .full_page_screenshot_to(&screenshots().join("status-outcome-ko-phone.png"))
        .await;
    browser.laptop(1280, 800).await;
    browser
        .full_page_screenshot_to(&screenshots().join("status-outcome-ko-laptop.png"))
        .await;
}

/// A Korean manager records "you said, we did" on her phone: the customers who complained
/// about the restroom (and agreed to be contacted) get it exactly once through the real
/// SMTP server, the one who did not agree and the one who erased her data get nothing; a
/// Japanese visitor reads the store's public page. Screenshots at 390 and 1280 px.
#[tokio::test]
async fn a_korean_manager_records_a_change_and_the_customers_who_told_us_hear_it_once() {
    const PASSWORD: &str = "a long enough password";
    let Some(sink) = mend_testing::smtp::SmtpSink::start() else {
        return;
    };
    let sink = sink.without("customer_receipt").without("alert");
    let (app, store) =
        mend_testing::spawn_demo(TestDb::sqlite(), &[("MEND_SMTP_URL", &sink.url())]).await;
    let code = &store.touchpoints[0].code;
    let location = app.location_of(code);
    app.test_db.execute_behind_the_back(&format!(
        "UPDATE locations SET time_zone = 'Asia/Seoul', default_language = 'ko' \
         WHERE id = '{location}'"
    ));
    let manager_id = app.add_user("manager", "jiwoo@shop.example", PASSWORD, &[&location]);
    app.test_db.execute_behind_the_back(&format!(
        "UPDATE users SET language = 'ko' WHERE id = '{manager_id}'"
    ));
    let post = |email: &str| {
        mend_testing::Post::valid()
            .with("email", email)
            .with("lang", "ko")
    };
    app.complain(code, post("told-1@customer.example")).await;
    app.complain(code, post("told-2@customer.example")).await;
    app.complain(code, post("told-1@customer.example")).await;
    app.complain(code, post("quiet@customer.example").without("consent"))
        .await;
    app.complain(code, post("erased@customer.example")).await;
    let erased = mend_server::domain::privacy::customer_data::erase(
        &app.db,
        app.data_dir.path(),
        "erased@customer.example",
        app.clock.now(),
    )
    .unwrap();
    assert_eq!(erased.cases, 1);
    app.drain_outbox().await;

    let Some(browser) = Browser::phone(false).await else {
        return;
    };
    let c = &browser.client;
    sign_in_in_browser(&browser, &app, "jiwoo@shop.example", PASSWORD).await;
    c.goto(&app.url("/manage/changes")).await.unwrap();
    c.find(Locator::Css("#category option[value=cleanliness]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .type_into("text-ko", "이제 화장실을 30분마다 점검합니다.")
        .await;
    browser
        .type_into("text-en", "We now check the restrooms every 30 minutes.")
        .await;
    browser
        .click("form[action='/manage/changes'] button[type=submit]")
        .await;
    wait_for_text(c, "변경 사항을 기록했습니다.").await;
    app.drain_outbox().await;

    let told: Vec<_> = sink
        .messages()
        .into_iter()
        .filter(|m| m.kind == "customer_changed")
        .collect();
    let mut to: Vec<_> = told.iter().flat_map(|m| m.rcpt_tos.clone()).collect();
    to.sort();
    assert_eq!(to, ["told-1@customer.example", "told-2@customer.example"]);
    assert!(told
        .iter()
        .all(|m| m.text.contains("이제 화장실을 30분마다 점검합니다.")));

    c.refresh().await.unwrap();
    let page = c.source().await.unwrap();
    assert!(page.contains("고객 2명에게 이메일 발송"), "{page}");
    fits_the_width(c, "the changes page").await;
    browser
        .full_page_screenshot_to(&screenshots().join("changes-ko-phone.png"))
        .await;
    browser.laptop(1280, 900).await;
    browser
        .full_page_screenshot_to(&screenshots().join("changes-ko-laptop.png"))
        .await;

    // Anyone, in Japanese: the store's public page (no Japanese text was written, so the
    // store's Korean shows under Japanese headings).
    browser.viewport(390, 844).await;
    c.goto(&app.url(&format!("/s/{location}/changes?lang=ja")))
        .await
        .unwrap();
    let page = c.source().await.unwrap();
    assert!(page.contains("お客様の声から変えたこと"));
    assert!(page.contains("이제 화장실을 30분마다 점검합니다."));
    fits_the_width(c, "the public page").await;
    browser
        .full_page_screenshot_to(&screenshots().join("changes-public-ja-phone.png"))
        .await;
    browser.laptop(1280, 800).await;
    browser
        .full_page_screenshot_to(&screenshots().join("changes-public-ja-laptop.png"))
        .await;
}

/// A Korean manager connects their store on a phone: an API token (shown once), an ntfy
/// webhook (its secret shown once), and the webhook's delivery log; then the same pages
/// in Japanese on a laptop. No English on them; nothing sticks out at 390 or 1280 px.
#[tokio::test]
async fn a_korean_manager_connects_the_store_on_a_phone_and_reads_it_in_japanese_on_a_laptop() {
    const PASSWORD: &str = "a long enough password";
    let (app, store) =
        mend_testing::spawn_demo(TestDb::sqlite(), &[("MEND_WEBHOOK_ALLOW_PRIVATE", "1")]).await;
    let location = app.location_of(&store.touchpoints[0].code);
    let manager = "jiwoo@shop.example";
    let id = app.add_user("manager", manager, PASSWORD, &[&location]);
    app.test_db.execute_behind_the_back(&format!(
        "UPDATE users SET language = 'ko' WHERE id = '{id}'"
    ));
    let english = [
        "Integrations",
        "API tokens",
        "Deliveries",
        "Revoke",
        "Active",
        "Send again",
        "Create token",
        "Person",
        "Stores",
        "Every event",
        "Not yet",
        "Will try again",
    ];
    let no_english = |page: &str, what: &str| {
        for word in english {
            assert!(!page.contains(word), "{what} has \"{word}\"");
        }
    };

    let Some(browser) = Browser::phone(false).await else {
        return;
    };
    let c = &browser.client;
    sign_in_in_browser(&browser, &app, manager, PASSWORD).await;
    c.goto(&app.url("/manage/integrations")).await.unwrap();
    wait_for_text(c, "API 토큰").await;
    browser.click("details summary").await;
    browser.type_into("token-name", "인사 시스템").await;
    browser.click("form[action$='/tokens'] button").await;
    wait_for_text(c, "이번 한 번만").await;
    let page = c.source().await.unwrap();
    assert!(page.contains("mend_"), "{page}");
    no_english(&page, "the Korean integrations page");
    fits_the_width(c, "the Korean integrations page").await;
    browser
        .full_page_screenshot_to(&screenshots().join("integrations-ko-phone.png"))
        .await;
    c.find(Locator::Css(
        "#webhooks + p + details summary, #webhooks ~ details summary",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    // Nothing listens on port 9: the delivery fails and waits for its next try.
    browser
        .type_into("hook-url", "http://127.0.0.1:9/mend-alerts")
        .await;
    browser.click("#hook-format option[value=ntfy]").await;
    browser
        .type_into("hook-store", mend_server::domain::demo::LOCATION_NAME)
        .await;
    browser.click("form[action$='/webhooks'] button").await;
    wait_for_text(c, "whsec_").await;
    no_english(&c.source().await.unwrap(), "the Korean webhook secret");
    app.complain(&store.touchpoints[0].code, mend_testing::Post::valid())
        .await;
    app.drain_outbox().await;
    c.goto(&app.url("/manage/integrations")).await.unwrap();
    browser.click("#webhook-list a").await;
    wait_for_text(c, "다시 시도").await;
    let page = c.source().await.unwrap();
    assert!(page.contains("불편 접수"), "the event by its Korean label");
    assert!(
        page.contains("연결할 수 없음"),
        "why it missed, in Korean: {page}"
    );
    no_english(&page, "the Korean delivery log");
    fits_the_width(c, "the Korean delivery log").await;
    browser
        .full_page_screenshot_to(&screenshots().join("webhook-log-ko-phone.png"))
        .await;
    let log_url = c.current_url().await.unwrap();

    app.test_db.execute_behind_the_back(&format!(
        "UPDATE users SET language = 'ja' WHERE id = '{id}'"
    ));
    browser.laptop(1280, 900).await;
    c.goto(&app.url("/manage/integrations")).await.unwrap();
    wait_for_text(c, "API トークン").await;
    let page = c.source().await.unwrap();
    assert!(page.contains("ntfy（スマートフォンにプッシュ）"), "{page}");
    no_english(&page, "the Japanese integrations page");
    fits_the_width(c, "the Japanese integrations page on a laptop").await;
    browser
        .full_page_screenshot_to(&screenshots().join("integrations-ja-laptop.png"))
        .await;
    c.goto(log_url.as_str()).await.unwrap();
    wait_for_text(c, "再試行").await;
    no_english(&c.source().await.unwrap(), "the Japanese delivery log");
    fits_the_width(c, "the Japanese delivery log on a laptop").await;
    browser
        .full_page_screenshot_to(&screenshots().join("webhook-log-ja-laptop.png"))
        .await;
    browser.close().await;
}

fn set_language(app: &TestApp, email: &str, lang: &str) {
    use diesel::prelude::*;
    use mend_server::db::schema::users;
    app.db
        .write(|c| {
            diesel::update(users::table.filter(users::email.eq(email)))
                .set(users::language.eq(lang))
                .execute(c)
                .map_err(mend_server::db::DbError::from)
        })
        .unwrap();
}

/// The first link in a mail's text that contains `part`.
fn link_in(text: &str, part: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("http") && w.contains(part))
        .unwrap_or_else(|| panic!("a link with {part} in {text}"))
        .to_owned()
}

/// The whole recovery conversation in browsers: a Korean customer answers "a replacement"
/// from the receipt's link on her phone without JavaScript, a Korean staff member
/// proposes a voucher above his limit, the Japanese manager approves it from the email
/// (real SMTP server) on a laptop, the staff member resolves, and the customer gets the
/// resolved email. Screenshots at 390 px and 1280 px in Korean, Japanese and English.
#[tokio::test]
async fn a_customer_says_what_would_make_it_right_and_a_manager_approves_the_remedy_from_the_email()
{
    use mend_testing::smtp::SmtpSink;
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let (app, store) =
        mend_testing::spawn_demo(TestDb::sqlite(), &[("MEND_SMTP_URL", &sink.url())]).await;
    let code = &store.touchpoints[0].code;
    let location = app.location_of(code);
    app.db
        .write(|c| {
            use diesel::prelude::*;
            use mend_server::db::schema::locations;
            diesel::update(locations::table.find(&location))
                .set(locations::currency.eq("KRW"))
                .execute(c)
                .map_err(mend_server::db::DbError::from)
        })
        .unwrap();
    let password = "a long enough password";
    app.add_user("staff", "minjun@cafe.example", password, &[&location]);
    set_language(&app, "minjun@cafe.example", "ko");
    set_language(&app, &store.manager_email, "ja");
    let Some(browser) = Browser::phone(false).await else {
        return;
    };
    let c = &browser.client;
    let shots = screenshots();

    // The manager sets staff's limit: vouchers up to 5,000 won (Japanese, laptop).
    browser.laptop(1280, 900).await;
    sign_in_in_browser(&browser, &app, &store.manager_email, "demo-password-1").await;
    c.goto(&app.url(&format!("/manage/locations/{location}/remedies")))
        .await
        .unwrap();
    let page = c.source().await.unwrap();
    assert!(
        page.contains("補償ルール") && page.contains("KRW"),
        "{page}"
    );
    for kind in ["discount", "refund", "replacement", "other"] {
        browser
            .click(&format!("form[action$='/limit'] input[value={kind}]"))
            .await;
    }
    c.find(Locator::Id("amount-staff"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    browser.type_into("amount-staff", "5000").await;
    browser.click("form[action$='/limit'] button").await;
    wait_for_text(c, "₩5,000").await;
    fits_the_width(c, "remedies page (ja, 1280)").await;
    browser
        .full_page_screenshot_to(&shots.join("remedies-ja-1280.png"))
        .await;
    browser.viewport(390, 844).await;
    fits_the_width(c, "remedies page (ja, 390)").await;
    browser
        .full_page_screenshot_to(&shots.join("remedies-ja-390.png"))
        .await;

    // The customer complains in Korean; her receipt asks what would make it right.
    let page = app.open_form(code, "?lang=ko").await;
    let res = app
        .post_raw(
            code,
            &mend_testing::Post::valid()
                .with("stamp", &mend_testing::input_value(&page, "stamp").unwrap())
                .with("lang", "ko")
                .with("email", "jiwoo@customer.example")
                .with("body", "라떼에 우유가 상했어요."),
        )
        .await;
    assert_eq!(res.status(), 303);
    let reference = res.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    app.outbox.until_idle().await;
    let receipt = sink
        .messages()
        .into_iter()
        .find(|m| m.kind == "customer_receipt")
        .expect("a receipt");
    assert!(
        receipt.text.contains("어떻게 해 드리면 좋을까요?"),
        "{}",
        receipt.text
    );
    let pick = link_in(&receipt.text, "wish=replacement");

    // On her phone, without JavaScript: the choice is ticked, nothing sent until she
    // presses the button.
    c.goto(&pick).await.unwrap();
    let page = c.source().await.unwrap();
    assert!(page.contains("value=\"replacement\" checked"), "{page}");
    fits_the_width(c, "status page with the question (ko, 390)").await;
    browser
        .full_page_screenshot_to(&shots.join("wish-ko-390.png"))
        .await;
    browser
        .type_into("wish-words", "따뜻한 라떼로 다시 주세요")
        .await;
    browser.click("form[action$='/wish'] button").await;
    wait_for_text(c, "감사합니다. 팀이 답을 확인합니다.").await;
    let page = c.source().await.unwrap();
    assert!(page.contains("보내신 답: 교환 또는 다시 만들어 주기"));
    browser.laptop(1280, 900).await;
    let english = pick
        .split("&wish=")
        .next()
        .unwrap()
        .replace("lang=ko", "lang=en");
    c.goto(&format!("{english}#wish")).await.unwrap();
    let page = c.source().await.unwrap();
    assert!(
        page.contains("What would make this right for you?")
            && page.contains("You told us: A replacement"),
        "{page}"
    );
    fits_the_width(c, "status page with the question (en, 1280)").await;
    browser
        .full_page_screenshot_to(&shots.join("wish-en-1280.png"))
        .await;

    // The Korean staff member sees her answer at the top, and proposes a 20,000 won
    // voucher: above his limit, so it goes to the manager.
    c.delete_all_cookies().await.unwrap();
    browser.viewport(390, 844).await;
    sign_in_in_browser(&browser, &app, "minjun@cafe.example", password).await;
    c.goto(&app.url(&format!("/manage/cases/{reference}")))
        .await
        .unwrap();
    let page = c.source().await.unwrap();
    assert!(page.contains("고객이 원하는 해결:") && page.contains("따뜻한 라떼로 다시 주세요"));
    assert!(page.contains("₩5,000"), "his limit is shown");
    // The apology text in the customer's language, whatever his own.
    browser.click("a[href$='reply=apology#update-text']").await;
    wait_for_text(c, "불편을 드려 죄송합니다").await;
    browser
        .type_into("resolution", "상한 우유를 버리고 새 라떼를 드림")
        .await;
    browser.click("#root_cause option[value=supplier]").await;
    browser
        .click("#compensation_type option[value=voucher]")
        .await;
    browser.type_into("compensation_value", "20000").await;
    browser.click("form[action$='/resolve'] button").await;
    wait_for_text(c, "매니저 승인 대기 중").await;
    fits_the_width(c, "case waiting for approval (ko, 390)").await;
    browser
        .full_page_screenshot_to(&shots.join("remedy-waiting-ko-390.png"))
        .await;

    // The manager's email, in Japanese, with approve and decline.
    app.outbox.until_idle().await;
    let mails = sink.messages();
    assert!(
        !mails.iter().any(|m| m.kind == "customer_resolved"),
        "the customer is told nothing yet"
    );
    let ask = mails
        .iter()
        .find(|m| m.kind == "remedy_ask")
        .expect("the manager asked");
    assert_eq!(ask.rcpt_tos, std::slice::from_ref(&store.manager_email));
    assert!(ask.subject.contains("承認しますか"), "{}", ask.subject);
    assert!(ask.text.contains("교환 또는 다시 만들어 주기") || ask.text.contains("交換・作り直し"));
    let approve = link_in(&ask.text, "decision=approve");
    c.delete_all_cookies().await.unwrap();
    browser.laptop(1280, 900).await;
    c.goto(&approve).await.unwrap();
    let page = c.source().await.unwrap();
    assert!(
        page.contains("承認待ちの対応があります") && page.contains("₩20,000"),
        "{page}"
    );
    fits_the_width(c, "approval page (ja, 1280)").await;
    browser
        .full_page_screenshot_to(&shots.join("approve-ja-1280.png"))
        .await;
    browser.viewport(390, 844).await;
    fits_the_width(c, "approval page (ja, 390)").await;
    browser
        .full_page_screenshot_to(&shots.join("approve-ja-390.png"))
        .await;
    browser.click("button[value=approve]").await;
    wait_for_text(c, "承認しました。").await;

    // He is told, and resolves with the approved voucher already filled in.
    app.outbox.until_idle().await;
    let told = sink
        .messages()
        .into_iter()
        .find(|m| m.kind == "remedy_decided")
        .expect("the staff member told");
    assert_eq!(told.rcpt_tos, ["minjun@cafe.example"]);
    assert!(told.subject.contains("승인됨"), "{}", told.subject);
    sign_in_in_browser(&browser, &app, "minjun@cafe.example", password).await;
    c.goto(&app.url(&format!("/manage/cases/{reference}")))
        .await
        .unwrap();
    let page = c.source().await.unwrap();
    assert!(page.contains("value=\"20000\""), "{page}");
    browser.click("#root_cause option[value=supplier]").await;
    browser.click("form[action$='/resolve'] button").await;
    wait_for_text(c, "다시 열기").await;
    browser.laptop(1280, 900).await;
    fits_the_width(c, "resolved case (ko, 1280)").await;
    browser
        .full_page_screenshot_to(&shots.join("remedy-resolved-ko-1280.png"))
        .await;
    browser.close().await;

    // The customer's resolved email, in Korean.
    app.outbox.until_idle().await;
    let resolved = sink
        .messages()
        .into_iter()
        .find(|m| m.kind == "customer_resolved")
        .expect("the customer told");
    assert_eq!(resolved.rcpt_tos, ["jiwoo@customer.example"]);
    assert!(resolved.text.contains("상한 우유를 버리고 새 라떼를 드림"));
}
