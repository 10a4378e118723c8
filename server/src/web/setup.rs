//! `/setup`: the first run's guided page (first admin, first store, its spots), opened
//! with the signed link the server prints while no account exists; then `/setup/done`
//! with "Print your stickers".

use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::domain::language::Language;
use crate::domain::setup::first_run::{self, FirstRun};
use crate::domain::setup::stores::StoreInput;
use crate::domain::setup::SetupError;
use crate::web::session::{csrf_token, sign_in, verify_csrf, SignedIn};
use crate::web::{render, AppError, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup", web::get().to(form))
        .route("/setup", web::post().to(submit))
        .route("/setup/done", web::get().to(done));
}

#[derive(Template)]
#[template(path = "setup/setup.html")]
struct SetupPage {
    l: Language,
    csrf: String,
    e: i64,
    s: String,
    error: Option<String>,
    email: String,
    store_name: String,
    time_zone: String,
    language: &'static str,
    currency: String,
    spots: String,
    zones: &'static [chrono_tz::Tz],
    languages: Vec<(&'static str, &'static str)>,
}

#[derive(Deserialize)]
pub struct LinkQuery {
    #[serde(default)]
    e: i64,
    #[serde(default)]
    s: String,
    lang: Option<String>,
}

fn reader_language(req: &HttpRequest, query: Option<&str>) -> Language {
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    Language::negotiate(query, accept, "en")
}

/// The time zone to suggest: the reader's language's country, else the server's own.
fn suggested_time_zone(lang: Language) -> String {
    // The catalog names its country's zone; English, spoken everywhere, names none.
    let named = lang.formats_of().text("format.time_zone");
    match named.parse::<chrono_tz::Tz>() {
        Ok(tz) => tz.name().to_owned(),
        Err(_) => server_time_zone().unwrap_or_else(|| "UTC".into()),
    }
}

fn server_time_zone() -> Option<String> {
    let named = std::env::var("TZ")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/timezone").ok())
        .or_else(|| {
            std::fs::read_link("/etc/localtime").ok().and_then(|p| {
                let p = p.to_string_lossy().into_owned();
                p.split_once("zoneinfo/").map(|(_, tz)| tz.to_owned())
            })
        })?;
    let named = named.trim().trim_start_matches(':');
    named
        .parse::<chrono_tz::Tz>()
        .ok()
        .map(|tz| tz.name().to_owned())
}

/// The link must verify and nobody may exist yet; otherwise a page that says why.
async fn check_link(
    state: &AppState,
    lang: Language,
    e: i64,
    s: &str,
) -> Result<Option<HttpResponse>, AppError> {
    let key = state.settings.secret.clone();
    let now = state.clock.now();
    let db = state.db.clone();
    let needs = web::block(move || first_run::needs_setup(&db)).await??;
    if !needs {
        return Ok(Some(message(
            lang,
            "setup.done_already",
            Some("/manage/login"),
        )?));
    }
    if first_run::verify(key.expose_bytes(), e, s, now).is_err() {
        let mut r = message(lang, "setup.link_invalid", None)?;
        *r.status_mut() = StatusCode::GONE;
        return Ok(Some(r));
    }
    Ok(None)
}

#[derive(Template)]
#[template(path = "setup/message.html")]
struct MessagePage {
    l: Language,
    message: String,
    sign_in: Option<&'static str>,
}

fn message(
    lang: Language,
    key: &str,
    sign_in: Option<&'static str>,
) -> Result<HttpResponse, AppError> {
    render::html(&MessagePage {
        l: lang,
        message: lang.text(key),
        sign_in,
    })
}

pub async fn form(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = reader_language(&req, query.lang.as_deref());
    if let Some(refused) = check_link(&state, lang, query.e, &query.s).await? {
        return Ok(refused);
    }
    let tz = suggested_time_zone(lang);
    render::html(&SetupPage {
        l: lang,
        csrf: csrf_token(&session)?,
        e: query.e,
        s: query.s.clone(),
        error: None,
        email: String::new(),
        store_name: String::new(),
        currency: crate::domain::setup::fields::default_currency(&tz).to_owned(),
        time_zone: tz,
        language: lang.code(),
        spots: String::new(),
        zones: &chrono_tz::TZ_VARIANTS,
        languages: Language::choices(),
    })
}

#[derive(Deserialize)]
pub struct SetupForm {
    csrf: String,
    e: i64,
    s: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    store_name: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    spots: String,
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&session, &form.csrf)?;
    let form = form.into_inner();
    let lang = Language::parse(&form.language).unwrap_or_else(|| reader_language(&req, None));
    if let Some(refused) = check_link(&state, lang, form.e, &form.s).await? {
        return Ok(refused);
    }
    let input = FirstRun {
        email: form.email.clone(),
        password: form.password.clone(),
        store: StoreInput {
            name: form.store_name.clone(),
            time_zone: form.time_zone.clone(),
            language: form.language.clone(),
            currency: Some(form.currency.clone()),
            ..StoreInput::default()
        },
        spots: form.spots.lines().map(str::to_owned).collect(),
    };
    let db = state.db.clone();
    match web::block(move || first_run::complete(&db, &input)).await? {
        Ok(done) => {
            sign_in(&state, &session, &done.admin.id).await?;
            Ok(HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!("/setup/done?store={}", done.store.id),
                ))
                .finish())
        }
        Err(SetupError::Invalid(e)) => {
            let mut r = render::html(&SetupPage {
                l: lang,
                csrf: csrf_token(&session)?,
                e: form.e,
                s: form.s,
                error: Some(e.message(lang)),
                email: form.email,
                store_name: form.store_name,
                time_zone: form.time_zone,
                language: lang.code(),
                currency: form.currency,
                spots: form.spots,
                zones: &chrono_tz::TZ_VARIANTS,
                languages: Language::choices(),
            })?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

#[derive(Template)]
#[template(path = "setup/done.html")]
struct DonePage {
    l: Language,
    store_id: String,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    store: String,
}

pub async fn done(
    state: web::Data<AppState>,
    who: SignedIn,
    query: web::Query<DoneQuery>,
) -> Result<HttpResponse, AppError> {
    let store = crate::web::manage::managed_location(&state, &who, query.store.clone()).await?;
    let lang = Language::or_default(&who.user.language);
    render::html(&DonePage {
        l: lang,
        store_id: store.id,
    })
}
