//! The local screen Chromium shows full-screen: four faces, a thank-you, and after an
//! unhappy tap a one-time QR code to tell the rest on one's own phone. No JavaScript: a
//! tap is a form post, the thank-you page returns to the faces by itself.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;
use tokio::sync::Notify;

use crate::language::{self, native_name};
use crate::outbox::{Outbox, PendingTap};
use crate::server_api::ServerApi;
use crate::store::Store;

/// Every catalog key the screen uses (a test checks each language has them all).
pub const TEXT_KEYS: [&str; 12] = [
    "kiosk.changes",
    "kiosk.question",
    "kiosk.rating_1",
    "kiosk.rating_2",
    "kiosk.rating_3",
    "kiosk.rating_4",
    "kiosk.thanks",
    "kiosk.glad",
    "kiosk.tell_more",
    "kiosk.scan",
    "kiosk.prefer_phone",
    "kiosk.done",
];

/// Ratings 1 and 2 are unhappy: those taps get the handoff and count toward alerts.
pub fn is_unhappy(rating: i32) -> bool {
    rating <= 2
}

/// How long the server may take to make a handoff link before the sticker is shown.
const HANDOFF_WAIT: Duration = Duration::from_secs(3);
/// Handoff codes kept, so a reload shows the same one.
const HANDOFFS_KEPT: usize = 16;

pub struct Screen {
    pub outbox: Arc<Outbox>,
    pub store: Arc<Store>,
    pub api: ServerApi,
    pub wake: Arc<Notify>,
    pub repeat_window: Duration,
    /// The screen's language when set, else the store's.
    pub language: Option<String>,
    last_tap: Mutex<Option<(Instant, PendingTap)>>,
    handoffs: Mutex<VecDeque<(String, String)>>,
}

impl Screen {
    pub fn new(
        outbox: Arc<Outbox>,
        store: Arc<Store>,
        api: ServerApi,
        wake: Arc<Notify>,
        repeat_window: Duration,
        language: Option<String>,
    ) -> Screen {
        Screen {
            outbox,
            store,
            api,
            wake,
            repeat_window,
            language,
            last_tap: Mutex::new(None),
            handoffs: Mutex::new(VecDeque::new()),
        }
    }

