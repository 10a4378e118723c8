//! Exports: each format read back and checked against the database, filters, who sees
//! which store, formula cells neutralised, and Korean and Japanese text intact.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::db::models::{new_id, now_utc, Touchpoint};
use mend_testing::{input_value, spawn_demo, Post, TestApp, TestDb};

/// A complaint without email, resolved, and its survey answered on the status page.
async fn answered_case(
    app: &TestApp,
    manager: &reqwest::Client,
    code: &str,
    lang: &str,
    body: &str,
    comment: &str,
) -> String {
    let page = app.open_form(code, &format!("?lang={lang}")).await;
    let post = Post::valid()
        .with("stamp", &input_value(&page, "stamp").unwrap())
        .with("lang", lang)
        .with("body", body)
        .with("email", "")
        .without("consent");
    let res = app.post_raw(code, &post).await;
    let status = res.headers()["location"].to_str().unwrap().to_owned();
    let reference = status
        .trim_start_matches("/c/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let fields = [
        ("resolution", "Fixed"),
        ("root_cause", "cleaning"),
        ("compensation_type", "refund"),
        ("compensation_value", "12.50"),
        ("compensation_currency", "EUR"),
    ];
    app.case_action_done(manager, &reference, "resolve", &fields)
        .await;
    let status_page = app.get(&status).await.text().await.unwrap();
    let start = status_page.find("/s/").unwrap();
    let survey = status_page[start..].split('"').next().unwrap().to_owned();
    let res = app
        .client
        .post(app.url(&survey))
        .form(&[
            ("csat", "4"),
            ("fixed", "yes"),
            ("return_likelihood", "8"),
            ("comment", comment),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    reference
}

async fn download(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, Vec<u8>) {
    let res = client.get(app.url(path)).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.bytes().await.unwrap().to_vec())
}

fn csv_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn survey_exports_match_the_database_in_every_format_for_the_stores_one_may_see() {
    exports_match_the_database(TestDb::sqlite()).await;
}

#[tokio::test]
async fn exports_match_the_database_on_postgresql_too() {
    if let Some(db) = TestDb::postgres() {
        exports_match_the_database(db).await;
    }
}

async fn exports_match_the_database(db: TestDb) {
    let (app, store) = spawn_demo(db, &[]).await;
    let code = &store.touchpoints[0].code;
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let ko = answered_case(
        &app,
        &manager,
        code,
        "ko",
        "화장실에 비누가 없어요",
        "=HYPERLINK(\"http://evil\")",
    )
    .await;
    let ja = answered_case(
        &app,
        &manager,
        code,
        "ja",
        "石けんがありません",
        "ありがとう",
    )
    .await;

    // Another store, with a case the demo manager must not see.
    let other = app.add_location("Elsewhere");
    let tp = Touchpoint {
        id: new_id(),
        location_id: other.clone(),
        label: "Door".into(),
        code: mend_server::domain::sticker::codes::new_touchpoint_code(),
        created_at: now_utc(),
    };
    app.db
        .write(|c| {
            mend_server::db::queries::touchpoints::insert(c, &tp)
                .map_err(mend_server::db::DbError::from)
        })
        .unwrap();
    app.add_user("admin", "boss@shop.example", "admin password 1", &[]);
    let admin = app.sign_in("boss@shop.example", "admin password 1").await;
    let elsewhere = answered_case(&app, &admin, &tp.code, "en", "Door stuck", "ok").await;

    // CSV: BOM, header, one row per answer of the manager's store.
    let (status, bytes) = download(&manager, &app, "/manage/export/surveys.csv").await;
    assert_eq!(status, 200);
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "a BOM, so Excel reads UTF-8"
    );
    let rows = csv_rows(&bytes);
    // The header in the reader's language, in the order of the JSON keys.
    let keys = mend_server::domain::insight::export::SURVEY_COLUMNS;
    assert_eq!(rows[0].len(), keys.len());
    assert_eq!(rows[0][0], "Reference");
    assert!(rows[0].contains(&"Time zone".to_owned()), "{:?}", rows[0]);
    assert_eq!(rows.len(), 3, "{rows:?}");
    let col = |name: &str| keys.iter().position(|c| *c == name).unwrap();
    let row_of = |r: &str| rows.iter().find(|row| row[0] == r).unwrap().clone();
    let ko_row = row_of(&ko);
    assert_eq!(ko_row[col("location")], "Mend Demo Café");
    assert_eq!(ko_row[col("language")], "한국어");
    assert_eq!(ko_row[col("csat")], "4");
    assert_eq!(
        ko_row[col("fixed")],
        "Yes",
        "the answer's label, not its key"
    );
    assert_eq!(ko_row[col("return_likelihood")], "8");
    // A spreadsheet is for people: labels in the reader's language (the manager's is
    // English), never keys; JSON below keeps the keys for programs.
    assert_eq!(ko_row[col("root_cause")], "Cleaning");
    assert_eq!(ko_row[col("compensation_type")], "Refund");
    assert!(
        [
            "Cleanliness",
            "Waiting time",
            "Staff",
            "Product",
            "Price or bill",
            "Other"
        ]
        .contains(&ko_row[col("category")].as_str()),
        "{}",
        ko_row[col("category")]
    );
    assert_eq!(ko_row[col("compensation_value")], "12.50");
    assert_eq!(
        ko_row[col("comment")],
        "'=HYPERLINK(\"http://evil\")",
        "formula neutralised"
    );
    assert_eq!(row_of(&ja)[col("comment")], "ありがとう");
    // Times in the store's zone (Warsaw), to the minute, in ISO 8601 with the offset, the
    // zone named beside them, and whole minutes between them.
    assert_eq!(ko_row[col("time_zone")], "Europe/Warsaw");
    {
        use chrono::TimeZone;
        use diesel::prelude::*;
        use mend_server::db::schema::cases;
        let (created, resolved): (chrono::NaiveDateTime, Option<chrono::NaiveDateTime>) = app
            .db
            .read(|c| {
                cases::table
                    .filter(cases::reference.eq(&ko))
                    .select((cases::created_at, cases::resolved_at))
                    .first(c)
            })
            .unwrap();
        let warsaw: chrono_tz::Tz = "Europe/Warsaw".parse().unwrap();
        let shown = |t: chrono::NaiveDateTime| {
            warsaw
                .from_utc_datetime(&t)
                .format("%Y-%m-%dT%H:%M:00%:z")
                .to_string()
        };
        assert_eq!(ko_row[col("received")], shown(created));
        assert_eq!(ko_row[col("resolved")], shown(resolved.unwrap()));
        let whole_minutes =
            (resolved.unwrap().and_utc().timestamp() - created.and_utc().timestamp()) / 60;
        assert_eq!(ko_row[col("minutes_to_resolve")], whole_minutes.to_string());
    }
    assert!(
        !rows.iter().any(|r| r[0] == elsewhere),
        "another store's answer"
    );
    let (_, no_bom) = download(&manager, &app, "/manage/export/surveys.csv?bom=0").await;
    assert!(no_bom.starts_with(b"Reference,"));

    // The admin sees every store; filters narrow it.
    let (_, all) = download(&admin, &app, "/manage/export/surveys.csv").await;
    assert_eq!(csv_rows(&all).len(), 4);
    let (_, only) = download(
        &admin,
        &app,
        &format!("/manage/export/surveys.csv?location={other}"),
    )
    .await;
    assert_eq!(csv_rows(&only).len(), 2);
    let (_, none) = download(
        &manager,
        &app,
        &format!("/manage/export/surveys.csv?location={other}"),
    )
    .await;
    assert_eq!(
        csv_rows(&none).len(),
        1,
        "the manager asking for another store gets nothing"
    );
    let (_, future) = download(&admin, &app, "/manage/export/surveys.csv?from=2999-01-01").await;
    assert_eq!(csv_rows(&future).len(), 1);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let (_, today_only) = download(
        &admin,
        &app,
        &format!("/manage/export/surveys.csv?from={today}&to={today}"),
    )
    .await;
    assert_eq!(csv_rows(&today_only).len(), 4);
    let (_, staff_cat) = download(&admin, &app, "/manage/export/surveys.csv?category=staff").await;
    assert_eq!(csv_rows(&staff_cat).len(), 1);

    // JSON: the same rows, numbers as numbers.
    let (status, json) = download(&manager, &app, "/manage/export/surveys.json").await;
    assert_eq!(status, 200);
    let json: Vec<serde_json::Value> = serde_json::from_slice(&json).unwrap();
    assert_eq!(json.len(), 2);
    let ko_json = json.iter().find(|v| v["reference"] == ko.as_str()).unwrap();
    assert_eq!(ko_json["csat"], 4.0);
    assert_eq!(
        ko_json["comment"], "=HYPERLINK(\"http://evil\")",
        "JSON keeps the text as it is"
    );
    assert_eq!(ko_json["touchpoint"], "Till 2");
    assert_eq!(ko_json["root_cause"], "cleaning", "programs get the keys");
    assert_eq!(ko_json["fixed"], "yes");
    assert_eq!(ko_json["language"], "ko");

    // XLSX, read back.
    let (status, xlsx) = download(&manager, &app, "/manage/export/surveys.xlsx").await;
    assert_eq!(status, 200);
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
    let sheet = book.worksheet_range("Surveys").unwrap();
    let cells: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(cells.len(), 3);
    assert_eq!(cells[0][0], "Reference");
    let ko_x = cells.iter().find(|r| r[0] == ko).unwrap();
    // A real date cell, not text: calamine reads it as a date-time.
    let received = sheet.rows().find(|r| r[0].to_string() == ko).unwrap()[col("received")].clone();
    assert!(
        matches!(received, calamine::Data::DateTime(_)),
        "{received:?}"
    );
    assert_eq!(ko_x[col("csat")], "4");
    assert_eq!(ko_x[col("compensation_value")], "12.5");
    assert!(cells.iter().any(|r| r[col("comment")] == "ありがとう"));

    // Cases: one row per case, with the complaint.
    let (_, cases_csv) = download(&manager, &app, "/manage/export/cases.csv").await;
    let rows = csv_rows(&cases_csv);
    assert_eq!(rows.len(), 3);
    assert!(rows
        .iter()
        .any(|r| r.last().unwrap() == "화장실에 비누가 없어요"));
    let status_col = mend_server::domain::insight::export::CASE_COLUMNS
        .iter()
        .position(|c| *c == "status")
        .unwrap();
    assert!(
        rows[1..].iter().all(|r| r[status_col] == "Resolved"),
        "the status's label: {rows:?}"
    );

    // Mistakes and strangers.
    let (status, body) =
        download(&manager, &app, "/manage/export/surveys.csv?from=yesterday").await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("is not a date like 2026-11-23"));
    assert_eq!(
        download(&manager, &app, "/manage/export/secrets.csv")
            .await
            .0,
        404
    );
    assert_eq!(
        download(&app.browser(), &app, "/manage/export/surveys.csv")
            .await
            .0,
        303
    );
}

