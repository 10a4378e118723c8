//! The `mend-server` binary as an operator meets it: exit codes, one-line errors, the demo
//! lines of the contract, and a clean stop on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mend-server");

/// A command with a clean environment of our own: no MEND_* leaks in from the caller.
fn mend(dir: &tempfile::TempDir) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path()).env_remove("RUST_LOG");
    for (name, _) in std::env::vars() {
        if name.starts_with("MEND_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// The operator's view of a configuration error: exit code 2 and exactly one line on stderr.
fn the_one_error_line(out: &Output) -> String {
    let lines: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(out.status.code(), Some(2), "{lines:?}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines.into_iter().next().unwrap_or_default()
}

#[test]
fn a_bad_database_url_stops_the_server_with_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = mend(&dir)
        .env("MEND_DATABASE_URL", "mysql://root@localhost/mend")
        .output()
        .unwrap();
    let line = the_one_error_line(&out);
    assert!(line.contains("MEND_DATABASE_URL"), "{line}");
}

#[test]
fn an_unreachable_postgres_stops_the_server_with_one_line_that_hides_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let out = mend(&dir)
        .env(
            "MEND_DATABASE_URL",
            "postgres://mend:s3cretpass@127.0.0.1:1/mend",
        )
        .output()
        .unwrap();
    let line = the_one_error_line(&out);
    assert!(line.contains("MEND_DATABASE_URL"), "{line}");
    assert!(!line.contains("s3cretpass"), "{line}");
}

#[test]
fn a_bad_bind_address_stops_the_server_with_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = mend(&dir)
        .env("MEND_BIND", "everywhere:80")
        .output()
        .unwrap();
    let line = the_one_error_line(&out);
    assert!(line.contains("MEND_BIND"), "{line}");
}

#[test]
fn a_taken_port_stops_the_server_naming_mend_bind() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = mend(&dir).env("MEND_BIND", &addr).output().unwrap();
    let line = the_one_error_line(&out);
    assert!(line.contains("MEND_BIND") && line.contains(&addr), "{line}");
}

#[test]
fn a_bad_value_in_mend_toml_stops_the_server_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mend.toml"), "form_rate_limit = \"lots\"\n").unwrap();
    let out = mend(&dir).output().unwrap();
    let line = the_one_error_line(&out);
    assert!(
        line.contains("MEND_FORM_RATE_LIMIT (form_rate_limit in mend.toml)"),
        "{line}"
    );
}

#[test]
fn migrate_applies_the_schema_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let out = mend(&dir).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/mend.db").exists());
}

#[test]
fn seed_demo_prints_the_contract_lines_and_the_same_ones_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let out = mend(&dir)
            .arg("seed-demo")
            .env("MEND_BASE_URL", "https://mend.example")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    let touchpoints: Vec<&str> = first
        .lines()
        .filter(|l| l.starts_with("touchpoint "))
        .collect();
    assert!(touchpoints.len() >= 3, "{first}");
    for line in &touchpoints {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert_eq!(parts[2], format!("https://mend.example/t/{}", parts[1]));
    }
    let logins: Vec<&str> = first.lines().filter(|l| l.starts_with("login ")).collect();
    assert_eq!(logins.len(), 1, "{first}");
    assert_eq!(logins[0].split(' ').count(), 3);
    assert_eq!(run(), first, "seeding again must change nothing");
}

