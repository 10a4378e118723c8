//! The administration commands (`location`, `touchpoint`, `import`, `user list|edit|
//! deactivate|reactivate`): each prints the lines the contract names, or one clear error
//! line per problem and exit code 2 with nothing stored.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{
    fail, ImportWhat, LocationAction, TokenAction, TouchpointAction, UserAction, WebhookAction,
    EXIT_CONFIG,
};
use crate::config::Settings;
use crate::db::models::now_utc;
use crate::db::Db;
use crate::domain::setup::import::{self, ImportError};
use crate::domain::setup::people::{self, PersonChange};
use crate::domain::setup::stores::{self, StoreChange, StoreInput};
use crate::domain::setup::{spots, Actor, SetupError};
use crate::startup::open_database_for_command as open_database;

fn open(settings: &Settings) -> Result<Db, ExitCode> {
    open_database(settings).map_err(|e| fail(EXIT_CONFIG, &e))
}

/// Bad input and unknown names exit 2; anything else (the database) exits 1.
fn setup_failed(e: &SetupError) -> ExitCode {
    match e {
        SetupError::Invalid(_) | SetupError::NotFound(_) => fail(EXIT_CONFIG, e),
        SetupError::Db(_) | SetupError::Password(_) => fail(1, e),
    }
}

fn print(lines: &[String]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    let _ = out.flush();
    ExitCode::SUCCESS
}

pub fn location(settings: &Settings, action: LocationAction) -> ExitCode {
    let db = match open(settings) {
        Ok(db) => db,
        Err(code) => return code,
    };
    let actor = Actor::CommandLine;
    let result = match action {
        LocationAction::Add {
            name,
            time_zone,
            language,
            currency,
            region,
            external_ref,
            address,
            sla_minutes,
        } => stores::add(
            &db,
            &actor,
            &StoreInput {
                name,
                address,
                region,
                time_zone,
                language,
                currency,
                sla_minutes,
                external_ref,
            },
        )
        .map(|s| vec![format!("location {} {}", s.id, s.name)]),
        LocationAction::List { all: with_archived } => db
            .read(crate::db::queries::stores::all)
            .map_err(SetupError::from)
            .map(|all| {
                all.into_iter()
                    .filter(|s| with_archived || s.archived_at.is_none())
                    .map(|s| {
                        format!(
                            "location {} {} {} {} {} {}{}",
                            s.id,
                            s.external_ref.as_deref().unwrap_or("-"),
                            s.name,
                            s.time_zone,
                            s.default_language,
                            s.currency,
                            if s.archived_at.is_some() {
                                " archived"
                            } else {
                                ""
                            }
                        )
                    })
                    .collect()
            }),
        LocationAction::Edit {
            location,
            name,
            time_zone,
            language,
            currency,
            region,
            external_ref,
            address,
            sla_minutes,
        } => stores::named(&db, &location)
            .and_then(|store| {
                stores::edit(
                    &db,
                    &actor,
                    &store.id,
                    &StoreChange {
                        name,
                        address,
                        region,
                        time_zone,
                        language,
                        currency,
                        sla_minutes,
                        external_ref,
                    },
                )
            })
            .map(|s| vec![format!("location {} {}", s.id, s.name)]),
        LocationAction::Archive { location } => stores::named(&db, &location)
            .and_then(|store| stores::set_archived(&db, &actor, &store.id, true))
            .map(|s| vec![format!("archived {} {}", s.id, s.name)]),
    };
    match result {
        Ok(lines) => print(&lines),
        Err(e) => setup_failed(&e),
    }
}

