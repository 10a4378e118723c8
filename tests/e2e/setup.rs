//! A business sets itself up (issue 20): stores, spots and people from the command line,
//! the web and files; retired stickers; deactivated people locked out at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::db::states::{EventKind, MailKind};
use std::process::Command;

use mend_server::domain::setup::import::{import_locations, import_people, ImportError};
use mend_server::domain::setup::Actor;
use mend_testing::processes::binary;
use mend_testing::{csrf_in, on_both_backends, spawn_demo, Post, TestApp, TestDb};

/// Runs `mend-server ARGS` against `db` and returns (exit code, stdout, stderr).
fn cli(db: &TestDb, data_dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(binary("mend-server"));
    cmd.args(args).env("RUST_LOG", "warn");
    for (var, _) in std::env::vars() {
        if var.starts_with("MEND_") {
            cmd.env_remove(var);
        }
    }
    cmd.env("MEND_DATABASE_URL", db.url())
        .env("MEND_DATA_DIR", data_dir)
        .env("MEND_BASE_URL", "https://mend.example");
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn ok(db: &TestDb, dir: &std::path::Path, args: &[&str]) -> String {
    let (code, out, err) = cli(db, dir, args);
    assert_eq!(code, 0, "{args:?}: {err}{out}");
    out
}

fn refused(db: &TestDb, dir: &std::path::Path, args: &[&str]) -> String {
    let (code, out, err) = cli(db, dir, args);
    assert_eq!(code, 2, "{args:?} should exit 2: {out}{err}");
    err
}

fn the_command_line_sets_up_stores_spots_and_people(t: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = ok(
        t,
        d,
        &[
            "location",
            "add",
            "--name",
            "서울 강남점",
            "--time-zone",
            "Asia/Seoul",
            "--language",
            "ko",
            "--region",
            "Seoul",
            "--ref",
            "KR-001",
        ],
    );
    let line = out.trim();
    assert!(
        line.starts_with("location ") && line.ends_with(" 서울 강남점"),
        "{line}"
    );
    let id = line.split(' ').nth(1).unwrap().to_owned();

    // KRW by default for Seoul; the list names every field of the contract.
    let list = ok(t, d, &["location", "list"]);
    assert_eq!(
        list.trim(),
        format!("location {id} KR-001 서울 강남점 Asia/Seoul ko KRW")
    );

    // Bad values: one line naming the field, exit 2, nothing stored.
    for (args, field) in [
        (
            vec![
                "--name",
                "X",
                "--time-zone",
                "Mars/Base",
                "--language",
                "en",
            ],
            "time_zone",
        ),
        (
            vec!["--name", "X", "--time-zone", "UTC", "--language", "de"],
            "language",
        ),
        (
            vec![
                "--name",
                "X",
                "--time-zone",
                "UTC",
                "--language",
                "en",
                "--currency",
                "XYZ",
            ],
            "currency",
        ),
        (
            vec!["--name", " ", "--time-zone", "UTC", "--language", "en"],
            "name",
        ),
        (
            vec![
                "--name",
                "Y",
                "--time-zone",
                "UTC",
                "--language",
                "en",
                "--ref",
                "KR-001",
            ],
            "ref",
        ),
        (
            vec![
                "--name",
                "서울 강남점",
                "--time-zone",
                "UTC",
                "--language",
                "en",
            ],
            "name",
        ),
    ] {
        let mut all = vec!["location", "add"];
        all.extend(args);
        let err = refused(t, d, &all);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&format!("{field}: ")), "{err}");
    }
    assert_eq!(ok(t, d, &["location", "list"]).lines().count(), 1);

    // Spots: add, list, replace (old code still listed? no: list shows current codes),
    // retire.
    let mut codes = Vec::new();
    for label in ["계산대", "화장실", "테라스"] {
        let out = ok(
            t,
            d,
            &[
                "touchpoint",
                "add",
                "--location",
                "KR-001",
                "--label",
                label,
            ],
        );
        let parts: Vec<&str> = out.trim().split(' ').collect();
        assert_eq!(parts[0], "touchpoint");
        assert_eq!(parts[2], format!("https://mend.example/t/{}", parts[1]));
        codes.push(parts[1].to_owned());
    }
    let listed = ok(t, d, &["touchpoint", "list", "--location", "서울 강남점"]);
    assert_eq!(listed.lines().count(), 3);
    assert!(
        listed.lines().next().unwrap().ends_with(" 계산대"),
        "{listed}"
    );
    let replaced = ok(t, d, &["touchpoint", "replace", "--code", &codes[0]]);
    let new_code = replaced.split(' ').nth(1).unwrap().to_owned();
    assert_ne!(new_code, codes[0]);
    ok(t, d, &["touchpoint", "retire", "--code", &codes[1]]);
    let listed = ok(t, d, &["touchpoint", "list", "--location", "KR-001"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains(&new_code) && !listed.contains(&codes[1]));
    refused(t, d, &["touchpoint", "retire", "--code", "NOSUCHCODE"]);
    refused(t, d, &["touchpoint", "list", "--location", "nowhere"]);

    // People.
    let (code, _, err) = cli(
        t,
        d,
        &[
            "user",
            "add",
            "--email",
            "kim@store.example",
            "--role",
            "staff",
            "--location",
            "서울 강남점",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let users = ok(t, d, &["user", "list"]);
    assert_eq!(
        users.trim(),
        "user kim@store.example staff en 서울 강남점 active"
    );
    let edited = ok(
        t,
        d,
        &[
            "user",
            "edit",
            "--email",
            "kim@store.example",
            "--language",
            "ko",
            "--role",
            "manager",
        ],
    );
    assert_eq!(
        edited.trim(),
        "user kim@store.example manager ko 서울 강남점 active"
    );
    refused(
        t,
        d,
        &[
            "user",
            "edit",
            "--email",
            "kim@store.example",
            "--role",
            "boss",
        ],
    );
    refused(
        t,
        d,
        &[
            "user",
            "edit",
            "--email",
            "kim@store.example",
            "--locations",
            "nowhere",
        ],
    );
    let gone = ok(
        t,
        d,
        &["user", "deactivate", "--email", "kim@store.example"],
    );
    assert!(gone.contains("deactivated"), "{gone}");
    let back = ok(
        t,
        d,
        &["user", "reactivate", "--email", "kim@store.example"],
    );
    assert!(back.trim().ends_with(" active"), "{back}");

    // Archive; edit.
    ok(
        t,
        d,
        &[
            "location",
            "edit",
            "--location",
            "KR-001",
            "--currency",
            "usd",
            "--region",
            "강남",
        ],
    );
    assert!(ok(t, d, &["location", "list"]).trim().ends_with(" USD"));
    ok(t, d, &["location", "archive", "--location", "KR-001"]);
    assert_eq!(
        ok(t, d, &["location", "list"]),
        "",
        "archived stores are not in use"
    );
    assert!(ok(t, d, &["location", "list", "--all"])
        .trim()
        .ends_with(" USD archived"));

    // Every change is in the log.
    let db = t.open();
    let log = db
        .read(|c| mend_server::db::queries::admin_log::latest(c, 100))
        .unwrap();
    for action in [
        "store.create",
        "spot.create",
        "spot.replace_sticker",
        "spot.retire",
        "person.edit",
        "person.deactivate",
        "store.edit",
        "store.archive",
    ] {
        assert!(
            log.iter().any(|e| e.action == action),
            "{action} missing from the log"
        );
    }
}

fn store_file(
    stores: usize,
    spots: usize,
    edit: impl Fn(usize, usize, &mut Vec<String>),
) -> String {
    let mut out = String::from(
        "\u{feff}ref,location,region,time_zone,language,currency,touchpoint_ref,touchpoint\n",
    );
    for s in 0..stores {
        for p in 0..spots {
            let mut row = vec![
                format!("S{s:05}"),
                match s % 4 {
                    0 => format!("강남 {s}호점"),
                    1 => format!("渋谷 {s}店"),
                    2 => format!("Łódź {s}"),
                    _ => format!("Café {s}"),
                },
                ["Seoul", "Tokyo", "Kraków", "Paris"][s % 4].to_owned(),
                ["Asia/Seoul", "Asia/Tokyo", "Europe/Warsaw", "Europe/Paris"][s % 4].to_owned(),
                ["ko", "ja", "pl", "en"][s % 4].to_owned(),
                ["KRW", "JPY", "PLN", "EUR"][s % 4].to_owned(),
                format!("P{p}"),
                ["Counter", "Restroom", "Terrace", "Drive-thru", "Exit"][p % 5].to_owned(),
            ];
            edit(s, p, &mut row);
            let quoted: Vec<String> = row
                .iter()
                .map(|c| {
                    if c.contains([',', '"']) {
                        format!("\"{}\"", c.replace('"', "\"\""))
                    } else {
                        c.clone()
                    }
                })
                .collect();
            out.push_str(&quoted.join(","));
            out.push('\n');
        }
    }
    out
}

fn a_chain_imports_two_thousand_stores_and_only_differences_apply(t: &TestDb) {
    let db = t.open();
    let cli = Actor::CommandLine;
    let file = store_file(2_000, 3, |_, _, _| {});
    let dry = import_locations(&db, &cli, file.as_bytes(), true).unwrap();
    assert_eq!((dry.stores.created, dry.spots.created), (2_000, 6_000));
    assert_eq!(
        db.read(mend_server::db::queries::stores::all)
            .unwrap()
            .len(),
        0,
        "a dry run stores nothing"
    );
    let first = import_locations(&db, &cli, file.as_bytes(), false).unwrap();
    assert_eq!(first.summary(), "2000 stores created, 0 changed, 0 unchanged; 6000 spots created, 0 changed, 0 unchanged, 0 retired");

    // The same file again changes nothing.
    let again = import_locations(&db, &cli, file.as_bytes(), false).unwrap();
    assert_eq!(again.summary(), "0 stores created, 0 changed, 2000 unchanged; 0 spots created, 0 changed, 6000 unchanged, 0 retired");

    // An edited file: one store renamed (matched on its ref), one spot relabelled, one
    // spot dropped (retired), one store added.
    let mut edited = store_file(2_000, 3, |s, p, row| {
        if s == 7 {
            row[1] = "Renamed 7".into();
        }
        if s == 8 && p == 1 {
            row[7] = "Bar".into();
        }
    });
    edited = edited
        .lines()
        .filter(|l| !l.starts_with("S00009,") || !l.ends_with(",P2,Terrace"))
        .collect::<Vec<_>>()
        .join("\n");
    edited.push_str("\nS99999,New store,Seoul,Asia/Seoul,ko,KRW,P0,Counter\n");
    let diff = import_locations(&db, &cli, edited.as_bytes(), false).unwrap();
    assert_eq!(diff.summary(), "1 stores created, 1 changed, 1999 unchanged; 1 spots created, 1 changed, 5998 unchanged, 1 retired");
    let stores = db.read(mend_server::db::queries::stores::all).unwrap();
    let seven = stores
        .iter()
        .find(|s| s.external_ref.as_deref() == Some("S00007"))
        .unwrap();
    assert_eq!(seven.name, "Renamed 7");
    let gangnam = stores
        .iter()
        .find(|s| s.external_ref.as_deref() == Some("S00000"))
        .unwrap();
    assert_eq!(
        (
            gangnam.name.as_str(),
            gangnam.currency.as_str(),
            gangnam.time_zone.as_str()
        ),
        ("강남 0호점", "KRW", "Asia/Seoul")
    );
    let lodz = stores
        .iter()
        .find(|s| s.external_ref.as_deref() == Some("S00002"))
        .unwrap();
    assert_eq!(
        (
            lodz.name.as_str(),
            lodz.currency.as_str(),
            lodz.default_language.as_str()
        ),
        ("Łódź 2", "PLN", "pl")
    );
}

fn a_file_with_bad_rows_stores_nothing_and_names_every_bad_line(t: &TestDb) {
    let db = t.open();
    let cli = Actor::CommandLine;
    let file = "ref,location,region,time_zone,language,currency,touchpoint_ref,touchpoint\n\
        A1,Good,,Europe/Warsaw,pl,PLN,,Kasa\n\
        A2,Bad zone,,Mars/Base,pl,PLN,,Kasa\n\
        A3,Bad lang,,UTC,de,EUR,,Till\n\
        A4,Bad money,,UTC,en,XYZ,,Till\n\
        A1,Good,,Asia/Tokyo,pl,PLN,,Toaleta\n\
        A5,,,UTC,en,EUR,,Till\n";
    let Err(ImportError::Lines(lines)) = import_locations(&db, &cli, file.as_bytes(), false) else {
        panic!("bad rows must be refused");
    };
    let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines.iter().map(|l| l.line).collect::<Vec<_>>(),
        vec![3, 4, 5, 6, 7],
        "{text:#?}"
    );
    assert!(text[0].starts_with("line 3: time_zone: "), "{text:#?}");
    assert!(text[1].starts_with("line 4: language: "));
    assert!(text[2].starts_with("line 5: currency: "));
    assert!(
        text[3].starts_with("line 6: location: "),
        "a store's details must agree across its rows"
    );
    assert!(text[4].starts_with("line 7: name: "));
    assert!(db
        .read(mend_server::db::queries::stores::all)
        .unwrap()
        .is_empty());
    // A missing column is named too.
    let Err(ImportError::Lines(lines)) = import_locations(&db, &cli, b"ref,location\nA,B\n", false)
    else {
        panic!()
    };
    assert!(lines[0].to_string().contains("time_zone"), "{}", lines[0]);
}

fn xlsx_files_and_formula_looking_cells_are_taken_as_text(t: &TestDb) {
    let db = t.open();
    let cli = Actor::CommandLine;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let rows = [
        [
            "ref",
            "location",
            "region",
            "time_zone",
            "language",
            "currency",
            "touchpoint_ref",
            "touchpoint",
        ],
        [
            "1001",
            "=HYPERLINK(\"x\")",
            "東京",
            "Asia/Tokyo",
            "ja",
            "JPY",
            "",
            "レジ",
        ],
        [
            "1002",
            "Kraków Rynek",
            "Małopolska",
            "Europe/Warsaw",
            "pl",
            "PLN",
            "",
            "Kasa",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, *cell).unwrap();
        }
    }
    // A number cell for the reference, as spreadsheets make them.
    sheet.write_number(2, 0, 1002.0).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let plan = import_locations(&db, &cli, &bytes, false).unwrap();
    assert_eq!((plan.stores.created, plan.spots.created), (2, 2));
    let stores = db.read(mend_server::db::queries::stores::all).unwrap();
    assert!(stores
        .iter()
        .any(|s| s.name == "=HYPERLINK(\"x\")" && s.currency == "JPY"));
    assert!(stores
        .iter()
        .any(|s| s.external_ref.as_deref() == Some("1002")));
    // The export neutralises it, and reads back as the same store list.
    let exported = db
        .read(mend_server::domain::setup::import::export_locations)
        .unwrap();
    let text = String::from_utf8(exported.clone()).unwrap();
    assert!(text.contains("'=HYPERLINK"), "{text}");
    assert!(text.starts_with(
        "ref,location,region,time_zone,language,currency,touchpoint_ref,touchpoint\n"
    ));
    // The Excel export keeps every value as text, exactly: imported back, it changes
    // nothing.
    let workbook = db
        .read(|c| Ok(mend_server::domain::setup::import::export_locations_xlsx(c)))
        .unwrap()
        .unwrap();
    let again = import_locations(&db, &cli, &workbook, true).unwrap();
    assert_eq!(
        (
            again.stores.created,
            again.stores.changed,
            again.stores.unchanged
        ),
        (0, 0, 2)
    );
    assert_eq!((again.spots.created, again.spots.changed), (0, 0));
}

