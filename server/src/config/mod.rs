//! Typed settings: defaults, then an optional `mend.toml`, then `MEND_*` environment
//! variables. Everything is validated here, once, at start; a bad value becomes a
//! [`ConfigError`] that names the variable and says what is wrong.

mod raw;
mod secret_file;

use std::net::SocketAddr;
use std::path::PathBuf;

use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};

pub use raw::RawConfig;

/// One line for the operator: which variable, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(variable: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            variable: variable.into(),
            problem: problem.into(),
        }
    }
}

/// Where the database lives. A PostgreSQL URL may carry a password, so it is kept secret.
#[derive(Debug, Clone)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(SecretString),
}

impl DatabaseUrl {
    pub fn parse(value: &str) -> Result<DatabaseUrl, String> {
        let value = value.trim();
        if let Some(path) = value
            .strip_prefix("sqlite://")
            .or_else(|| value.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err("a sqlite:// URL needs a file path, e.g. sqlite://data/mend.db".into());
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            let parsed =
                url::Url::parse(value).map_err(|e| format!("not a valid PostgreSQL URL ({e})"))?;
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err(
                    "a postgres:// URL needs a host, e.g. postgres://mend@127.0.0.1/mend".into(),
                );
            }
            return Ok(DatabaseUrl::Postgres(SecretString::from(value.to_owned())));
        }
        let scheme = value.split(':').next().unwrap_or_default();
        Err(format!(
            "unsupported database URL scheme \"{scheme}\": use sqlite://PATH or postgres://USER@HOST/DATABASE"
        ))
    }

    /// The URL with any password removed: safe for logs and error messages.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => match url::Url::parse(url.expose_secret()) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("***"));
                    }
                    parsed.to_string()
                }
                Err(_) => "postgres://(unparseable)".into(),
            },
        }
    }
}

/// The key that signs links (status pages, acknowledgements, surveys). Never printed.
#[derive(Clone)]
pub struct SigningKey(SecretString);

impl SigningKey {
    pub const MIN_LEN: usize = 32;

    pub fn parse(value: &str) -> Result<SigningKey, String> {
        let value = value.trim();
        if value.len() < Self::MIN_LEN {
            return Err(format!(
                "too short: use at least {} characters of random text",
                Self::MIN_LEN
            ));
        }
        Ok(SigningKey(SecretString::from(value.to_owned())))
    }

    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey([REDACTED])")
    }
}

/// How long an "I'm on it" link in an alert works, unless MEND_ACK_LINK_HOURS says.
pub const DEFAULT_ACK_LINK_HOURS: u32 = 72;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Offers the test language `qps`, whose every catalog text is marked, to find text
    /// that did not come from the catalogs (for translators and tests).
    pub pseudo_locale: bool,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
    /// Public URL put into QR codes and emails, without a trailing slash. When not set,
    /// it is derived from the address the server listens on.
    pub base_url: Option<String>,
    pub smtp_url: Option<SecretString>,
    pub mail_from: Mailbox,
    pub secret: SigningKey,
    /// Complaints per minute per client; 0 turns the limit off.
    pub form_rate_limit: u32,
    /// A form posted sooner than this after it was rendered is taken for a bot; 0 = off.
    pub form_min_seconds: u32,
    /// REST API requests per minute per token (per instance); 0 turns the limit off.
    pub api_rate_limit: u32,
    /// Webhooks may be delivered to loopback and private addresses (tests, on-premise).
    pub webhook_allow_private: bool,
    /// Largest customer photo accepted, in bytes.
    pub photo_max_bytes: usize,
    /// Where customer photos are kept: the database, or an S3-compatible object store.
    pub photo_store: PhotoStoreSetting,
    pub aws: AwsOptions,
    /// This server also runs the outbox worker (mail, webhooks, escalations, retention,
    /// the photo mover). Off: it only serves HTTP, and `mend-server worker` (or another
    /// instance) does that work.
    pub worker: bool,
    /// Reverse proxies whose `X-Forwarded-For` is believed (for per-client limits).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How long an alert's "I'm on it" link works.
    pub ack_link_hours: u32,
    /// Bearer token for `/metrics`; without one, only clients on this machine may read it.
    pub metrics_token: Option<SecretString>,
    /// How long a request may take to arrive whole (headers and body) before it is cut
    /// off: a client trickling its body must not hold a connection for ever.
    pub request_deadline_seconds: u32,
    /// Requests one client may have in progress at once; beyond it, 429 at once.
    pub max_requests_per_client: u32,
}

/// `MEND_PHOTO_STORE`: `database` (the default) or `s3://BUCKET[/PREFIX]`. The object
/// store's endpoint, region and credentials come from the usual `AWS_*` variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoStoreSetting {
    Database,
    S3 { bucket: String, prefix: String },
}

/// The `AWS_*` variables given (endpoint, region, keys), for the S3 client; kept secret
/// in logs and debug output, since some of them are credentials.
#[derive(Clone, Default)]
pub struct AwsOptions(pub Vec<(String, SecretString)>);