pub fn touchpoint(settings: &Settings, action: TouchpointAction) -> ExitCode {
    let db = match open(settings) {
        Ok(db) => db,
        Err(code) => return code,
    };
    let base = settings.public_base_url();
    let actor = Actor::CommandLine;
    let url = |code: &str| format!("{base}/t/{code}");
    let result = match action {
        TouchpointAction::Add { location, label } => stores::named(&db, &location)
            .and_then(|store| spots::add(&db, &actor, &store.id, &label))
            .map(|s| vec![format!("touchpoint {} {}", s.code, url(&s.code))]),
        TouchpointAction::List { location } => db
            .read(|c| {
                Ok(match stores::resolve(c, &location) {
                    Ok(store) => spots::in_use(c, &store.id).map_err(SetupError::from),
                    Err(e) => Err(e),
                })
            })
            .map_err(SetupError::from)
            .and_then(|r| r)
            .map(|all| {
                all.into_iter()
                    .map(|s| format!("touchpoint {} {} {}", s.code, url(&s.code), s.label))
                    .collect()
            }),
        TouchpointAction::Retire { code } => spots::retire_code(&db, &actor, &code).map(|s| {
            vec![format!(
                "retired {} {}",
                code.trim().to_ascii_uppercase(),
                s.label
            )]
        }),
        TouchpointAction::Replace { code } => spots::replace(&db, &actor, &code)
            .map(|s| vec![format!("touchpoint {} {}", s.code, url(&s.code))]),
    };
    match result {
        Ok(lines) => print(&lines),
        Err(e) => setup_failed(&e),
    }
}

pub fn import(settings: &Settings, what: ImportWhat) -> ExitCode {
    let (file, dry_run, people) = match what {
        ImportWhat::Locations { file, dry_run } => (file, dry_run, false),
        ImportWhat::People { file, dry_run } => (file, dry_run, true),
    };
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) => return fail(EXIT_CONFIG, &format!("{}: {e}", file.display())),
    };
    let db = match open(settings) {
        Ok(db) => db,
        Err(code) => return code,
    };
    let actor = Actor::CommandLine;
    let summary = if people {
        import::import_people(&db, &actor, &bytes, dry_run).map(|p| p.summary())
    } else {
        import::import_locations(&db, &actor, &bytes, dry_run).map(|p| p.summary())
    };
    match summary {
        Ok(summary) => print(&[format!(
            "{}: {summary}",
            if dry_run { "dry run" } else { "imported" }
        )]),
        Err(ImportError::Lines(lines)) => {
            let mut err = std::io::stderr().lock();
            let mut out = std::io::stdout().lock();
            for l in &lines {
                // Both streams: a script reading stdout sees them, and so does a person.
                let _ = writeln!(out, "{l}");
                let _ = writeln!(err, "{l}");
            }
            ExitCode::from(EXIT_CONFIG)
        }
        Err(e) => fail(1, &e),
    }
}

pub fn people(settings: &Settings, action: UserAction) -> ExitCode {
    let db = match open(settings) {
        Ok(db) => db,
        Err(code) => return code,
    };
    let actor = Actor::CommandLine;
    let line = |p: &people::Person| {
        format!(
            "user {} {} {} {} {}",
            p.email,
            p.role,
            p.language,
            if p.stores.is_empty() {
                "-".to_owned()
            } else {
                p.stores.join(";")
            },
            if p.active { "active" } else { "deactivated" }
        )
    };
    let result = match action {
        UserAction::Add { .. } => return ExitCode::from(EXIT_CONFIG),
        UserAction::List => db
            .read(|c| people::list(c, None))
            .map_err(SetupError::from)
            .map(|all| all.iter().map(line).collect()),
        UserAction::Edit {
            email,
            role,
            locations,
            language,
        } => people::edit(
            &db,
            &actor,
            &email,
            &PersonChange {
                role,
                stores: locations.map(|l| l.split(';').map(str::to_owned).collect()),
                language,
            },
        )
        .map(|p| vec![line(&p)]),
        UserAction::Deactivate { email } => {
            people::deactivate(&db, &actor, &email, now_utc()).map(|d| {
                vec![format!(
                    "{} ({} sessions ended, {} open cases back in the queue)",
                    line(&d.person),
                    d.sessions_ended,
                    d.cases_returned.len()
                )]
            })
        }
        UserAction::Reactivate { email } => {
            people::reactivate(&db, &actor, &email).map(|p| vec![line(&p)])
        }
    };
    match result {
        Ok(lines) => print(&lines),
        Err(e) => setup_failed(&e),
    }
}

