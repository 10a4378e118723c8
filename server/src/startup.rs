//! Building the application: open and migrate storage, bind, and wire the routes.
//! Tests use the same path with `MEND_BIND=127.0.0.1:0`.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::db::{Db, DbError};
use crate::web::{routes, AppState};

/// Why the server could not start; each names the setting to fix, in one line.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("MEND_DATABASE_URL: {url}: {}", one_line(.source))]
    Database { url: String, source: DbError },
    #[error("MEND_BIND: cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// libpq's messages span several lines; an operator should get one.
fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Opens the database and applies pending migrations.
pub fn open_database(settings: &Settings) -> Result<Db, StartupError> {
    let err = |source| StartupError::Database {
        url: settings.database.redacted(),
        source,
    };
    let db = Db::open(&settings.database).map_err(err)?;
    let applied = db.migrate().map_err(err)?;
    for version in applied {
        tracing::info!(%version, "migration applied");
    }
    Ok(db)
}

pub struct Application {
    port: u16,
    base_url: String,
    db: Db,
    server: Server,
}

impl Application {
    /// Binds first, so that a taken port is reported before anything is written.
    pub fn build(settings: Settings) -> Result<Application, StartupError> {
        let addr = settings.bind;
        let bind_err = |source| StartupError::Bind { addr, source };
        let listener = TcpListener::bind(addr).map_err(bind_err)?;
        let local = listener.local_addr().map_err(bind_err)?;
        let db = open_database(&settings)?;
        let base_url = settings
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        let state = web::Data::new(AppState {
            db: db.clone(),
            base_url: base_url.clone(),
            settings,
            qr_cache: crate::web::qr_cache::QrCache::new(64 * 1024 * 1024),
        });
        let secret = state.settings.secret.clone();
        let https = base_url.starts_with("https://");
        let server = HttpServer::new(move || {
            App::new()
                .wrap(crate::web::session::middleware(&secret, https))
                .wrap(TracingLogger::default())
                .app_data(state.clone())
                .configure(routes)
        })
        .listen(listener)
        .map_err(bind_err)?
        // SIGTERM and Ctrl-C stop accepting at once and let requests in flight finish.
        .shutdown_timeout(10)
        .run();
        Ok(Application {
            port: local.port(),
            base_url,
            db,
            server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
