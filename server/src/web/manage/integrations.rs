//! `/manage/integrations`: what connects Mend to other systems. API tokens (an admin's for
//! anyone; a manager's for themselves and their stores' staff, reaching their stores only;
//! a new token is shown once) and webhooks (an admin's for a store or for all; a manager's
//! for their stores), each webhook with its delivery log and a "send again" button. The
//! rules live in `domain::account::api_token` and `domain::webhook`; this is their page.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::db::models::{ApiToken, WebhookDelivery, WebhookSubscription};
use crate::db::queries::{stores as store_queries, users, webhooks as webhook_queries};
use crate::db::states::{Role, TokenScope, WebhookEvent, WebhookFormat, WebhookStop};
use crate::domain::account::api_token::{self, Maker, TokenRequest};
use crate::domain::language::{formats, Language};
use crate::domain::setup::{Actor, SetupError};
use crate::domain::webhook::{self, Miss, SubscriptionRequest, Within, ROTATION_HOURS};
use crate::web::session::{csrf_token, verify_csrf, CsrfForm, SignedIn};
use crate::web::{render, AppError, AppState};

/// Deliveries shown on a webhook's log.
const LOG_ROWS: i64 = 200;

/// Who is on the page, and what they reach: every store (an admin) or their own.
#[derive(Clone)]
struct Reach {
    admin: bool,
    user_id: String,
    stores: Vec<String>,
    /// The time zone times are shown in: the reader's first store's (UTC for none).
    time_zone: String,
}

impl Reach {
    fn maker(&self) -> Maker<'_> {
        if self.admin {
            Maker::Anyone
        } else {
            Maker::Manager {
                id: &self.user_id,
                stores: &self.stores,
            }
        }
    }

    fn within(&self) -> Within<'_> {
        if self.admin {
            Within::Everywhere
        } else {
            Within::Stores(&self.stores)
        }
    }
}

async fn reach(state: &AppState, who: &SignedIn) -> Result<Reach, AppError> {
    // Staff work cases; connecting systems is a manager's or an admin's work.
    if who.role == Role::Staff {
        return Err(AppError::Forbidden);
    }
    let (db, user_id) = (state.db.clone(), who.user.id.clone());
    let admin = who.role == Role::Admin;
    let (stores, time_zone) = web::block(move || {
        db.read(|c| {
            let stores = users::location_ids(c, &user_id)?;
            let first = match stores.first() {
                Some(id) => store_queries::find(c, id)?,
                None => None,
            };
            Ok((
                stores,
                first.map_or_else(|| "UTC".to_owned(), |s| s.time_zone),
            ))
        })
    })
    .await??;
    Ok(Reach {
        admin,
        user_id: who.user.id.clone(),
        stores,
        time_zone,
    })
}

fn actor(who: &SignedIn) -> Actor {
    Actor::User {
        id: who.user.id.clone(),
        email: who.user.email.clone(),
    }
}

pub struct TokenRow {
    id: String,
    name: String,
    email: String,
    scope: String,
    stores: String,
    created: String,
    expires: String,
    last_used: String,
    state: String,
    active: bool,
}

pub struct HookRow {
    id: String,
    url: String,
    store: String,
    events: String,
    format: String,
    state: String,
    active: bool,
}

/// What the page shows once, right after it was made: a token or a webhook secret.
#[derive(Default)]
struct ShownOnce {
    token: Option<(String, String)>,
    secret: Option<String>,
    token_error: Option<String>,
    hook_error: Option<String>,
}

