//! `/manage/changes`: "you said, we did". Managers and admins record what their stores
//! changed because of complaints, see whether complaints went down since, and withdraw
//! one recorded by mistake. The rules live in [`crate::domain::process_changes`].

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::queries::exports::Scope as StoreScope;
use crate::db::queries::insight::{locations_in_scope, LocationInfo};
use crate::db::states::Role;
use crate::domain::language::formats;
use crate::domain::language::Language;
use crate::domain::process_changes::{self as changes, Draft, Listed, Scope, Texts};
use crate::domain::setup::categories::Labels;
use crate::domain::setup::{Actor, SetupError};
use crate::web::session::{csrf_token, verify_csrf, CsrfForm, SignedIn};
use crate::web::{render, AppError, AppState};

/// How many changes the page lists.
const LISTED: i64 = 100;

/// A change as a line of the list (and of the dashboard).
pub struct ChangeLine {
    pub id: String,
    pub text: String,
    pub about: String,
    pub stores: String,
    pub effective: String,
    pub mailing: Option<String>,
    pub effect: Option<String>,
    pub withdrawn: bool,
}

#[derive(Template)]
#[template(path = "manage/changes.html")]
struct ChangesPage {
    l: Language,
    csrf: String,
    lines: Vec<ChangeLine>,
    /// (id, name, chosen)
    stores: Vec<(String, String, bool)>,
    all_stores: bool,
    /// (key, label, chosen)
    categories: Vec<(String, String, bool)>,
    root_causes: Vec<(String, String, bool)>,
    languages: Vec<(&'static str, &'static str)>,
    texts: Texts,
    effective_on: String,
    mail: bool,
    mail_from: String,
    mail_to: String,
    error: Option<String>,
    saved: bool,
}

fn store_scope(who: &SignedIn) -> StoreScope {
    StoreScope {
        user_id: who.user.id.clone(),
        is_admin: who.role == Role::Admin,
    }
}

/// A change's lines in the reader's language: `names` are the store names the reader sees.
pub fn lines(
    lang: Language,
    listed: &[Listed],
    names: &HashMap<String, (String, String)>,
    labels: &Labels,
) -> Vec<ChangeLine> {
    listed
        .iter()
        .map(|item| {
            let ch = &item.change;
            let first = item.stores.first();
            let store_language = first
                .and_then(|s| names.get(s))
                .map_or("en", |(_, l)| l.as_str());
            let mut about = Vec::new();
            if let Some(k) = &ch.category {
                about.push(labels.label(first.map(String::as_str), k, lang));
            }
            if let Some(r) = &ch.root_cause {
                about.push(lang.root_cause_label(r));
            }
            let stores: Vec<&str> = item
                .stores
                .iter()
                .filter_map(|s| names.get(s).map(|(n, _)| n.as_str()))
                .collect();
            let mailing = ch.mail_from.map(|_| {
                let n = u64::try_from(ch.mailed_count).unwrap_or(0);
                if ch.mailed_at.is_some() {
                    lang.count("changes.mailed", n)
                } else {
                    lang.count("changes.mailing", n)
                }
            });
            let effect = item.effect.map(|e| {
                let days = formats::number(lang, e.days);
                let before = formats::number(lang, e.before);
                let after = formats::number(lang, e.after);
                let args = [
                    ("days", days.as_str()),
                    ("before", before.as_str()),
                    ("after", after.as_str()),
                ];
                let mut line = lang.count_with("changes.effect", e.days as u64, &args);
                if let Some(p) = e.percent() {
                    line.push_str(&format!(" ({p:+}%)"));
                }
                line
            });
            ChangeLine {
                id: ch.id.clone(),
                text: Texts::parse(&ch.texts)
                    .pick(lang, store_language)
                    .to_owned(),
                about: about.join(" · "),
                stores: if stores.len() > 3 {
                    lang.count("changes.store_count", stores.len() as u64)
                } else {
                    stores.join(", ")
                },
                effective: formats::date(lang, ch.effective_on),
                mailing,
                effect,
                withdrawn: ch.withdrawn_at.is_some(),
            }
        })
        .collect()
}

