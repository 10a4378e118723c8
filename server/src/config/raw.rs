//! Gathering the raw strings: defaults are applied later; here only "where did this value
//! come from", so that an error can name it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ConfigError;

/// Every setting: environment variable and its key in `mend.toml`.
pub const VARIABLES: &[(&str, &str)] = &[
    ("MEND_BIND", "bind"),
    ("MEND_DATA_DIR", "data_dir"),
    ("MEND_DATABASE_URL", "database_url"),
    ("MEND_BASE_URL", "base_url"),
    ("MEND_SMTP_URL", "smtp_url"),
    ("MEND_MAIL_FROM", "mail_from"),
    ("MEND_SECRET", "secret"),
    ("MEND_FORM_RATE_LIMIT", "form_rate_limit"),
    ("MEND_FORM_MIN_SECONDS", "form_min_seconds"),
    ("MEND_PHOTO_MAX_MB", "photo_max_mb"),
    ("MEND_TRUSTED_PROXIES", "trusted_proxies"),
    ("MEND_ACK_LINK_HOURS", "ack_link_hours"),
    ("MEND_METRICS_TOKEN", "metrics_token"),
    ("MEND_REQUEST_DEADLINE_SECONDS", "request_deadline_seconds"),
    ("MEND_MAX_REQUESTS_PER_CLIENT", "max_requests_per_client"),
    ("MEND_PSEUDO_LOCALE", "pseudo_locale"),
    ("MEND_API_RATE_LIMIT", "api_rate_limit"),
    ("MEND_WEBHOOK_ALLOW_PRIVATE", "webhook_allow_private"),
    ("MEND_PHOTO_STORE", "photo_store"),
    ("MEND_WORKER", "worker"),
];

#[derive(Debug, Clone)]
enum Origin {
    Env,
    File(PathBuf),
}

#[derive(Debug, Clone, Default)]
pub struct RawConfig {
    values: BTreeMap<&'static str, (String, Origin)>,
    /// `AWS_*` variables (the object store's endpoint, region and credentials), passed on
    /// as they are: the S3 client knows what each means.
    aws: BTreeMap<String, String>,
}

pub struct RawValue<'a> {
    pub value: &'a str,
}

impl RawConfig {
    /// The process environment over the config file (`MEND_CONFIG`, else `./mend.toml`).
    pub fn from_process() -> Result<RawConfig, ConfigError> {
        let explicit = std::env::var_os("MEND_CONFIG").map(PathBuf::from);
        let file = match explicit {
            Some(path) => Some(path),
            None => Some(PathBuf::from("mend.toml")).filter(|p| p.exists()),
        };
        let mut raw = RawConfig::default();
        if let Some(path) = file {
            raw.merge_file(&path)?;
        }
        raw.merge_env(|name| std::env::var(name).ok());
        raw.aws = std::env::vars()
            .filter(|(name, value)| name.starts_with("AWS_") && !value.trim().is_empty())
            .collect();
        Ok(raw)
    }

    /// The `AWS_*` variables given.
    pub fn aws(&self) -> &BTreeMap<String, String> {
        &self.aws
    }

    /// Values given directly, as if they came from the environment (tests, embedding).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> RawConfig {
        let pairs: BTreeMap<&str, &str> = pairs.into_iter().collect();
        let mut raw = RawConfig::default();
        raw.merge_env(|name| pairs.get(name).map(|v| (*v).to_owned()));
        raw.aws = pairs
            .iter()
            .filter(|(name, _)| name.starts_with("AWS_"))
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        raw
    }

    pub fn merge_env(&mut self, lookup: impl Fn(&str) -> Option<String>) {
        for (name, _) in VARIABLES {
            // An empty variable means "not set", as shells make it easy to export one by mistake.
            if let Some(value) = lookup(name).filter(|v| !v.trim().is_empty()) {
                self.values.insert(name, (value, Origin::Env));
            }
        }
    }

    pub fn merge_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(
                format!("MEND_CONFIG ({shown})"),
                format!("cannot read it: {e}"),
            )
        })?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigError::new(&shown, format!("not valid TOML: {}", e.message()))
        })?;
        for (key, value) in table {
            let Some((name, _)) = VARIABLES.iter().find(|(_, k)| *k == key) else {
                let known: Vec<&str> = VARIABLES.iter().map(|(_, k)| *k).collect();
                return Err(ConfigError::new(
                    &shown,
                    format!("unknown setting \"{key}\" (known: {})", known.join(", ")),
                ));
            };
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                _ => {
                    return Err(ConfigError::new(
                        format!("{key} in {shown}"),
                        "must be a string or a whole number",
                    ))
                }
            };
            if !value.trim().is_empty() {
                self.values
                    .insert(name, (value, Origin::File(path.to_owned())));
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<RawValue<'_>> {
        self.values.get(name).map(|(value, _)| RawValue { value })
    }

    /// An error that names the variable, and the file when the value came from one.
    pub fn error(&self, name: &str, problem: impl Into<String>) -> ConfigError {
        let variable = match self.values.get(name) {
            Some((_, Origin::File(path))) => {
                let key = VARIABLES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(name, |(_, k)| *k);
                format!("{name} ({key} in {})", path.display())
            }
            _ => name.to_owned(),
        };
        ConfigError::new(variable, problem)
    }
}