#[test]
fn seed_demo_history_fills_stores_once_and_refuses_a_nonsense_length() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = mend(&dir).arg("seed-demo").args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, first, err) = run(&["--history", "60", "--stores", "2"]);
    assert_eq!(code, Some(0), "{err}");
    let summary = first.lines().find(|l| l.starts_with("history ")).unwrap();
    let words: Vec<&str> = summary.split(' ').collect();
    assert_eq!(words[1..3], ["2", "stores,"], "{summary}");
    let complaints: u32 = words[3].parse().unwrap();
    assert!(complaints > 60, "about 3 a day per store: {summary}");
    assert!(first.lines().any(|l| l.starts_with("login ")), "{first}");

    let (code, again, _) = run(&["--history", "60", "--stores", "3"]);
    assert_eq!(code, Some(0));
    assert!(
        again.contains("history already there: Demo Kraków\n"),
        "{again}"
    );
    assert!(
        again.contains("history already there: Demo Seoul\n"),
        "{again}"
    );
    assert!(again.contains("history 1 stores,"), "{again}");

    let (code, _, err) = run(&["--history", "0"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--history"), "{err}");
}

#[test]
fn seed_demo_uses_the_password_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let out = mend(&dir)
        .arg("seed-demo")
        .env("MEND_DEMO_PASSWORD", "correct horse battery")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("login ") && l.ends_with(" correct horse battery")),
        "{stdout}"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn serve_with_demo_prints_the_urls_answers_health_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = mend(&dir)
        .arg("--demo")
        .env("MEND_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = Vec::new();
    while !printed.iter().any(|l: &String| l.starts_with("login ")) {
        let mut line = String::new();
        assert!(
            stdout.read_line(&mut line).unwrap() > 0,
            "exited early after {printed:?}"
        );
        printed.push(line.trim_end().to_owned());
    }
    assert!(
        printed
            .iter()
            .any(|l| l.starts_with("touchpoint ")
                && l.contains(&format!("http://127.0.0.1:{port}/t/"))),
        "{printed:?}"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    let health = loop {
        if let Some(r) = http_get(port, "/healthz") {
            break r;
        }
        assert!(Instant::now() < deadline, "server never answered");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn alerts_set_saves_routing_and_refuses_a_bad_address_without_saving_anything() {
    let dir = tempfile::tempdir().unwrap();
    assert!(mend(&dir)
        .arg("seed-demo")
        .output()
        .unwrap()
        .status
        .success());
    let store = ["--location", "Mend Demo Café"];
    let out = mend(&dir)
        .args(["alerts", "set"])
        .args(store)
        .args(["--fallback", "Floor@Shop.example, lead@shop.example"])
        .args(["--category", "cleanliness=clean@shop.example"])
        .args(["--hours", "mon-fri 08:00-20:00; sat 09:00-14:00"])
        .args(["--sla-minutes", "10"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        shown.contains("fallback: floor@shop.example, lead@shop.example"),
        "{shown}"
    );
    assert!(
        shown.contains("category cleanliness: clean@shop.example"),
        "{shown}"
    );
    assert!(shown.contains("sla: 10 min"), "{shown}");

    for (flag, value, named) in [
        (
            "--fallback",
            "ok@shop.example, not-an-address",
            "not-an-address",
        ),
        (
            "--category",
            "staff=x@shop.example\r\nBcc: y@z.example",
            "Category staff",
        ),
        ("--hours", "mon-fri 8am-8pm", "opening hours"),
    ] {
        let out = mend(&dir)
            .args(["alerts", "set"])
            .args(store)
            .args([flag, value])
            .output()
            .unwrap();
        let line = the_one_error_line(&out);
        assert!(line.contains(named), "{line}");
    }
    let out = mend(&dir)
        .args(["alerts", "show"])
        .args(store)
        .output()
        .unwrap();
    let shown_again = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        shown_again, shown,
        "nothing of the refused changes was saved"
    );

    let out = mend(&dir)
        .args(["alerts", "show", "--location", "Nowhere"])
        .output()
        .unwrap();
    assert!(the_one_error_line(&out).contains("Nowhere"));
}

#[test]
fn user_add_creates_the_first_admin_and_refuses_what_is_wrong() {
    use mend_server::config::DatabaseUrl;
    use mend_server::db::{queries::users, Db};
    let dir = tempfile::tempdir().unwrap();
    assert!(mend(&dir)
        .arg("seed-demo")
        .output()
        .unwrap()
        .status
        .success());

    let out = mend(&dir)
        .args([
            "user",
            "add",
            "--email",
            "Boss@Shop.example",
            "--role",
            "admin",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        stdout.starts_with("user boss@shop.example admin\n"),
        "{stdout}"
    );
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password "))
        .unwrap()
        .to_owned();

    let out = mend(&dir)
        .args([
            "user",
            "add",
            "--email",
            "till@shop.example",
            "--role",
            "staff",
        ])
        .args(["--location", "Mend Demo Café", "--language", "pl"])
        .env("MEND_NEW_USER_PASSWORD", "a long enough password")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("password"));

    for (args, named) in [
        (
            vec!["--email", "boss@shop.example", "--role", "admin"],
            "already has an account",
        ),
        (
            vec!["--email", "x@shop.example", "--role", "staff"],
            "--location",
        ),
        (
            vec!["--email", "not-an-address", "--role", "admin"],
            "not-an-address",
        ),
        (
            vec!["--email", "y@shop.example", "--role", "owner"],
            "owner",
        ),
        (
            vec![
                "--email",
                "z@shop.example",
                "--role",
                "staff",
                "--location",
                "Nowhere",
            ],
            "Nowhere",
        ),
    ] {
        let out = mend(&dir)
            .args(["user", "add"])
            .args(&args)
            .output()
            .unwrap();
        assert!(the_one_error_line(&out).contains(named), "{args:?}");
    }
    let out = mend(&dir)
        .args([
            "user",
            "add",
            "--email",
            "w@shop.example",
            "--role",
            "admin",
        ])
        .env("MEND_NEW_USER_PASSWORD", "short")
        .output()
        .unwrap();
    assert!(the_one_error_line(&out).contains("at least 12 characters"));

    let db = Db::open(&DatabaseUrl::Sqlite(dir.path().join("data/mend.db"))).unwrap();
    let boss = db
        .read(|c| users::find_by_email(c, "boss@shop.example"))
        .unwrap()
        .unwrap();
    assert!(mend_server::domain::account::password::verify_password(
        &boss.password_hash,
        &password
    ));
    let till = db
        .read(|c| users::find_by_email(c, "till@shop.example"))
        .unwrap()
        .unwrap();
    assert_eq!(
        (till.role.as_str(), till.language.as_str()),
        ("staff", "pl")
    );
    assert_eq!(
        db.read(|c| users::location_ids(c, &till.id)).unwrap().len(),
        1
    );
    assert!(db
        .read(|c| users::find_by_email(c, "x@shop.example"))
        .unwrap()
        .is_none());
}

#[test]
fn kiosk_add_shows_the_token_once_list_shows_the_device_and_revoke_revokes() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = mend(&dir).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(run(&["seed-demo"]).0, Some(0));
    let (code, out, err) = run(&[
        "kiosk",
        "add",
        "--location",
        "Mend Demo Café",
        "--name",
        "Exit",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let words: Vec<&str> = out.trim().split(' ').collect();
    assert_eq!(words.len(), 3, "{out}");
    assert_eq!(words[0], "kiosk");
    assert!(words[2].starts_with("mk_"), "{out}");
    let id = words[1].to_owned();

    let (code, listed, _) = run(&["kiosk", "list", "--location", "Mend Demo Café"]);
    assert_eq!(code, Some(0));
    assert!(
        listed.contains(&format!("kiosk {id} \"Exit\" last seen never")),
        "{listed}"
    );
    assert!(!listed.contains(words[2]), "the token is never shown again");

    assert_eq!(run(&["kiosk", "revoke", "--id", &id]).0, Some(0));
    let (_, listed, _) = run(&["kiosk", "list", "--location", "Mend Demo Café"]);
    assert!(listed.contains(", revoked"), "{listed}");
    let (code, _, err) = run(&["kiosk", "revoke", "--id", &id]);
    assert_eq!(code, Some(2), "revoked twice");
    assert!(err.contains("no active kiosk"), "{err}");
    let (code, _, err) = run(&["kiosk", "add", "--location", "Nowhere"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no location is named \"Nowhere\""), "{err}");
}

#[test]
fn token_add_shows_the_token_once_list_shows_it_and_revoke_revokes() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = mend(&dir).args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(run(&["seed-demo"]).0, Some(0));
    let manager = "manager@demo.mend.example";
    let (code, out, err) = run(&[
        "token",
        "add",
        "--email",
        manager,
        "--name",
        "HR sync",
        "--scope",
        "write",
        "--location",
        "Mend Demo Café",
        "--expires-days",
        "30",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let token = lines[0].strip_prefix("token ").unwrap();
    assert!(token.starts_with("mend_") && token.len() == 69, "{out}");
    let id = lines[1].strip_prefix("id ").unwrap();

    let (code, listed, _) = run(&["token", "list"]);
    assert_eq!(code, Some(0));
    assert!(
        listed.contains(&format!("token {id} {manager} write \"HR sync\"")),
        "{listed}"
    );
    assert!(listed.contains("last used never"), "{listed}");
    assert!(!listed.contains(token), "the token is never shown again");

    assert_eq!(run(&["token", "revoke", "--id", id]).0, Some(0));
    assert!(run(&["token", "list"]).1.contains(", revoked"));
    assert_eq!(
        run(&["token", "revoke", "--id", id]).0,
        Some(2),
        "revoked twice"
    );

    // Each mistake: one line, exit 2, nothing stored.
    for (args, says) in [
        (
            vec!["--email", "nobody@example.com", "--name", "x"],
            "no such person",
        ),
        (
            vec!["--email", manager, "--name", "x", "--scope", "root"],
            "scope",
        ),
        (
            vec!["--email", manager, "--name", "x", "--scope", "admin"],
            "scope",
        ),
        (
            vec!["--email", manager, "--name", "x", "--location", "Nowhere"],
            "Nowhere",
        ),
        (vec!["--email", manager, "--name", " "], "Name"),
        (
            vec!["--email", manager, "--name", "x", "--expires-days", "0"],
            "Expires",
        ),
    ] {
        let mut all = vec!["token", "add"];
        all.extend(args);
        let (code, _, err) = run(&all);
        assert_eq!(code, Some(2), "{all:?}: {err}");
        assert!(err.contains(says), "{all:?}: {err}");
    }
    assert_eq!(run(&["token", "list"]).1.lines().count(), 1);
}

#[test]
fn webhook_add_prints_the_id_and_secret_and_refuses_private_addresses_without_the_switch() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], allow: bool| {
        let mut cmd = mend(&dir);
        if allow {
            cmd.env("MEND_WEBHOOK_ALLOW_PRIVATE", "1");
        }
        let out = cmd.args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(run(&["seed-demo"], false).0, Some(0));
    let add = [
        "webhook",
        "add",
        "--url",
        "http://127.0.0.1:9/hooks",
        "--location",
        "Mend Demo Café",
        "--events",
        "case.created,case.resolved",
        "--format",
        "slack",
    ];
    let (code, _, err) = run(&add, false);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("private network"), "{err}");
    let (code, out, err) = run(&add, true);
    assert_eq!(code, Some(0), "{err}");
    let words: Vec<&str> = out.trim().split(' ').collect();
    assert_eq!((words.len(), words[0]), (3, "webhook"), "{out}");
    assert!(words[2].starts_with("whsec_"), "{out}");
    let listed = run(&["webhook", "list"], false).1;
    assert!(
        listed.contains(&format!(
            "webhook {} slack http://127.0.0.1:9/hooks",
            words[1]
        )) && listed.contains("case.created,case.resolved active"),
        "{listed}"
    );
    let (code, rotated, _) = run(&["webhook", "rotate", "--id", words[1]], false);
    assert_eq!(code, Some(0));
    assert!(
        rotated.starts_with(&format!("webhook {} whsec_", words[1])) && !rotated.contains(words[2])
    );
    assert_eq!(
        run(&["webhook", "remove", "--id", words[1]], false).0,
        Some(0)
    );
    assert!(run(&["webhook", "list"], false)
        .1
        .contains("disabled (removed)"));
    for bad in [
        vec!["--url", "ftp://example.com/x"],
        vec![
            "--url",
            "https://example.com/x",
            "--events",
            "case.exploded",
        ],
        vec!["--url", "https://example.com/x", "--format", "fax"],
        vec!["--url", "https://ntfy.sh/", "--format", "ntfy"],
    ] {
        let mut all = vec!["webhook", "add"];
        all.extend(bad);
        let (code, _, err) = run(&all, true);
        assert_eq!(code, Some(2), "{all:?}: {err}");
    }
}
