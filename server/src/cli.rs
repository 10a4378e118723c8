//! The `mend-server` command line: serve (the default), migrate, seed-demo.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rand::Rng;

use crate::config::Settings;
use crate::domain::demo::{seed_demo, DemoStore};
use crate::startup::{open_database, open_database_for_command, Application};

#[derive(Debug, Parser)]
#[command(
    name = "mend-server",
    version,
    about = "Mend: QR-code complaint collection and service recovery"
)]
pub struct Cli {
    /// Create the demo store (if missing) and print its URLs and login before serving.
    #[arg(long)]
    pub demo: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP (what runs when no command is given).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create the demo store, touchpoints and manager (idempotent) and print
    /// `touchpoint <CODE> <URL>` and `login <EMAIL> <PASSWORD>` lines.
    SeedDemo {
        /// Also give demo stores this many days of synthetic history (complaints,
        /// resolutions, survey answers, scans) for the dashboard; stores that already have
        /// theirs are left alone.
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=3660))]
        history: Option<u32>,
        /// How many stores get history.
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=200))]
        stores: u32,
    },
    /// Run only the outbox worker (emails and escalations), without serving HTTP. Any
    /// number may share one PostgreSQL with the servers; each message is sent once.
    Worker,
    /// Show or change a location's alert routing, opening hours, SLA and severity rules.
    Alerts {
        #[command(subcommand)]
        action: AlertsAction,
    },
    /// Create, list, edit and archive stores.
    Location {
        #[command(subcommand)]
        action: LocationAction,
    },
    /// Add, list, retire and replace a store's spots (the QR stickers).
    Touchpoint {
        #[command(subcommand)]
        action: TouchpointAction,
    },
    /// Bring stores (with their spots) or people in from a CSV or XLSX file.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Manage staff accounts: add, list, edit, deactivate, reactivate.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Register, list and revoke in-store kiosks.
    Kiosk {
        #[command(subcommand)]
        action: KioskAction,
    },
    /// Make, list and revoke REST API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Send events to other systems, chats and phones: add, list, rotate, remove.
    Webhook {
        #[command(subcommand)]
        action: WebhookAction,
    },
    /// One customer's data, by email, for a request under the GDPR.
    Customer {
        #[command(subcommand)]
        action: CustomerAction,
    },
    /// Copy the SQLite database to a new FILE while the server runs (consistent, checked).
    /// To restore: stop Mend, put the copy where MEND_DATABASE_URL points (removing any
    /// -wal and -shm files beside it), start Mend.
    Backup {
        /// The new file to write; an existing file is never overwritten.
        file: std::path::PathBuf,
    },
    /// The photo store: bring photo files of an older Mend into it.
    Photos {
        #[command(subcommand)]
        action: PhotosAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum PhotosAction {
    /// Move the photo files under MEND_DATA_DIR/photos (Mend before the photo store) into
    /// the photo store, with a progress bar on a terminal. Safe to stop and run again: it
    /// goes on where it stopped; the server does the same at start. Prints `photos moved
    /// <N> (<BYTES> bytes), <LEFT> left`.
    Import {
        /// Move at most this many files now (the rest on the next run).
        #[arg(long)]
        limit: Option<usize>,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookAction {
    /// Subscribe a URL; prints `webhook <ID> <SECRET>` (the secret signs every delivery,
    /// Standard Webhooks).
    Add {
        #[arg(long)]
        url: String,
        /// Only this store's events (name or reference); default: every store's.
        #[arg(long)]
        location: Option<String>,
        /// Comma-separated: case.created, case.acknowledged, case.assigned, case.updated,
        /// case.resolved, case.reopened, survey.answered, kiosk.unhappy_taps; default: all.
        #[arg(long)]
        events: Option<String>,
        /// standard, slack, teams, google-chat or ntfy.
        #[arg(long, default_value = "standard")]
        format: String,
        /// Payloads carry the customer's email address.
        #[arg(long)]
        with_contact: bool,
    },
    /// One line per subscription: `webhook <ID> <FORMAT> <URL> <STORE|all> <EVENTS> <STATE>`.
    List,
    /// A new secret, printed as `webhook <ID> <SECRET>`; the old one keeps signing for a day.
    Rotate {
        #[arg(long)]
        id: String,
    },
    /// Stop sending to a subscription.
    Remove {
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Make a token acting for the person with this email; prints `token <TOKEN>` (shown
    /// only now: only its hash is kept) and `id <ID>`.
    Add {
        #[arg(long)]
        email: String,
        /// What it is for, e.g. "HR sync".
        #[arg(long)]
        name: String,
        /// read, write (also work cases) or admin (also stores, spots, categories, people;
        /// for admins only).
        #[arg(long, default_value = "read")]
        scope: String,
        /// Limit it to this store (name or reference); repeat for several. Default: all of
        /// the person's stores.
        #[arg(long = "location", value_name = "NAME")]
        locations: Vec<String>,
        /// Days until it stops working; default: it does not expire.
        #[arg(long, value_name = "DAYS")]
        expires_days: Option<i64>,
    },
    /// List tokens: `token <ID> <EMAIL> <SCOPE> "<NAME>" created ..., last used ..., ...`.
    List,
    /// Revoke a token: its requests are refused from now on.
    Revoke {
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KioskAction {
    /// Register a kiosk at a location; prints `kiosk <ID> <TOKEN>`. The token is shown
    /// only now: only its hash is kept.
    Add {
        #[arg(long)]
        location: String,
        /// What staff call it, e.g. "Exit".
        #[arg(long, default_value = "Kiosk")]
        name: String,
    },
    /// List a location's kiosks: id, name, last seen, taps waiting, version, revoked.
    List {
        #[arg(long)]
        location: String,
    },
    /// Revoke a kiosk's token: its requests are refused from now on.
    Revoke {
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum LocationAction {
    /// Create a store; prints `location <ID> <NAME>`.
    Add {
        #[arg(long)]
        name: String,
        /// IANA time zone, e.g. Asia/Seoul.
        #[arg(long)]
        time_zone: String,
        /// en, ko, ja or pl.
        #[arg(long)]
        language: String,
        /// ISO 4217 code (default: the usual one of the time zone's country, else EUR).
        #[arg(long)]
        currency: Option<String>,
        /// Free text for grouping stores, e.g. "Seoul".
        #[arg(long)]
        region: Option<String>,
        /// Your own id for the store, which imports match on.
        #[arg(long = "ref")]
        external_ref: Option<String>,
        #[arg(long)]
        address: Option<String>,
        /// Minutes before an unacknowledged case goes to the managers (default 15).
        #[arg(long)]
        sla_minutes: Option<String>,
    },
    /// One line per store in use: `location <ID> <REF> <NAME> <TIME_ZONE> <LANGUAGE>
    /// <CURRENCY>` (`-` for no reference).
    List {
        /// Archived stores too, their lines ending with `archived`.
        #[arg(long)]
        all: bool,
    },
    /// Change a store (named by reference or name); what is not given stays.
    Edit {
        #[arg(long)]
        location: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        time_zone: Option<String>,
        #[arg(long)]
        language: Option<String>,
        #[arg(long)]
        currency: Option<String>,
        #[arg(long)]
        region: Option<String>,
        #[arg(long = "ref")]
        external_ref: Option<String>,
        #[arg(long)]
        address: Option<String>,
        #[arg(long)]
        sla_minutes: Option<String>,
    },
    /// Archive a store: its history stays; its stickers show a polite page.
    Archive {
        #[arg(long)]
        location: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TouchpointAction {
    /// Add a spot to a store; prints `touchpoint <CODE> <URL>`.
    Add {
        #[arg(long)]
        location: String,
        #[arg(long)]
        label: String,
    },
    /// `touchpoint <CODE> <URL> <LABEL>` for each spot in use (retired ones are left out).
    List {
        #[arg(long)]
        location: String,
    },
    /// Retire a spot by its code (or only a replaced sticker, by the old code).
    Retire {
        #[arg(long)]
        code: String,
    },
    /// A new sticker for a spot; prints the new `touchpoint <CODE> <URL>`. The old code
    /// keeps working until you retire it.
    Replace {
        #[arg(long)]
        code: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// Header `ref,location,region,time_zone,language,currency,touchpoint_ref,touchpoint`,
    /// one row per spot.
    Locations {
        file: std::path::PathBuf,
        /// Say what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Header `email,role,locations,language` (locations: references or names, `;`
    /// between them). New people get an invitation email.
    People {
        file: std::path::PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create an account. The password comes from MEND_NEW_USER_PASSWORD if set, else one
    /// is generated and printed once.
    Add {
        #[arg(long)]
        email: String,
        /// staff, manager or admin.
        #[arg(long)]
        role: String,
        /// A location the person works at, by name (repeatable; not needed for admins).
        #[arg(long = "location")]
        locations: Vec<String>,
        /// The language of their emails: en, ko, ja or pl.
        #[arg(long, default_value = "en")]
        language: String,
    },
    /// One line per person: `user <EMAIL> <ROLE> <LANGUAGE> <STORES;...> active|deactivated`.
    List,
    /// Change someone's role, stores or language.
    Edit {
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: Option<String>,
        /// Store references or names, separated by `;`.
        #[arg(long)]
        locations: Option<String>,
        #[arg(long)]
        language: Option<String>,
    },
    /// Lock someone out at once: sessions end, no more alerts, their open cases go back
    /// to the store's queue.
    Deactivate {
        #[arg(long)]
        email: String,
    },
    Reactivate {
        #[arg(long)]
        email: String,
    },
}

// Parsed once at start; the size of the biggest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum AlertsAction {
    /// Print a location's alert settings.
    Show {
        #[arg(long)]
        location: String,
    },
    /// Change a location's alert settings; what is not given stays as it is.
    Set {
        #[arg(long)]
        location: String,
        /// Addresses alerted when no category rule matches, comma-separated ("" clears).
        #[arg(long)]
        fallback: Option<String>,
        /// `KEY=ADDRESSES` for one category (repeatable; `KEY=` removes the rule).
        #[arg(long = "category")]
        categories: Vec<String>,
        /// Addresses alerted outside opening hours instead ("" clears).
        #[arg(long)]
        after_hours: Option<String>,
        /// In the store's time zone, e.g. "mon-fri 08:00-20:00; sat 09:00-14:00" ("" = always open).
        #[arg(long)]
        hours: Option<String>,
        /// Minutes before an unacknowledged case goes to the store's managers.
        #[arg(long)]
        sla_minutes: Option<u32>,
        /// Minutes after that before it goes to the admins.
        #[arg(long)]
        escalation_minutes: Option<u32>,
        /// Category keys that mark a case severe, comma-separated.
        #[arg(long)]
        severe_categories: Option<String>,
        /// Words that mark a case severe when the customer uses them, comma-separated.
        #[arg(long)]
        severe_keywords: Option<String>,
        /// Root causes offered when resolving a case, comma-separated ("" = the defaults).
        #[arg(long)]
        root_causes: Option<String>,
        /// Minutes after resolution before the satisfaction survey is emailed.
        #[arg(long)]
        survey_delay_minutes: Option<u32>,
        /// Days after resolution before the follow-up check.
        #[arg(long)]
        follow_up_days: Option<u32>,
        /// What an unhappy survey answer does: reopen or flag.
        #[arg(long)]
        unhappy: Option<String>,
        /// The weekly email to the location's managers (key figures and out-of-control
        /// days of the week before, on Monday morning): on or off.
        #[arg(long)]
        weekly_digest: Option<String>,
        /// Unhappy kiosk taps (1 or 2 of 4) that alert the store when they come within
        /// --unhappy-tap-minutes; 0 = never (default 5).
        #[arg(long)]
        unhappy_taps: Option<u32>,
        /// The window for --unhappy-taps, in minutes (default 15).
        #[arg(long)]
        unhappy_tap_minutes: Option<u32>,
        /// Days after resolution before a customer's contact details and photo are erased
        /// and the case kept anonymized (default 180).
        #[arg(long)]
        retention_days: Option<u32>,
    },
}

/// Exit code for anything the operator must fix in configuration.
pub const EXIT_CONFIG: u8 = 2;

pub fn run(cli: Cli) -> ExitCode {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => return fail(EXIT_CONFIG, &e),
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => match open_database_for_command(&settings) {
            Ok(_) => {
                println!("migrations: up to date");
                ExitCode::SUCCESS
            }
            Err(e) => fail(EXIT_CONFIG, &e),
        },
        Command::SeedDemo { history, stores } => {
            let db = match open_database_for_command(&settings) {
                Ok(db) => db,
                Err(e) => return fail(EXIT_CONFIG, &e),
            };
            if let Err(e) = seed_and_print(&settings, &db, &settings.public_base_url()) {
                return fail(1, &e);
            }
            match history.map(|days| seed_history_with_progress(&db, days, stores)) {
                Some(Err(e)) => fail(1, &e),
                _ => ExitCode::SUCCESS,
            }
        }
        Command::Serve => serve(settings, cli.demo),
        Command::Worker => worker(settings),
        Command::Alerts { action } => alerts(&settings, action),
        Command::User { action } => user(&settings, action),
        Command::Location { action } => crate::admin_cli::location(&settings, action),
        Command::Touchpoint { action } => crate::admin_cli::touchpoint(&settings, action),
        Command::Import { what } => crate::admin_cli::import(&settings, what),
        Command::Kiosk { action } => kiosk(&settings, action),
        Command::Token { action } => crate::admin_cli::token(&settings, action),
        Command::Webhook { action } => crate::admin_cli::webhook(&settings, action),
        Command::Backup { file } => backup(&settings, &file),
        Command::Photos {
            action: PhotosAction::Import { limit },
        } => import_photos(&settings, limit),
        Command::Customer { action } => customer(&settings, action),
    }
}

#[derive(Debug, Subcommand)]
pub enum CustomerAction {
    /// Print, as JSON, everything held about the customer with this email (their cases,
    /// what they wrote, survey answers, mail sent to them).
    Export {
        #[arg(long)]
        email: String,
    },
    /// Erase the customer with this email: contact, words, photos, survey comments, the
    /// address on mail; the cases stay, anonymized.
    Erase {
        #[arg(long)]
        email: String,
    },
}

fn customer(settings: &Settings, action: CustomerAction) -> ExitCode {
    use crate::domain::privacy::customer_data::{erase, export, CustomerDataError};
    let db = match open_database_for_command(settings) {
        Ok(db) => db,
        Err(e) => return fail(EXIT_CONFIG, &e),
    };
    let result = match action {
        CustomerAction::Export { email } => export(&db, &email).and_then(|data| {
            serde_json::to_string_pretty(&data).map_err(|e| CustomerDataError::Db(e.into()))
        }),
        CustomerAction::Erase { email } => erase(
            &db,
            &settings.data_dir,
            &email,
            chrono::Utc::now().naive_utc(),
        )
        .map(|e| {
            format!(
                "erased {} cases, {} surveys, {} emails' addresses, {} photos",
                e.cases, e.surveys, e.emails, e.photos_deleted
            )
        }),
    };
    match result {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e @ CustomerDataError::NotAnEmail(_)) => fail(EXIT_CONFIG, &e),
        Err(e) => fail(1, &e),
    }
}

fn backup(settings: &Settings, file: &std::path::Path) -> ExitCode {
    use crate::db::backup::{sqlite_backup, BackupError};
    let db = match open_database_for_command(settings) {
        Ok(db) => db,
        Err(e) => return fail(EXIT_CONFIG, &e),
    };
    match sqlite_backup(&db, file) {
        Ok(b) => {
            println!(
                "backup {} ({} bytes, {} cases, integrity ok)",
                b.path.display(),
                b.bytes,
                b.cases
            );
            ExitCode::SUCCESS
        }
        Err(e @ (BackupError::Exists(_) | BackupError::Postgres)) => fail(EXIT_CONFIG, &e),
        Err(e) => fail(1, &e),
    }
}

fn alerts(settings: &Settings, action: AlertsAction) -> ExitCode {
    use crate::domain::alert::settings::{self, AlertSettingsChange, AlertSettingsError};
    let db = match open_database_for_command(settings) {
        Ok(db) => db,
        Err(e) => return fail(EXIT_CONFIG, &e),
    };
    let result = match action {
        AlertsAction::Show { location } => settings::show(&db, &location),
        AlertsAction::Set {
            location,
            fallback,
            categories,
            after_hours,
            hours,
            sla_minutes,
            escalation_minutes,
            severe_categories,
            severe_keywords,
            root_causes,
            survey_delay_minutes,
            follow_up_days,
            unhappy,
            weekly_digest,
            unhappy_taps,
            unhappy_tap_minutes,
            retention_days,
        } => settings::apply(
            &db,
            &location,
            &AlertSettingsChange {
                fallback,
                categories,
                after_hours,
                opening_hours: hours,
                sla_minutes,
                escalation_minutes,
                severe_categories,
                severe_keywords,
                root_causes,
                survey_delay_minutes,
                follow_up_days,
                unhappy,
                weekly_digest,
                unhappy_taps,
                unhappy_tap_minutes,
                retention_days,
            },
        ),
    };
    match result {
        Ok(shown) => {
            println!("{shown}");
            ExitCode::SUCCESS
        }
        Err(e @ (AlertSettingsError::Invalid(_) | AlertSettingsError::NoSuchLocation(_))) => {
            fail(EXIT_CONFIG, &e)
        }
        Err(e) => fail(1, &e),
    }
}

fn user(settings: &Settings, action: UserAction) -> ExitCode {
    use crate::domain::account::{add_user, AccountError, NewUser};
    let UserAction::Add {
        email,
        role,
        locations,
        language,
    } = action
    else {
        return crate::admin_cli::people(settings, action);
    };
    let db = match open_database_for_command(settings) {
        Ok(db) => db,
        Err(e) => return fail(EXIT_CONFIG, &e),
    };
    let (password, generated) = match std::env::var("MEND_NEW_USER_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (random_password(), true),
    };
    let new = NewUser {
        email,
        role,
        locations,
        language,
        password: password.clone(),
    };
    match add_user(&db, &new) {
        Ok(user) => {
            println!("user {} {}", user.email, user.role);
            if generated {
                println!("password {password}");
            }
            ExitCode::SUCCESS
        }
        Err(e @ AccountError::Invalid(_)) => fail(EXIT_CONFIG, &e),
        Err(e) => fail(1, &e),
    }
}

fn kiosk(settings: &Settings, action: KioskAction) -> ExitCode {
    use crate::domain::kiosk::{register, KioskAdminError};
    let db = match open_database_for_command(settings) {
        Ok(db) => db,
        Err(e) => return fail(EXIT_CONFIG, &e),
    };
    let now = crate::db::models::now_utc();
    let mut out = std::io::stdout().lock();
    match action {
        KioskAction::Add { location, name } => match register(&db, &location, &name, now) {
            Ok((device, token)) => {
                let _ = writeln!(out, "kiosk {} {token}", device.id);
                ExitCode::SUCCESS
            }
            Err(
                e @ (KioskAdminError::Invalid(_)
                | KioskAdminError::BadName
                | KioskAdminError::NoSuchLocation(_)),
            ) => fail(EXIT_CONFIG, &e),
            Err(e) => fail(1, &e),
        },
        KioskAction::List { location } => {
            let listed =
                db.read(
                    |c| match crate::db::queries::locations::find_by_name(c, &location)? {
                        Some(l) => crate::db::queries::kiosks::for_location(c, &l.id).map(Some),
                        None => Ok(None),
                    },
                );
            match listed {
                Ok(Some(devices)) => {
                    for d in devices {
                        let seen = d
                            .last_seen_at
                            .map_or("never".to_owned(), |t| format!("{t} UTC"));
                        let _ = writeln!(
                            out,
                            "kiosk {} \"{}\" last seen {seen}, {} taps waiting, version {}{}",
                            d.id,
                            d.name,
                            d.buffered,
                            d.version.as_deref().unwrap_or("-"),
                            if d.revoked_at.is_some() {
                                ", revoked"
                            } else {
                                ""
                            }
                        );
                    }
                    ExitCode::SUCCESS
                }
                Ok(None) => fail(EXIT_CONFIG, &KioskAdminError::NoSuchLocation(location)),
                Err(e) => fail(1, &e),
            }
        }
        KioskAction::Revoke { id } => {
            match db.write(|c| {
                crate::db::queries::kiosks::revoke(c, &id, now).map_err(crate::db::DbError::from)
            }) {
                Ok(true) => {
                    let _ = writeln!(out, "revoked {id}");
                    ExitCode::SUCCESS
                }
                Ok(false) => fail(
                    EXIT_CONFIG,
                    &KioskAdminError::Invalid(format!("no active kiosk has the id {id}")),
                ),
                Err(e) => fail(1, &e),
            }
        }
    }
}

fn random_password() -> String {
    const CHARS: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

fn worker(settings: Settings) -> ExitCode {
    if settings.base_url.is_none() {
        tracing::warn!(
            "MEND_BASE_URL is not set: links in emails will point at {}, not at your servers",
            settings.public_base_url()
        );
    }
    actix_web::rt::System::new().block_on(async move {
        let db = match open_database(&settings) {
            Ok(db) => db,
            Err(e) => return fail(EXIT_CONFIG, &e),
        };
        let worker = match crate::startup::outbox_worker(
            &settings,
            db,
            settings.public_base_url(),
            crate::domain::clock::Clock::system(),
            crate::jobs::outbox::OutboxWaker::default(),
        ) {
            Ok(w) => w,
            Err(e) => return fail(EXIT_CONFIG, &e),
        };
        if let Err(e) = crate::startup::check_photo_store(&worker.photos).await {
            return fail(EXIT_CONFIG, &e);
        }
        tokio::select! {
            () = worker.run() => {}
            () = stop_signal() => tracing::info!("worker stopped"),
        }
        ExitCode::SUCCESS
    })
}

/// SIGTERM or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// With no account yet, prints (and logs) the one-time setup link a newcomer opens.
async fn print_setup_link(app: &Application, secret: &crate::config::SigningKey) {
    use crate::domain::setup::first_run;
    let db = app.db().clone();
    match actix_web::web::block(move || first_run::needs_setup(&db)).await {
        Ok(Ok(true)) => {
            let link = first_run::link(
                app.base_url(),
                secret.expose_bytes(),
                crate::db::models::now_utc(),
            );
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "setup {link}");
            let _ = out.flush();
            tracing::info!(
                %link,
                hours = first_run::SETUP_LINK_HOURS,
                "no account yet: open the setup link to create the first admin and store"
            );
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "could not check for a first run"),
        _ => {}
    }
}

fn serve(settings: Settings, demo: bool) -> ExitCode {
    let data_dir = settings.data_dir.clone();
    let settings_secret = settings.secret.clone();
    actix_web::rt::System::new().block_on(async move {
        let app = match Application::build(settings.clone()) {
            Ok(app) => app,
            Err(e) => return fail(EXIT_CONFIG, &e),
        };
        if let Err(e) = crate::startup::check_photo_store(app.photo_store()).await {
            return fail(EXIT_CONFIG, &e);
        }
        if demo {
            let (db, base) = (app.db().clone(), app.base_url().to_owned());
            let seeded = actix_web::web::block(move || seed_and_print(&settings, &db, &base)).await;
            match seeded {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return fail(1, &e),
                Err(e) => return fail(1, &e),
            }
        }
        if !demo {
            print_setup_link(&app, &settings_secret).await;
        }
        tracing::info!(
            url = %app.base_url(),
            backend = app.db().backend().name(),
            data_dir = %data_dir.display(),
            photos = %app.photo_store().describe(),
            "Mend is serving"
        );
        match app.run_until_stopped().await {
            Ok(()) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(e) => fail(1, &e),
        }
    })
}

fn seed_and_print(settings: &Settings, db: &crate::db::Db, base_url: &str) -> anyhow::Result<()> {
    let password = demo_password(&settings.data_dir)?;
    let store = seed_demo(db, base_url, &password)?;
    print_demo(&store, &password);
    Ok(())
}

fn import_photos(settings: &Settings, limit: Option<usize>) -> ExitCode {
    let db = match open_database_for_command(settings) {
        Ok(db) => db,
        Err(e) => return fail(EXIT_CONFIG, &e),
    };
    let dir = &settings.data_dir;
    let total = crate::jobs::photo_store::photo_files(dir).len();
    let bar = indicatif::ProgressBar::new(limit.map_or(total, |l| l.min(total)) as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("photos [{bar:40}] {pos}/{len}, {eta} left")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    let done = crate::jobs::photo_store::import_files(&db, dir, limit, |n, _| {
        bar.set_position(n as u64);
    });
    bar.finish_and_clear();
    match done {
        Ok(d) => {
            println!(
                "photos moved {} ({} bytes), {} left",
                d.files, d.bytes, d.left
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(1, &e),
    }
}

/// History for the demo stores, with a progress bar on a terminal (indicatif: the
/// progress bar crate Rust command lines use; it hides itself when stderr is not a tty).
fn seed_history_with_progress(db: &crate::db::Db, days: u32, stores: u32) -> anyhow::Result<()> {
    use crate::domain::demo::history::{seed_history, HistoryPlan};
    let bar = indicatif::ProgressBar::new(u64::from(days) * u64::from(stores));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} store-days, {eta} left",
        )?
        .progress_chars("=> "),
    );
    bar.set_message("history");
    let plan = HistoryPlan {
        days,
        stores,
        seed: 2026,
    };
    let now = crate::db::models::now_utc();
    let report = seed_history(
        db,
        plan,
        now,
        crate::domain::demo::MANAGER_EMAIL,
        &mut |done, _| bar.set_position(done),
    )?;
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    for name in &report.already_there {
        let _ = writeln!(out, "history already there: {name}");
    }
    let _ = writeln!(
        out,
        "history {} stores, {} complaints, {} survey answers, {days} days",
        report.stores.len(),
        report.cases,
        report.answers
    );
    let _ = out.flush();
    Ok(())
}

fn print_demo(store: &DemoStore, password: &str) {
    let mut out = std::io::stdout().lock();
    for t in &store.touchpoints {
        let _ = writeln!(out, "touchpoint {} {}", t.code, t.url);
    }
    let _ = writeln!(out, "login {} {}", store.manager_email, password);
    let _ = out.flush();
}

const DEMO_PASSWORD_FILE: &str = "demo-password";

/// `MEND_DEMO_PASSWORD` if set; else the one generated by an earlier run (kept in the data
/// dir, owner-only), so that seeding twice prints the same login.
fn demo_password(data_dir: &Path) -> anyhow::Result<String> {
    if let Some(p) = std::env::var("MEND_DEMO_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    {
        return Ok(p);
    }
    let file = data_dir.join(DEMO_PASSWORD_FILE);
    if let Ok(p) = std::fs::read_to_string(&file) {
        if !p.trim().is_empty() {
            return Ok(p.trim().to_owned());
        }
    }
    let password = random_password();
    std::fs::create_dir_all(data_dir)?;
    write_owner_only(&file, &password)?;
    Ok(password)
}

#[cfg(unix)]
fn write_owner_only(file: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_owner_only(file: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(file, text)
}

pub(crate) fn fail(code: u8, e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("mend-server: {e}");
    ExitCode::from(code)
}
