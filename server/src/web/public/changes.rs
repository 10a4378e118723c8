//! `GET /s/{store}/changes`: a store's "you said, we did" page, open to everyone, linked
//! from the sticker sheet and the complaint form, in the reader's language.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::queries::stores;
use crate::domain::language::formats;
use crate::domain::language::Language;
use crate::domain::process_changes::{self, Texts};
use crate::web::{render, AppError, AppState};

/// How many changes the page shows.
const SHOWN: i64 = 20;

#[derive(Template)]
#[template(path = "public/changes.html")]
struct ChangesPage {
    lang: &'static str,
    languages: Vec<(&'static str, &'static str, bool)>,
    path: String,
    title: String,
    intro: String,
    none: String,
    /// (from when, what it answers, text)
    changes: Vec<(String, String, String)>,
    /// (form path, label): the store's first spot, to report something new.
    report: Option<(String, String)>,
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<LangQuery>,
) -> Result<HttpResponse, AppError> {
    let accept = req
        .headers()
        .get("accept-language")
        .and_then(|v| v.to_str().ok());
    let id = path.into_inner();
    let not_found = AppError::Customer {
        status: StatusCode::NOT_FOUND,
        lang: Language::negotiate(query.lang.as_deref(), accept, "en"),
        title_key: "error.not_found_title",
        message_key: "error.not_found",
    };
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(not_found);
    }
    let (db, now, lookup) = (state.db.clone(), state.clock.now(), id.clone());
    let found = web::block(move || {
        db.read(|c| {
            let Some(store) = stores::find(c, &lookup)?.filter(|s| s.archived_at.is_none()) else {
                return Ok(None);
            };
            let today = formats::local_day(&store.time_zone, now);
            let changes = process_changes::shown_at(c, &store.id, today, SHOWN)?;
            let categories = crate::domain::setup::categories::of_store(c, &store.id)?;
            let spot = crate::domain::setup::spots::in_use(c, &store.id)?
                .into_iter()
                .next();
            Ok(Some((store, changes, categories, spot)))
        })
    })
    .await??;
    let Some((store, changes, categories, spot)) = found else {
        return Err(not_found);
    };
    let lang = Language::negotiate(query.lang.as_deref(), accept, &store.default_language);
    let about = |key: &Option<String>| {
        key.as_deref().map_or_else(String::new, |k| {
            categories.iter().find(|c| c.key == k).map_or_else(
                || lang.category_label(k),
                |c| c.label(lang, &store.default_language),
            )
        })
    };
    let page = ChangesPage {
        lang: lang.code(),
        languages: lang.switch_choices(),
        path: format!("/s/{}/changes", store.id),
        title: format!("{} · {}", lang.text("changes.title"), store.name),
        intro: lang.text_with("changes.public_intro", &[("store", &store.name)]),
        none: lang.text("changes.public_none"),
        changes: changes
            .iter()
            .map(|ch| {
                let day = formats::date(lang, ch.effective_on);
                (
                    lang.text_with("changes.since", &[("date", &day)]),
                    about(&ch.category),
                    Texts::parse(&ch.texts)
                        .pick(lang, &store.default_language)
                        .to_owned(),
                )
            })
            .collect(),
        report: spot.map(|s| {
            (
                format!("/t/{}?lang={}", s.code, lang.code()),
                lang.text("changes.public_link"),
            )
        }),
    };
    let mut response = render::html(&page)?;
    // Public, the same for everyone in a language: a minute of caching spares the server.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=60"),
    );
    response.headers_mut().insert(
        header::VARY,
        header::HeaderValue::from_static("Accept-Language"),
    );
    Ok(response)
}
