use super::*;

fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    Settings::from_raw(RawConfig::from_pairs(pairs.iter().copied()))
}

fn with_dir(dir: &tempfile::TempDir, pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let data_dir = dir.path().to_str().unwrap_or_default().to_owned();
    let mut all = vec![("MEND_DATA_DIR", data_dir.as_str())];
    all.extend_from_slice(pairs);
    settings(&all)
}

fn error_of(pairs: &[(&str, &str)]) -> ConfigError {
    let dir = tempfile::tempdir().unwrap();
    with_dir(&dir, pairs).unwrap_err()
}

#[test]
fn defaults_give_a_sqlite_file_in_the_data_dir_and_a_local_address() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_dir(&dir, &[]).unwrap();
    assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
    assert!(matches!(&s.database, DatabaseUrl::Sqlite(p) if p == &dir.path().join("mend.db")));
    assert_eq!(s.public_base_url(), "http://127.0.0.1:8080");
    assert_eq!(s.form_rate_limit, DEFAULT_FORM_RATE_LIMIT);
    assert_eq!(s.form_min_seconds, DEFAULT_FORM_MIN_SECONDS);
    assert!(s.smtp_url.is_none());
}

#[test]
fn bad_bind_is_refused_naming_the_variable() {
    let e = error_of(&[("MEND_BIND", "localhost")]);
    assert_eq!(e.variable, "MEND_BIND");
    assert!(e.problem.contains("IP:PORT"), "{e}");
}

#[test]
fn unknown_database_scheme_is_refused_naming_the_variable() {
    let e = error_of(&[("MEND_DATABASE_URL", "mysql://root@localhost/mend")]);
    assert_eq!(e.variable, "MEND_DATABASE_URL");
    assert!(e.problem.contains("\"mysql\""), "{e}");
}

#[test]
fn sqlite_and_postgres_urls_are_told_apart_by_scheme() {
    assert!(
        matches!(DatabaseUrl::parse("sqlite://data/x.db"), Ok(DatabaseUrl::Sqlite(p)) if p == std::path::Path::new("data/x.db"))
    );
    assert!(
        matches!(DatabaseUrl::parse("sqlite:///var/lib/mend.db"), Ok(DatabaseUrl::Sqlite(p)) if p == std::path::Path::new("/var/lib/mend.db"))
    );
    assert!(matches!(
        DatabaseUrl::parse("postgres://u@h/db"),
        Ok(DatabaseUrl::Postgres(_))
    ));
    assert!(matches!(
        DatabaseUrl::parse("postgresql://u@h/db"),
        Ok(DatabaseUrl::Postgres(_))
    ));
    assert!(DatabaseUrl::parse("sqlite://").is_err());
    assert!(DatabaseUrl::parse("postgres:///db").is_err());
}

#[test]
fn a_database_password_never_appears_in_what_is_shown() {
    let url = DatabaseUrl::parse("postgres://mend:hunter2hunter2@db.example/mend").unwrap();
    assert!(!url.redacted().contains("hunter2"));
    assert!(!format!("{url:?}").contains("hunter2"));
}

#[test]
fn base_url_must_be_http_and_loses_its_trailing_slash() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_dir(&dir, &[("MEND_BASE_URL", "https://mend.example.com/")]).unwrap();
    assert_eq!(s.public_base_url(), "https://mend.example.com");
    assert_eq!(
        error_of(&[("MEND_BASE_URL", "ftp://x")]).variable,
        "MEND_BASE_URL"
    );
    assert_eq!(
        error_of(&[("MEND_BASE_URL", "not a url")]).variable,
        "MEND_BASE_URL"
    );
    assert_eq!(
        error_of(&[("MEND_BASE_URL", "https://x/?a=1")]).variable,
        "MEND_BASE_URL"
    );
}

