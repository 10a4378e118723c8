//! The staff's side of a case: the case page (`/manage/cases/{reference}`) with its
//! actions (the list of cases is `inbox`). A case is looked up only through
//! [`cases::find_visible`], so anyone but the people of its location (and admins) gets
//! 404, whatever URL or form they try.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::models::{Case, CaseEvent, Location, OutboxMessage, User};
use crate::db::queries::{cases, locations, outbox, users};
use crate::db::states::{CaseStatus, EventKind, MailKind, Role};
use crate::domain::alert::CaseFacts;
use crate::domain::case::actions::{self, CaseAction, ResolutionInput};
use crate::domain::case::reference::normalize_reference;
use crate::domain::case::workflow::{
    self as workflow, root_causes_of, WorkflowError, COMPENSATION_TYPES,
};
use crate::domain::language::formats;
use crate::domain::language::{Language, Refusal};
use crate::domain::mail::mask;
use crate::domain::recovery::{approval, limits, replies, suggest, wish};
use crate::web::session::{csrf_token, verify_csrf, SignedIn};
use crate::web::{render, AppError, AppState};

#[derive(Template)]
#[template(path = "manage/case.html")]
struct CasePage {
    l: Language,
    /// An unhappy answer flagged the case and nobody has handled it yet.
    flagged: bool,
    /// The customer's latest survey answer, one line a question.
    answer: Vec<String>,
    csrf: String,
    error: Option<String>,
    reference: String,
    status: String,
    store: String,
    spot: String,
    category: String,
    received: String,
    waited: String,
    overdue: bool,
    acknowledged: Option<String>,
    resolved: bool,
    resolution: Vec<(String, String)>,
    flags: Vec<String>,
    assignee: Option<String>,
    body: String,
    contact: Option<String>,
    customer_gets_email: bool,
    has_photo: bool,
    language: String,
    /// (user id, email, is the assignee) of the people who may take the case.
    colleagues: Vec<(String, String, bool)>,
    /// (key, label) of each root cause and kind of compensation offered.
    root_causes: Vec<(String, String)>,
    compensation_types: Vec<(&'static str, String)>,
    duplicates: Vec<(String, String, String)>,
    merged: Vec<String>,
    merged_into: Option<String>,
    typed: ActionForm,
    timeline: Vec<(String, String, String)>,
    mail: Vec<(String, String, String)>,
    /// What the customer said would make it right: (their choice, their words, when).
    wish: Option<(String, Option<String>, String)>,
    /// A remedy waiting for a manager: the line, and whether this reader may decide it.
    waiting: Option<(String, bool)>,
    /// The last decided remedy, in words.
    decided: Option<String>,
    /// What this reader may give on their own.
    limit_hint: String,
    /// What worked before at this store for this category.
    suggestion: Option<SuggestionView>,
    /// (kind, label) of the store's reply texts an update may start from.
    replies: Vec<(&'static str, String)>,
}

struct SuggestionView {
    intro: String,
    /// (remedy, cases, mean satisfaction, would come back), in words.
    rows: Vec<(String, String, String, String)>,
    note: String,
}

/// Everything the case page shows, read in one go.
struct Loaded {
    facts: CaseFacts,
    events: Vec<CaseEvent>,
    mail: Vec<OutboxMessage>,
    colleagues: Vec<User>,
    actors: Vec<(String, String)>,
    duplicates: Vec<Case>,
    merged: Vec<Case>,
    merged_into: Option<Case>,
    root_causes: Option<String>,
    /// The kiosk tap whose handoff brought the customer here, with its rating once the
    /// tap reached the server.
    kiosk_tap: Option<(String, Option<i32>)>,
    /// The store's currency: compensation is given in it unless staff type another.
    currency: String,
    wish: Option<crate::db::models::CaseWish>,
    /// Newest first, with who proposed and who decided.
    proposals: Vec<crate::db::models::RemedyProposal>,
    /// The reader's limit at this store (None: no limit).
    limit: Option<limits::Limit>,
    may_decide: bool,
    suggestion: Option<suggest::Suggestion>,
    /// A reply text asked for (`?reply=`), in the customer's language.
    reply: Option<String>,
}

async fn find_case(state: &AppState, who: &SignedIn, reference: &str) -> Result<Case, AppError> {
    let reference = normalize_reference(reference).ok_or(AppError::NotFound)?;
    let (db, user_id, admin) = (
        state.db.clone(),
        who.user.id.clone(),
        who.role == Role::Admin,
    );
    web::block(move || db.read(|c| cases::find_visible(c, &reference, &user_id, admin)))
        .await??
        .ok_or(AppError::NotFound)
}

async fn load(
    state: &AppState,
    who: &SignedIn,
    reference: &str,
    reply: Option<&'static str>,
) -> Result<Loaded, AppError> {
    let case = find_case(state, who, reference).await?;
    let db = state.db.clone();
    let reader = who.user.clone();
    let loaded = web::block(move || {
        db.read(|c| {
            let Some(mut facts) = CaseFacts::load(c, case.clone())? else {
                return Ok(None);
            };
            facts.answer = crate::domain::alert::latest_answer(c, &case.id)?;
            let events = cases::events(c, &case.id)?;
            let proposals = crate::db::queries::recovery::proposals_of(c, &case.id)?;
            let may_decide = match proposals.iter().find(|p| p.decided_at.is_none()) {
                Some(p) => approval::may_decide(c, &reader, &case, p)?,
                None => false,
            };
            let mut actors = Vec::new();
            let people = events
                .iter()
                .filter_map(|e| e.actor_user_id.clone())
                .chain(proposals.iter().map(|p| p.proposed_by.clone()))
                .collect::<Vec<_>>();
            for id in people {
                if !actors.iter().any(|(a, _)| *a == id) {
                    if let Some(u) = users::find(c, &id)? {
                        actors.push((id, u.email));
                    }
                }
            }
            let merged_into = match &case.merged_into {
                Some(id) => cases::find(c, id)?,
                None => None,
            };
            Ok(Some(Loaded {
                mail: outbox::for_case(c, &case.id)?,
                colleagues: users::with_role_at(
                    c,
                    &case.location_id,
                    &[Role::Staff, Role::Manager],
                )?,
                duplicates: workflow::possible_duplicates(c, &case)?,
                merged: cases::merged_into(c, &case.id)?,
                root_causes: locations::root_causes(c, &case.location_id)?,
                currency: crate::db::queries::stores::find(c, &case.location_id)?
                    .map(|s| s.currency)
                    .unwrap_or_else(|| "EUR".into()),
                kiosk_tap: crate::db::queries::kiosks::tap_of_case(c, &case.id)?,
                wish: crate::db::queries::recovery::wish_of(c, &case.id)?,
                limit: limits::limit_for(c, &case.location_id, reader.role)?,
                suggestion: if case.resolved_at.is_none() {
                    suggest::for_case(c, &case.location_id, &case.category)?
                } else {
                    None
                },
                reply: match reply {
                    Some(kind) => Some(replies::text(
                        c,
                        &case.location_id,
                        kind,
                        Language::or_default(&case.language),
                    )?),
                    None => None,
                },
                proposals,
                may_decide,
                merged_into,
                actors,
                events,
                facts,
            }))
        })
    })
    .await??;
    loaded.ok_or(AppError::NotFound)
}

fn local(lang: Language, location: &Location, at: chrono::NaiveDateTime) -> String {
    formats::date_time(lang, &location.time_zone, at)
}

/// One timeline line: who, and what happened, in words of the reader's language.
fn describe(lang: Language, event: &CaseEvent, actors: &[(String, String)]) -> (String, String) {
    let detail: serde_json::Value = serde_json::from_str(&event.detail).unwrap_or_default();
    let text = |key: &str| detail[key].as_str().unwrap_or_default().to_owned();
    let list = |key: &str| {
        detail[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let who = event
        .actor_user_id
        .as_ref()
        .and_then(|id| actors.iter().find(|(a, _)| a == id))
        .map(|(_, email)| email.clone())
        .unwrap_or_else(|| "Mend".into());
    let say = |key: &str, args: &[(&str, &str)]| lang.text_with(&format!("event.{key}"), args);
    let what = match event.kind {
        EventKind::Received => say("received", &[]),
        EventKind::Alerted => say("alerted", &[("to", &list("to"))]),
        EventKind::Escalated => say(
            "escalated",
            &[("level", &detail["level"].to_string()), ("to", &list("to"))],
        ),
        EventKind::Acknowledged => say("acknowledged", &[("by", &text("by"))]),
        EventKind::Assigned => say("assigned", &[("to", &text("to"))]),
        EventKind::Note => say("note", &[("text", &text("text"))]),
        EventKind::PublicUpdate => say("public_update", &[("text", &text("text"))]),
        EventKind::Resolved => say(
            "resolved",
            &[
                ("cause", &lang.root_cause_label(&text("root_cause"))),
                ("text", &text("what_was_done")),
            ],
        ),
        // Reopened by the customer's survey answer (older events carry an English reason).
        EventKind::Reopened if detail["by_customer"] == true || event.actor_user_id.is_none() => {
            say("reopened_by_customer", &[])
        }
        EventKind::Reopened => say("reopened", &[("text", &text("reason"))]),
        EventKind::Merged => say("merged", &[("reference", &text("into"))]),
        EventKind::MergedIn => say("merged_in", &[("reference", &text("from"))]),
        EventKind::SurveyAnswered => {
            let lines = crate::domain::survey::answer_lines::answer_lines(
                lang,
                detail["csat"].as_i64(),
                detail["fixed"].as_str(),
                detail["return_likelihood"].as_i64(),
                detail["comment"].as_str(),
                detail["still_working"].as_bool(),
            );
            say("survey_answered", &[("answer", &lines.join(" · "))])
        }
        EventKind::ReturnedToQueue => say("returned_to_queue", &[]),
        EventKind::Flagged => say("flagged", &[]),
        EventKind::FlagCleared => say("flag_cleared", &[]),
        EventKind::WishGiven => say(
            "wish_given",
            &[(
                "wish",
                &crate::db::states::Wish::parse(&text("kind"))
                    .map(|w| wish::label(lang, w))
                    .unwrap_or_default(),
            )],
        ),
        EventKind::RemedyProposed => say(
            "remedy_proposed",
            &[
                ("remedy", &remedy_of(lang, &detail)),
                ("to", &list("asked")),
            ],
        ),
        EventKind::RemedyApproved => {
            say("remedy_approved", &[("remedy", &remedy_of(lang, &detail))])
        }
        EventKind::RemedyDeclined => {
            say("remedy_declined", &[("remedy", &remedy_of(lang, &detail))])
        }
    };
    (who, what)
}

/// The remedy an event names (kind, amount_minor, currency), in the reader's words.
fn remedy_of(lang: Language, detail: &serde_json::Value) -> String {
    let amount = match (detail["amount_minor"].as_i64(), detail["currency"].as_str()) {
        (Some(m), Some(cur)) => i32::try_from(m).ok().map(|m| (m, cur.to_owned())),
        _ => None,
    };
    approval::describe(
        lang,
        &workflow::Compensation {
            kind: detail["kind"].as_str().unwrap_or_default().to_owned(),
            amount,
        },
    )
}

/// How long a case waited, in the reader's words: "5 min", "2 h 3 min", "3 days".
pub(super) fn waited(
    lang: Language,
    from: chrono::NaiveDateTime,
    to: chrono::NaiveDateTime,
) -> String {
    let minutes = u64::try_from((to - from).num_minutes()).unwrap_or(0);
    match minutes {
        0..=59 => lang.count("duration.minutes", minutes),
        60..=1439 => lang.text_with(
            "duration.hours_minutes",
            &[
                ("hours", &(minutes / 60).to_string()),
                ("minutes", &(minutes % 60).to_string()),
            ],
        ),
        _ => lang.count("duration.days", minutes / 1440),
    }
}

fn status_label(lang: Language, case: &Case) -> String {
    lang.text(if case.resolved_at.is_some() {
        "case_status.resolved"
    } else if case.merged_into.is_some() {
        "case_status.merged"
    } else if case.acknowledged_at.is_none() {
        "case_status.new"
    } else if case.status == CaseStatus::InProgress {
        "case_status.in_progress"
    } else {
        "case_status.acknowledged"
    })
}

fn page(
    state: &AppState,
    who: &SignedIn,
    l: Loaded,
    error: Option<String>,
    typed: ActionForm,
) -> Result<CasePage, AppError> {
    let (case, location) = (&l.facts.case, &l.facts.location);
    let now = state.clock.now();
    let lang = who.language();
    let mut typed = typed;
    let email_of = |id: &str| {
        l.actors
            .iter()
            .find(|(a, _)| a == id)
            .map(|(_, e)| e.clone())
            .unwrap_or_else(|| lang.text("case.someone_who_left"))
    };
    let waiting = l
        .proposals
        .iter()
        .find(|p| p.decided_at.is_none())
        .map(|p| {
            (
                lang.text_with(
                    "remedy.waiting",
                    &[
                        ("remedy", &approval::describe(lang, &p.compensation())),
                        ("who", &email_of(&p.proposed_by)),
                        ("when", &local(lang, location, p.created_at)),
                    ],
                ),
                l.may_decide,
            )
        });
    // A withdrawn proposal (resolved another way) was decided by nobody: not shown.
    let last_decided = l
        .proposals
        .iter()
        .find(|p| p.decided_at.is_some() && p.approved.is_some());
    let decided = last_decided.map(|p| {
        lang.text_with(
            if p.approved == Some(true) {
                "remedy.approved_line"
            } else {
                "remedy.declined_line"
            },
            &[
                ("remedy", &approval::describe(lang, &p.compensation())),
                (
                    "who",
                    &p.decided_by.as_deref().map(email_of).unwrap_or_default(),
                ),
            ],
        )
    });
    // An approved remedy fills in the resolution it was proposed with (unless typed over).
    if let Some(p) = last_decided.filter(|p| p.approved == Some(true) && waiting.is_none()) {
        if typed.compensation_type.is_none() && typed.resolution.is_none() {
            typed.compensation_type = Some(p.kind.clone());
            typed.resolution = Some(p.reason.clone());
            if let (Some(m), Some(cur)) = (p.amount_minor, &p.currency) {
                typed.compensation_value = Some(approval::typed_amount(m, cur));
                typed.compensation_currency = Some(cur.clone());
            }
        }
    }
    if typed.compensation_currency.is_none() {
        typed.compensation_currency = Some(l.currency.clone());
    }
    if let Some(text) = &l.reply {
        if typed.text.is_none() {
            typed.text = Some(text.clone());
        }
    }
    let limit_hint = match &l.limit {
        None => lang.text("remedy.no_limit"),
        Some(limit) => {
            let kinds = limit
                .kinds
                .iter()
                .map(|k| lang.compensation_label(k))
                .collect::<Vec<_>>()
                .join(", ");
            let kinds = if kinds.is_empty() {
                lang.text("case.none")
            } else {
                kinds
            };
            lang.text_with(
                if limit.max_minor > 0 {
                    "remedy.limit_hint"
                } else {
                    "remedy.limit_hint_zero"
                },
                &[
                    ("kinds", &kinds),
                    (
                        "amount",
                        &formats::money(lang, limit.max_minor, &l.currency),
                    ),
                ],
            )
        }
    };
    let suggestion = l.suggestion.as_ref().map(|s| SuggestionView {
        intro: lang.text_with(
            "suggest.intro",
            &[("count", &formats::number(lang, s.resolved as i64))],
        ),
        rows: s
            .records
            .iter()
            .map(|r| {
                let label = match &r.kind {
                    Some(k) => lang.compensation_label(k),
                    None => lang.text("suggest.nothing_given"),
                };
                let dash = || "–".to_owned();
                (
                    label,
                    formats::number(lang, r.cases as i64),
                    r.csat.map_or_else(dash, |v| formats::decimal(lang, v, 1)),
                    r.would_return.map_or_else(dash, |v| {
                        format!("{}%", formats::number(lang, (v * 100.0).round() as i64))
                    }),
                )
            })
            .collect(),
        note: lang.text_with(
            "suggest.note",
            &[
                ("cases", &suggest::MIN_CASES.to_string()),
                ("answers", &suggest::MIN_ANSWERS.to_string()),
            ],
        ),
    });
    let mut flags = Vec::new();
    if l.facts.severe {
        flags.push(lang.text("case.severe"));
    }
    if l.facts.repeat_count > 0 {
        flags.push(lang.count(
            "case.repeat",
            u64::try_from(l.facts.repeat_count).unwrap_or(0),
        ));
    }
    if let Some((_, rating)) = &l.kiosk_tap {
        flags.push(match rating {
            Some(r) => lang.text_with("case.from_kiosk_rated", &[("rating", &r.to_string())]),
            None => lang.text("case.from_kiosk"),
        });
    }
    let waited_until = case.acknowledged_at.unwrap_or(now);
    let mut resolution = Vec::new();
    if let Some(done) = &case.resolution {
        resolution.push((lang.text("case.what_was_done"), done.clone()));
    }
    if let Some(cause) = &case.root_cause {
        resolution.push((lang.text("case.root_cause"), lang.root_cause_label(cause)));
    }
    if let Some(kind) = &case.compensation_type {
        let amount = match (case.compensation_minor, &case.compensation_currency) {
            (Some(m), Some(cur)) => format!(" {}", formats::money(lang, i64::from(m), cur)),
            _ => String::new(),
        };
        resolution.push((
            lang.text("case.compensation"),
            format!("{}{amount}", lang.compensation_label(kind)),
        ));
    }
    Ok(CasePage {
        wish: l.wish.as_ref().map(|w| {
            (
                wish::label(lang, w.kind),
                w.text.clone(),
                local(lang, location, w.given_at),
            )
        }),
        waiting,
        decided,
        limit_hint,
        suggestion,
        replies: replies::KINDS
            .iter()
            .map(|k| (*k, replies::label(lang, k)))
            .collect(),
        l: lang,
        csrf: csrf_token(&who.session)?,
        error,
        reference: case.reference.clone(),
        status: status_label(lang, case),
        store: location.name.clone(),
        spot: l.facts.touchpoint.label.clone(),
        category: l.facts.category_label(lang),
        received: local(lang, location, case.created_at),
        waited: waited(lang, case.created_at, waited_until),
        overdue: case.acknowledged_at.is_none()
            && (now - case.created_at).num_minutes() >= i64::from(l.facts.sla_minutes),
        acknowledged: case.acknowledged_at.map(|at| local(lang, location, at)),
        resolved: case.resolved_at.is_some(),
        resolution,
        flags,
        assignee: case.assignee_id.as_ref().map(|id| {
            l.colleagues
                .iter()
                .find(|u| u.id == *id)
                .map_or_else(|| lang.text("case.someone_who_left"), |u| u.email.clone())
        }),
        body: case.body.clone(),
        contact: case.contact_email.clone(),
        customer_gets_email: case.contact_email.is_some() && case.contact_consent,
        has_photo: case.photo_thumb_path.is_some(),
        flagged: case.flagged_at.is_some(),
        answer: l
            .facts
            .answer
            .as_ref()
            .map(|s| crate::domain::survey::answer_lines::survey_lines(lang, s))
            .unwrap_or_default(),
        language: Language::or_default(&case.language).native_name().into(),
        colleagues: l
            .colleagues
            .iter()
            .map(|u| {
                (
                    u.id.clone(),
                    u.email.clone(),
                    case.assignee_id.as_deref() == Some(u.id.as_str()),
                )
            })
            .collect(),
        root_causes: root_causes_of(l.root_causes.as_deref())
            .into_iter()
            .map(|key| {
                let label = lang.root_cause_label(&key);
                (key, label)
            })
            .collect(),
        compensation_types: COMPENSATION_TYPES
            .iter()
            .map(|key| (*key, lang.compensation_label(key)))
            .collect(),
        duplicates: l
            .duplicates
            .iter()
            .map(|d| {
                (
                    d.reference.clone(),
                    local(lang, location, d.created_at),
                    crate::domain::mail::one_line(&d.body, 80),
                )
            })
            .collect(),
        merged: l.merged.iter().map(|m| m.reference.clone()).collect(),
        merged_into: l.merged_into.as_ref().map(|m| m.reference.clone()),
        typed,
        timeline: l
            .events
            .iter()
            .map(|e| {
                let (who, what) = describe(lang, e, &l.actors);
                (local(lang, location, e.created_at), who, what)
            })
            .collect(),
        mail: l
            .mail
            .iter()
            .map(|m| {
                // Colleagues are told apart by their whole address; a customer's stays
                // masked, as everywhere a list shows it.
                let to = if m.kind.is_to_customer() {
                    mask(&m.recipient)
                } else {
                    m.recipient.clone()
                };
                (mail_kind_label(lang, m.kind), to, mail_state(lang, m))
            })
            .collect(),
    })
}

#[derive(Deserialize)]
pub struct CaseQuery {
    /// Start the message to the customer from one of the store's reply texts.
    reply: Option<String>,
}

pub async fn show(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    query: web::Query<CaseQuery>,
) -> Result<HttpResponse, AppError> {
    let reply = query
        .reply
        .as_deref()
        .and_then(|r| replies::KINDS.iter().find(|k| **k == r).copied());
    let l = load(&state, &who, &path, reply).await?;
    render::html(&page(&state, &who, l, None, ActionForm::default())?)
}

/// Every action's fields; each action reads the ones it needs.
#[derive(Deserialize, Default, Clone)]
pub struct ActionForm {
    csrf: String,
    assignee: Option<String>,
    text: Option<String>,
    resolution: Option<String>,
    root_cause: Option<String>,
    compensation_type: Option<String>,
    compensation_value: Option<String>,
    compensation_currency: Option<String>,
    duplicate: Option<String>,
}

impl ActionForm {
    pub fn text(&self) -> &str {
        self.text.as_deref().unwrap_or_default()
    }
    pub fn resolution(&self) -> &str {
        self.resolution.as_deref().unwrap_or_default()
    }
    pub fn value(&self) -> &str {
        self.compensation_value.as_deref().unwrap_or_default()
    }
    pub fn currency(&self) -> &str {
        self.compensation_currency.as_deref().unwrap_or("EUR")
    }
}

/// `POST /manage/cases/{reference}/{action}`: acknowledge, assign, note, update, resolve,
/// reopen, merge. On success, back to the case; on a mistake, the case page again with
/// the message and what was typed.
pub async fn act(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> Result<HttpResponse, AppError> {
    verify_csrf(&who.session, &form.csrf)?;
    let (reference, action) = path.into_inner();
    let case = find_case(&state, &who, &reference).await?;
    let form = form.into_inner();
    let back_to = case.reference.clone();
    let action = (|| {
        Some(match action.as_str() {
            "acknowledge" => CaseAction::Acknowledge { via: "case_page" },
            // "Take it" sends no one: the one who pressed it. The list's "nobody yet" sends an
            // empty choice: nobody was chosen.
            "assign" => CaseAction::Assign {
                to: form.assignee.clone(),
            },
            "note" => CaseAction::Note {
                text: form.text().to_owned(),
            },
            "update" => CaseAction::Update {
                text: form.text().to_owned(),
            },
            "resolve" => CaseAction::Resolve(ResolutionInput {
                what_was_done: form.resolution().to_owned(),
                root_cause: form.root_cause.clone().unwrap_or_default(),
                compensation_type: form.compensation_type.clone().unwrap_or_default(),
                compensation_value: form.value().to_owned(),
                compensation_currency: form.currency().to_owned(),
            }),
            "reopen" => CaseAction::Reopen {
                reason: form.text().to_owned(),
            },
            "handled" => CaseAction::ClearFlag,
            "merge" => CaseAction::Merge {
                duplicate: form.duplicate.clone().unwrap_or_default(),
            },
            "approve" => CaseAction::Decide { approve: true },
            "decline" => CaseAction::Decide { approve: false },
            _ => return None,
        })
    })();
    let key = state.settings.secret.clone();
    let (db, actor, now) = (state.db.clone(), who.user.clone(), state.clock.now());
    let done = match action {
        Some(action) => {
            web::block(move || {
                db.write(|c| {
                    actions::perform(c, key.expose_bytes(), &actor, &case.id, &action, now)
                })
            })
            .await?
        }
        None => Err(WorkflowError::Invalid(Refusal::new("workflow.no_action"))),
    };
    let typed = form;
    match done {
        Ok(_) => {
            // An update or a resolution may have queued a message to the customer.
            state.outbox_waker.wake();
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/manage/cases/{back_to}")))
                .finish())
        }
        Err(WorkflowError::Invalid(refusal)) => {
            let message = refusal.text(who.language());
            let l = load(&state, &who, &back_to, None).await?;
            let mut response = render::html(&page(&state, &who, l, Some(message), typed)?)?;
            *response.status_mut() = StatusCode::BAD_REQUEST;
            Ok(response)
        }
        Err(WorkflowError::Db(e)) => Err(e.into()),
    }
}

/// A kind of email, by its name in the reader's language.
pub fn mail_kind_label(lang: Language, kind: MailKind) -> String {
    lang.text(&format!("mail_kind.{kind}"))
}

/// Where a message stands: sent, queued, retrying (why) or refused (why).
pub fn mail_state(lang: Language, m: &OutboxMessage) -> String {
    let error = m.last_error.clone().unwrap_or_default();
    if m.sent_at.is_some() {
        lang.text("mail_state.sent")
    } else if m.failed_at.is_some() {
        lang.text_with("mail_state.refused", &[("error", &error)])
    } else if m.last_error.is_some() {
        lang.text_with("mail_state.retrying", &[("error", &error)])
    } else {
        lang.text("mail_state.queued")
    }
}

#[derive(Deserialize)]
pub struct PhotoQuery {
    size: Option<String>,
}

/// The case's photo (or its thumbnail), for those who may see the case only.
pub async fn photo(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<String>,
    query: web::Query<PhotoQuery>,
) -> Result<HttpResponse, AppError> {
    let case = find_case(&state, &who, &path).await?;
    let stored = match query.size.as_deref() {
        Some("full") => case.photo_path,
        _ => case.photo_thumb_path,
    }
    .ok_or(AppError::NotFound)?;
    let bytes = state
        .photo_store
        .read(&stored)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("image/jpeg")
        // A customer's photo: never kept by shared caches.
        .insert_header((header::CACHE_CONTROL, "private, max-age=3600"))
        .body(bytes))
}
