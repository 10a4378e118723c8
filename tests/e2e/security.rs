//! Hostile input end to end (issue 10): one payload of script, markup, SQL and a
//! spreadsheet formula goes in through the customer's form and must come out inert in
//! every place it is shown (status page, staff case page, inbox, alert email, CSV export)
//! while being stored exactly as typed. Also: mail header injection, tampered signed
//! links, CSRF, session fixation, security headers on every kind of response, size limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mend_server::db::states::MailKind;
use std::time::Duration;

use mend_testing::{csrf_in, spawn_demo, Post, TestApp, TestDb};

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"'><img src=x onerror=alert(2)>";
const SQL: &str = "'; DROP TABLE cases; --";
const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"click\")";

fn payload() -> String {
    format!("{FORMULA} {SCRIPT} {IMG} {SQL}")
}

/// No raw payload markup in a page or message.
fn assert_inert(what: &str, text: &str) {
    for raw in ["<script>alert(1)", "<img src=x", "onerror=alert(2)>"] {
        assert!(!text.contains(raw), "{what} shows {raw} unescaped:\n{text}");
    }
}

/// The payload's script tag is on the page, as text.
fn shows_escaped(html: &str) -> bool {
    html.contains("&lt;script&gt;alert(1)") || html.contains("&#60;script&#62;alert(1)")
}

/// The staff alert as written to the data dir (no SMTP in these tests), once it is.
async fn alert_eml(app: &TestApp) -> Vec<u8> {
    let rows = app
        .wait_for_outbox("the alert", Duration::from_secs(20), |rows| {
            rows.iter()
                .any(|r| r.kind == MailKind::Alert && r.sent_at.is_some())
        })
        .await;
    let alert = rows.iter().find(|r| r.kind == MailKind::Alert).unwrap();
    std::fs::read(app.data_dir.path().join(format!("mail/{}.eml", alert.id))).unwrap()
}