    /// `?lang=` first, then the configured language, then the store's, then English.
    fn language(&self, asked: Option<&str>) -> &'static str {
        asked
            .and_then(language::parse)
            .or_else(|| self.language.as_deref().and_then(language::parse))
            .or_else(|| language::parse(&self.store.info().language))
            .unwrap_or("en")
    }

    /// The tap this press repeats, if it came within the repeat window of the last one.
    fn repeated(&self, now: Instant) -> Option<PendingTap> {
        let last = self.last_tap.lock().ok()?;
        last.as_ref()
            .filter(|(at, _)| now.duration_since(*at) < self.repeat_window)
            .map(|(_, tap)| tap.clone())
    }

    fn remember(&self, now: Instant, tap: &PendingTap) {
        if let Ok(mut last) = self.last_tap.lock() {
            *last = Some((now, tap.clone()));
        }
    }

    fn cached_handoff(&self, key: &str) -> Option<String> {
        let handoffs = self.handoffs.lock().ok()?;
        handoffs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, svg)| svg.clone())
    }

    fn keep_handoff(&self, key: &str, svg: &str) {
        if let Ok(mut handoffs) = self.handoffs.lock() {
            if handoffs.len() == HANDOFFS_KEPT {
                handoffs.pop_front();
            }
            handoffs.push_back((key.to_owned(), svg.to_owned()));
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    #[error("the tap could not be saved: {0}")]
    Outbox(String),
    #[error("the page could not be drawn: {0}")]
    Render(#[from] askama::Error),
}

impl actix_web::ResponseError for ScreenError {
    fn error_response(&self) -> HttpResponse {
        tracing::error!(error = %self, "screen");
        // The customer sees the faces again; the kiosk's log says what went wrong.
        HttpResponse::InternalServerError()
            .insert_header((header::REFRESH, "3;url=/"))
            .content_type(ContentType::plaintext())
            .body("Sorry, please try again.")
    }
}

struct Face {
    rating: i32,
    label: String,
    color: &'static str,
    mouth: &'static str,
}

const FACES: [(i32, &str, &str); 4] = [
    (1, "#e0574f", "M30 72 Q50 52 70 72"),
    (2, "#f2a541", "M32 70 Q50 62 68 70"),
    (3, "#a5cf5a", "M32 64 Q50 74 68 64"),
    (4, "#3fae5a", "M28 60 Q50 86 72 60"),
];

#[derive(Template)]
#[template(path = "kiosk/screen.html")]
struct ScreenPage {
    lang: &'static str,
    title: String,
    store: String,
    question: String,
    faces: Vec<Face>,
    languages: Vec<(&'static str, String, bool)>,
    has_sticker: bool,
    prefer_phone: String,
    changes_label: String,
    changes: Vec<String>,
}

#[derive(Template)]
#[template(path = "kiosk/thanks.html")]
struct ThanksPage {
    lang: &'static str,
    title: String,
    thanks: String,
    unhappy: bool,
    key: String,
    tell_more: String,
    scan: String,
    glad: String,
    done: String,
    back_after: u32,
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'",
        ))
        .body(body)
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

async fn faces(
    screen: web::Data<Screen>,
    q: web::Query<LangQuery>,
) -> Result<HttpResponse, ScreenError> {
    let lang = screen.language(q.lang.as_deref());
    let info = screen.store.info();
    let t = |key: &str| language::text(lang, key);
    let page = ScreenPage {
        lang,
        title: t("kiosk.question"),
        store: info.location_name.clone(),
        question: t("kiosk.question"),
        faces: FACES
            .iter()
            .map(|(rating, color, mouth)| Face {
                rating: *rating,
                label: t(&format!("kiosk.rating_{rating}")),
                color,
                mouth,
            })
            .collect(),
        languages: language::CODES
            .iter()
            .map(|c| (*c, native_name(c), *c == lang))
            .collect(),
        has_sticker: info.sticker_url.is_some(),
        prefer_phone: t("kiosk.prefer_phone"),
        changes_label: t("kiosk.changes"),
        changes: info
            .changes
            .iter()
            .filter_map(|texts| change_text(texts, lang, &info.language))
            .collect(),
    };
    Ok(html(page.render()?))
}

/// A change's text in the screen's language, else the store's, else any.
fn change_text(
    texts: &std::collections::BTreeMap<String, String>,
    lang: &str,
    store_language: &str,
) -> Option<String> {
    [lang, store_language]
        .iter()
        .find_map(|l| texts.get(*l))
        .or_else(|| texts.values().next())
        .filter(|t| !t.trim().is_empty())
        .cloned()
}

#[derive(Deserialize)]
pub struct TapForm {
    rating: Option<String>,
    lang: Option<String>,
}

/// A tap: into the outbox, durably, then the thank-you. A press within the repeat
/// window of the last counted tap shows that tap's thank-you and is not counted again.
async fn tap(
    screen: web::Data<Screen>,
    form: web::Form<TapForm>,
) -> Result<HttpResponse, ScreenError> {
    let lang = screen.language(form.lang.as_deref());
    let Some(rating) = form
        .rating
        .as_deref()
        .and_then(|r| r.trim().parse::<i32>().ok())
        .filter(|r| (1..=4).contains(r))
    else {
        return Ok(see_other(format!("/?lang={lang}")));
    };
    let now = Instant::now();
    let tap = match screen.repeated(now) {
        Some(previous) => previous,
        None => {
            let outbox = screen.outbox.clone();
            let at = chrono::Utc::now().timestamp_millis();
            let tap = web::block(move || outbox.record(rating, at))
                .await
                .map_err(|e| ScreenError::Outbox(e.to_string()))?
                .map_err(|e| ScreenError::Outbox(e.to_string()))?;
            screen.remember(now, &tap);
            screen.wake.notify_one();
            tap
        }
    };
    Ok(see_other(format!(
        "/thanks/{}?lang={lang}&r={}",
        tap.key, tap.rating
    )))
}

fn see_other(location: String) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

#[derive(Deserialize)]
pub struct ThanksQuery {
    lang: Option<String>,
    r: Option<i32>,
}

async fn thanks(
    screen: web::Data<Screen>,
    key: web::Path<String>,
    q: web::Query<ThanksQuery>,
) -> Result<HttpResponse, ScreenError> {
    let lang = screen.language(q.lang.as_deref());
    let t = |k: &str| language::text(lang, k);
    let key = valid_key(&key).unwrap_or_default();
    let unhappy = !key.is_empty() && q.r.is_some_and(is_unhappy);
    let page = ThanksPage {
        lang,
        title: t("kiosk.thanks"),
        thanks: t("kiosk.thanks"),
        unhappy,
        key,
        tell_more: t("kiosk.tell_more"),
        scan: t("kiosk.scan"),
        glad: t("kiosk.glad"),
        done: t("kiosk.done"),
        // Long enough to take out a phone and scan; short enough for the next customer.
        back_after: if unhappy { 45 } else { 5 },
    };
    Ok(html(page.render()?))
}

fn valid_key(key: &str) -> Option<String> {
    uuid::Uuid::parse_str(key)
        .ok()
        .filter(|k| k.get_version_num() == 7)
        .map(|k| k.hyphenated().to_string())
}

fn svg(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

fn sticker_svg(screen: &Screen) -> Option<String> {
    screen
        .store
        .info()
        .sticker_url
        .as_deref()
        .and_then(crate::qr::svg)
}

/// The one-time link for this tap as a QR code; while the server cannot be reached, the
/// store's sticker (the same form, untagged).
async fn handoff(screen: web::Data<Screen>, key: web::Path<String>) -> HttpResponse {
    let Some(key) = valid_key(key.trim_end_matches(".svg")) else {
        return HttpResponse::NotFound().finish();
    };
    if let Some(svg_text) = screen.cached_handoff(&key) {
        return svg(svg_text);
    }
    match tokio::time::timeout(HANDOFF_WAIT, screen.api.handoff(&key)).await {
        Ok(Ok(url)) => {
            if let Some(svg_text) = crate::qr::svg(&url) {
                screen.keep_handoff(&key, &svg_text);
                return svg(svg_text);
            }
        }
        Ok(Err(e)) => tracing::info!(error = %e, "no handoff link; showing the sticker"),
        Err(_) => tracing::info!("the server was too slow for a handoff link; showing the sticker"),
    }
    match sticker_svg(&screen) {
        Some(s) => svg(s),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn sticker(screen: web::Data<Screen>) -> HttpResponse {
    match sticker_svg(&screen) {
        Some(s) => svg(s),
        None => HttpResponse::NotFound().finish(),
    }
}

/// For the person setting the kiosk up (and the tests): what waits, what was refused.
async fn status(screen: web::Data<Screen>) -> HttpResponse {
    let outbox = screen.outbox.clone();
    let counts = web::block(move || {
        Ok::<_, crate::outbox::OutboxError>((outbox.buffered()?, outbox.rejected()?))
    })
    .await;
    match counts {
        Ok(Ok((buffered, rejected))) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "version": crate::VERSION,
                "buffered": buffered,
                "rejected": rejected,
                "token_refused": screen.store.refused(),
                // Taps wait for the first heartbeat's answer (the server's clock).
                "clock_known": screen.store.clock_known(),
                "heartbeat_error": screen.store.heartbeat_error(),
                "last_synced": screen.store.last_synced_ms().map(crate::server_api::rfc3339_ms),
                "store": screen.store.info().location_name,
            })),
        _ => HttpResponse::ServiceUnavailable().finish(),
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(faces))
        .route("/tap", web::post().to(tap))
        .route("/thanks/{key}", web::get().to(thanks))
        .route("/handoff/{key}", web::get().to(handoff))
        .route("/sticker.svg", web::get().to(sticker))
        .route("/status", web::get().to(status));
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test;

    const STICKER: &str = "https://mend.example/t/ABCDEFGHJK";

    /// The screen with a fresh outbox and a server that is down (nothing listens on
    /// port 9); `$sticker`: whether the kiosk learned its store's sticker before.
    macro_rules! app {
        ($repeat:expr) => {
            app!($repeat, false)
        };
        ($repeat:expr, $sticker:expr) => {{
            let dir = tempfile::tempdir().unwrap();
            let outbox = Arc::new(Outbox::open(&dir.path().join("k.sqlite")).unwrap());
            let store = Arc::new(Store::remembered(&outbox));
            if $sticker {
                let info = crate::server_api::StoreInfo {
                    location_name: "Gangnam".into(),
                    language: "ko".into(),
                    sticker_url: Some(STICKER.into()),
                    changes: vec![std::collections::BTreeMap::from([
                        (
                            "en".to_owned(),
                            "We now check the restrooms every 30 minutes".to_owned(),
                        ),
                        ("ko".to_owned(), "화장실을 30분마다 점검합니다".to_owned()),
                    ])],
                };
                store.learned(info, 0, &outbox);
            }
            let api = ServerApi::new("http://127.0.0.1:9", "mk_test_token").unwrap();
            let screen = Screen::new(
                outbox.clone(),
                store,
                api,
                Arc::new(Notify::new()),
                $repeat,
                None,
            );
            let app = test::init_service(
                actix_web::App::new()
                    .app_data(web::Data::new(screen))
                    .configure(routes),
            )
            .await;
            (dir, outbox, app)
        }};
    }

    /// Presses a face; returns where the kiosk sent the browser.
    macro_rules! press {
        ($app:expr, $rating:expr) => {{
            let req = test::TestRequest::post()
                .uri("/tap")
                .set_form([("rating", $rating), ("lang", "ko")])
                .to_request();
            let res = test::call_service(&$app, req).await;
            assert_eq!(res.status(), 303);
            res.headers()
                .get(header::LOCATION)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        }};
    }

    #[actix_web::test]
    async fn a_tap_is_in_the_outbox_before_the_thank_you() {
        let (_dir, outbox, app) = app!(Duration::ZERO);
        let location = press!(app, "2");
        let pending = outbox.pending(10).unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].rating, 2);
        assert_eq!(location, format!("/thanks/{}?lang=ko&r=2", pending[0].key));
        let page =
            test::call_and_read_body(&app, test::TestRequest::get().uri(&location).to_request())
                .await;
        let page = String::from_utf8(page.to_vec()).unwrap();
        assert!(
            page.contains(&format!("/handoff/{}.svg", pending[0].key)),
            "{page}"
        );
        assert!(page.contains(&language::text("ko", "kiosk.thanks")));
    }

    #[actix_web::test]
    async fn repeat_presses_within_the_window_count_once() {
        let (_dir, outbox, app) = app!(Duration::from_secs(60));
        let first = press!(app, "1");
        let second = press!(app, "1");
        let third = press!(app, "4");
        assert_eq!(first, second);
        assert_eq!(first, third);
        assert_eq!(outbox.buffered().unwrap(), 1);
    }

    #[actix_web::test]
    async fn without_a_window_every_press_counts() {
        let (_dir, outbox, app) = app!(Duration::ZERO);
        let _ = press!(app, "3");
        let _ = press!(app, "3");
        assert_eq!(outbox.buffered().unwrap(), 2);
    }

    #[actix_web::test]
    async fn a_bad_rating_stores_nothing_and_shows_the_faces_again() {
        let (_dir, outbox, app) = app!(Duration::ZERO);
        for rating in ["0", "5", "-1", "x", ""] {
            assert_eq!(press!(app, rating), "/?lang=ko");
        }
        assert_eq!(outbox.buffered().unwrap(), 0);
    }

    #[actix_web::test]
    async fn happy_taps_get_no_handoff_and_bad_keys_are_not_echoed() {
        let (_dir, _outbox, app) = app!(Duration::ZERO);
        let location = press!(app, "4");
        let page =
            test::call_and_read_body(&app, test::TestRequest::get().uri(&location).to_request())
                .await;
        assert!(!String::from_utf8_lossy(&page).contains("/handoff/"));
        let req = test::TestRequest::get()
            .uri("/thanks/%3Cscript%3E?r=1")
            .to_request();
        let page = test::call_and_read_body(&app, req).await;
        let page = String::from_utf8_lossy(&page);
        assert!(!page.contains("<script") && !page.contains("/handoff/"));
    }

    #[actix_web::test]
    async fn offline_without_a_known_sticker_the_handoff_is_absent_not_an_error_page() {
        let (_dir, _outbox, app) = app!(Duration::ZERO);
        let key = uuid::Uuid::now_v7();
        let req = test::TestRequest::get()
            .uri(&format!("/handoff/{key}.svg"))
            .to_request();
        assert_eq!(test::call_service(&app, req).await.status(), 404);
    }

    #[actix_web::test]
    async fn offline_the_handoff_falls_back_to_the_stores_sticker() {
        let (_dir, _outbox, app) = app!(Duration::ZERO, true);
        let key = uuid::Uuid::now_v7();
        let req = test::TestRequest::get()
            .uri(&format!("/handoff/{key}.svg"))
            .to_request();
        let svg = test::call_and_read_body(&app, req).await;
        assert_eq!(
            String::from_utf8(svg.to_vec()).unwrap(),
            crate::qr::svg(STICKER).unwrap()
        );
        // The store's language is the screen's, and the sticker is on it.
        let page =
            test::call_and_read_body(&app, test::TestRequest::get().uri("/").to_request()).await;
        let page = String::from_utf8(page.to_vec()).unwrap();
        assert!(page.contains("<html lang=\"ko\">") && page.contains("/sticker.svg"));
        // "You said, we did" on the idle screen, in the screen's language.
        assert!(page.contains("화장실을 30분마다 점검합니다"), "{page}");
        let en =
            test::call_and_read_body(&app, test::TestRequest::get().uri("/?lang=en").to_request())
                .await;
        let en = String::from_utf8(en.to_vec()).unwrap();
        assert!(
            en.contains("We now check the restrooms every 30 minutes")
                && en.contains("You said, we did")
        );
    }

    #[actix_web::test]
    async fn the_faces_page_offers_every_language_and_four_big_buttons() {
        let (_dir, _outbox, app) = app!(Duration::ZERO);
        let page =
            test::call_and_read_body(&app, test::TestRequest::get().uri("/?lang=ja").to_request())
                .await;
        let page = String::from_utf8(page.to_vec()).unwrap();
        assert_eq!(page.matches("name=\"rating\"").count(), 4);
        assert!(page.contains("<html lang=\"ja\">"));
        for code in language::CODES.iter() {
            assert!(page.contains(&format!("/?lang={code}")));
        }
    }
}
