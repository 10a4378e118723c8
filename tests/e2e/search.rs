//! Finding any case (issue 23): by reference in one step, by words of the complaint, a
//! note or an update in Korean, Japanese, Polish and English, by the customer's email,
//! by status (resolved ones too), spot, who has it and date; a page at a time; never a
//! case of another store; an erased complaint no longer found by its words.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_testing::{spawn_demo, Post, TestApp, TestDb};

const PASSWORD: &str = "a long enough password";

async fn complain(app: &TestApp, code: &str, body: &str, email: &str) -> String {
    let post = Post::valid().with("body", body);
    let post = if email.is_empty() {
        post.without("email").without("consent")
    } else {
        post.with("email", email)
    };
    app.complain(code, post).await
}

/// The references a results page lists, in order.
fn listed(page: &str) -> Vec<String> {
    page.split("<a href=\"/manage/cases/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(str::to_owned)
        .collect()
}

async fn find(app: &TestApp, who: &reqwest::Client, query: &str) -> Vec<String> {
    let url = format!("/manage/cases?{query}");
    listed(&app.page(who, &url).await)
}

fn q(words: &str) -> String {
    format!("status=all&q={}", urlencode(words))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn search_finds_any_case(db: TestDb) {
    let (app, store) = spawn_demo(db, &[]).await;
    let code = &store.touchpoints[0].code;
    let other_spot = &store.touchpoints[1].code;
    let location = app.location_of(code);
    app.add_user("staff", "till@shop.example", PASSWORD, &[&location]);
    let staff = app.sign_in("till@shop.example", PASSWORD).await;

    let korean = complain(&app, code, "화장실에 비누가 없어요", "kim@example.com").await;
    let japanese = complain(&app, code, "石けんがありません", "").await;
    let polish = complain(&app, other_spot, "Kawa była zimna, zapłaciłem dwa razy", "").await;
    let english = complain(&app, code, "The coffee machine is broken", "").await;

    // Korean: a two-syllable word inside a longer one, and a three-syllable one.
    assert_eq!(find(&app, &staff, &q("비누")).await, [korean.as_str()]);
    assert_eq!(find(&app, &staff, &q("화장실")).await, [korean.as_str()]);
    assert_eq!(find(&app, &staff, &q("비누 없어")).await, [korean.as_str()]);
    assert!(
        find(&app, &staff, &q("비누 kawa")).await.is_empty(),
        "every word must match"
    );
    // Japanese, written without spaces.
    assert_eq!(find(&app, &staff, &q("石けん")).await, [japanese.as_str()]);
    // Polish with its own letters, and a word's start ("zapłac" finds "zapłaciłem").
    assert_eq!(find(&app, &staff, &q("zapłac")).await, [polish.as_str()]);
    assert_eq!(find(&app, &staff, &q("KAWA")).await, [polish.as_str()]);
    assert_eq!(find(&app, &staff, &q("coffee")).await, [english.as_str()]);
    assert!(find(&app, &staff, &q("tea")).await.is_empty());
    // Query syntax is never the index's: quotes, stars and operators are only words.
    assert!(find(&app, &staff, &q("\" OR * NEAR(")).await.is_empty());
    assert!(find(&app, &staff, &q("'; --")).await.is_empty());

    // A reference, typed loosely, goes straight to the case.
    let res = staff
        .get(app.url(&format!(
            "/manage/cases?q={}",
            english.to_lowercase().replace('-', "")
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/manage/cases/{english}").as_str()
    );
    // The customer's email.
    assert_eq!(
        find(&app, &staff, &q("KIM@example.com")).await,
        [korean.as_str()]
    );

    // Staff's words find the case too: a note in Korean, an update in Japanese.
    app.case_action_done(&staff, &english, "note", &[("text", "수리 기사 호출함")])
        .await;
    assert_eq!(find(&app, &staff, &q("수리")).await, [english.as_str()]);
    app.case_action_done(
        &staff,
        &polish,
        "update",
        &[("text", "新しいコーヒー豆を注文しました")],
    )
    .await;
    assert_eq!(find(&app, &staff, &q("コーヒー")).await, [polish.as_str()]);

    // Resolved cases are found, and listed by status; the open queue no longer has them.
    app.case_action_done(
        &staff,
        &korean,
        "resolve",
        &[
            ("resolution", "Soap refilled"),
            ("root_cause", "cleaning"),
            ("compensation_type", "none"),
        ],
    )
    .await;
    assert_eq!(
        find(&app, &staff, "status=resolved").await,
        [korean.as_str()]
    );
    assert!(!find(&app, &staff, "").await.contains(&korean));
    assert_eq!(find(&app, &staff, &q("refilled")).await, [korean.as_str()]);

    // By spot (offered once a store is chosen) and by who has it.
    let spot_id: String = {
        use diesel::prelude::*;
        use mend_server::db::schema::touchpoints;
        app.db
            .read(|c| {
                touchpoints::table
                    .filter(touchpoints::code.eq(other_spot))
                    .select(touchpoints::id)
                    .first(c)
            })
            .unwrap()
    };
    let page = app
        .page(&staff, &format!("/manage/cases?location={location}"))
        .await;
    assert!(
        page.contains(&format!("value=\"{spot_id}\"")),
        "spots offered"
    );
    assert_eq!(
        find(
            &app,
            &staff,
            &format!("status=all&location={location}&spot={spot_id}")
        )
        .await,
        [polish.as_str()]
    );
    app.case_action_done(&staff, &japanese, "acknowledge", &[])
        .await;
    let nobody = find(
        &app,
        &staff,
        &format!("status=all&location={location}&assignee=nobody"),
    )
    .await;
    assert!(!nobody.contains(&japanese), "{nobody:?}");
    assert!(nobody.contains(&english));

    // Dates in the store's zone: today has all four, a day long past has none, and a
    // date that is not one is said so.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(
        find(&app, &staff, "status=all&from=2020-01-01&to=2020-01-31")
            .await
            .is_empty()
    );
    let page = app
        .page(&staff, "/manage/cases?status=all&from=28.11.2026")
        .await;
    assert!(
        page.contains("2026-11-28"),
        "the error says how to write it"
    );
    let _ = today;

    // Another store's staff finds nothing of this store, even by reference or email.
    let elsewhere = app.add_location("Elsewhere");
    app.add_user("staff", "far@shop.example", PASSWORD, &[&elsewhere]);
    let far = app.sign_in("far@shop.example", PASSWORD).await;
    assert!(find(&app, &far, &q("비누")).await.is_empty());
    assert!(find(&app, &far, &q("kim@example.com")).await.is_empty());
    let res = far
        .get(app.url(&format!("/manage/cases?q={english}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "no way to the case: a plain search with no result"
    );

    // Erasure takes the complaint's words out of the index.
    let erased_case = app
        .db
        .read(|c| mend_server::db::queries::cases::find_by_reference(c, &japanese))
        .unwrap()
        .unwrap();
    mend_server::domain::privacy::customer_data::erase_case(
        &app.db,
        app.data_dir.path(),
        &erased_case.id,
        mend_server::db::models::now_utc(),
    )
    .unwrap();
    assert!(find(&app, &staff, &q("石けん")).await.is_empty());
}

/// Paging: newest first, a page of 50 and a link to the older ones, each case once.
async fn results_come_a_page_at_a_time(db: TestDb) {
    let (app, store) = spawn_demo(db, &[("MEND_MAX_REQUESTS_PER_CLIENT", "100000")]).await;
    let code = &store.touchpoints[0].code;
    let location = app.location_of(code);
    app.add_user("staff", "till@shop.example", PASSWORD, &[&location]);
    let staff = app.sign_in("till@shop.example", PASSWORD).await;
    let mut made = Vec::new();
    for i in 0..55 {
        made.push(complain(&app, code, &format!("Spilled milk number {i}"), "").await);
    }
    let page = app
        .page(&staff, &format!("/manage/cases?{}", q("milk")))
        .await;
    let first = listed(&page);
    assert_eq!(first.len(), 50);
    let next = page
        .split("rel=\"next\"")
        .next()
        .unwrap()
        .rsplit("href=\"")
        .next()
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    let second = listed(&app.page(&staff, &next).await);
    assert!(next.contains("before="), "{next}");
    assert_eq!(second.len(), 5, "{next}");
    let mut all: Vec<String> = first.into_iter().chain(second).collect();
    assert_eq!(all[0], made[54], "newest first");
    all.sort();
    made.sort();
    assert_eq!(all, made, "each case once");
}

/// Paging through a word search whose matches are sparse (one in three passes the
/// filter) walks batch after batch of the index and gives each case once, newest first.
async fn paging_walks_the_index_batch_after_batch(db: TestDb) {
    use mend_server::db::queries::cases::{search, CaseSearch, SearchStatus};
    let (app, store) = spawn_demo(db, &[]).await;
    let code = &store.touchpoints[0].code;
    let first = complain(&app, code, "Spilled milk", "").await;
    let template = app
        .db
        .read(|c| mend_server::db::queries::cases::find_by_reference(c, &first))
        .unwrap()
        .unwrap();
    let mut staff_cases = Vec::new();
    let made: Vec<_> = (0..600)
        .map(|i| {
            let mut case = template.clone();
            case.id = mend_server::db::models::new_id();
            case.reference = format!("T{:02}-{:03}", i / 1000, i % 1000);
            case.render_nonce = None;
            case.created_at = template.created_at + chrono::Duration::seconds(i + 1);
            case.category = if i % 3 == 0 { "staff" } else { "cleanliness" }.into();
            if i % 3 == 0 {
                staff_cases.push(case.id.clone());
            }
            case
        })
        .collect();
    app.db
        .write(|c| {
            for case in &made {
                mend_server::db::queries::cases::insert(c, case)?;
            }
            mend_server::domain::case::search::index_new(c, &made)
        })
        .unwrap();
    let words = mend_server::domain::case::search::parts("milk");
    let s = CaseSearch {
        status: SearchStatus::Any,
        category: Some("staff".into()),
        words: Some((
            mend_server::domain::case::search::fts5(&words),
            mend_server::domain::case::search::tsquery(&words),
        )),
        ..CaseSearch::default()
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let found = app
            .db
            .read(|c| search(c, "", true, &s, cursor.as_ref(), 50))
            .unwrap();
        assert!(found.cases.len() <= 50);
        seen.extend(found.cases.into_iter().map(|(c, _)| c));
        match found.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let ids: Vec<String> = seen.iter().map(|c| c.id.clone()).collect();
    staff_cases.reverse();
    assert_eq!(ids, staff_cases, "each once, newest first");
}

/// Cases of an installation from before the index are indexed at start.
async fn cases_from_before_the_index_are_found(db: TestDb) {
    let (app, store) = spawn_demo(db, &[]).await;
    let code = &store.touchpoints[0].code;
    let location = app.location_of(code);
    let reference = complain(&app, code, "Stolik się chwieje", "").await;
    complain(&app, code, "Zimna kawa", "").await;
    complain(&app, code, "Brak serwetek", "").await;
    // As if the index had never had it.
    app.db
        .write(|c| {
            use diesel::RunQueryDsl;
            let sql = match c {
                mend_server::db::DbConnection::Sqlite(_) => "DELETE FROM case_search_rows",
                mend_server::db::DbConnection::Postgres(_) => "DELETE FROM case_search",
            };
            diesel::sql_query(sql).execute(c)?;
            if let mend_server::db::DbConnection::Sqlite(_) = c {
                diesel::sql_query("DELETE FROM case_search").execute(c)?;
            }
            Ok::<_, mend_server::db::DbError>(())
        })
        .unwrap();
    app.add_user("staff", "till@shop.example", PASSWORD, &[&location]);
    let staff = app.sign_in("till@shop.example", PASSWORD).await;
    assert!(find(&app, &staff, &q("chwieje")).await.is_empty());
    // Three cases in batches of two: each batch goes on from where the last stopped.
    assert_eq!(
        mend_server::domain::case::search::catch_up(&app.db, 2).unwrap(),
        3
    );
    assert_eq!(find(&app, &staff, &q("chwieje")).await, [reference]);
    assert_eq!(find(&app, &staff, &q("serwetek")).await.len(), 1);
    assert_eq!(
        mend_server::domain::case::search::catch_up(&app.db, 2).unwrap(),
        0
    );
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $( #[tokio::test(flavor = "multi_thread")] async fn $name() { super::$name(mend_testing::TestDb::sqlite()).await; } )*
        }
        mod on_postgres {
            $( #[tokio::test(flavor = "multi_thread")] async fn $name() {
                if let Some(db) = mend_testing::TestDb::postgres() { super::$name(db).await; }
            } )*
        }
    };
}

on_both!(
    search_finds_any_case,
    results_come_a_page_at_a_time,
    paging_walks_the_index_batch_after_batch,
    cases_from_before_the_index_are_found,
);