/// Managers who start a download and stop reading (a phone on a bad line) hold no thread
/// that other pages need: with more stalled exports than the server has blocking threads
/// (as many as database connections, 8 on SQLite, per worker), a page that reads the
/// database still answers.
#[tokio::test(flavor = "multi_thread")]
async fn stalled_downloads_do_not_stall_other_pages() {
    use diesel::prelude::*;
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let location = app.location_of(code);
    let touchpoint = app.touchpoint_id_of(code);
    // 10,000 cases of 1.5 KB: some 15 MB of CSV, far more than the stalled sockets hold.
    let body = "The coffee machine leaks again. ".repeat(48);
    let now = now_utc();
    let cases: Vec<mend_server::db::models::Case> = (0..10_000)
        .map(|n| mend_server::db::models::Case {
            body: body.clone(),
            ..mend_testing::plain_case(&location, &touchpoint, &format!("S{n:05}"), now)
        })
        .collect();
    app.db
        .write(|c| -> Result<(), mend_server::db::DbError> {
            for case in &cases {
                diesel::insert_into(mend_server::db::schema::cases::table)
                    .values(case)
                    .execute(c)?;
            }
            Ok(())
        })
        .unwrap();
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let cookie = app
        .session_cookie(&store.manager_email, "demo-password-1")
        .await;
    // Clients that read nothing, with the smallest receive buffers: the server's writes
    // stall after a few kilobytes, as on a dead phone line. Each of the server's workers
    // (one per core) has as many blocking threads as database connections; forty stalled
    // downloads are more than all of them.
    let mut stalled = Vec::new();
    for _ in 0..40 {
        use tokio::io::AsyncWriteExt;
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket
            .connect(app.address.trim_start_matches("http://").parse().unwrap())
            .await
            .unwrap();
        stream
            .write_all(
                format!(
                    "GET /manage/export/cases.csv HTTP/1.1\r\nHost: mend\r\nAccept-Encoding: identity\r\nCookie: {cookie}\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        stalled.push(stream);
    }
    {
        // They are real downloads, answered and streaming.
        use tokio::io::AsyncReadExt;
        let mut head = [0u8; 15];
        stalled[0].read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200 OK");
    }
    // Time for every download to fill what the sockets hold and stall.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let inbox = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        manager.get(app.url("/manage/cases")).send(),
    )
    .await
    .expect("the inbox answers while forty downloads stall")
    .unwrap();
    assert_eq!(inbox.status(), 200);
    drop(stalled);
}
