//! `/remedy/{proposal}?by=&exp=&sig=`: the manager's approve / decline link from the
//! email. GET only shows the proposal and two buttons (mail scanners open links); POST
//! decides, once. The signed link names the proposal and the manager, and expires; who
//! may decide is checked again when deciding (a manager moved to another store is refused).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::db::models::{Case, CaseWish, Location, RemedyProposal, User};
use crate::db::queries::{cases, locations, recovery, users};
use crate::domain::case::workflow::WorkflowError;
use crate::domain::language::{formats, Language};
use crate::domain::recovery::approval::{self, Decided};
use crate::domain::recovery::wish;
use crate::domain::signed_link::LinkError;
use crate::web::{render, AppError, AppState};

#[derive(Deserialize)]
pub struct RemedyLink {
    by: Option<String>,
    exp: Option<i64>,
    sig: Option<String>,
    /// Which button the email's link was: shown first.
    decision: Option<String>,
}

#[derive(Deserialize)]
pub struct DecisionForm {
    decision: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/remedy.html")]
struct RemedyPage {
    lang: &'static str,
    title: String,
    summary: Vec<(String, String)>,
    body: String,
    message: Option<String>,
    /// (action, [(decision, label, primary)]), while undecided.
    buttons: Option<(String, Vec<Choice>)>,
    case_url: String,
    open_case: String,
}

/// (decision, label, shown first)
type Choice = (&'static str, String, bool);

struct Checked {
    proposal: RemedyProposal,
    case: Case,
    location: Location,
    approver: User,
    proposer: Option<String>,
    decider: Option<String>,
    wish: Option<CaseWish>,
    category: String,
    lang: Language,
}

fn refuse(lang: Language, e: LinkError) -> AppError {
    super::link_refused(lang, e, ("remedy.expired_title", "remedy.expired"))
}

async fn check(
    state: &AppState,
    req: &HttpRequest,
    proposal_id: &str,
    link: &RemedyLink,
) -> Result<Checked, AppError> {
    let accept = req
        .headers()
        .get("accept-language")
        .and_then(|v| v.to_str().ok());
    let browser = Language::negotiate(None, accept, "en");
    let (Some(by), Some(exp), Some(sig)) = (link.by.clone(), link.exp, link.sig.as_deref()) else {
        return Err(refuse(browser, LinkError::Invalid));
    };
    approval::verify_link(
        state.settings.secret.expose_bytes(),
        proposal_id,
        &by,
        exp,
        sig,
        state.clock.now(),
    )
    .map_err(|e| refuse(browser, e))?;
    let (db, id) = (state.db.clone(), proposal_id.to_owned());
    let found = web::block(move || {
        db.read(|c| {
            let Some(proposal) = recovery::proposal(c, &id)? else {
                return Ok(None);
            };
            let (Some(case), Some(approver)) =
                (cases::find(c, &proposal.case_id)?, users::find(c, &by)?)
            else {
                return Ok(None);
            };
            let Some(location) = locations::find(c, &case.location_id)? else {
                return Ok(None);
            };
            let lang = Language::or_default(&approver.language);
            let category = crate::domain::setup::categories::of_store(c, &location.id)?
                .into_iter()
                .find(|k| k.key == case.category)
                .map_or_else(
                    || lang.category_label(&case.category),
                    |k| k.label(lang, &location.default_language),
                );
            let email = |c: &mut crate::db::DbConnection, id: &Option<String>| match id {
                Some(id) => users::find(c, id).map(|u| u.map(|u| u.email)),
                None => Ok(None),
            };
            Ok::<_, diesel::result::Error>(Some(Checked {
                proposer: email(c, &Some(proposal.proposed_by.clone()))?,
                decider: email(c, &proposal.decided_by)?,
                wish: recovery::wish_of(c, &case.id)?,
                lang,
                category,
                proposal,
                case,
                location,
                approver,
            }))
        })
    })
    .await??;
    found.ok_or_else(|| refuse(browser, LinkError::Invalid))
}

fn page(
    state: &AppState,
    ch: &Checked,
    title: String,
    message: Option<String>,
    req: &HttpRequest,
    first: Option<&str>,
) -> RemedyPage {
    let lang = ch.lang;
    let p = &ch.proposal;
    let mut summary = vec![
        (
            lang.text("remedy.proposed"),
            approval::describe(lang, &p.compensation()),
        ),
        (
            lang.text("remedy.by"),
            ch.proposer.clone().unwrap_or_default(),
        ),
        (lang.text("remedy.reason"), p.reason.clone()),
        (lang.text("alert.reference"), ch.case.reference.clone()),
        (lang.text("alert.category"), ch.category.clone()),
        (lang.text("alert.where"), ch.location.name.clone()),
        (
            lang.text("alert.when"),
            formats::date_time(lang, &ch.location.time_zone, ch.case.created_at),
        ),
    ];
    if let Some(w) = &ch.wish {
        summary.push((wish::heading(lang), wish::said(lang, w)));
    }
    let buttons = p.decided_at.is_none().then(|| {
        let approve_first = first != Some("decline");
        let mut b = vec![
            ("approve", lang.text("remedy.approve"), approve_first),
            ("decline", lang.text("remedy.decline"), !approve_first),
        ];
        if !approve_first {
            b.reverse();
        }
        (format!("{}?{}", req.path(), req.query_string()), b)
    });
    RemedyPage {
        lang: lang.code(),
        title,
        summary,
        body: ch.case.body.clone(),
        message,
        buttons,
        case_url: format!("{}/manage/cases/{}", state.base_url, ch.case.reference),
        open_case: lang.text("alert.open_case"),
    }
}

/// The words for a proposal decided before: by whom, which way, when.
fn decided_before(
    ch: &Checked,
    approved: Option<bool>,
    by: Option<&str>,
    at: chrono::NaiveDateTime,
) -> String {
    let lang = ch.lang;
    lang.text_with(
        match approved {
            Some(true) => "remedy.decided_approved",
            Some(false) => "remedy.decided_declined",
            None => "remedy.withdrawn",
        },
        &[
            ("who", by.unwrap_or_default()),
            (
                "when",
                &formats::date_time(lang, &ch.location.time_zone, at),
            ),
        ],
    )
}

pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    link: web::Query<RemedyLink>,
) -> Result<HttpResponse, AppError> {
    let ch = check(&state, &req, &path, &link).await?;
    let lang = ch.lang;
    let message = match ch.proposal.decided_at {
        None => lang.text("remedy.confirm_hint"),
        Some(at) => decided_before(&ch, ch.proposal.approved, ch.decider.as_deref(), at),
    };
    render::html(&page(
        &state,
        &ch,
        lang.text("remedy.ask_heading"),
        Some(message),
        &req,
        link.decision.as_deref(),
    ))
}

pub async fn decide(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    link: web::Query<RemedyLink>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, AppError> {
    let mut ch = check(&state, &req, &path, &link).await?;
    let lang = ch.lang;
    let approve = match form.decision.as_deref() {
        Some("approve") => true,
        Some("decline") => false,
        _ => return Err(AppError::Refused("error_page.bad_form")),
    };
    let (db, who, id, now) = (
        state.db.clone(),
        ch.approver.clone(),
        ch.proposal.id.clone(),
        state.clock.now(),
    );
    let outcome =
        web::block(move || db.write(|c| approval::decide(c, &who, &id, approve, now))).await?;
    let message = match outcome {
        Ok(Decided::Now) => {
            state.outbox_waker.wake();
            ch.proposal.decided_at = Some(now);
            ch.proposal.approved = Some(approve);
            lang.text(if approve {
                "remedy.done_approved"
            } else {
                "remedy.done_declined"
            })
        }
        Ok(Decided::Before { approved, by, at }) => {
            ch.proposal.decided_at = Some(at);
            decided_before(&ch, approved, by.as_deref(), at)
        }
        Err(WorkflowError::Invalid(_)) => {
            return Err(AppError::Customer {
                status: StatusCode::FORBIDDEN,
                lang,
                title_key: "remedy.not_yours_title",
                message_key: "remedy.not_yours",
            })
        }
        Err(WorkflowError::Db(e)) => return Err(e.into()),
    };
    render::html(&page(
        &state,
        &ch,
        lang.text("remedy.ask_heading"),
        Some(message),
        &req,
        None,
    ))
}