pub fn token(settings: &Settings, action: TokenAction) -> ExitCode {
    use crate::domain::account::api_token::{self, TokenRequest};
    let db = match open(settings) {
        Ok(db) => db,
        Err(code) => return code,
    };
    let now = now_utc();
    let result = match action {
        TokenAction::Add {
            email,
            name,
            scope,
            locations,
            expires_days,
        } => api_token::make(
            &db,
            &Actor::CommandLine,
            api_token::Maker::Anyone,
            &TokenRequest {
                email,
                name,
                scope,
                stores: locations,
                expires_in_days: expires_days,
            },
            now,
        )
        .map(|made| {
            vec![
                format!("token {}", made.token),
                format!("id {}", made.row.id),
            ]
        }),
        TokenAction::List => db
            .read(|c| crate::db::queries::api_tokens::list(c, None))
            .map_err(SetupError::from)
            .map(|all| {
                let when = |t: Option<chrono::NaiveDateTime>, none: &str| {
                    t.map_or(none.to_owned(), |t| {
                        format!("{} UTC", t.format("%Y-%m-%d %H:%M"))
                    })
                };
                all.into_iter()
                    .map(|(t, email)| {
                        format!(
                            "token {} {email} {} \"{}\" created {}, last used {}, expires {}{}",
                            t.id,
                            t.scope,
                            t.name,
                            when(Some(t.created_at), "-"),
                            when(t.last_used_at, "never"),
                            when(t.expires_at, "never"),
                            if t.revoked_at.is_some() {
                                ", revoked"
                            } else {
                                ""
                            },
                        )
                    })
                    .collect()
            }),
        TokenAction::Revoke { id } => {
            match api_token::revoke(&db, &Actor::CommandLine, api_token::Maker::Anyone, &id, now) {
                Ok(true) => Ok(vec![format!("revoked {id}")]),
                Ok(false) => Err(SetupError::NotFound("active token with this id")),
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(lines) => print(&lines),
        Err(e) => setup_failed(&e),
    }
}

pub fn webhook(settings: &Settings, action: WebhookAction) -> ExitCode {
    use crate::domain::webhook::{self, SubscriptionRequest, Within};
    let db = match open(settings) {
        Ok(db) => db,
        Err(code) => return code,
    };
    let now = now_utc();
    let result = match action {
        WebhookAction::Add {
            url,
            location,
            events,
            format,
            with_contact,
        } => crate::jobs::webhooks::check_destination(&url, settings.webhook_allow_private)
            .map_err(SetupError::from)
            .and_then(|()| {
                webhook::subscribe(
                    &db,
                    &Actor::CommandLine,
                    Within::Everywhere,
                    &SubscriptionRequest {
                        url,
                        location,
                        events: events.into_iter().collect(),
                        format,
                        with_contact,
                    },
                    now,
                )
            })
            .map(|s| vec![format!("webhook {} {}", s.id, s.secret)]),
        WebhookAction::List => db
            .read(|c| {
                let mut lines = Vec::new();
                for s in crate::db::queries::webhooks::all(c)? {
                    let events = crate::db::queries::webhooks::events_of(c, &s.id)?.join(",");
                    let state = match (&s.disabled_at, &s.disabled_reason) {
                        (Some(_), Some(why)) => format!("disabled ({why})"),
                        (Some(_), None) => "disabled".to_owned(),
                        (None, _) if s.failing_since.is_some() => "failing".to_owned(),
                        (None, _) => "active".to_owned(),
                    };
                    lines.push(format!(
                        "webhook {} {} {} {} {events} {state}",
                        s.id,
                        s.format,
                        s.url,
                        s.location_id.as_deref().unwrap_or("all"),
                    ));
                }
                Ok(lines)
            })
            .map_err(SetupError::from),
        WebhookAction::Rotate { id } => {
            webhook::rotate(&db, &Actor::CommandLine, Within::Everywhere, &id, now)
                .map(|secret| vec![format!("webhook {id} {secret}")])
        }
        WebhookAction::Remove { id } => {
            match webhook::disable(&db, &Actor::CommandLine, Within::Everywhere, &id, now) {
                Ok(true) => Ok(vec![format!("removed {id}")]),
                Ok(false) => Err(SetupError::NotFound("active webhook with this id")),
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(lines) => print(&lines),
        Err(e) => setup_failed(&e),
    }
}