/// The changes a reader sees, as lines, and what the form offers them.
struct Read {
    stores: Vec<LocationInfo>,
    languages: HashMap<String, String>,
    listed: Vec<Listed>,
    labels: Labels,
    offered: (Vec<String>, Vec<String>),
}

async fn read(state: &web::Data<AppState>, who: &SignedIn) -> Result<Read, AppError> {
    let (db, scope, now) = (state.db.clone(), store_scope(who), state.clock.now());
    Ok(web::block(move || {
        db.read(|c| {
            let stores = locations_in_scope(c, &scope, None)?;
            let ids: Vec<String> = stores.iter().map(|s| s.id.clone()).collect();
            let zones: HashMap<String, String> = stores
                .iter()
                .map(|s| (s.id.clone(), s.time_zone.clone()))
                .collect();
            let languages = crate::db::queries::process_changes::languages_of(c, &ids)?;
            Ok(Read {
                listed: changes::listed(c, &zones, scope.is_admin, now, LISTED)?,
                labels: Labels::read(c, &ids)?,
                offered: changes::offered(c, &ids)?,
                languages,
                stores,
            })
        })
    })
    .await??)
}

async fn page(
    state: &web::Data<AppState>,
    who: &SignedIn,
    typed: Option<(&Draft, String)>,
    saved: bool,
) -> Result<HttpResponse, AppError> {
    if who.role == Role::Staff {
        return Err(AppError::Forbidden);
    }
    let r = read(state, who).await?;
    let lang = who.language();
    let names: HashMap<String, (String, String)> = r
        .stores
        .iter()
        .map(|s| {
            let language = r.languages.get(&s.id).cloned().unwrap_or_default();
            (s.id.clone(), (s.name.clone(), language))
        })
        .collect();
    let today = r.stores.first().map_or(state.clock.now().date(), |s| {
        formats::local_day(&s.time_zone, state.clock.now())
    });
    let blank = Draft {
        mail: true,
        mail_from: (today - chrono::Duration::days(90)).to_string(),
        mail_to: today.to_string(),
        ..Draft::default()
    };
    let (draft, error) = match typed {
        Some((d, e)) => (d, Some(e)),
        None => (&blank, None),
    };
    let all_stores = r.stores.len() > 1 && draft.stores.len() == r.stores.len();
    let single = r.stores.len() == 1;
    let mut response = render::html(&ChangesPage {
        l: lang,
        csrf: csrf_token(&who.session)?,
        lines: lines(lang, &r.listed, &names, &r.labels),
        stores: r
            .stores
            .iter()
            .map(|s| {
                let chosen = single || draft.stores.contains(&s.id);
                (s.id.clone(), s.name.clone(), chosen)
            })
            .collect(),
        all_stores,
        categories: r
            .offered
            .0
            .iter()
            .map(|k| {
                let chosen = draft.category == *k;
                (k.clone(), r.labels.label(None, k, lang), chosen)
            })
            .collect(),
        root_causes: r
            .offered
            .1
            .iter()
            .map(|k| (k.clone(), lang.root_cause_label(k), draft.root_cause == *k))
            .collect(),
        // The reader's own language first: the one they will most likely write.
        languages: {
            let mut all = Language::choices();
            all.sort_by_key(|(code, _)| *code != lang.code());
            all
        },
        texts: Texts(
            draft
                .texts
                .iter()
                .map(|(l, t)| (l.code().to_owned(), t.clone()))
                .collect(),
        ),
        effective_on: draft.effective_on.clone(),
        mail: draft.mail,
        mail_from: draft.mail_from.clone(),
        mail_to: draft.mail_to.clone(),
        error: error.clone(),
        saved,
    })?;
    if error.is_some() {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

#[derive(serde::Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: bool,
}

/// `GET /manage/changes`
pub async fn list(
    state: web::Data<AppState>,
    who: SignedIn,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, AppError> {
    page(&state, &who, None, query.saved).await
}

/// The form's fields: `csrf`, `store` (repeated), `all_stores`, `category`, `root_cause`,
/// `text_{lang}`, `effective_on`, `mail`, `mail_from`, `mail_to`.
fn read_form(body: &str) -> (String, bool, Draft) {
    let (mut csrf, mut all, mut d) = (String::new(), false, Draft::default());
    for (name, value) in url::form_urlencoded::parse(body.as_bytes()) {
        let value = value.into_owned();
        match name.as_ref() {
            "csrf" => csrf = value,
            "store" => d.stores.push(value),
            "all_stores" => all = true,
            "category" => d.category = value,
            "root_cause" => d.root_cause = value,
            "effective_on" => d.effective_on = value,
            "mail" => d.mail = true,
            "mail_from" => d.mail_from = value,
            "mail_to" => d.mail_to = value,
            other => {
                if let Some(lang) = other.strip_prefix("text_").and_then(Language::parse) {
                    d.texts.push((lang, value));
                }
            }
        }
    }
    (csrf, all, d)
}

fn actor(who: &SignedIn) -> Actor {
    Actor::User {
        id: who.user.id.clone(),
        email: who.user.email.clone(),
    }
}

/// The stores a manager may record changes for (an admin: every store).
async fn my_stores(state: &web::Data<AppState>, who: &SignedIn) -> Result<Vec<String>, AppError> {
    let (db, scope) = (state.db.clone(), store_scope(who));
    let stores = web::block(move || db.read(|c| locations_in_scope(c, &scope, None))).await??;
    Ok(stores.into_iter().map(|s| s.id).collect())
}

/// `POST /manage/changes`: records a change.
pub async fn record(
    state: web::Data<AppState>,
    who: SignedIn,
    body: String,
) -> Result<HttpResponse, AppError> {
    let (csrf, all, mut draft) = read_form(&body);
    verify_csrf(&who.session, &csrf)?;
    if who.role == Role::Staff {
        return Err(AppError::Forbidden);
    }
    let mine = my_stores(&state, &who).await?;
    if all {
        draft.stores.clone_from(&mine);
        draft.all_stores = true;
    }
    let (db, a, user, d, now) = (
        state.db.clone(),
        actor(&who),
        who.user.id.clone(),
        draft.clone(),
        state.clock.now(),
    );
    let is_admin = who.role == Role::Admin;
    let done = web::block(move || {
        let scope = if is_admin {
            Scope::Everywhere
        } else {
            Scope::Stores(&mine)
        };
        changes::record(&db, &a, &user, &scope, &d, now)
    })
    .await?;
    match done {
        Ok(_) => {
            // The form and kiosk show it at once on this instance (others within seconds).
            // (A chain-wide change reaches the other stores' forms within seconds.)
            if draft.stores.len() <= 20 {
                for store in &draft.stores {
                    super::stores::forget_codes(&state, store.clone()).await?;
                }
            }
            state.outbox_waker.wake();
            Ok(see_other("/manage/changes?saved=true"))
        }
        Err(SetupError::Invalid(e)) => {
            let message = e.message(who.language());
            page(&state, &who, Some((&draft, message)), false).await
        }
        Err(SetupError::NotFound(_)) => Err(AppError::NotFound),
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// `POST /manage/changes/{id}/withdraw`
pub async fn withdraw(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    if who.role == Role::Staff {
        return Err(AppError::Forbidden);
    }
    let mine = my_stores(&state, &who).await?;
    let (db, a, id, now) = (
        state.db.clone(),
        actor(&who),
        path.into_inner(),
        state.clock.now(),
    );
    let is_admin = who.role == Role::Admin;
    let done = web::block(move || {
        let scope = if is_admin {
            Scope::Everywhere
        } else {
            Scope::Stores(&mine)
        };
        changes::withdraw(&db, &a, &scope, &id, now)
    })
    .await?;
    match done {
        Ok(()) => Ok(see_other("/manage/changes")),
        Err(SetupError::NotFound(_)) => Err(AppError::NotFound),
        Err(e) => Err(AppError::Internal(e.into())),
    }
}
