//! Building the application: open and migrate storage, bind, and wire the routes.
//! Tests use the same path with `MEND_BIND=127.0.0.1:0`.

use std::net::TcpListener;

use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::db::{Db, DbError};
use crate::domain::alert::AlertContext;
use crate::domain::clock::Clock;
use crate::jobs::mailer::Mailer;
use crate::jobs::outbox::{OutboxWaker, OutboxWorker};
use crate::jobs::photo_store::{PhotoStore, PhotoStoreError};
use crate::jobs::scans::{ScanCounter, FLUSH_EVERY};
use crate::web::{routes, AppState};

/// Why the server could not start; each names the setting to fix, in one line.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("MEND_DATABASE_URL: {url}: {}", one_line(.source))]
    Database { url: String, source: DbError },
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("MEND_BIND: cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    #[error("webhooks: cannot set up the HTTP client: {0}")]
    Webhooks(String),
    #[error("MEND_PHOTO_STORE: {0}")]
    PhotoStore(String),
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
    open_database_with(settings, Db::open)
}

/// [`open_database`] for a command that does its work and exits (no warm connections).
pub fn open_database_for_command(settings: &Settings) -> Result<Db, StartupError> {
    open_database_with(settings, Db::open_for_command)
}

fn open_database_with(
    settings: &Settings,
    open: fn(&crate::config::DatabaseUrl) -> Result<Db, crate::db::DbError>,
) -> Result<Db, StartupError> {
    let err = |source| StartupError::Database {
        url: settings.database.redacted(),
        source,
    };
    let db = open(&settings.database).map_err(err)?;
    let applied = db.migrate().map_err(err)?;
    for version in applied {
        tracing::info!(%version, "migration applied");
    }
    Ok(db)
}

/// At start, with an object store: wrong credentials or a missing bucket stop the process
/// with one line; a store that does not answer is only warned about (its photos wait in
/// the database, and complaints are taken meanwhile).
pub async fn check_photo_store(photos: &PhotoStore) -> Result<(), StartupError> {
    match photos.check().await {
        Ok(()) => Ok(()),
        Err(e @ PhotoStoreError::Unreachable { .. }) => {
            tracing::warn!(error = %e, "photos are kept in the database until the photo store answers");
            Ok(())
        }
        Err(e) => Err(StartupError::PhotoStore(e.to_string())),
    }
}

/// The outbox worker of a server (or of `mend-server worker`), not yet running.
pub fn outbox_worker(
    settings: &Settings,
    db: Db,
    base_url: String,
    clock: Clock,
    waker: OutboxWaker,
) -> Result<OutboxWorker, StartupError> {
    let mailer = Mailer::from_settings(settings)?;
    let webhooks = crate::jobs::webhooks::WebhookSender::new(settings.webhook_allow_private)
        .map_err(|e| StartupError::Webhooks(e.to_string()))?;
    let photos = PhotoStore::open(
        &settings.photo_store,
        &settings.aws,
        db.clone(),
        settings.data_dir.clone(),
    )
    .map_err(|e| StartupError::PhotoStore(e.to_string()))?;
    Ok(OutboxWorker {
        photos,
        db,
        webhooks: Arc::new(webhooks),
        mailer: Arc::new(mailer),
        ctx: AlertContext::new(settings, base_url, clock),
        waker,
    })
}

pub struct Application {
    port: u16,
    base_url: String,
    db: Db,
    scans: Arc<ScanCounter>,
    clock: Clock,
    waker: OutboxWaker,
    worker: OutboxWorker,
    /// False: `MEND_WORKER=false`, this instance only serves.
    runs_worker: bool,
    server: Server,
}

/// No scripts, no other hosts, no framing, no referrer (status links carry a token).
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
        // Pages carry a form stamp, a status token or a session: a shared cache in front
        // must never hand one customer's page to the next. Responses that may be cached
        // (QR codes) say so themselves; a default only fills in a header that is missing.
        .add(("Cache-Control", "no-store"));
    if https {
        // Served over https (behind a TLS proxy): browsers keep to https for a year.
        headers.add(("Strict-Transport-Security", "max-age=31536000"))
    } else {
        headers
    }
}

