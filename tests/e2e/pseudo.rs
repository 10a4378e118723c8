//! Every page staff, managers and admins read, and the pages before sign-in, rendered in the
//! test language `qps`, whose every catalog text is marked ⟦like this⟧: any visible text
//! that is neither marked nor data someone typed (store names, complaint text, emails) did
//! not come from the catalogs, and would be English on a Korean page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_testing::{spawn_demo, Post, TestDb};
use scraper::{Html, Node};

const PASSWORD: &str = "a long enough password";

/// The visible texts of a page: text nodes outside scripts, styles and code, and the
/// attributes a person reads (placeholders, labels for screen readers, image text).
fn visible_texts(html: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let mut out = Vec::new();
    for node in doc.tree.nodes() {
        match node.value() {
            Node::Text(t) => {
                // Content marked as being in another language (the stickers speak the
                // store's, the language switch names each language in itself) is not the
                // reader's page text.
                let hidden = node.ancestors().any(|a| {
                    a.value().as_element().is_some_and(|e| {
                        matches!(
                            e.name(),
                            "script" | "style" | "code" | "pre" | "svg" | "title"
                        ) || (e.name() != "html" && e.attr("lang").is_some_and(|l| l != "qps"))
                    })
                });
                if !hidden && !t.trim().is_empty() {
                    out.push(t.trim().to_owned());
                }
            }
            Node::Element(e) => {
                for name in ["placeholder", "aria-label", "alt", "title"] {
                    if let Some(v) = e.attr(name) {
                        out.push(v.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// What is left of a text once the marked parts and the known data are taken out, if it
/// still has words in it.
fn unmarked(text: &str, data: &[String]) -> Option<String> {
    let mut rest = String::new();
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '⟦' => depth += 1,
            '⟧' => depth = depth.saturating_sub(1),
            c if depth == 0 => rest.push(c),
            _ => {}
        }
    }
    for d in data {
        rest = rest.replace(d.as_str(), " ");
    }
    let letters = rest
        .chars()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w[0].is_alphabetic() && w[1].is_alphabetic());
    letters.then_some(rest)
}

fn check(path: &str, html: &str, data: &[String], failures: &mut Vec<String>) {
    assert!(
        html.contains("<html lang=\"qps\""),
        "{path} is not in the pseudo language: {}",
        &html[..html.len().min(300)]
    );
    for text in visible_texts(html) {
        if let Some(rest) = unmarked(&text, data) {
            failures.push(format!("{path}: {text:?} (unmarked: {:?})", rest.trim()));
        }
    }
}

#[test]
fn the_checker_finds_english_and_lets_marked_text_and_data_through() {
    let data = vec!["Café Kim".to_owned()];
    assert_eq!(unmarked("⟦Stores⟧", &data), None);
    assert_eq!(unmarked("⟦Kiosks at Café Kim⟧", &data), None);
    assert_eq!(unmarked("Café Kim · 12:30", &data), None);
    assert!(unmarked("⟦Inbox⟧ · Locations", &data).is_some());
    assert!(unmarked("waited 5 min", &data).is_some());
    let texts = visible_texts(
        "<p>Hi<script>var x</script><input placeholder=\"Exit\"><code>a=b</code></p>\
         <div lang=\"ko\">불편하셨나요?</div>",
    );
    assert_eq!(texts, ["Hi", "Exit"]);
}

#[tokio::test]
async fn every_staff_page_and_every_page_before_sign_in_comes_from_the_catalogs() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_PSEUDO_LOCALE", "true")]).await;
    let code = &store.touchpoints[0].code;
    let location = app.location_of(code);
    let admin_email = "admin@shop.example";
    app.add_user("admin", admin_email, PASSWORD, &[]);
    app.add_user("staff", "staff@shop.example", PASSWORD, &[&location]);

    // Two complaints: one stays open, one is worked to the end (a timeline, a resolution
    // with money, a root cause on the dashboard).
    let mut references = Vec::new();
    for body in ["The restroom has no soap.", "Cold coffee at the counter."] {
        let res = app.submit(code, Post::valid().with("body", body)).await;
        assert_eq!(res.status(), 303);
        let reference = res.headers()["location"].to_str().unwrap()[3..]
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        references.push(reference);
    }
    app.drain_outbox().await;
    app.test_db
        .execute_behind_the_back("UPDATE users SET language = 'qps'");
    let admin = app.sign_in(admin_email, PASSWORD).await;
    let done = &references[1];
    app.case_action_done(&admin, done, "acknowledge", &[]).await;
    app.case_action_done(&admin, done, "note", &[("text", "Checked the machine.")])
        .await;
    app.case_action_done(
        &admin,
        done,
        "resolve",
        &[
            ("resolution", "Made a fresh cup."),
            ("root_cause", "equipment"),
            ("compensation_type", "voucher"),
            ("compensation_value", "5"),
            ("compensation_currency", "EUR"),
        ],
    )
    .await;
    app.drain_outbox().await;
    let kiosk = app
        .page(&admin, &format!("/manage/locations/{location}/kiosks"))
        .await;
    let csrf = mend_testing::csrf_in(&kiosk);
    admin
        .post(app.url(&format!("/manage/locations/{location}/kiosks")))
        .form(&[("csrf", csrf.as_str()), ("name", "Door"), ("spot", "")])
        .send()
        .await
        .unwrap();

    // A "you said, we did" change, for its page, the dashboard and the public page.
    let changes = app.page(&admin, "/manage/changes").await;
    let csrf = mend_testing::csrf_in(&changes);
    let res = admin
        .post(app.url("/manage/changes"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("store", location.as_str()),
            ("category", "cleanliness"),
            ("text_en", "We now check the restrooms every 30 minutes."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);

    // What people typed or chose, shown as it was typed.
    let mut data: Vec<String> = vec![
        "Mend".into(),
        "CSV".into(),
        "Excel".into(),
        "XLSX".into(),
        "A4".into(),
        "US Letter".into(),
        "mm".into(),
        "Door".into(),
        "Checked the machine.".into(),
        "Made a fresh cup.".into(),
        "We now check the restrooms every 30 minutes.".into(),
        "The restroom has no soap.".into(),
        "Cold coffee at the counter.".into(),
        "English".into(),
        "한국어".into(),
        "日本語".into(),
        "Polski".into(),
        "UTC".into(),
        "EUR".into(),
        // Examples of what to type: a time zone and a currency code, the same in every
        // language.
        "Asia/Seoul".into(),
        "KRW".into(),
    ];
    // The store's own categories carry the labels its manager gave them (here, the
    // defaults copied when the store was made): data, shown as typed.
    for key in mend_server::domain::case::complaint::DEFAULT_CATEGORIES {
        data.push(mend_server::domain::language::Language::EN.category_label(key));
    }
    data.extend(references.iter().cloned());
    let people: Vec<String> = app
        .db
        .read(mend_server::db::queries::users::all)
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    data.extend(people);
    data.push("guest@example.com".into());
    data.push("g***@example.com".into());
    let stores = app.db.read(mend_server::db::queries::stores::all).unwrap();
    for s in &stores {
        data.push(s.name.clone());
        data.push(s.time_zone.clone());
        data.push(s.currency.clone());
    }
    for tp in &store.touchpoints {
        data.push(tp.label.clone());
        data.push(tp.code.clone());
    }
    data.push(app.base_url.trim_start_matches("http://").to_owned());
    // Longest first, so a name inside another is not taken out first.
    data.sort_by_key(|d| std::cmp::Reverse(d.chars().count()));

    let store_id = &stores[0].id;
    let signed_in = [
        "/manage/".to_owned(),
        "/manage/cases".to_owned(),
        format!("/manage/cases/{}", references[0]),
        format!("/manage/cases/{done}"),
        "/manage/dashboard".to_owned(),
        "/manage/stores".to_owned(),
        format!("/manage/stores/{store_id}"),
        format!("/manage/stores/{store_id}/categories"),
        "/manage/users".to_owned(),
        "/manage/users/edit?email=staff%40shop.example".to_owned(),
        "/manage/import".to_owned(),
        "/manage/log".to_owned(),
        "/manage/changes".to_owned(),
        format!("/manage/locations/{location}/settings"),
        format!("/manage/locations/{location}/kiosks"),
        format!("/manage/locations/{location}/stickers"),
        "/manage/no-such-page".to_owned(),
        "/manage/cases/ZZZ-999".to_owned(),
    ];
    let mut failures = Vec::new();
    for path in &signed_in {
        let html = app.page(&admin, path).await;
        check(path, &html, &data, &mut failures);
    }
    // Before sign-in: the language chosen with the switch (a cookie), then the browser's.
    let stranger = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let public_changes = format!("/s/{store_id}/changes?lang=qps");
    for path in [
        "/manage/login",
        "/manage/password/forgot",
        "/",
        "/nowhere",
        public_changes.as_str(),
    ] {
        for header in [
            ("cookie", "mend_lang=qps"),
            ("accept-language", "qps, en;q=0.5"),
        ] {
            let res = stranger.get(app.url(path)).header(header.0, header.1);
            let html = res.send().await.unwrap().text().await.unwrap();
            check(path, &html, &data, &mut failures);
        }
    }
    assert!(
        failures.is_empty(),
        "text not from the catalogs:\n{}",
        failures.join("\n")
    );
}

/// The switch stores the choice on the account, and the pages follow it at once.
#[tokio::test]
async fn the_language_switch_stores_the_choice_on_the_account() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    assert!(app
        .page(&manager, "/manage/")
        .await
        .contains("Your locations"));
    let res = manager
        .post(app.url("/manage/language"))
        .header("referer", app.url("/manage/cases"))
        .form(&[("to", "ko")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/manage/cases");
    let home = app.page(&manager, "/manage/").await;
    assert!(home.contains("<html lang=\"ko\""), "{home}");
    assert!(home.contains("내 매장"), "{home}");
    let user = app
        .db
        .read(|c| mend_server::db::queries::users::find_by_email(c, &store.manager_email))
        .unwrap()
        .unwrap();
    assert_eq!(user.language, "ko");
    // A language Mend does not speak is refused, in the reader's language.
    let res = manager
        .post(app.url("/manage/language"))
        .header("cookie", "mend_lang=ko")
        .form(&[("to", "xx")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}