async fn complain(app: &TestApp, code: &str, post: Post) -> String {
    let res = app.submit(code, post).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn hostile_input_is_stored_literally_and_shown_inert_everywhere() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_FORM_MIN_SECONDS", "0")]).await;
    let code = &store.touchpoints[0].code;

    // A mail header smuggled into the address is refused, with nothing stored.
    let res = app
        .submit(
            code,
            Post::valid().with("email", "guest@example.com\r\nBcc: evil@example.com"),
        )
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(app.case_count(), 0);

    let status_path = complain(
        &app,
        code,
        Post::valid()
            .with("body", &payload())
            .with("category", "cleanliness"),
    )
    .await;
    let reference = status_path[3..].split('?').next().unwrap().to_owned();

    // Stored exactly as typed; the SQL did nothing.
    let case = app
        .db
        .read(|c| mend_server::db::queries::cases::find_by_reference(c, &reference))
        .unwrap()
        .unwrap();
    assert_eq!(case.body, payload());
    assert_eq!(app.case_count(), 1);

    // The customer's status page.
    let page = app.get(&status_path).await.text().await.unwrap();
    assert_inert("the status page", &page);

    // The staff's inbox and case page.
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let case_page = app
        .page(&manager, &format!("/manage/cases/{reference}"))
        .await;
    assert!(shows_escaped(&case_page), "{case_page}");
    assert_inert("the case page", &case_page);
    assert_inert("the inbox", &app.page(&manager, "/manage/cases").await);

    // The alert email (written as an .eml file without SMTP): escaped HTML, one-line
    // subject, no smuggled header.
    let eml = alert_eml(&app).await;
    let parsed = mail_parser::MessageParser::default().parse(&eml).unwrap();
    assert_inert("the alert's HTML", &parsed.body_html(0).unwrap());
    assert!(!parsed.subject().unwrap_or_default().contains('\n'));
    assert!(parsed.header("Bcc").is_none());

    // The CSV export: the formula is neutralised with a leading apostrophe.
    let csv = manager
        .get(app.url("/manage/export/cases.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.contains("'=HYPERLINK("), "{csv}");
    assert!(!csv.contains(",=HYPERLINK(") && !csv.contains(",\"=HYPERLINK("));
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let requests = [
        ("GET", "/".to_owned()),
        ("GET", format!("/t/{code}")),
        ("GET", format!("/t/{code}/qr.png?px=256")),
        ("GET", format!("/t/{code}/qr.svg")),
        ("GET", "/t/NOSUCHCODE".into()),
        ("GET", "/c/NOPE-NOPE?k=x".into()),
        ("GET", "/healthz".into()),
        ("GET", "/metrics".into()),
        ("GET", "/manage/login".into()),
        ("GET", "/manage/cases".into()),
        ("GET", "/no/such/page".into()),
        ("GET", "/t/x?lang=%ZZ".into()),
        ("POST", "/api/kiosk/v1/taps".into()),
        ("POST", "/manage/login".into()),
    ];
    for (method, path) in requests {
        let res = client
            .request(method.parse().unwrap(), app.url(&path))
            .send()
            .await
            .unwrap();
        let h = res.headers();
        let status = res.status();
        let csp = h
            .get("content-security-policy")
            .map(|v| v.to_str().unwrap().to_owned());
        assert!(
            csp.as_deref().is_some_and(
                |c| c.contains("default-src 'none'") && c.contains("frame-ancestors 'none'")
            ),
            "{method} {path} ({status}): CSP {csp:?}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{method} {path}");
        assert_eq!(h["x-frame-options"], "DENY", "{method} {path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{method} {path}");
        assert!(status.as_u16() < 500, "{method} {path}: {status}");
        // No shared cache may keep a page: the form's stamp, a status token or a session
        // would go to the next person. Only the QR codes are for keeping.
        let cache = h["cache-control"].to_str().unwrap();
        if path.contains("/qr.") {
            assert!(cache.starts_with("public"), "{path}: {cache}");
        } else {
            assert!(cache.contains("no-store"), "{method} {path}: {cache}");
        }
        // Plain http here: no HSTS (it would lock a browser out of a test server).
        assert!(h.get("strict-transport-security").is_none());
    }
    // Behind a TLS proxy, browsers are told to stay on https.
    let (tls, _) = spawn_demo(
        TestDb::sqlite(),
        &[("MEND_BASE_URL", "https://mend.example.com")],
    )
    .await;
    let res = client.get(tls.url("/healthz")).send().await.unwrap();
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}

#[tokio::test]
async fn tampered_links_csrf_and_fixation_are_refused() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_FORM_MIN_SECONDS", "0")]).await;
    let code = &store.touchpoints[0].code;
    let status_path = complain(&app, code, Post::valid()).await;

    // A status link with another token, or none, shows nothing.
    let (path, token) = status_path.split_once("?k=").unwrap();
    let mut other = token.to_owned();
    other.replace_range(0..1, if token.starts_with('a') { "b" } else { "a" });
    for bad in [format!("{path}?k={other}"), path.to_owned()] {
        let status = app.get(&bad).await.status().as_u16();
        assert!((400..500).contains(&status), "{bad}: {status}");
    }

    // The alert's "I'm on it" link, altered in each part, acknowledges nothing.
    let eml = alert_eml(&app).await;
    let text = mail_parser::MessageParser::default()
        .parse(&eml)
        .unwrap()
        .body_text(0)
        .unwrap()
        .into_owned();
    let ack = text
        .split_whitespace()
        .find(|w| w.contains("/ack/"))
        .unwrap()
        .to_owned();
    let ack_path = &ack[ack.find("/ack/").unwrap()..];
    let client = app.browser();
    let tampered = [
        ack_path.replacen("sig=", "sig=0", 1),
        ack_path.replacen("exp=", "exp=9", 1),
        ack_path.replacen("to=", "to=x", 1),
    ];
    for bad in tampered {
        let page = client.get(app.url(&bad)).send().await.unwrap();
        let status = page.status().as_u16();
        if status == 200 {
            // A confirmation page may show; pressing its button must fail.
            let html = page.text().await.unwrap();
            let form_action = bad.split('?').next().unwrap().to_owned();
            let res = client
                .post(app.url(&bad))
                .form(&[("csrf", csrf_in_or_empty(&html).as_str())])
                .send()
                .await
                .unwrap();
            assert!(
                (400..500).contains(&res.status().as_u16()),
                "{form_action}: {}",
                res.status()
            );
        } else {
            assert!((400..500).contains(&status), "{bad}: {status}");
        }
    }
    let case = app
        .db
        .read(|c| mend_server::db::queries::cases::find_by_reference(c, &path[3..]))
        .unwrap()
        .unwrap();
    assert!(
        case.acknowledged_at.is_none(),
        "a tampered link acknowledged"
    );

    // CSRF: a signed-in manager's form posted without its token changes nothing.
    let manager = app.sign_in(&store.manager_email, "demo-password-1").await;
    let loc = app.location_of(code);
    let res = manager
        .post(app.url(&format!("/manage/locations/{loc}/settings")))
        .form(&[("fallback", "evil@example.com"), ("sla_minutes", "1")])
        .send()
        .await
        .unwrap();
    assert!(
        (400..500).contains(&res.status().as_u16()),
        "{}",
        res.status()
    );
    let shown = mend_server::domain::alert::settings::show(
        &app.db,
        mend_server::domain::demo::LOCATION_NAME,
    )
    .unwrap()
    .to_string();
    assert!(!shown.contains("evil@example.com"));

    // Session fixation: the session a visitor had before signing in is not the one after.
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = raw.get(app.url("/manage/login")).send().await.unwrap();
    let before = session_cookie(&login).expect("a session for the login form's CSRF");
    let csrf = csrf_in(&login.text().await.unwrap());
    let res = raw
        .post(app.url("/manage/login"))
        .header("cookie", &before)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", store.manager_email.as_str()),
            ("password", "demo-password-1"),
            ("next", "/manage/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let after = session_cookie(&res).expect("a new session after signing in");
    assert_ne!(before, after);
    // The old cookie is still nobody's.
    let res = raw
        .get(app.url("/manage/cases"))
        .header("cookie", &before)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/manage/login"));
}

fn csrf_in_or_empty(html: &str) -> String {
    if html.contains("name=\"csrf\"") {
        csrf_in(html)
    } else {
        String::new()
    }
}

/// `name=value` of the session cookie a response sets.
fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("mend_session="))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

#[tokio::test]
async fn oversized_requests_are_refused_before_they_are_read_whole() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_PHOTO_MAX_MB", "1")]).await;
    let code = &store.touchpoints[0].code;
    let page = app.open_form(code, "").await;
    let stamp = mend_testing::input_value(&page, "stamp").unwrap();
    // A photo over the limit is read past (to keep the fields after it) only so far: 16 MB
    // or four times the limit; beyond, the post is refused as it arrives.
    let big = Post::valid()
        .with("stamp", &stamp)
        .photo(vec![0xFF; 20 * 1024 * 1024]);
    let res = app.post_raw(code, &big).await;
    assert_eq!(res.status(), 413);
    assert!(!res.text().await.unwrap().contains("name=\"stamp\""));
    assert_eq!(app.case_count(), 0);
    // A manager form with a 1 MB field.
    let res = app
        .client
        .post(app.url("/manage/login"))
        .form(&[("email", "x".repeat(1024 * 1024))])
        .send()
        .await
        .unwrap();
    assert!(
        (400..500).contains(&res.status().as_u16()),
        "{}",
        res.status()
    );
}

