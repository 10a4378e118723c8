//! The kiosk's settings: flags or `MEND_KIOSK_*` environment variables, checked at start
//! with an error that names the setting.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::error::ContextKind;
use clap::{CommandFactory, Parser};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "mend-kiosk",
    version,
    about = "Mend in-store kiosk: tap to rate, never lose a tap"
)]
pub struct Settings {
    /// The Mend server's public URL, e.g. https://mend.example.com
    #[arg(long, env = "MEND_KIOSK_SERVER_URL", value_parser = parse_server_url)]
    pub server_url: String,

    /// The device token from `mend-server kiosk add` (starts with mk_).
    #[arg(long, env = "MEND_KIOSK_TOKEN", hide_env_values = true, value_parser = parse_token)]
    pub token: String,

    /// Where the local screen is served, for Chromium in kiosk mode.
    #[arg(long, env = "MEND_KIOSK_BIND", default_value = "127.0.0.1:8090")]
    pub bind: SocketAddr,

    /// Where the outbox file lives.
    #[arg(long, env = "MEND_KIOSK_DATA_DIR", default_value = "./kiosk-data")]
    pub data_dir: PathBuf,

    /// Presses within this many seconds of the last counted tap are ignored (0 = count
    /// every press).
    #[arg(long, env = "MEND_KIOSK_REPEAT_SECONDS", default_value_t = 3.0, value_parser = parse_seconds)]
    pub repeat_seconds: f64,

    /// The screen's language when it should differ from the store's (en, ko, ja, pl).
    #[arg(long, env = "MEND_KIOSK_LANGUAGE", value_parser = parse_language)]
    pub language: Option<String>,

    /// Seconds between heartbeats to the server.
    #[arg(long, env = "MEND_KIOSK_HEARTBEAT_SECONDS", default_value_t = 60.0, value_parser = parse_seconds)]
    pub heartbeat_seconds: f64,

    /// The longest wait between retries while the server cannot be reached.
    #[arg(long, env = "MEND_KIOSK_RETRY_MAX_SECONDS", default_value_t = 60.0, value_parser = parse_seconds)]
    pub retry_max_seconds: f64,
}

impl Settings {
    /// The settings from flags and environment. A bad or missing one is reported as clap
    /// reports it, plus the environment variable it can also come from (most kiosks are
    /// set up through a systemd unit's `Environment=` lines, not flags); exit status 2.
    pub fn from_args_and_env() -> Settings {
        Settings::try_parse().unwrap_or_else(|e| {
            let Some(var) = e
                .get(ContextKind::InvalidArg)
                .and_then(|arg| env_var_of(&arg.to_string()))
            else {
                e.exit()
            };
            // Printing to a closed stderr is no reason to go on.
            let _ = e.print();
            eprintln!("note: this setting is the flag above or the environment variable {var}");
            std::process::exit(2)
        })
    }

    pub fn outbox_path(&self) -> PathBuf {
        self.data_dir.join("kiosk.sqlite")
    }

    pub fn repeat_window(&self) -> Duration {
        Duration::from_secs_f64(self.repeat_seconds)
    }
}

/// The environment variable of a flag as clap names it in errors (`--server-url <URL>`).
fn env_var_of(arg: &str) -> Option<String> {
    let long = arg.split_whitespace().next()?.strip_prefix("--")?;
    Settings::command()
        .get_arguments()
        .find(|a| a.get_long() == Some(long))?
        .get_env()?
        .to_str()
        .map(str::to_owned)
}

fn parse_server_url(s: &str) -> Result<String, String> {
    let url = url::Url::parse(s.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http:// or https:// URL with a host".into());
    }
    // The kiosk API's own path, pasted from an older kiosks page, means its server.
    let base = url.as_str().trim_end_matches('/');
    Ok(base
        .strip_suffix("/api/kiosk/v1")
        .unwrap_or(base)
        .to_owned())
}

fn parse_token(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.starts_with("mk_")
        && s.len() > 10
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(s.to_owned())
    } else {
        Err("must be the token `mend-server kiosk add` printed (mk_...)".into())
    }
}

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => Ok(v),
        _ => Err("must be a number of seconds from 0 to 86400".into()),
    }
}

fn parse_language(s: &str) -> Result<String, String> {
    crate::language::parse(s)
        .map(str::to_owned)
        .ok_or_else(|| format!("must be one of {}", crate::language::CODES.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flag_names_its_environment_variable() {
        assert_eq!(
            env_var_of("--server-url <SERVER_URL>").as_deref(),
            Some("MEND_KIOSK_SERVER_URL")
        );
        assert_eq!(
            env_var_of("--retry-max-seconds <RETRY_MAX_SECONDS>").as_deref(),
            Some("MEND_KIOSK_RETRY_MAX_SECONDS")
        );
        assert_eq!(env_var_of("--help"), None);
        assert_eq!(env_var_of("server-url"), None);
    }

    fn parse(args: &[&str]) -> Result<Settings, clap::Error> {
        let mut all = vec!["mend-kiosk"];
        all.extend_from_slice(args);
        Settings::try_parse_from(all)
    }

    const TOKEN: &str = "mk_0123456789abcdef";

    #[test]
    fn defaults_serve_locally_and_ignore_repeats_for_three_seconds() {
        let s = parse(&["--server-url", "https://mend.example/", "--token", TOKEN]).unwrap();
        assert_eq!(s.server_url, "https://mend.example");
        assert_eq!(s.bind.to_string(), "127.0.0.1:8090");
        assert_eq!(s.repeat_window(), Duration::from_secs(3));
        assert_eq!(s.outbox_path(), PathBuf::from("./kiosk-data/kiosk.sqlite"));
    }

    #[test]
    fn the_kiosk_api_path_pasted_as_the_server_url_means_the_server() {
        for given in [
            "https://mend.example/api/kiosk/v1/",
            "https://mend.example/api/kiosk/v1",
            "https://mend.example",
        ] {
            let s = parse(&["--server-url", given, "--token", TOKEN]).unwrap();
            assert_eq!(s.server_url, "https://mend.example", "{given}");
        }
        let s = parse(&[
            "--server-url",
            "https://example.com/mend/",
            "--token",
            TOKEN,
        ])
        .unwrap();
        assert_eq!(s.server_url, "https://example.com/mend");
    }

    #[test]
    fn bad_settings_are_refused_naming_the_setting() {
        for args in [
            vec!["--server-url", "mend.example", "--token", TOKEN],
            vec!["--server-url", "ftp://mend.example", "--token", TOKEN],
            vec!["--server-url", "https://mend.example", "--token", "secret"],
            vec![
                "--server-url",
                "https://m.example",
                "--token",
                TOKEN,
                "--repeat-seconds",
                "-1",
            ],
            vec![
                "--server-url",
                "https://m.example",
                "--token",
                TOKEN,
                "--language",
                "xx",
            ],
            vec![
                "--server-url",
                "https://m.example",
                "--token",
                TOKEN,
                "--bind",
                "nowhere",
            ],
            vec!["--token", TOKEN],
        ] {
            let err = parse(&args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
            let text = err.to_string();
            assert!(text.contains("--"), "{args:?}: {text}");
        }
    }
}
