//! Mend kiosk agent: the in-store tap-to-rate screen. Taps go to a durable local outbox
//! first ([`outbox`]), a sync loop sends them to the server ([`sync`]), and the screen
//! ([`screen`]) is served to a local Chromium in kiosk mode.

pub mod config;
pub mod language;
pub mod outbox;
pub mod qr;
pub mod screen;
pub mod server_api;
pub mod store;
pub mod sync;

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpServer};
use tokio::sync::Notify;

rust_i18n::i18n!("../locales", fallback = "en");

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `mend-kiosk --version` prints.
pub fn version_line() -> String {
    format!("mend-kiosk {VERSION}")
}

/// Runs the kiosk until SIGINT/SIGTERM: the screen, the sync loop and the heartbeat.
pub async fn run(settings: config::Settings) -> anyhow::Result<()> {
    let outbox_path = settings.outbox_path();
    let outbox = Arc::new(outbox::Outbox::open(&outbox_path)?);
    let store = Arc::new(store::Store::remembered(&outbox));
    let api = server_api::ServerApi::new(&settings.server_url, &settings.token)?;
    let wake = Arc::new(Notify::new());
    let timing = sync::SyncTiming {
        max_retry: Duration::from_secs_f64(settings.retry_max_seconds.max(0.05)),
        heartbeat: Duration::from_secs_f64(settings.heartbeat_seconds.max(1.0)),
        ..sync::SyncTiming::default()
    };
    tracing::info!(
        outbox = %outbox_path.display(),
        buffered = outbox.buffered().unwrap_or(0),
        server = settings.server_url,
        "mend-kiosk {VERSION} serving the screen on http://{}",
        settings.bind
    );

    let sender = tokio::spawn(sync::run(
        outbox.clone(),
        api.clone(),
        store.clone(),
        wake.clone(),
        timing,
    ));
    let beats = tokio::spawn(sync::heartbeats(
        outbox.clone(),
        api.clone(),
        store.clone(),
        timing.heartbeat,
    ));
    let screen = web::Data::new(screen::Screen::new(
        outbox,
        store,
        api,
        wake,
        settings.repeat_window(),
        settings.language.clone(),
    ));
    // One worker: one customer at a time, and a small footprint on a Raspberry Pi.
    let server = HttpServer::new(move || {
        App::new()
            .app_data(screen.clone())
            .configure(screen::routes)
    })
    .workers(1)
    .bind(settings.bind)?
    .run();
    let result = server.await;
    sender.abort();
    beats.abort();
    Ok(result?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_line_names_the_program_and_its_version() {
        assert_eq!(
            super::version_line(),
            format!("mend-kiosk {}", env!("CARGO_PKG_VERSION"))
        );
    }
}