#[tokio::test]
async fn malformed_multipart_bodies_get_a_4xx_and_the_server_stays_up() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[("MEND_FORM_MIN_SECONDS", "0")]).await;
    let code = &store.touchpoints[0].code;
    let page = app.open_form(code, "").await;
    let stamp = mend_testing::input_value(&page, "stamp").unwrap();
    let part = |disposition: &str, value: &str| {
        format!("--b0undary\r\nContent-Disposition: {disposition}\r\n\r\n{value}\r\n")
    };
    let good = format!(
        "{}{}",
        part("form-data; name=\"stamp\"", &stamp),
        part("form-data; name=\"body\"", "The door was locked")
    );
    let bodies = [
        // A field with an empty name: actix-multipart debug_assert!s on it (found by
        // fuzz/multipart_post); release builds, and ours in tests, must answer it.
        format!("{good}{}--b0undary--\r\n", part("form-data; name=\"\"", "x")),
        format!("{good}{}--b0undary--\r\n", part("form-data", "no name")),
        format!("{good}{}--b0undary--\r\n", part("attachment; name=\"body\"", "x")),
        // Cut off mid-part, no closing boundary.
        format!("{good}--b0undary\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"p.png\"\r\n\r\n\u{89}PNG"),
        "--b0undary--\r\n".to_owned(),
        String::new(),
    ];
    for body in bodies {
        let res = app
            .client
            .post(app.url(&format!("/t/{code}")))
            .header("content-type", "multipart/form-data; boundary=b0undary")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_client_error(),
            "{} for {body:?}",
            res.status()
        );
    }
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert_eq!(app.case_count(), 0, "none of these is a complaint");
}