#[test]
fn smtp_url_errors_never_echo_the_password() {
    let e = error_of(&[("MEND_SMTP_URL", "imap://user:sup3rsecret@mail")]);
    assert_eq!(e.variable, "MEND_SMTP_URL");
    assert!(!e.to_string().contains("sup3rsecret"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let s = with_dir(
        &dir,
        &[("MEND_SMTP_URL", "smtps://user:sup3rsecret@mail.example:465")],
    )
    .unwrap();
    assert!(!format!("{s:?}").contains("sup3rsecret"));
}

#[test]
fn mail_from_must_be_a_mailbox() {
    assert_eq!(
        error_of(&[("MEND_MAIL_FROM", "not an address")]).variable,
        "MEND_MAIL_FROM"
    );
    let dir = tempfile::tempdir().unwrap();
    let s = with_dir(&dir, &[("MEND_MAIL_FROM", "Store <alerts@store.example>")]).unwrap();
    assert_eq!(s.mail_from.email.to_string(), "alerts@store.example");
}

#[test]
fn abuse_guards_take_whole_numbers_and_zero_turns_them_off() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_dir(
        &dir,
        &[
            ("MEND_FORM_RATE_LIMIT", "0"),
            ("MEND_FORM_MIN_SECONDS", "0"),
        ],
    )
    .unwrap();
    assert_eq!((s.form_rate_limit, s.form_min_seconds), (0, 0));
    assert_eq!(
        error_of(&[("MEND_FORM_RATE_LIMIT", "-1")]).variable,
        "MEND_FORM_RATE_LIMIT"
    );
    assert_eq!(
        error_of(&[("MEND_FORM_MIN_SECONDS", "soon")]).variable,
        "MEND_FORM_MIN_SECONDS"
    );
}

#[test]
fn a_short_secret_is_refused_and_a_given_one_is_never_printed() {
    assert_eq!(
        error_of(&[("MEND_SECRET", "short")]).variable,
        "MEND_SECRET"
    );
    let dir = tempfile::tempdir().unwrap();
    let key = "k".repeat(40);
    let s = with_dir(&dir, &[("MEND_SECRET", &key)]).unwrap();
    assert!(!format!("{s:?}").contains(&key));
    assert!(
        !dir.path().join("secret").exists(),
        "a given secret is not written to disk"
    );
}

#[test]
fn without_a_secret_one_is_generated_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let first = with_dir(&dir, &[]).unwrap();
    let file = first.secret_file();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let second = with_dir(&dir, &[]).unwrap();
    assert_eq!(first.secret.expose_bytes(), second.secret.expose_bytes());
    assert!(first.secret.expose_bytes().len() >= SigningKey::MIN_LEN);
}

#[test]
fn the_file_is_read_and_the_environment_wins_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mend.toml");
    std::fs::write(
        &file,
        "bind = \"0.0.0.0:9000\"\nform_rate_limit = 3\nform_min_seconds = 5\n",
    )
    .unwrap();
    let mut raw = RawConfig::default();
    raw.merge_file(&file).unwrap();
    let data_dir = dir.path().to_str().unwrap().to_owned();
    raw.merge_env(|name| match name {
        "MEND_FORM_MIN_SECONDS" => Some("1".into()),
        "MEND_DATA_DIR" => Some(data_dir.clone()),
        _ => None,
    });
    let s = Settings::from_raw(raw).unwrap();
    assert_eq!(s.bind.to_string(), "0.0.0.0:9000");
    assert_eq!(s.form_rate_limit, 3);
    assert_eq!(s.form_min_seconds, 1);
}

#[test]
fn a_bad_value_in_the_file_names_the_variable_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mend.toml");
    std::fs::write(&file, "bind = \"nowhere\"\n").unwrap();
    let mut raw = RawConfig::default();
    raw.merge_file(&file).unwrap();
    let e = Settings::from_raw(raw).unwrap_err();
    assert!(e.variable.starts_with("MEND_BIND (bind in "), "{e}");
}

#[test]
fn an_unknown_key_in_the_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mend.toml");
    std::fs::write(&file, "bnd = \"127.0.0.1:1\"\n").unwrap();
    let e = RawConfig::default().merge_file(&file).unwrap_err();
    assert!(e.problem.contains("unknown setting \"bnd\""), "{e}");
}

