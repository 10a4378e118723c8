//! The `mend-kiosk` binary as the person installing a kiosk meets it: its version, a bad
//! setting named with exit code 2, a start that serves the screen with the server
//! unreachable, and a clean stop on SIGTERM with the taps kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mend-kiosk");
const TOKEN: &str = "mk_0123456789abcdef0123456789abcdef";

fn kiosk(dir: &tempfile::TempDir) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path()).env("RUST_LOG", "warn");
    for (name, _) in std::env::vars() {
        if name.starts_with("MEND_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

#[test]
fn version_names_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let out = kiosk(&dir).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("mend-kiosk {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn a_bad_setting_is_named_and_exits_with_2() {
    let dir = tempfile::tempdir().unwrap();
    for (env, named, var) in [
        (
            vec![("MEND_KIOSK_TOKEN", TOKEN)],
            "--server-url",
            "MEND_KIOSK_SERVER_URL",
        ),
        (
            vec![
                ("MEND_KIOSK_SERVER_URL", "mend.example.com"),
                ("MEND_KIOSK_TOKEN", TOKEN),
            ],
            "--server-url",
            "MEND_KIOSK_SERVER_URL",
        ),
        (
            vec![
                ("MEND_KIOSK_SERVER_URL", "https://mend.example.com"),
                ("MEND_KIOSK_TOKEN", "password"),
            ],
            "--token",
            "MEND_KIOSK_TOKEN",
        ),
        (
            vec![
                ("MEND_KIOSK_SERVER_URL", "https://mend.example.com"),
                ("MEND_KIOSK_TOKEN", TOKEN),
                ("MEND_KIOSK_BIND", "everywhere"),
            ],
            "--bind",
            "MEND_KIOSK_BIND",
        ),
    ] {
        let out = kiosk(&dir).envs(env.clone()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {err}");
        assert!(err.contains(named), "{env:?}: {err}");
        // Set up through environment variables, the message names the variable too.
        assert!(err.contains(var), "{env:?}: {err}");
        // The token is never echoed back.
        assert!(!err.contains(TOKEN), "{err}");
    }
}

#[test]
fn it_serves_without_a_server_and_stops_cleanly_on_sigterm_keeping_the_taps() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let start = |dir: &tempfile::TempDir| {
        kiosk(dir)
            .envs([
                ("MEND_KIOSK_SERVER_URL", "http://127.0.0.1:9"),
                ("MEND_KIOSK_TOKEN", TOKEN),
                ("MEND_KIOSK_BIND", &format!("127.0.0.1:{port}")),
                ("MEND_KIOSK_DATA_DIR", "data"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let get = |request_line: &str| -> Option<String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let (line, body) = request_line.split_once('|').unwrap_or((request_line, ""));
        let length = if body.is_empty() {
            String::new()
        } else {
            format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                body.len()
            )
        };
        write!(
            s,
            "{line}\r\nHost: x\r\nConnection: close\r\n{length}\r\n{body}"
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    };
    let wait_up = || {
        let t = Instant::now();
        while get("GET /status HTTP/1.1").is_none() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "the kiosk did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let mut child = start(&dir);
    wait_up();
    let page = get("GET / HTTP/1.1").unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("How was your visit today?"));
    let tap = get("POST /tap HTTP/1.1|rating=2").unwrap();
    assert!(tap.starts_with("HTTP/1.1 303"), "{tap}");

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "no stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");

    // Started again, it still holds the tap it could not send.
    let mut child = start(&dir);
    wait_up();
    let status = get("GET /status HTTP/1.1").unwrap();
    assert!(status.contains("\"buffered\":1"), "{status}");
    child.kill().unwrap();
    child.wait().unwrap();
}