/// A post in the wrong shape gets Mend's own page (HTML, in words), not the framework's
/// plain text; a `next` with a line break is a plain redirect home, not a 500.
#[tokio::test]
async fn wrong_content_types_and_broken_next_get_our_own_answers() {
    let (app, store) = spawn_demo(TestDb::sqlite(), &[]).await;
    let code = &store.touchpoints[0].code;
    for (path, content_type) in [
        (format!("/t/{code}"), "text/plain"),
        (format!("/t/{code}"), "application/json"),
        ("/manage/login".to_owned(), "application/json"),
        ("/manage/password/forgot".to_owned(), "text/plain"),
    ] {
        let res = app
            .client
            .post(app.url(&path))
            .header("content-type", content_type)
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert!(
            (400..500).contains(&status),
            "{path} {content_type}: {status}"
        );
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/html"), "{path} {content_type}: {ct}");
    }
    let client = app.browser();
    let page = app
        .page(
            &client,
            "/manage/login?next=/manage/%0D%0ASet-Cookie:%20x=1",
        )
        .await;
    let res = client
        .post(app.url("/manage/login"))
        .form(&[
            ("csrf", csrf_in(&page).as_str()),
            ("email", store.manager_email.as_str()),
            ("password", "demo-password-1"),
            ("next", "/manage/\r\nSet-Cookie: x=1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/manage/");
}

/// Sends a request's headers and the start of a body it never finishes, as a slow-body
/// attack does.
async fn trickle(app: &TestApp, path: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: mend\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nbody="
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

/// A complaint trickled in from a phone on a dying line gets the deadline ten times over
/// (a real photo on 3G takes long), then the form's own page in the customer's language.
#[tokio::test(flavor = "multi_thread")]
async fn a_complaint_that_never_arrives_whole_is_answered_in_the_customers_language() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (app, store) =
        spawn_demo(TestDb::sqlite(), &[("MEND_REQUEST_DEADLINE_SECONDS", "1")]).await;
    let code = &store.touchpoints[0].code;
    let mut s = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /t/{code} HTTP/1.1\r\nHost: mend\r\nAccept-Language: ko\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n--x\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(40), s.read_to_end(&mut answer))
        .await
        .expect("the connection is closed")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("연결을 확인하고"), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "ten times the deadline, not one"
    );
}

/// A client that sends headers and trickles its body is cut off at the deadline (408,
/// connection closed).
#[tokio::test(flavor = "multi_thread")]
async fn slow_bodies_are_cut_off() {
    use tokio::io::AsyncReadExt;
    let (app, _) = spawn_demo(TestDb::sqlite(), &[("MEND_REQUEST_DEADLINE_SECONDS", "1")]).await;
    let mut slow = trickle(&app, "/manage/login").await;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), slow.read_to_end(&mut answer))
        .await
        .expect("the connection is closed")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // The per-client share itself is tested on `web::limits::InFlight` (a check of it
    // over sockets here was flaky on a busy machine, for a reason not yet found).
}