#[test]
fn photo_size_and_trusted_proxies_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_dir(
        &dir,
        &[
            ("MEND_PHOTO_MAX_MB", "4"),
            ("MEND_TRUSTED_PROXIES", "10.0.0.1, ::1"),
        ],
    )
    .unwrap();
    assert_eq!(s.photo_max_bytes, 4 * 1024 * 1024);
    assert_eq!(s.trusted_proxies.len(), 2);
    assert_eq!(
        error_of(&[("MEND_PHOTO_MAX_MB", "0")]).variable,
        "MEND_PHOTO_MAX_MB"
    );
    assert_eq!(
        error_of(&[("MEND_TRUSTED_PROXIES", "proxy.local")]).variable,
        "MEND_TRUSTED_PROXIES"
    );
}

#[test]
fn the_photo_store_is_the_database_or_an_s3_bucket() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        with_dir(&dir, &[]).unwrap().photo_store,
        PhotoStoreSetting::Database
    );
    assert_eq!(
        with_dir(&dir, &[("MEND_PHOTO_STORE", "s3://mend-photos/eu/main/")])
            .unwrap()
            .photo_store,
        PhotoStoreSetting::S3 {
            bucket: "mend-photos".into(),
            prefix: "eu/main".into()
        }
    );
    assert_eq!(
        PhotoStoreSetting::parse("s3://bucket").unwrap(),
        PhotoStoreSetting::S3 {
            bucket: "bucket".into(),
            prefix: String::new()
        }
    );
    for bad in [
        "s3://",
        "s3://Bucket/x",
        "s3://b/x",
        "s3://bucket/a//b",
        "s3://bucket/../x",
        "/var/photos",
        "gs://bucket",
    ] {
        let e = error_of(&[("MEND_PHOTO_STORE", bad)]);
        assert_eq!(e.variable, "MEND_PHOTO_STORE", "{bad}");
    }
}

#[test]
fn a_server_runs_the_worker_unless_told_not_to() {
    let dir = tempfile::tempdir().unwrap();
    assert!(with_dir(&dir, &[]).unwrap().worker);
    assert!(!with_dir(&dir, &[("MEND_WORKER", "false")]).unwrap().worker);
    assert_eq!(
        error_of(&[("MEND_WORKER", "maybe")]).variable,
        "MEND_WORKER"
    );
}

#[test]
fn the_ack_link_lifetime_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(with_dir(&dir, &[]).unwrap().ack_link_hours, 72);
    let s = with_dir(&dir, &[("MEND_ACK_LINK_HOURS", "24")]).unwrap();
    assert_eq!(s.ack_link_hours, 24);
    for bad in ["0", "721", "a day"] {
        assert_eq!(
            error_of(&[("MEND_ACK_LINK_HOURS", bad)]).variable,
            "MEND_ACK_LINK_HOURS"
        );
    }
}

#[test]
fn an_smtp_url_is_checked_and_never_echoed() {
    let e = error_of(&[("MEND_SMTP_URL", "http://user:s3cret@mail.example")]);
    assert_eq!(e.variable, "MEND_SMTP_URL");
    assert!(!e.problem.contains("s3cret"), "{e}");
}

#[test]
fn request_limits_are_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let s = with_dir(
        &dir,
        &[
            ("MEND_REQUEST_DEADLINE_SECONDS", "5"),
            ("MEND_MAX_REQUESTS_PER_CLIENT", "8"),
        ],
    )
    .unwrap();
    assert_eq!(
        (s.request_deadline_seconds, s.max_requests_per_client),
        (5, 8)
    );
    let s = with_dir(&dir, &[]).unwrap();
    assert_eq!(
        (s.request_deadline_seconds, s.max_requests_per_client),
        (30, 64)
    );
    for (name, bad) in [
        ("MEND_REQUEST_DEADLINE_SECONDS", "0"),
        ("MEND_REQUEST_DEADLINE_SECONDS", "soon"),
        ("MEND_MAX_REQUESTS_PER_CLIENT", "0"),
    ] {
        assert_eq!(error_of(&[(name, bad)]).variable, name);
    }
}