#[derive(Template)]
#[template(path = "manage/integrations.html")]
struct IntegrationsPage {
    l: Language,
    csrf: String,
    is_admin: bool,
    email: String,
    base_url: String,
    tokens: Vec<TokenRow>,
    hooks: Vec<HookRow>,
    once: ShownOnce,
    /// Store names for the pickers (an admin's: every store; a manager's: theirs).
    store_names: Vec<String>,
    scopes: Vec<(&'static str, String)>,
    formats: Vec<(&'static str, String)>,
    events: Vec<(&'static str, String)>,
}

fn scope_label(l: Language, scope: TokenScope) -> String {
    l.text(&format!("integrations.scope.{}", scope.as_str()))
}

fn format_label(l: Language, format: WebhookFormat) -> String {
    l.text(&format!(
        "integrations.format.{}",
        format.as_str().replace('-', "_")
    ))
}

fn event_label(l: Language, event: WebhookEvent) -> String {
    l.text(&format!(
        "integrations.event.{}",
        event.as_str().replace('.', "_")
    ))
}

fn stop_label(l: Language, stop: WebhookStop) -> String {
    l.text(&format!("integrations.stopped.{}", stop.as_str()))
}

fn when(l: Language, zone: &str, at: Option<NaiveDateTime>, none: &str) -> String {
    at.map_or_else(|| l.text(none), |t| formats::date_time(l, zone, t))
}

fn token_row(
    l: Language,
    zone: &str,
    now: NaiveDateTime,
    (t, email): (ApiToken, String),
    names: &[String],
) -> TokenRow {
    let (state, active) = if t.revoked_at.is_some() {
        ("integrations.revoked", false)
    } else if t.expires_at.is_some_and(|at| at <= now) {
        ("integrations.expired", false)
    } else {
        ("integrations.active", true)
    };
    TokenRow {
        scope: scope_label(l, t.scope),
        stores: if names.is_empty() {
            l.text("integrations.their_stores")
        } else {
            names.join(", ")
        },
        created: formats::date_time(l, zone, t.created_at),
        expires: when(l, zone, t.expires_at, "integrations.never"),
        last_used: when(l, zone, t.last_used_at, "integrations.not_used"),
        state: l.text(state),
        active,
        id: t.id,
        name: t.name,
        email,
    }
}

fn hook_row(
    l: Language,
    zone: &str,
    s: WebhookSubscription,
    store: Option<String>,
    events: &[String],
) -> HookRow {
    let every = events.len() == WebhookEvent::ALL.len();
    let (state, active) = match (s.disabled_at, s.disabled_reason) {
        (Some(_), Some(why)) => (stop_label(l, why), false),
        (Some(_), None) => (l.text("integrations.stopped.removed"), false),
        (None, _) => match s.failing_since {
            Some(since) => (
                l.text_with(
                    "integrations.failing_since",
                    &[("when", &formats::date_time(l, zone, since))],
                ),
                true,
            ),
            None => (l.text("integrations.active"), true),
        },
    };
    HookRow {
        url: s.url,
        store: store.unwrap_or_else(|| l.text("integrations.all_stores")),
        events: if every {
            l.text("integrations.every_event")
        } else {
            events
                .iter()
                .filter_map(|e| WebhookEvent::parse(e))
                .map(|e| event_label(l, e))
                .collect::<Vec<_>>()
                .join(", ")
        },
        format: format_label(l, s.format),
        state,
        active,
        id: s.id,
    }
}

async fn page(state: &AppState, who: &SignedIn, once: ShownOnce) -> Result<HttpResponse, AppError> {
    let reach = reach(state, who).await?;
    let l = who.language();
    let now = state.clock.now();
    let (db, r) = (state.db.clone(), reach.clone());
    let (tokens, hooks, store_names) = web::block(move || {
        db.read(|c| {
            let mut tokens = Vec::new();
            for t in api_token::list(c, r.maker())? {
                let mut names = Vec::new();
                for id in crate::db::queries::api_tokens::stores(c, &t.0.id)? {
                    if let Some(s) = store_queries::find(c, &id)? {
                        names.push(s.name);
                    }
                }
                tokens.push((t, names));
            }
            let mut hooks = Vec::new();
            for s in webhook::visible(c, r.within())? {
                let store = match &s.location_id {
                    Some(id) => store_queries::find(c, id)?.map(|s| s.name),
                    None => None,
                };
                let events = webhook_queries::events_of(c, &s.id)?;
                hooks.push((s, store, events));
            }
            let stores = if r.admin {
                store_queries::all(c)?
            } else {
                store_queries::for_user(c, &r.user_id)?
            };
            Ok((
                tokens,
                hooks,
                stores.into_iter().map(|s| s.name).collect::<Vec<_>>(),
            ))
        })
    })
    .await??;
    let zone = reach.time_zone.as_str();
    let status = if once.token_error.is_some() || once.hook_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let scopes = if reach.admin {
        TokenScope::ALL.to_vec()
    } else {
        vec![TokenScope::Read, TokenScope::Write]
    };
    let mut res = render::html(&IntegrationsPage {
        l,
        csrf: csrf_token(&who.session)?,
        is_admin: reach.admin,
        email: who.user.email.clone(),
        base_url: state.base_url.clone(),
        tokens: tokens
            .into_iter()
            .map(|(t, names)| token_row(l, zone, now, t, &names))
            .collect(),
        hooks: hooks
            .into_iter()
            .map(|(s, store, events)| hook_row(l, zone, s, store, &events))
            .collect(),
        once,
        store_names,
        scopes: scopes
            .into_iter()
            .map(|s| (s.as_str(), scope_label(l, s)))
            .collect(),
        formats: WebhookFormat::ALL
            .iter()
            .map(|f| (f.as_str(), format_label(l, *f)))
            .collect(),
        events: WebhookEvent::ALL
            .iter()
            .map(|e| (e.as_str(), event_label(l, *e)))
            .collect(),
    })?;
    *res.status_mut() = status;
    no_store(&mut res);
    Ok(res)
}

/// A page that may carry a token or a secret: never from a cache.
fn no_store(res: &mut HttpResponse) {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// What a refused request says on the page: a field's problem, or "no such person".
fn refusal(l: Language, e: SetupError, email: &str) -> Result<String, AppError> {
    match e {
        SetupError::Invalid(f) => Ok(f.message(l)),
        SetupError::NotFound("person") => {
            Ok(l.text_with("integrations.no_person", &[("email", email)]))
        }
        SetupError::NotFound(_) => Err(AppError::NotFound),
        e => Err(AppError::Internal(e.into())),
    }
}

pub async fn show(state: web::Data<AppState>, who: SignedIn) -> Result<HttpResponse, AppError> {
    page(&state, &who, ShownOnce::default()).await
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    stores: String,
    #[serde(default)]
    expires_days: String,
}

pub async fn make_token(
    state: web::Data<AppState>,
    who: SignedIn,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let reach = reach(&state, &who).await?;
    let l = who.language();
    let f = form.into_inner();
    let expires_in_days = match f.expires_days.trim() {
        "" => None,
        raw => match raw.parse::<i64>() {
            Ok(d) => Some(d),
            Err(_) => {
                let e = crate::domain::setup::fields::FieldError::new(
                    "expires",
                    crate::domain::setup::fields::Problem::NotANumber,
                    raw,
                );
                let once = ShownOnce {
                    token_error: Some(e.message(l)),
                    ..ShownOnce::default()
                };
                return page(&state, &who, once).await;
            }
        },
    };
    let req = TokenRequest {
        email: f.email.clone(),
        name: f.name,
        scope: f.scope,
        stores: f.stores.split(',').map(str::to_owned).collect(),
        expires_in_days,
    };
    let (db, a, now) = (state.db.clone(), actor(&who), state.clock.now());
    let made = web::block(move || api_token::make(&db, &a, reach.maker(), &req, now)).await?;
    let once = match made {
        Ok(made) => ShownOnce {
            token: Some((made.row.name, made.token)),
            ..ShownOnce::default()
        },
        Err(e) => ShownOnce {
            token_error: Some(refusal(l, e, f.email.trim())?),
            ..ShownOnce::default()
        },
    };
    page(&state, &who, once).await
}

pub async fn revoke_token(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let reach = reach(&state, &who).await?;
    let (db, a, now, id) = (
        state.db.clone(),
        actor(&who),
        state.clock.now(),
        path.into_inner(),
    );
    // Revoked before, or not this person's to revoke: either way there is nothing to do.
    let revoked = web::block(move || api_token::revoke(&db, &a, reach.maker(), &id, now))
        .await?
        .map_err(|e| AppError::Internal(e.into()))?;
    if !revoked {
        return Err(AppError::NotFound);
    }
    Ok(see_other("/manage/integrations"))
}

#[derive(Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    store: String,
    #[serde(default)]
    format: String,
    /// Checked boxes, each as `events=<name>`.
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    with_contact: Option<String>,
}

pub async fn add_webhook(
    state: web::Data<AppState>,
    who: SignedIn,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    // The event boxes share one name: serde_html_form gathers repeated keys into a Vec,
    // which actix's serde_urlencoded form cannot.
    let f: WebhookForm = serde_html_form::from_bytes(&body).map_err(|e| {
        tracing::debug!(error = %e, "unreadable webhook form");
        AppError::Refused("error_page.bad_form")
    })?;
    verify_csrf(&who.session, &f.csrf)?;
    let reach = reach(&state, &who).await?;
    let l = who.language();
    let req = SubscriptionRequest {
        url: f.url,
        location: Some(f.store).filter(|s| !s.trim().is_empty()),
        events: f.events,
        format: f.format,
        with_contact: f.with_contact.is_some(),
    };
    let (db, a, now) = (state.db.clone(), actor(&who), state.clock.now());
    let allow_private = state.settings.webhook_allow_private;
    let made = web::block(move || {
        // Where the address points is checked here as at each delivery.
        crate::jobs::webhooks::check_destination(&req.url, allow_private)?;
        webhook::subscribe(&db, &a, reach.within(), &req, now)
    })
    .await?;
    let once = match made {
        Ok(sub) => ShownOnce {
            secret: Some(sub.secret),
            ..ShownOnce::default()
        },
        Err(e) => ShownOnce {
            hook_error: Some(refusal(l, e, "")?),
            ..ShownOnce::default()
        },
    };
    page(&state, &who, once).await
}

pub struct DeliveryRow {
    id: String,
    created: String,
    event: String,
    state: String,
    attempts: i32,
    /// Why the last attempt missed, in the reader's words (empty: it did not).
    miss: String,
    /// The client's technical words for it, for a tooltip.
    error: String,
    /// Delivered or given up: it can be sent again.
    done: bool,
}

#[derive(Template)]
#[template(path = "manage/webhook.html")]
struct WebhookPage {
    l: Language,
    csrf: String,
    hook: HookRow,
    rows: Vec<DeliveryRow>,
    /// The new secret right after a rotation.
    secret: Option<String>,
    rotation_hours: String,
}

fn delivery_row(l: Language, zone: &str, d: WebhookDelivery) -> DeliveryRow {
    let (state, done) = match (d.delivered_at, d.failed_at) {
        (Some(at), _) => (
            l.text_with(
                "integrations.delivered_at",
                &[("when", &formats::date_time(l, zone, at))],
            ),
            true,
        ),
        (None, Some(_)) => (l.text("integrations.gave_up"), true),
        (None, None) if d.attempts > 0 => (
            l.text_with(
                "integrations.retrying_at",
                &[("when", &formats::date_time(l, zone, d.next_attempt_at))],
            ),
            false,
        ),
        (None, None) => (l.text("integrations.waiting"), false),
    };
    DeliveryRow {
        created: formats::date_time(l, zone, d.created_at),
        event: event_label(l, d.event),
        state,
        attempts: d.attempts,
        miss: match (&d.last_error, d.delivered_at) {
            (Some(text), None) => {
                let (miss, _) = Miss::of_stored(text);
                let status = d.last_status.map(|s| s.to_string()).unwrap_or_default();
                l.text_with(
                    &format!("integrations.miss.{}", miss.code()),
                    &[("status", &status)],
                )
            }
            _ => d.last_status.map(|s| s.to_string()).unwrap_or_default(),
        },
        error: d
            .last_error
            .as_deref()
            .map(|t| Miss::of_stored(t).1.to_owned())
            .unwrap_or_default(),
        done,
        id: d.id,
    }
}

async fn webhook_page(
    state: &AppState,
    who: &SignedIn,
    id: String,
    secret: Option<String>,
) -> Result<HttpResponse, AppError> {
    let reach = reach(state, who).await?;
    let l = who.language();
    let (db, r) = (state.db.clone(), reach.clone());
    let found = web::block(move || {
        db.read(|c| {
            let sub = match webhook::managed(c, r.within(), &id) {
                Ok(sub) => sub,
                Err(_) => return Ok(None),
            };
            let store = match &sub.location_id {
                Some(id) => store_queries::find(c, id)?.map(|s| s.name),
                None => None,
            };
            let events = webhook_queries::events_of(c, &sub.id)?;
            let log = webhook_queries::log(c, &sub.id, LOG_ROWS)?;
            Ok(Some((sub, store, events, log)))
        })
    })
    .await??;
    let (sub, store, events, log) = found.ok_or(AppError::NotFound)?;
    let zone = reach.time_zone.as_str();
    let mut res = render::html(&WebhookPage {
        l,
        csrf: csrf_token(&who.session)?,
        hook: hook_row(l, zone, sub, store, &events),
        rows: log.into_iter().map(|d| delivery_row(l, zone, d)).collect(),
        secret,
        rotation_hours: formats::number(l, ROTATION_HOURS),
    })?;
    no_store(&mut res);
    Ok(res)
}

pub async fn show_webhook(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    webhook_page(&state, &who, path.into_inner(), None).await
}

/// `POST /manage/integrations/webhooks/{id}/{action}`: rotate (the new secret is shown
/// on the log page), remove, or send one delivery again (`/deliveries/{id}/again`).
pub async fn webhook_action(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let reach = reach(&state, &who).await?;
    let (id, action) = path.into_inner();
    let (db, a, now, sub_id) = (state.db.clone(), actor(&who), state.clock.now(), id.clone());
    match action.as_str() {
        "rotate" => {
            let secret =
                web::block(move || webhook::rotate(&db, &a, reach.within(), &sub_id, now)).await?;
            match secret {
                Ok(secret) => webhook_page(&state, &who, id, Some(secret)).await,
                Err(SetupError::NotFound(_)) => Err(AppError::NotFound),
                Err(e) => Err(AppError::Internal(e.into())),
            }
        }
        "remove" => {
            match web::block(move || webhook::disable(&db, &a, reach.within(), &sub_id, now))
                .await?
            {
                Ok(_) => Ok(see_other("/manage/integrations")),
                Err(SetupError::NotFound(_)) => Err(AppError::NotFound),
                Err(e) => Err(AppError::Internal(e.into())),
            }
        }
        _ => Err(AppError::NotFound),
    }
}

#[derive(Deserialize)]
pub struct AgainForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    delivery: String,
}

pub async fn send_again(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<AgainForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let reach = reach(&state, &who).await?;
    let sub_id = path.into_inner();
    let (db, a, now, delivery) = (
        state.db.clone(),
        actor(&who),
        state.clock.now(),
        form.delivery.clone(),
    );
    let within_sub = sub_id.clone();
    let again = web::block(move || {
        // Only a delivery of the webhook whose log this is.
        let of_this = db
            .read(|c| webhook_queries::delivery(c, &delivery))?
            .is_some_and(|d| d.subscription_id == within_sub);
        if !of_this {
            return Err(SetupError::NotFound("delivery"));
        }
        webhook::send_again(&db, &a, reach.within(), &delivery, now)
    })
    .await?;
    match again {
        // A second click on a delivery already waiting does nothing more.
        Ok(_) => {
            state.outbox_waker.wake();
            Ok(see_other(&format!(
                "/manage/integrations/webhooks/{sub_id}"
            )))
        }
        Err(SetupError::NotFound(_)) => Err(AppError::NotFound),
        Err(e) => Err(AppError::Internal(e.into())),
    }
}