impl Application {
    /// Binds first, so that a taken port is reported before anything is written.
    pub fn build(settings: Settings) -> Result<Application, StartupError> {
        let addr = settings.bind;
        let settings_worker = settings.worker;
        if settings.pseudo_locale {
            crate::domain::language::enable_pseudo();
        }
        let bind_err = |source| StartupError::Bind { addr, source };
        let listener = TcpListener::bind(addr).map_err(bind_err)?;
        let local = listener.local_addr().map_err(bind_err)?;
        let db = open_database(&settings)?;
        let base_url = settings
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        let scans = Arc::new(ScanCounter::default());
        let clock = Clock::system();
        let waker = OutboxWaker::default();
        let worker = outbox_worker(
            &settings,
            db.clone(),
            base_url.clone(),
            clock.clone(),
            waker.clone(),
        )?;
        let metrics = crate::web::metrics::Metrics::new()?;
        let state = web::Data::new(AppState {
            db: db.clone(),
            base_url: base_url.clone(),
            form_rate_limit: crate::web::rate_limit::FormRateLimit::per_minute(
                settings.form_rate_limit,
            ),
            api_rate_limit: crate::web::rate_limit::KeyedLimit::per_minute(settings.api_rate_limit),
            login_rate_limit: crate::web::rate_limit::LoginRateLimit::default(),
            reset_rate_limit: crate::web::rate_limit::ResetRateLimit::default(),
            in_flight: crate::web::limits::InFlight::default(),
            password_set_rate_limit: crate::web::rate_limit::KeyedLimit::per_minute(
                crate::web::rate_limit::PASSWORD_SETS_PER_CLIENT,
            ),
            photo_store: worker.photos.clone(),
            photos: crate::jobs::photos::PhotoDecoder::new(db.clone(), settings.photo_max_bytes),
            settings,
            qr_cache: crate::web::qr_cache::QrCache::new(64 * 1024 * 1024),
            scans: scans.clone(),
            places: crate::web::public::form::PlaceCache::new(10_000),
            intake: crate::jobs::intake::IntakeQueue::start(
                db.clone(),
                worker.ctx.clone(),
                waker.clone(),
                metrics.intake.clone(),
            ),
            clock: clock.clone(),
            outbox_waker: waker.clone(),
            metrics,
        });
        let secret = state.settings.secret.clone();
        let https = base_url.starts_with("https://");
        // actix runs one worker (a runtime with its own blocking pool) per core.
        let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let blocking_threads = (db.max_connections() as usize).div_ceil(workers).max(1);
        let server = HttpServer::new(move || {
            App::new()
                // Error pages in the reader's language (the error cannot see the request).
                .wrap(actix_web::middleware::from_fn(
                    crate::web::reader::localize_errors,
                ))
                .wrap(crate::web::session::middleware(&secret, https))
                // A bug that panics answers 500 instead of dropping the connection.
                .wrap(actix_web_lab::middleware::CatchPanic::default())
                .wrap(security_headers(https))
                .wrap(Compress::default())
                .wrap(TracingLogger::<crate::web::log_span::RedactedRootSpan>::new())
                .wrap(actix_web::middleware::from_fn(crate::web::metrics::record))
                .wrap(actix_web::middleware::from_fn(crate::web::limits::enforce))
                .app_data(state.clone())
                .configure(routes)
        })
        // Database work runs on blocking threads; beyond one per pooled connection they only
        // wait for a connection. At the default (hundreds) 200 concurrent status pages made
        // 236 threads that spent a quarter of the CPU switching between each other. The limit
        // is per worker: all workers together get one thread per pooled connection.
        .workers(workers)
        .worker_max_blocking_threads(blocking_threads)
        .listen(listener)
        .map_err(bind_err)?
        // SIGTERM and Ctrl-C stop accepting at once and let requests in flight finish.
        .shutdown_timeout(10)
        .run();
        Ok(Application {
            port: local.port(),
            base_url,
            db,
            scans,
            clock,
            waker,
            runs_worker: settings_worker,
            worker,
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

    /// Where photos are kept (tests drain its mover, then assert).
    pub fn photo_store(&self) -> &PhotoStore {
        &self.worker.photos
    }

    /// The time the workers and links go by; tests move it forward.
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    /// Wakes the outbox worker (it also polls once a second).
    pub fn outbox_waker(&self) -> OutboxWaker {
        self.waker.clone()
    }

    /// Form views counted but not yet written.
    pub fn scan_counter(&self) -> Arc<ScanCounter> {
        self.scans.clone()
    }

    /// Serves until stopped (SIGTERM, Ctrl-C, or the handle), writing scan counts every
    /// few seconds and once more at the end, with the outbox worker beside it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (db, scans) = (self.db.clone(), self.scans.clone());
        let flush = move || {
            let (db, scans) = (db.clone(), scans.clone());
            async move {
                let written = tokio::task::spawn_blocking(move || scans.flush(&db)).await;
                if let Ok(Err(e)) = written {
                    tracing::warn!(error = %e, "scan counts not written yet; will retry");
                }
            }
        };
        let flush_loop = {
            let flush = flush.clone();
            async move {
                loop {
                    tokio::time::sleep(FLUSH_EVERY).await;
                    flush().await;
                }
            }
        };
        // Cases from before the search index are indexed beside serving, a batch per
        // short transaction.
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            match crate::domain::case::search::catch_up(&db, 2_000) {
                Ok(0) => {}
                Ok(n) => tracing::info!(cases = n, "search index caught up"),
                Err(e) => {
                    tracing::warn!(error = %e, "search index not caught up; next start retries")
                }
            }
        });
        // Photo files from before the photo store are brought in beside serving; until
        // then they are read from where they are.
        let (db, dir) = (self.db.clone(), self.worker.photos.data_dir().to_owned());
        tokio::task::spawn_blocking(move || {
            let files = crate::jobs::photo_store::photo_files(&dir).len();
            if files == 0 {
                return;
            }
            tracing::info!(
                files,
                "bringing photo files from the data dir into the photo store"
            );
            let every = (files / 10).max(1);
            let done = crate::jobs::photo_store::import_files(&db, &dir, None, |n, total| {
                if n % every == 0 {
                    tracing::info!(done = n, of = total, "photo files brought in");
                }
            });
            match done {
                Ok(d) => tracing::info!(files = d.files, bytes = d.bytes, "photo files brought in"),
                Err(e) => {
                    tracing::warn!(error = %e, "photo files not all brought in; next start goes on")
                }
            }
        });
        let runs_worker = self.runs_worker;
        let worker = async move {
            if runs_worker {
                self.worker.run().await;
            } else {
                tracing::info!(
                    "MEND_WORKER is off: mail, webhooks and photos are another process's work"
                );
                std::future::pending::<()>().await;
            }
        };
        let result = tokio::select! {
            result = self.server => result,
            () = flush_loop => Ok(()),
            () = worker => Ok(()),
        };
        flush().await;
        result
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{test, web, App};

    #[actix_web::test]
    async fn a_panicking_handler_answers_500_and_the_server_keeps_serving() {
        let app = test::init_service(
            App::new()
                .wrap(actix_web_lab::middleware::CatchPanic::default())
                .route(
                    "/boom",
                    web::get().to(|| async { panic!("a bug") as &'static str }),
                )
                .route("/fine", web::get().to(|| async { "fine" })),
        )
        .await;
        // The middleware turns the panic into an error, which the server answers as a 500.
        let err = test::try_call_service(&app, test::TestRequest::get().uri("/boom").to_request())
            .await
            .expect_err("the panic became an error");
        assert_eq!(err.as_response_error().status_code(), 500);
        let res =
            test::call_service(&app, test::TestRequest::get().uri("/fine").to_request()).await;
        assert_eq!(res.status(), 200);
    }
}