fn people_are_imported_with_their_stores_and_invited(t: &TestDb) {
    let db = t.open();
    let cli = Actor::CommandLine;
    import_locations(&db, &cli, store_file(3, 1, |_, _, _| {}).as_bytes(), false).unwrap();
    let file = "email,role,locations,language\nkim@chain.example,staff,S00001;S00002,ko\nboss@chain.example,admin,,en\nsato@chain.example,manager,渋谷 1店,ja\n";
    let plan = import_people(&db, &cli, file.as_bytes(), false).unwrap();
    assert_eq!(plan.summary(), "3 people created, 0 changed, 0 unchanged");
    assert_eq!(
        import_people(&db, &cli, file.as_bytes(), false)
            .unwrap()
            .summary(),
        "0 people created, 0 changed, 3 unchanged"
    );
    let invites = db
        .read(|c| {
            use diesel::prelude::*;
            use mend_server::db::schema::outbox;
            outbox::table
                .filter(outbox::kind.eq("invitation"))
                .count()
                .get_result::<i64>(c)
        })
        .unwrap();
    assert_eq!(invites, 3, "each new person is invited once");
    let bad = "email,role,locations,language\nnot-an-email,staff,S00001,ko\nx@chain.example,chef,S00001,ko\ny@chain.example,staff,nowhere,ko\nz@chain.example,staff,,ko\n";
    let Err(ImportError::Lines(lines)) = import_people(&db, &cli, bad.as_bytes(), false) else {
        panic!()
    };
    assert_eq!(
        lines.iter().map(|l| l.line).collect::<Vec<_>>(),
        vec![2, 3, 4, 5]
    );
}