impl std::fmt::Debug for AwsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|(n, _)| n.as_str()).collect();
        write!(f, "AwsOptions({names:?}, values redacted)")
    }
}

impl PhotoStoreSetting {
    pub fn parse(value: &str) -> Result<PhotoStoreSetting, String> {
        let value = value.trim();
        if value.is_empty() || value == "database" {
            return Ok(PhotoStoreSetting::Database);
        }
        let wrong =
            || format!("\"{value}\" is neither \"database\" nor an S3 URL like s3://bucket/prefix");
        let rest = value.strip_prefix("s3://").ok_or_else(wrong)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's rules for bucket names: 3 to 63 lowercase letters, digits, dots and hyphens.
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        let prefix = prefix.trim_matches('/');
        let prefix_ok = prefix.is_empty()
            || prefix
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..")
                && !prefix.chars().any(char::is_control);
        if !bucket_ok || !prefix_ok {
            return Err(wrong());
        }
        Ok(PhotoStoreSetting::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_MAIL_FROM: &str = "Mend <mend@localhost>";
pub const DEFAULT_FORM_RATE_LIMIT: u32 = 10;
pub const DEFAULT_FORM_MIN_SECONDS: u32 = 2;
pub const DEFAULT_API_RATE_LIMIT: u32 = 600;
pub const DEFAULT_PHOTO_MAX_MB: u32 = 8;
pub const DEFAULT_REQUEST_DEADLINE_SECONDS: u32 = 30;
pub const DEFAULT_MAX_REQUESTS_PER_CLIENT: u32 = 64;

impl Settings {
    /// Reads `mend.toml` (from `MEND_CONFIG`, else the working directory, if present) and the
    /// process environment.
    pub fn load() -> Result<Settings, ConfigError> {
        Settings::from_raw(RawConfig::from_process()?)
    }

    pub fn from_raw(raw: RawConfig) -> Result<Settings, ConfigError> {
        let bind = match raw.get("MEND_BIND") {
            None => parse_bind(DEFAULT_BIND),
            Some(v) => parse_bind(v.value),
        }
        .map_err(|p| raw.error("MEND_BIND", p))?;

        let data_dir = PathBuf::from(
            raw.get("MEND_DATA_DIR")
                .map_or(DEFAULT_DATA_DIR, |v| v.value),
        );

        let database = match raw.get("MEND_DATABASE_URL") {
            None => DatabaseUrl::Sqlite(data_dir.join("mend.db")),
            Some(v) => {
                DatabaseUrl::parse(v.value).map_err(|p| raw.error("MEND_DATABASE_URL", p))?
            }
        };

        let base_url = raw
            .get("MEND_BASE_URL")
            .map(|v| parse_base_url(v.value))
            .transpose()
            .map_err(|p| raw.error("MEND_BASE_URL", p))?;

        let smtp_url = raw
            .get("MEND_SMTP_URL")
            .map(|v| parse_smtp_url(v.value))
            .transpose()
            .map_err(|p| raw.error("MEND_SMTP_URL", p))?;

        let mail_from = raw
            .get("MEND_MAIL_FROM")
            .map_or(DEFAULT_MAIL_FROM, |v| v.value)
            .parse::<Mailbox>()
            .map_err(|e| {
                raw.error(
                    "MEND_MAIL_FROM",
                    format!("not an email address like \"Mend <mend@example.com>\" ({e})"),
                )
            })?;

        let form_rate_limit = parse_count(&raw, "MEND_FORM_RATE_LIMIT", DEFAULT_FORM_RATE_LIMIT)?;
        let form_min_seconds =
            parse_count(&raw, "MEND_FORM_MIN_SECONDS", DEFAULT_FORM_MIN_SECONDS)?;
        let api_rate_limit = parse_count(&raw, "MEND_API_RATE_LIMIT", DEFAULT_API_RATE_LIMIT)?;
        let webhook_allow_private = parse_switch(&raw, "MEND_WEBHOOK_ALLOW_PRIVATE")?;

        let request_deadline_seconds = parse_count(
            &raw,
            "MEND_REQUEST_DEADLINE_SECONDS",
            DEFAULT_REQUEST_DEADLINE_SECONDS,
        )?;
        if !(1..=3600).contains(&request_deadline_seconds) {
            return Err(raw.error(
                "MEND_REQUEST_DEADLINE_SECONDS",
                "must be from 1 to 3600 (seconds)",
            ));
        }
        let max_requests_per_client = parse_count(
            &raw,
            "MEND_MAX_REQUESTS_PER_CLIENT",
            DEFAULT_MAX_REQUESTS_PER_CLIENT,
        )?;
        if max_requests_per_client == 0 {
            return Err(raw.error("MEND_MAX_REQUESTS_PER_CLIENT", "must be at least 1"));
        }
        let photo_max_mb = parse_count(&raw, "MEND_PHOTO_MAX_MB", DEFAULT_PHOTO_MAX_MB)?;
        if !(1..=64).contains(&photo_max_mb) {
            return Err(raw.error("MEND_PHOTO_MAX_MB", "must be from 1 to 64 (megabytes)"));
        }
        let trusted_proxies = raw
            .get("MEND_TRUSTED_PROXIES")
            .map_or(Ok(Vec::new()), |v| {
                v.value
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| p.parse::<std::net::IpAddr>().map_err(|_| format!("\"{p}\" is not an IP address (use a comma-separated list of proxy IPs)")))
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|p| raw.error("MEND_TRUSTED_PROXIES", p))?;

        let ack_link_hours = parse_count(&raw, "MEND_ACK_LINK_HOURS", DEFAULT_ACK_LINK_HOURS)?;
        if !(1..=24 * 30).contains(&ack_link_hours) {
            return Err(raw.error("MEND_ACK_LINK_HOURS", "must be from 1 to 720 (hours)"));
        }

        let metrics_token = raw
            .get("MEND_METRICS_TOKEN")
            .map(|v| {
                let t = v.value.trim();
                if t.len() < 16 || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    Err("use at least 16 characters of random text, without spaces")
                } else {
                    Ok(SecretString::from(t.to_owned()))
                }
            })
            .transpose()
            .map_err(|p| raw.error("MEND_METRICS_TOKEN", p))?;

        let pseudo_locale = parse_switch(&raw, "MEND_PSEUDO_LOCALE")?;
        let worker = raw.get("MEND_WORKER").is_none() || parse_switch(&raw, "MEND_WORKER")?;
        let photo_store = raw
            .get("MEND_PHOTO_STORE")
            .map_or(Ok(PhotoStoreSetting::Database), |v| {
                PhotoStoreSetting::parse(v.value)
            })
            .map_err(|p| raw.error("MEND_PHOTO_STORE", p))?;

        let secret = match raw.get("MEND_SECRET") {
            Some(v) => SigningKey::parse(v.value).map_err(|p| raw.error("MEND_SECRET", p))?,
            None => secret_file::load_or_create(&data_dir)?,
        };

        Ok(Settings {
            pseudo_locale,
            bind,
            data_dir,
            database,
            base_url,
            smtp_url,
            mail_from,
            secret,
            form_rate_limit,
            form_min_seconds,
            api_rate_limit,
            webhook_allow_private,
            photo_max_bytes: photo_max_mb as usize * 1024 * 1024,
            photo_store,
            aws: AwsOptions(
                raw.aws()
                    .iter()
                    .map(|(n, v)| (n.clone(), SecretString::from(v.clone())))
                    .collect(),
            ),
            worker,
            trusted_proxies,
            ack_link_hours,
            metrics_token,
            request_deadline_seconds,
            max_requests_per_client,
        })
    }

    /// The public URL: configured, or derived from the listening address.
    pub fn public_base_url(&self) -> String {
        self.base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
    }

    pub fn secret_file(&self) -> PathBuf {
        secret_file::path(&self.data_dir)
    }
}

fn parse_bind(value: &str) -> Result<SocketAddr, String> {
    value.trim().parse::<SocketAddr>().map_err(|_| {
        format!("\"{value}\" is not an address to listen on: use IP:PORT, e.g. 127.0.0.1:8080 or [::]:8080")
    })
}

fn parse_base_url(value: &str) -> Result<String, String> {
    let parsed = url::Url::parse(value.trim()).map_err(|e| {
        format!("\"{value}\" is not a URL ({e}): use e.g. https://mend.example.com")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("\"{value}\" must start with http:// or https://"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("\"{value}\" has no host name"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "\"{value}\" must not have a query (?) or fragment (#)"
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

fn parse_smtp_url(value: &str) -> Result<SecretString, String> {
    // Never echo the value: it may hold the SMTP password.
    let parsed = url::Url::parse(value.trim()).map_err(|e| {
        format!("not a valid URL ({e}): use smtp://USER:PASSWORD@HOST:PORT or smtps://...")
    })?;
    if !matches!(parsed.scheme(), "smtp" | "smtps") {
        return Err(format!(
            "unsupported scheme \"{}\": use smtp:// or smtps://",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host name".into());
    }
    Ok(SecretString::from(value.trim().to_owned()))
}

fn parse_switch(raw: &RawConfig, name: &str) -> Result<bool, ConfigError> {
    match raw.get(name).map(|v| v.value.trim()) {
        None | Some("" | "0" | "false" | "no") => Ok(false),
        Some("1" | "true" | "yes") => Ok(true),
        Some(_) => Err(raw.error(name, "use true or false")),
    }
}

fn parse_count(raw: &RawConfig, name: &str, default: u32) -> Result<u32, ConfigError> {
    match raw.get(name) {
        None => Ok(default),
        Some(v) => v.value.trim().parse::<u32>().map_err(|_| {
            raw.error(
                name,
                format!(
                    "\"{}\" is not a whole number from 0 up (0 turns it off)",
                    v.value
                ),
            )
        }),
    }
}

#[cfg(test)]
mod tests;