on_both_backends!(
    the_command_line_sets_up_stores_spots_and_people,
    a_chain_imports_two_thousand_stores_and_only_differences_apply,
    a_file_with_bad_rows_stores_nothing_and_names_every_bad_line,
    xlsx_files_and_formula_looking_cells_are_taken_as_text,
    people_are_imported_with_their_stores_and_invited,
);

// ------------------------------------------------------------------------------------
// Over HTTP

async fn post_form(
    app: &TestApp,
    client: &reqwest::Client,
    page: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let html = app.page(client, page).await;
    let csrf = csrf_in(&html);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    client
        .post(app.url(action))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn spot(app: &TestApp, code: &str) -> mend_server::db::models::Spot {
    app.db
        .read(|c| mend_server::db::queries::spots::find_by_any_code(c, code))
        .unwrap()
        .unwrap()
}

async fn retired_and_replaced_stickers_lead_customers_somewhere_useful(t: TestDb) {
    let (app, store) = spawn_demo(t, &[]).await;
    let admin = "admin@demo.example";
    app.add_user("admin", admin, "correct horse battery", &[]);
    let client = app.sign_in(admin, "correct horse battery").await;
    let [a, b, c] = [0, 1, 2].map(|i| store.touchpoints[i].code.clone());
    let loc = spot(&app, &a).location_id;
    let page = format!("/manage/stores/{loc}");

    // A new sticker: both codes open the form until the old one is retired.
    let id = spot(&app, &a).id;
    assert_eq!(
        post_form(
            &app,
            &client,
            &page,
            &format!("/manage/spots/{id}/replace"),
            &[]
        )
        .await
        .status(),
        303
    );
    let new_code = spot(&app, &a).code;
    assert_ne!(new_code, a);
    assert_eq!(app.get(&format!("/t/{a}")).await.status(), 200);
    assert_eq!(app.get(&format!("/t/{new_code}")).await.status(), 200);
    let html = app.page(&client, &page).await;
    assert!(html.contains(&a), "the spot's page names the old sticker");
    assert_eq!(
        post_form(
            &app,
            &client,
            &page,
            &format!("/manage/spots/{id}/retire_old"),
            &[]
        )
        .await
        .status(),
        303
    );
    let old = app.get(&format!("/t/{a}?lang=ko")).await;
    assert_eq!(old.status(), 410);
    let body = old.text().await.unwrap();
    assert!(
        body.contains("이 스티커는 더 이상 사용되지 않습니다"),
        "{body}"
    );
    assert!(
        body.contains(&format!("/t/{b}")) && body.contains(&format!("/t/{new_code}")),
        "points to the other spots: {body}"
    );
    assert_eq!(app.get(&format!("/t/{new_code}")).await.status(), 200);

    // A retired spot: polite, never a 404, and a post to it stores nothing.
    let bid = spot(&app, &b).id;
    assert_eq!(
        post_form(
            &app,
            &client,
            &page,
            &format!("/manage/spots/{bid}/retire"),
            &[]
        )
        .await
        .status(),
        303
    );
    let res = app.get(&format!("/t/{b}")).await;
    assert_eq!(res.status(), 410);
    assert!(res.text().await.unwrap().contains(&format!("/t/{c}")));
    let before = app.case_count();
    let res = app.post_raw(&b, &Post::valid().with("stamp", "x")).await;
    assert_eq!(res.status(), 410);
    assert_eq!(app.case_count(), before);

    // An archived store: every sticker says so, in the customer's language.
    assert_eq!(
        post_form(
            &app,
            &client,
            &page,
            &format!("/manage/stores/{loc}/archive"),
            &[]
        )
        .await
        .status(),
        303
    );
    let res = app
        .client
        .get(app.url(&format!("/t/{c}")))
        .header("accept-language", "pl")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 410);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Ten sklep nie przyjmuje już tu opinii"));
    // Its history stays.
    assert!(app.page(&client, &page).await.contains("Mend Demo Café"));
}

async fn a_deactivated_person_is_locked_out_at_once_and_alerted_no_more(t: TestDb) {
    let (app, store) = spawn_demo(t, &[]).await;
    let code = store.touchpoints[0].code.clone();
    let loc = spot(&app, &code).location_id;
    app.add_user("admin", "admin@demo.example", "correct horse battery", &[]);
    app.add_user(
        "staff",
        "leaver@demo.example",
        "correct horse battery",
        &[&loc],
    );
    let admin = app
        .sign_in("admin@demo.example", "correct horse battery")
        .await;
    let leaver = app
        .sign_in("leaver@demo.example", "correct horse battery")
        .await;
    let copied = app
        .sign_in("leaver@demo.example", "correct horse battery")
        .await;
    assert_eq!(
        leaver
            .get(app.url("/manage/cases"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A case assigned to them.
    assert_eq!(app.submit(&code, Post::valid()).await.status(), 303);
    let alert_to_leaver = |rows: &[mend_server::db::models::OutboxMessage]| {
        rows.iter()
            .filter(|r| r.recipient == "leaver@demo.example" && r.kind == MailKind::Alert)
            .count()
    };
    assert_eq!(
        alert_to_leaver(&app.outbox_rows()),
        1,
        "they hear of complaints while active"
    );
    let reference = app
        .db
        .read(|c| {
            use diesel::prelude::*;
            mend_server::db::schema::cases::table
                .select(mend_server::db::schema::cases::reference)
                .first::<String>(c)
        })
        .unwrap();
    let leaver_id = app
        .db
        .read(|c| mend_server::db::queries::users::find_by_email(c, "leaver@demo.example"))
        .unwrap()
        .unwrap()
        .id;
    app.case_action_done(&admin, &reference, "assign", &[("assignee", &leaver_id)])
        .await;

    // Logout ends every session of theirs on the server, other browsers' too.
    let res = post_form(&app, &leaver, "/manage/", "/manage/logout", &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        copied
            .get(app.url("/manage/cases"))
            .send()
            .await
            .unwrap()
            .status(),
        303,
        "signing out signs out everywhere"
    );
    let copied = app
        .sign_in("leaver@demo.example", "correct horse battery")
        .await;

    // Deactivation: every session ends at once.
    let res = post_form(
        &app,
        &admin,
        "/manage/users",
        "/manage/users/deactivate",
        &[("email", "leaver@demo.example")],
    )
    .await;
    assert_eq!(res.status(), 303);
    let res = copied.get(app.url("/manage/cases")).send().await.unwrap();
    assert_eq!(res.status(), 303, "a copied cookie is refused at once");
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/manage/login"));
    assert_eq!(
        app.submit_login(
            &app.browser(),
            "leaver@demo.example",
            "correct horse battery"
        )
        .await
        .status(),
        401
    );

    // Their open case went back to the queue, with an event; history keeps their name.
    let case = app
        .db
        .read(|c| mend_server::db::queries::cases::find_by_reference(c, &reference))
        .unwrap()
        .unwrap();
    assert_eq!(case.assignee_id, None);
    let events = app
        .db
        .read(|c| mend_server::db::queries::cases::events(c, &case.id))
        .unwrap();
    assert!(events
        .iter()
        .any(|e| e.kind == EventKind::ReturnedToQueue && e.detail.contains("leaver@demo.example")));
    assert!(events
        .iter()
        .any(|e| e.kind == EventKind::Assigned && e.detail.contains("leaver@demo.example")));

    // No more alerts, and escalations skip them too.
    assert_eq!(
        app.submit(&code, Post::valid().with("body", "Second complaint"))
            .await
            .status(),
        303
    );
    assert_eq!(
        alert_to_leaver(&app.outbox_rows()),
        1,
        "no alert after deactivation"
    );
    app.advance(std::time::Duration::from_secs(3 * 3600));
    let rows = app
        .wait_for_outbox("escalations", std::time::Duration::from_secs(20), |rows| {
            rows.iter().any(|r| r.kind == MailKind::Escalation)
        })
        .await;
    assert!(rows
        .iter()
        .all(|r| !(r.kind == MailKind::Escalation && r.recipient == "leaver@demo.example")));

    // A password reset for them sends nothing.
    let res = post_form(
        &app,
        &app.browser(),
        "/manage/password/forgot",
        "/manage/password/forgot",
        &[("email", "leaver@demo.example")],
    )
    .await;
    assert!(res.status().is_success() || res.status().is_redirection());
    // (Escalations of the earlier cases may still be firing: count only reset mail.)
    let resets = |rows: &[mend_server::db::models::OutboxMessage]| {
        rows.iter()
            .filter(|r| r.kind == MailKind::PasswordReset && r.recipient == "leaver@demo.example")
            .count()
    };
    assert_eq!(resets(&app.outbox_rows()), 0);
}

async fn store_pages_answer_each_role_as_it_should(t: TestDb) {
    let (app, store) = spawn_demo(t, &[]).await;
    let code = store.touchpoints[0].code.clone();
    let loc = spot(&app, &code).location_id;
    let other = app.add_location("Other store");
    app.add_user("admin", "admin@demo.example", "correct horse battery", &[]);
    app.add_user(
        "staff",
        "staff@demo.example",
        "correct horse battery",
        &[&loc],
    );
    app.add_user(
        "manager",
        "other@demo.example",
        "correct horse battery",
        &[&other],
    );
    let admin = app
        .sign_in("admin@demo.example", "correct horse battery")
        .await;
    let staff = app
        .sign_in("staff@demo.example", "correct horse battery")
        .await;
    let other_manager = app
        .sign_in("other@demo.example", "correct horse battery")
        .await;
    let manager = app
        .sign_in(mend_server::domain::demo::MANAGER_EMAIL, "demo-password-1")
        .await;
    let page = format!("/manage/stores/{loc}");

    // Anonymous: to the sign-in page.
    for path in [
        "/manage/stores",
        page.as_str(),
        "/manage/log",
        "/manage/stores.csv",
        "/manage/stores.xlsx",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 303, "{path}");
    }
    assert_eq!(
        staff
            .get(app.url("/manage/stores"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        staff.get(app.url(&page)).send().await.unwrap().status(),
        403
    );
    assert_eq!(
        other_manager
            .get(app.url(&page))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        manager.get(app.url(&page)).send().await.unwrap().status(),
        200
    );
    assert_eq!(
        manager
            .get(app.url("/manage/log"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // The store list downloads, for admins only.
    for (who, status) in [(&manager, 403), (&staff, 403), (&admin, 200)] {
        for path in ["/manage/stores.csv", "/manage/stores.xlsx"] {
            let res = who.get(app.url(path)).send().await.unwrap();
            assert_eq!(res.status(), status, "{path}");
            if status == 200 {
                assert!(res.bytes().await.unwrap().len() > 100, "{path}");
            }
        }
    }
    assert_eq!(
        manager
            .get(app.url("/manage/stores/no-such-store"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // A manager renames a spot of their store; not one of another store.
    let id = spot(&app, &code).id;
    let res = post_form(
        &app,
        &manager,
        &page,
        &format!("/manage/spots/{id}/rename"),
        &[("label", "Kasa 1")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(spot(&app, &code).label, "Kasa 1");
    let res = post_form(
        &app,
        &other_manager,
        "/manage/",
        &format!("/manage/spots/{id}/rename"),
        &[("label", "Hacked")],
    )
    .await;
    assert_eq!(res.status(), 404);
    // Only admins create and archive stores.
    let res = post_form(
        &app,
        &manager,
        &page,
        &format!("/manage/stores/{loc}/archive"),
        &[],
    )
    .await;
    assert_eq!(res.status(), 403);
    let res = post_form(
        &app,
        &manager,
        &page,
        "/manage/stores",
        &[("name", "Mine"), ("time_zone", "UTC"), ("language", "en")],
    )
    .await;
    assert_eq!(res.status(), 403);

    // CSRF everywhere: a post without the page's token changes nothing.
    let res = admin
        .post(app.url(&format!("/manage/spots/{id}/retire")))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(spot(&app, &code).retired_at.is_none());

    // An admin creates a Korean store; a bad time zone is refused in the admin's language.
    mend_server::domain::setup::people::edit(
        &app.db,
        &Actor::CommandLine,
        "admin@demo.example",
        &mend_server::domain::setup::people::PersonChange {
            language: Some("ko".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let res = post_form(
        &app,
        &admin,
        "/manage/stores",
        "/manage/stores",
        &[
            ("name", "부산점"),
            ("time_zone", "Busan"),
            ("language", "ko"),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    let body = res.text().await.unwrap();
    assert!(body.contains("시간대") && body.contains("Busan"), "{body}");
    let res = post_form(
        &app,
        &admin,
        "/manage/stores",
        "/manage/stores",
        &[
            ("name", "부산점"),
            ("time_zone", "Asia/Seoul"),
            ("language", "ko"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let stores = app.db.read(mend_server::db::queries::stores::all).unwrap();
    let busan = stores.iter().find(|s| s.name == "부산점").unwrap();
    assert_eq!(
        (busan.currency.as_str(), busan.default_language.as_str()),
        ("KRW", "ko")
    );
    let html = app.page(&admin, "/manage/log").await;
    assert!(
        html.contains("매장 생성") && html.contains("부산점") && html.contains("위치 이름 변경")
    );
}

async fn the_first_run_prints_a_setup_link_that_works_once(t: TestDb) {
    use mend_testing::processes::Process;
    let dir = tempfile::tempdir().unwrap();
    let port = mend_testing::smtp::free_port();
    let log = dir.path().join("server.log");
    let env = [
        ("MEND_DATABASE_URL", t.url()),
        ("MEND_DATA_DIR", dir.path().to_str().unwrap().to_owned()),
        ("MEND_BIND", format!("127.0.0.1:{port}")),
    ];
    let server = Process::start("mend-server", &[], &env, &log);
    let base = format!("http://127.0.0.1:{port}");
    mend_testing::processes::wait_for_200(
        &format!("{base}/healthz"),
        std::time::Duration::from_secs(60),
    )
    .await;
    let link = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("setup ").map(str::to_owned))
        .unwrap_or_else(|| panic!("no setup line: {}", server.log_tail()));
    assert!(link.starts_with(&format!("{base}/setup?e=")), "{link}");

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // A tampered link is refused.
    let res = client.get(format!("{link}0")).send().await.unwrap();
    assert_eq!(res.status(), 410);
    let page = client
        .get(&link)
        .header("accept-language", "ko-KR,ko;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Mend 설정")
            && html.contains("value=\"Asia/Seoul\"")
            && html.contains("value=\"KRW\""),
        "{html}"
    );
    let (e, s) = (
        mend_testing::input_value(&html, "e").unwrap(),
        mend_testing::input_value(&html, "s").unwrap(),
    );
    let form = |password: &str| {
        vec![
            ("csrf", csrf_in(&html)),
            ("e", e.clone()),
            ("s", s.clone()),
            ("email", "owner@cafe.example".to_owned()),
            ("password", password.to_owned()),
            ("store_name", "카페 모나".to_owned()),
            ("time_zone", "Asia/Seoul".to_owned()),
            ("language", "ko".to_owned()),
            ("currency", "KRW".to_owned()),
            ("spots", "계산대\r\n화장실\r\n테라스\r\n".to_owned()),
        ]
    };
    let res = client
        .post(format!("{base}/setup"))
        .form(&form("short"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("12자 이상"));
    let res = client
        .post(format!("{base}/setup"))
        .form(&form("a long enough password"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let done = res.headers()["location"].to_str().unwrap().to_owned();
    let html = client
        .get(format!("{base}{done}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("스티커 인쇄") && html.contains("/stickers"),
        "{html}"
    );
    // The stickers page of the new store opens for the new admin, with the three spots.
    let sheet_path = html
        .split("href=\"")
        .find(|p| p.contains("/stickers"))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let sheet = client
        .get(format!("{base}{sheet_path}"))
        .send()
        .await
        .unwrap();
    assert_eq!(sheet.status(), 200);

    // The link stops working once an admin exists.
    let again = client
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!again.contains("name=\"password\""));
    let res = client
        .post(format!("{base}/setup"))
        .form(&form("another long password"))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 303);
    let db = t.open();
    let users = db.read(mend_server::db::queries::users::all).unwrap();
    assert_eq!(users.len(), 1);
    let spots = db.read(mend_server::db::queries::spots::all).unwrap();
    assert_eq!(
        spots.iter().map(|s| s.label.as_str()).collect::<Vec<_>>(),
        vec!["계산대", "화장실", "테라스"]
    );
    drop(server);
}

macro_rules! http_on_both_backends {
    ($sqlite:ident, $postgres:ident: $($name:ident),* $(,)?) => {
        mod $sqlite {
            $( #[tokio::test(flavor = "multi_thread")] async fn $name() { super::$name(mend_testing::TestDb::sqlite()).await; } )*
        }
        mod $postgres {
            $( #[tokio::test(flavor = "multi_thread")] async fn $name() {
                if let Some(db) = mend_testing::TestDb::postgres() { super::$name(db).await; }
            } )*
        }
    };
}

http_on_both_backends!(
    http_on_sqlite, http_on_postgres:
    retired_and_replaced_stickers_lead_customers_somewhere_useful,
    a_deactivated_person_is_locked_out_at_once_and_alerted_no_more,
    store_pages_answer_each_role_as_it_should,
    the_first_run_prints_a_setup_link_that_works_once,
);

// ------------------------------------------------------------------------------------
// In a real browser

fn screenshots() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("MEND_UPDATE_SCREENSHOTS").is_some() {
        root.join("docs/screenshots")
    } else {
        root.join("target/screenshots")
    }
}

const TEST_SECRET: &str = "a-test-secret-of-at-least-32-characters!!";

/// Waits (briefly) until the browser shows a page containing `text`.
async fn wait_for_text(c: &fantoccini::Client, text: &str) -> String {
    for _ in 0..100 {
        let page = c.source().await.unwrap();
        if page.contains(text) {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {text:?} in {}", c.source().await.unwrap());
}

/// The whole first day of a Korean café, from an empty install, in a real browser: the
/// setup link, the first admin, a store in Asia/Seoul with KRW and three spots; a category
/// of its own in Korean; its stickers printed to PDF and every code scanned; a staff member
/// invited in Korean who chooses a password from the email (real SMTP); then a customer at
/// the new spot sees the store's categories in Korean, complains, and that staff member is
/// alerted in Korean. Screenshots of each new page at 390 and 1280 px.
#[tokio::test(flavor = "multi_thread")]
async fn a_newcomer_sets_up_a_korean_cafe_whose_staff_hear_of_the_first_complaint() {
    use mend_testing::smtp::SmtpSink;
    use mend_testing::Browser;
    let Some(sink) = SmtpSink::start() else {
        return;
    };
    let app = TestApp::spawn_with(
        TestDb::sqlite(),
        &[
            ("MEND_SECRET", TEST_SECRET),
            ("MEND_SMTP_URL", &sink.url()),
            // The customer below types faster than a person: no robot check.
            ("MEND_FORM_MIN_SECONDS", "0"),
        ],
    )
    .await;
    let Some(browser) = Browser::phone(false).await else {
        return;
    };
    let link = mend_server::domain::setup::first_run::link(
        &app.base_url,
        TEST_SECRET.as_bytes(),
        mend_server::db::models::now_utc(),
    );
    let c = &browser.client;
    browser.viewport(390, 844).await;
    c.goto(&format!("{link}&lang=ko")).await.unwrap();
    let page = c.source().await.unwrap();
    assert!(page.contains("Mend 설정"), "{page}");
    browser
        .full_page_screenshot_to(&screenshots().join("setup-ko-390.png"))
        .await;
    browser.type_into("email", "owner@cafe.example").await;
    browser
        .type_into("password", "a long enough password")
        .await;
    browser.type_into("store_name", "카페 모나 강남").await;
    c.find(fantoccini::Locator::Id("time_zone"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    browser.type_into("time_zone", "Asia/Seoul").await;
    browser.type_into("spots", "계산대\n화장실\n테라스").await;
    browser.click("button[type=submit]").await;
    let mut done = false;
    for _ in 0..100 {
        if c.current_url().await.unwrap().path() == "/setup/done" {
            done = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(done, "{}", c.source().await.unwrap());
    let page = c.source().await.unwrap();
    assert!(page.contains("매장이 준비되었습니다"), "{page}");
    browser
        .full_page_screenshot_to(&screenshots().join("setup-done-ko-390.png"))
        .await;

    let store = app
        .db
        .read(mend_server::db::queries::stores::all)
        .unwrap()
        .remove(0);
    assert_eq!(
        (
            store.time_zone.as_str(),
            store.currency.as_str(),
            store.default_language.as_str()
        ),
        ("Asia/Seoul", "KRW", "ko")
    );
    // The store page, on a laptop and on the phone, in Korean.
    browser.laptop(1280, 900).await;
    c.goto(&app.url(&format!("/manage/stores/{}", store.id)))
        .await
        .unwrap();
    let page = c.source().await.unwrap();
    assert!(
        page.contains("새 스티커") && page.contains("화장실"),
        "{page}"
    );
    assert!(
        !page.contains("stores.") && !page.contains("setup."),
        "no catalog keys on the page"
    );
    browser
        .full_page_screenshot_to(&screenshots().join("store-ko-1280.png"))
        .await;
    browser.viewport(390, 844).await;
    c.refresh().await.unwrap();
    browser
        .full_page_screenshot_to(&screenshots().join("store-ko-390.png"))
        .await;
    // The other new pages, in the admin's language (Korean, from the store), on the phone.
    for (path, shot, expect) in [
        (
            format!("/manage/stores/{}/categories", store.id),
            "categories-ko-390.png",
            "불편 유형",
        ),
        (
            "/manage/import".to_owned(),
            "import-ko-390.png",
            "스프레드시트에서 가져오기",
        ),
        (
            "/manage/users/edit?email=owner%40cafe.example".to_owned(),
            "person-ko-390.png",
            "초대 다시 보내기",
        ),
        ("/manage/log".to_owned(), "log-ko-390.png", "변경 기록"),
    ] {
        c.goto(&app.url(&path)).await.unwrap();
        let page = c.source().await.unwrap();
        assert!(page.contains(expect), "{path}: {page}");
        // A missing label shows as its key, as text ("/manage/stores.csv" is a link).
        for key in ["categories.", "stores.", "people.", "setup."] {
            assert!(
                !page.contains(&format!(">{key}")),
                "{path} shows a catalog key {key}"
            );
        }
        browser
            .full_page_screenshot_to(&screenshots().join(shot))
            .await;
    }
    // A category of the café's own, labelled in Korean only.
    browser.laptop(1280, 900).await;
    c.goto(&app.url(&format!("/manage/stores/{}/categories", store.id)))
        .await
        .unwrap();
    browser.type_into("new-ko", "음료 온도").await;
    browser
        .click(&format!(
            "form[action='/manage/stores/{}/categories'] button[type=submit]",
            store.id
        ))
        .await;
    wait_for_text(c, "음료 온도").await;
    let seen = c
        .find(fantoccini::Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !seen.contains("category_1") && !seen.contains("cleanliness"),
        "labels, never keys: {seen}"
    );
    browser
        .full_page_screenshot_to(&screenshots().join("categories-ko-1280.png"))
        .await;

    // The stickers, printed to PDF as the owner's Chromium would, and every code scanned.
    let spots = app.db.read(mend_server::db::queries::spots::all).unwrap();
    assert_eq!(spots.len(), 3);
    let tools = mend_testing::browser_tools().unwrap();
    let owner = app
        .sign_in("owner@cafe.example", "a long enough password")
        .await;
    let sheet = app
        .page(&owner, &format!("/manage/locations/{}/stickers", store.id))
        .await;
    let out = tempfile::tempdir().unwrap();
    let html = out.path().join("stickers.html");
    std::fs::write(&html, sheet).unwrap();
    let pdf = out.path().join("stickers.pdf");
    tools.print_to_pdf(&format!("file://{}", html.display()), &pdf);
    let scanned: std::collections::BTreeSet<String> = tools
        .pdf_pages(&pdf, 200)
        .iter()
        .flat_map(mend_testing::decode_qr_codes)
        .collect();
    let expected: std::collections::BTreeSet<String> = spots
        .iter()
        .map(|s| format!("{}/t/{}", app.base_url, s.code))
        .collect();
    assert_eq!(scanned, expected, "every sticker scans to its spot");

    // A staff member invited in Korean, from the people page.
    c.goto(&app.url("/manage/users")).await.unwrap();
    browser.type_into("email", "minji@cafe.example").await;
    c.find(fantoccini::Locator::Css("select#language"))
        .await
        .unwrap()
        .select_by_value("ko")
        .await
        .unwrap();
    browser
        .click(&format!("input[name=location][value='{}']", store.id))
        .await;
    browser
        .click("form[action='/manage/users/invite'] button[type=submit]")
        .await;
    wait_for_text(c, "minji@cafe.example").await;
    let invitation = sink.wait_for(1, std::time::Duration::from_secs(30)).await;
    let invitation = &invitation[0];
    assert_eq!(invitation.rcpt_tos, ["minji@cafe.example"]);
    assert!(
        invitation.subject.contains("Mend에 초대되었습니다"),
        "{}",
        invitation.subject
    );
    let link = invitation
        .text
        .split_whitespace()
        .find(|w| w.contains("/manage/password/set?"))
        .unwrap()
        .to_owned();
    // She chooses her password on her phone, from the email.
    browser.viewport(390, 844).await;
    c.goto(&link).await.unwrap();
    browser
        .type_into("password", "minji chooses a password")
        .await;
    browser.click("button[type=submit]").await;
    for _ in 0..100 {
        if !c
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/manage/password")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // A customer at the terrace: the store's categories, in Korean, then an alert to Minji.
    let terrace = spots.iter().find(|s| s.label == "테라스").unwrap();
    // (Her phone is set to Korean; the test browser sends English, so the link says so.)
    c.goto(&app.url(&format!("/t/{}?lang=ko", terrace.code)))
        .await
        .unwrap();
    let form = c.source().await.unwrap();
    let categories = app
        .db
        .read(|conn| mend_server::domain::setup::categories::of_store(conn, &store.id))
        .unwrap();
    let own = categories
        .iter()
        .find(|k| k.label_in("ko") == "음료 온도")
        .unwrap();
    for k in &categories {
        assert!(
            form.contains(&format!(">{}</label>", k.label_in("ko"))),
            "{}: {form}",
            k.key
        );
    }
    browser
        .full_page_screenshot_to(&screenshots().join("form-new-store-ko-390.png"))
        .await;
    browser.click(&format!("label[for='c-{}']", own.key)).await;
    browser.type_into("body", "아이스 라떼가 미지근해요").await;
    browser.click("button[type=submit]").await;
    let alert = sink.wait_for(2, std::time::Duration::from_secs(30)).await;
    let alert = &alert[1];
    assert_eq!(alert.rcpt_tos, ["minji@cafe.example"]);
    assert!(
        alert.subject.contains("카페 모나 강남 · 음료 온도"),
        "{}",
        alert.subject
    );
    for text in [
        "테라스",
        "음료 온도",
        "아이스 라떼가 미지근해요",
        "제가 처리할게요",
        "유형",
    ] {
        assert!(alert.text.contains(text), "{text}: {}", alert.text);
    }

    // The retired-sticker page a customer sees, in English.
    mend_server::domain::setup::spots::set_retired(
        &app.db,
        &Actor::CommandLine,
        &spots[1].id,
        None,
        true,
    )
    .unwrap();
    c.goto(&app.url(&format!("/t/{}?lang=en", spots[1].code)))
        .await
        .unwrap();
    let page = c.source().await.unwrap();
    assert!(
        page.contains("This sticker is no longer in use") && page.contains("계산대"),
        "{page}"
    );
    browser
        .full_page_screenshot_to(&screenshots().join("retired-en-390.png"))
        .await;
    browser.close().await;
}

// ------------------------------------------------------------------------------------
// Severity, kiosks at a spot, stickers of chosen spots

async fn severity_is_decided_on_arrival_by_words_and_kept(t: TestDb) {
    use mend_server::domain::alert::settings::{apply, AlertSettingsChange};
    let (app, store) = spawn_demo(t, &[]).await;
    let code = store.touchpoints[0].code.clone();
    let set = |words: &str| {
        apply(
            &app.db,
            mend_server::domain::demo::LOCATION_NAME,
            &AlertSettingsChange {
                severe_keywords: Some(words.into()),
                ..Default::default()
            },
        )
        .unwrap();
    };
    set("피, 血");
    let log = app
        .db
        .read(|c| mend_server::db::queries::admin_log::latest(c, 10))
        .unwrap();
    let entry = log
        .iter()
        .find(|e| e.action == "settings.edit")
        .expect("settings changes are logged");
    assert!(entry
        .after
        .as_deref()
        .unwrap_or_default()
        .contains("피, 血"));
    assert_eq!(entry.actor, "command line");
    // The form caches a store's rules for a few seconds: use fresh stickers' codes.
    let severe_of = |body: &'static str| {
        let app = &app;
        let code = code.clone();
        async move {
            let res = app.submit(&code, Post::valid().with("body", body)).await;
            assert_eq!(res.status(), 303);
            let reference = res.headers()["location"].to_str().unwrap()[3..]
                .split('?')
                .next()
                .unwrap()
                .to_owned();
            app.db
                .read(|c| mend_server::db::queries::cases::find_by_reference(c, &reference))
                .unwrap()
                .unwrap()
        }
    };
    let coffee = severe_of("커피가 너무 식었어요").await;
    let blood = severe_of("손가락에서 피가 나요").await;
    let japanese = severe_of("指から血が出ました").await;
    assert_eq!(coffee.severe, Some(false), "피 is not in 커피");
    assert_eq!(blood.severe, Some(true));
    assert_eq!(japanese.severe, Some(true));
    // Changing the words later does not relabel old cases.
    set("");
    let facts = app
        .db
        .read(|c| mend_server::domain::alert::CaseFacts::load(c, blood.clone()))
        .unwrap()
        .unwrap();
    assert!(facts.severe, "still severe after the keywords changed");
}

async fn a_kiosk_stands_at_a_spot_and_its_page_says_how_to_set_it_up(t: TestDb) {
    let (app, store) = spawn_demo(t, &[]).await;
    let manager = app
        .sign_in(mend_server::domain::demo::MANAGER_EMAIL, "demo-password-1")
        .await;
    let (first, second) = (
        spot(&app, &store.touchpoints[0].code),
        spot(&app, &store.touchpoints[1].code),
    );
    let page = format!("/manage/locations/{}/kiosks", first.location_id);
    let res = post_form(
        &app,
        &manager,
        &page,
        &page,
        &[("name", "Exit"), ("spot", &second.id)],
    )
    .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "Environment=MEND_KIOSK_SERVER_URL={}\n",
            app.base_url
        )),
        "{html}"
    );
    assert!(html.contains("Environment=MEND_KIOSK_TOKEN=mk_"), "{html}");
    assert!(
        !html.contains("/api/kiosk/v1"),
        "the page gives the server's URL, not the API's path"
    );
    let device = app
        .db
        .read(|c| mend_server::db::queries::kiosks::for_location(c, &first.location_id))
        .unwrap()
        .remove(0);
    let place = |app: &TestApp| {
        app.db
            .read(|c| mend_server::domain::kiosk::handoff::kiosk_place(c, &device))
            .unwrap()
            .unwrap()
            .1
            .unwrap()
            .id
    };
    assert_eq!(
        place(&app),
        second.id,
        "hand-offs are filed at the kiosk's spot"
    );
    // Its spot retired: the store's first spot in use.
    mend_server::domain::setup::spots::set_retired(
        &app.db,
        &Actor::CommandLine,
        &second.id,
        None,
        true,
    )
    .unwrap();
    assert_eq!(place(&app), first.id);
    // Moved on the page.
    let third = spot(&app, &store.touchpoints[2].code);
    let res = post_form(
        &app,
        &manager,
        &page,
        &format!("{page}/{}/spot", device.id),
        &[("spot", &third.id)],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(place(&app), third.id);
}

async fn a_sticker_sheet_prints_the_chosen_spots_in_use(t: TestDb) {
    let (app, store) = spawn_demo(t, &[]).await;
    let manager = app
        .sign_in(mend_server::domain::demo::MANAGER_EMAIL, "demo-password-1")
        .await;
    let codes: Vec<String> = store.touchpoints.iter().map(|t| t.code.clone()).collect();
    let loc = spot(&app, &codes[0]).location_id;
    mend_server::domain::setup::spots::set_retired(
        &app.db,
        &Actor::CommandLine,
        &spot(&app, &codes[2]).id,
        None,
        true,
    )
    .unwrap();
    let all = app
        .page(&manager, &format!("/manage/locations/{loc}/stickers"))
        .await;
    assert!(all.contains(&codes[0]) && all.contains(&codes[1]));
    assert!(
        !all.contains(&codes[2]),
        "a retired spot's sticker is not printed"
    );
    let one = app
        .page(
            &manager,
            &format!("/manage/locations/{loc}/stickers?spot={}&size=70", codes[1]),
        )
        .await;
    assert!(
        one.contains(&codes[1]) && !one.contains(&format!("/t/{}", codes[0])),
        "{one}"
    );
    assert!(
        one.contains(&format!("spot={}\">50 mm", codes[1])),
        "paper and size links keep the choice"
    );
}

http_on_both_backends!(
    more_on_sqlite, more_on_postgres:
    severity_is_decided_on_arrival_by_words_and_kept,
    a_kiosk_stands_at_a_spot_and_its_page_says_how_to_set_it_up,
    a_sticker_sheet_prints_the_chosen_spots_in_use,
);

async fn managers_manage_the_staff_of_their_own_stores_only(t: TestDb) {
    let (app, store) = spawn_demo(t, &[]).await;
    let loc = spot(&app, &store.touchpoints[0].code).location_id;
    let other = app.add_location("Other store");
    app.add_user(
        "staff",
        "mine@demo.example",
        "correct horse battery",
        &[&loc],
    );
    app.add_user(
        "staff",
        "theirs@demo.example",
        "correct horse battery",
        &[&other],
    );
    app.add_user("admin", "admin@demo.example", "correct horse battery", &[]);
    let manager = app
        .sign_in(mend_server::domain::demo::MANAGER_EMAIL, "demo-password-1")
        .await;
    let list = app.page(&manager, "/manage/users").await;
    assert!(list.contains("mine@demo.example") && !list.contains("theirs@demo.example"));
    assert!(!list.contains("admin@demo.example"));

    // Invite: staff of their own store yes; a manager, or another store, no.
    let invite = |email: &'static str, role: &'static str, store: String| {
        let (app, manager) = (&app, &manager);
        async move {
            post_form(
                app,
                manager,
                "/manage/users",
                "/manage/users/invite",
                &[
                    ("email", email),
                    ("role", role),
                    ("language", "ko"),
                    ("location", &store),
                ],
            )
            .await
            .status()
        }
    };
    assert_eq!(invite("new@demo.example", "staff", loc.clone()).await, 303);
    assert_eq!(
        invite("boss@demo.example", "manager", loc.clone()).await,
        403
    );
    assert_eq!(
        invite("away@demo.example", "staff", other.clone()).await,
        403
    );

    // Edit one of theirs (language, stores); not someone else's.
    let edit = "/manage/users/edit?email=mine%40demo.example";
    let res = post_form(
        &app,
        &manager,
        edit,
        "/manage/users/edit",
        &[
            ("email", "mine@demo.example"),
            ("role", "staff"),
            ("language", "pl"),
            ("location", &loc),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let person = app
        .db
        .read(|c| {
            Ok(mend_server::domain::setup::people::find(
                c,
                "mine@demo.example",
            ))
        })
        .unwrap()
        .unwrap();
    assert_eq!(person.language, "pl");
    let res = post_form(
        &app,
        &manager,
        edit,
        "/manage/users/edit",
        &[
            ("email", "mine@demo.example"),
            ("role", "manager"),
            ("language", "pl"),
            ("location", &loc),
        ],
    )
    .await;
    assert_eq!(res.status(), 422, "a manager cannot promote");
    assert_eq!(
        manager
            .get(app.url("/manage/users/edit?email=theirs%40demo.example"))
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "another store's staff: as if nobody"
    );
    let res = post_form(
        &app,
        &manager,
        edit,
        "/manage/users/deactivate",
        &[("email", "theirs@demo.example")],
    )
    .await;
    assert_eq!(res.status(), 404);
    // The wrong role: a fellow manager of the same store is out of reach (403).
    app.add_user(
        "manager",
        "peer@demo.example",
        "correct horse battery",
        &[&loc],
    );
    assert_eq!(
        manager
            .get(app.url("/manage/users/edit?email=peer%40demo.example"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        manager
            .get(app.url("/manage/users/edit?email=nobody%40demo.example"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Resend an invitation: one more invitation mail, with its own key.
    let invitations = |app: &TestApp| {
        app.outbox_rows()
            .iter()
            .filter(|r| r.kind == MailKind::Invitation && r.recipient == "new@demo.example")
            .count()
    };
    assert_eq!(invitations(&app), 1);
    let res = post_form(
        &app,
        &manager,
        "/manage/users/edit?email=new%40demo.example",
        "/manage/users/resend",
        &[("email", "new@demo.example")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(invitations(&app), 2);

    // The edit page speaks the reader's language.
    mend_server::domain::setup::people::edit(
        &app.db,
        &Actor::CommandLine,
        mend_server::domain::demo::MANAGER_EMAIL,
        &mend_server::domain::setup::people::PersonChange {
            language: Some("ja".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let html = app.page(&manager, edit).await;
    assert!(
        html.contains("招待をもう一度送る") && !html.contains("people."),
        "{html}"
    );

    // An admin promotes them.
    let admin = app
        .sign_in("admin@demo.example", "correct horse battery")
        .await;
    let res = post_form(
        &app,
        &admin,
        edit,
        "/manage/users/edit",
        &[
            ("email", "mine@demo.example"),
            ("role", "manager"),
            ("language", "pl"),
            ("location", &loc),
            ("location", &other),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    let person = app
        .db
        .read(|c| {
            Ok(mend_server::domain::setup::people::find(
                c,
                "mine@demo.example",
            ))
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        (person.role.as_str(), person.store_ids.len()),
        ("manager", 2)
    );
}

http_on_both_backends!(
    people_on_sqlite, people_on_postgres:
    managers_manage_the_staff_of_their_own_stores_only,
);

async fn an_admin_previews_an_import_on_the_web_and_nothing_changes_until_confirmed(t: TestDb) {
    let (app, _store) = spawn_demo(t, &[]).await;
    app.add_user("admin", "admin@demo.example", "correct horse battery", &[]);
    let admin = app
        .sign_in("admin@demo.example", "correct horse battery")
        .await;
    let manager = app
        .sign_in(mend_server::domain::demo::MANAGER_EMAIL, "demo-password-1")
        .await;
    let upload = |client: &reqwest::Client, kind: &str, bytes: Vec<u8>| {
        let (app, client, kind) = (&app, client.clone(), kind.to_owned());
        async move {
            let html = app.page(&client, "/manage/import").await;
            let csrf = if html.contains("name=\"csrf\"") {
                csrf_in(&html)
            } else {
                "none".into()
            };
            let form = reqwest::multipart::Form::new().text("csrf", csrf).part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name("stores.csv"),
            );
            client
                .post(app.url(&format!("/manage/import/{kind}/preview")))
                .multipart(form)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        manager
            .get(app.url("/manage/import"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let stores_before = app
        .db
        .read(mend_server::db::queries::stores::all)
        .unwrap()
        .len();

    // Bad lines: every one named, in the reader's language, nothing stored.
    mend_server::domain::setup::people::edit(
        &app.db,
        &Actor::CommandLine,
        "admin@demo.example",
        &mend_server::domain::setup::people::PersonChange {
            language: Some("pl".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let bad = "ref,location,region,time_zone,language,currency,touchpoint_ref,touchpoint\nW1,Warszawa,,Europe/Warsaw,pl,PLN,,Kasa\nW2,Kraków,,Europe/Krakow,pl,PLN,,Kasa\n";
    let res = upload(&admin, "locations", bad.as_bytes().to_vec()).await;
    assert_eq!(res.status(), 422);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("wiersz 3")
            && html.contains("Europe/Krakow")
            && html.contains("Strefa czasowa"),
        "{html}"
    );
    assert!(!html.contains("/confirm"), "nothing to confirm");

    // A good file: a preview, then the import on confirmation, once.
    let good = "\u{feff}ref,location,region,time_zone,language,currency,touchpoint_ref,touchpoint\nW1,Warszawa Centrum,Mazowieckie,Europe/Warsaw,pl,PLN,,Kasa\nW1,Warszawa Centrum,Mazowieckie,Europe/Warsaw,pl,PLN,,Toaleta\n";
    let res = upload(&admin, "locations", good.as_bytes().to_vec()).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Sklepy: nowe 1") && html.contains("Miejsca: nowe 2"),
        "{html}"
    );
    assert_eq!(
        app.db
            .read(mend_server::db::queries::stores::all)
            .unwrap()
            .len(),
        stores_before,
        "a preview stores nothing"
    );
    let id = mend_testing::input_value(&html, "upload").unwrap();
    let confirm = |client: &reqwest::Client| {
        let (app, client, id, html) = (&app, client.clone(), id.clone(), html.clone());
        async move {
            client
                .post(app.url("/manage/import/locations/confirm"))
                .form(&[("csrf", csrf_in(&html)), ("upload", id)])
                .send()
                .await
                .unwrap()
        }
    };
    let res = confirm(&admin).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Zaimportowano"));
    let stores = app.db.read(mend_server::db::queries::stores::all).unwrap();
    assert_eq!(stores.len(), stores_before + 1);
    assert_eq!(
        confirm(&admin).await.status(),
        404,
        "a second click imports nothing more"
    );
    assert_eq!(
        app.db
            .read(mend_server::db::queries::stores::all)
            .unwrap()
            .len(),
        stores_before + 1
    );

    // People, from the web too.
    let people = "email,role,locations,language\nola@demo.example,staff,W1,pl\n";
    let res = upload(&admin, "people", people.as_bytes().to_vec()).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let id = mend_testing::input_value(&html, "upload").unwrap();
    let res = admin
        .post(app.url("/manage/import/people/confirm"))
        .form(&[("csrf", csrf_in(&html)), ("upload", id)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(app
        .outbox_rows()
        .iter()
        .any(|r| r.kind == MailKind::Invitation && r.recipient == "ola@demo.example"));
}

http_on_both_backends!(
    import_on_sqlite, import_on_postgres:
    an_admin_previews_an_import_on_the_web_and_nothing_changes_until_confirmed,
);

async fn a_store_has_its_own_categories_with_labels_in_every_language(t: TestDb) {
    let (app, store) = spawn_demo(t, &[]).await;
    let code = store.touchpoints[0].code.clone();
    let loc = spot(&app, &code).location_id;
    // A Korean store.
    mend_server::domain::setup::stores::edit(
        &app.db,
        &Actor::CommandLine,
        &loc,
        &mend_server::domain::setup::stores::StoreChange {
            language: Some("ko".into()),
            time_zone: Some("Asia/Seoul".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let manager = app
        .sign_in(mend_server::domain::demo::MANAGER_EMAIL, "demo-password-1")
        .await;
    let page = format!("/manage/stores/{loc}/categories");
    assert!(app.page(&manager, &page).await.contains("waiting_time"));

    // The store's language is required.
    let res = post_form(&app, &manager, &page, &page, &[("label_en", "Parking")]).await;
    assert_eq!(res.status(), 422);
    let res = post_form(
        &app,
        &manager,
        &page,
        &page,
        &[
            ("label_ko", "주차"),
            ("label_en", "Parking"),
            ("severe", "yes"),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    // Price retired: off the form, still on old cases.
    let res = post_form(&app, &manager, &page, &format!("{page}/price/retire"), &[]).await;
    assert_eq!(res.status(), 303);

    let ko = app.open_form(&code, "?lang=ko").await;
    assert!(ko.contains("주차") && ko.contains("대기 시간"), "{ko}");
    assert!(
        !ko.contains("value=\"price\""),
        "a retired category leaves the form"
    );
    let ja = app.open_form(&code, "?lang=ja").await;
    assert!(
        ja.contains("주차"),
        "no Japanese label: the store's language"
    );
    let en = app.open_form(&code, "?lang=en").await;
    assert!(en.contains("Parking"));

    // A complaint in it is severe, and its alert names it by its label.
    app.add_user(
        "staff",
        "kim@demo.example",
        "correct horse battery",
        &[&loc],
    );
    mend_server::domain::setup::people::edit(
        &app.db,
        &Actor::CommandLine,
        "kim@demo.example",
        &mend_server::domain::setup::people::PersonChange {
            language: Some("ko".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let res = app
        .submit(
            &code,
            Post::valid()
                .with("category", "parking")
                .with("body", "주차장이 꽉 찼어요"),
        )
        .await;
    assert_eq!(res.status(), 303);
    let reference = res.headers()["location"].to_str().unwrap()[3..]
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let case = app
        .db
        .read(|c| mend_server::db::queries::cases::find_by_reference(c, &reference))
        .unwrap()
        .unwrap();
    assert_eq!(
        (case.category.as_str(), case.severe),
        ("parking", Some(true))
    );
    let facts = app
        .db
        .read(|c| mend_server::domain::alert::CaseFacts::load(c, case.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(
        facts.category_label(mend_server::domain::language::Language::parse("ko").unwrap()),
        "주차"
    );
    // A post naming the retired category is refused with the form's own error.
    let res = app
        .submit(&code, Post::valid().with("category", "price"))
        .await;
    assert_eq!(res.status(), 400);
    // Relabelled, the form shows the new label at once.
    let res = post_form(
        &app,
        &manager,
        &page,
        &format!("{page}/parking/save"),
        &[("label_ko", "주차장"), ("label_en", "Car park")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(app.open_form(&code, "?lang=en").await.contains("Car park"));
    // The inbox and the dashboard name it by its label too, never by its key.
    for path in [
        "/manage/cases".to_owned(),
        format!("/manage/dashboard?location={loc}"),
        "/manage/dashboard".to_owned(),
    ] {
        let seen = app.page(&manager, &path).await;
        assert!(
            seen.contains("Car park") && !seen.contains(">parking<"),
            "{path}: {seen}"
        );
    }
    // Another store's manager cannot touch them.
    let other = app.add_location("Other store");
    app.add_user(
        "manager",
        "other@demo.example",
        "correct horse battery",
        &[&other],
    );
    let stranger = app
        .sign_in("other@demo.example", "correct horse battery")
        .await;
    assert_eq!(
        stranger.get(app.url(&page)).send().await.unwrap().status(),
        404
    );
}

http_on_both_backends!(
    categories_on_sqlite, categories_on_postgres:
    a_store_has_its_own_categories_with_labels_in_every_language,
);

async fn money_follows_the_stores_currency_and_its_real_minor_unit(t: TestDb) {
    let (app, store) = spawn_demo(t, &[]).await;
    let code = store.touchpoints[0].code.clone();
    let loc = spot(&app, &code).location_id;
    mend_server::domain::setup::stores::edit(
        &app.db,
        &Actor::CommandLine,
        &loc,
        &mend_server::domain::setup::stores::StoreChange {
            currency: Some("KRW".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let res = app.submit(&code, Post::valid()).await;
    let reference = res.headers()["location"].to_str().unwrap()[3..]
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let manager = app
        .sign_in(mend_server::domain::demo::MANAGER_EMAIL, "demo-password-1")
        .await;
    let page = app
        .page(&manager, &format!("/manage/cases/{reference}"))
        .await;
    assert!(
        page.contains("name=\"compensation_currency\" type=\"text\" maxlength=\"3\" value=\"KRW\""),
        "the store's currency is offered"
    );
    // Won have no minor unit: 5000.50 is refused, 5000 is 5000.
    let res = app
        .case_action(
            &manager,
            &reference,
            "resolve",
            &[
                ("resolution", "Refunded"),
                ("root_cause", "process"),
                ("compensation_type", "refund"),
                ("compensation_value", "5000.50"),
                ("compensation_currency", "KRW"),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    app.case_action_done(
        &manager,
        &reference,
        "resolve",
        &[
            ("resolution", "Refunded"),
            ("root_cause", "process"),
            ("compensation_type", "refund"),
            ("compensation_value", "5000"),
            ("compensation_currency", "KRW"),
        ],
    )
    .await;
    let case = app
        .db
        .read(|c| mend_server::db::queries::cases::find_by_reference(c, &reference))
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            case.compensation_minor,
            case.compensation_currency.as_deref()
        ),
        (Some(5000), Some("KRW"))
    );
    let page = app
        .page(&manager, &format!("/manage/cases/{reference}"))
        .await;
    assert!(
        page.contains("₩5,000") && !page.contains("₩50.00"),
        "shown whole"
    );
    let csv = app.page(&manager, "/manage/export/cases.csv").await;
    assert!(csv.contains(",5000,KRW,"), "{csv}");
}

http_on_both_backends!(
    money_on_sqlite, money_on_postgres:
    money_follows_the_stores_currency_and_its_real_minor_unit,
);

async fn old_session_rows_are_deleted_by_the_hourly_retention_pass(t: TestDb) {
    use diesel::prelude::*;
    let (app, _store) = spawn_demo(t, &[]).await;
    let _manager = app
        .sign_in(mend_server::domain::demo::MANAGER_EMAIL, "demo-password-1")
        .await;
    let count = |app: &TestApp| {
        app.db
            .read(|c| {
                mend_server::db::schema::sessions::table
                    .count()
                    .get_result::<i64>(c)
            })
            .unwrap()
    };
    assert_eq!(count(&app), 1);
    let now = app.clock.now();
    mend_server::domain::privacy::retention::apply(&app.db, app.data_dir.path(), now).unwrap();
    assert_eq!(count(&app), 1, "a live session stays");
    mend_server::domain::privacy::retention::apply(
        &app.db,
        app.data_dir.path(),
        now + chrono::Duration::days(2),
    )
    .unwrap();
    assert_eq!(count(&app), 0, "two days on, its row is gone");
}

http_on_both_backends!(
    sessions_on_sqlite, sessions_on_postgres:
    old_session_rows_are_deleted_by_the_hourly_retention_pass,
);
