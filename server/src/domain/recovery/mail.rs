//! The emails about a remedy waiting for a manager: the ask (to each approver, in their
//! language, with approve and decline links signed for them) and the answer (to the one
//! who proposed it). Rendered when sent, from the proposal as it stands.

use askama::Template;

use crate::db::models::{Case, Location, RemedyProposal, User};
use crate::db::queries::{cases, locations, recovery, users};
use crate::db::Db;
use crate::domain::alert::AlertContext;
use crate::domain::language::{formats, Language};
use crate::domain::mail::RemedyMail;
use crate::domain::mail::{one_line, MailError, OutgoingEmail};
use crate::domain::recovery::approval::{describe, link_query};
use crate::domain::recovery::wish;

struct View {
    lang: &'static str,
    subject: String,
    heading: String,
    what: String,
    /// (label, value) lines about the case.
    facts: Vec<(String, String)>,
    body: String,
    /// (url, label): approve, decline (the ask); open the case (both).
    buttons: Vec<(String, String, &'static str)>,
    why: String,
}

#[derive(Template)]
#[template(path = "email/remedy/body.txt")]
struct Text<'a> {
    m: &'a View,
}
#[derive(Template)]
#[template(path = "email/remedy/body.html")]
struct Html<'a> {
    m: &'a View,
}

struct Facts {
    proposal: RemedyProposal,
    case: Case,
    location: Location,
    proposer: Option<User>,
    decider: Option<User>,
    recipient: Option<User>,
    wish: Option<crate::db::models::CaseWish>,
    category: String,
}

/// The email as sent; None when the proposal or its case is gone, or an ask that was
/// decided before it left (nothing to ask any more).
pub fn compose(
    db: &Db,
    ctx: &AlertContext,
    proposal_id: &str,
    mail: RemedyMail,
    recipient: &str,
    lang: Language,
) -> Result<Option<OutgoingEmail>, MailError> {
    let facts = db.read(|c| {
        let Some(proposal) = recovery::proposal(c, proposal_id)? else {
            return Ok(None);
        };
        let Some(case) = cases::find(c, &proposal.case_id)? else {
            return Ok(None);
        };
        let Some(location) = locations::find(c, &case.location_id)? else {
            return Ok(None);
        };
        let category = crate::domain::setup::categories::of_store(c, &location.id)?
            .into_iter()
            .find(|k| k.key == case.category)
            .map_or_else(
                || lang.category_label(&case.category),
                |k| k.label(lang, &location.default_language),
            );
        let decider = match &proposal.decided_by {
            Some(id) => users::find(c, id)?,
            None => None,
        };
        Ok::<_, diesel::result::Error>(Some(Facts {
            proposer: users::find(c, &proposal.proposed_by)?,
            recipient: users::find_by_email(c, recipient)?,
            wish: recovery::wish_of(c, &case.id)?,
            decider,
            category,
            proposal,
            case,
            location,
        }))
    })?;
    let Some(f) = facts else { return Ok(None) };
    if mail == RemedyMail::Ask && f.proposal.decided_at.is_some() {
        return Ok(None);
    }
    let remedy = describe(lang, &f.proposal.compensation());
    let proposer = f
        .proposer
        .as_ref()
        .map(|u| u.email.clone())
        .unwrap_or_default();
    let args = [
        ("reference", f.case.reference.as_str()),
        ("store", f.location.name.as_str()),
        ("remedy", remedy.as_str()),
        ("who", proposer.as_str()),
    ];
    let mut facts = vec![
        (lang.text("alert.reference"), f.case.reference.clone()),
        (lang.text("alert.where"), one_line(&f.location.name, 80)),
        (lang.text("alert.category"), f.category.clone()),
        (
            lang.text("alert.when"),
            formats::date_time(lang, &f.location.time_zone, f.case.created_at),
        ),
        (lang.text("remedy.proposed"), remedy.clone()),
        (lang.text("remedy.reason"), f.proposal.reason.clone()),
    ];
    if let Some(w) = &f.wish {
        facts.push((wish::heading(lang), wish::said(lang, w)));
    }
    let case_url = ctx.case_url(&f.case.reference);
    let (subject, heading, what, buttons) = match mail {
        RemedyMail::Ask => {
            let Some(approver) = &f.recipient else {
                return Err(MailError::Permanent(format!("no account for {recipient}")));
            };
            let query = link_query(
                ctx.key.expose_bytes(),
                &f.proposal.id,
                &approver.id,
                ctx.clock.now(),
            );
            let link = |decision: &str| {
                format!(
                    "{}/remedy/{}?{query}&decision={decision}",
                    ctx.base_url, f.proposal.id
                )
            };
            (
                lang.text_with("remedy.ask_subject", &args),
                lang.text("remedy.ask_heading"),
                lang.text_with("remedy.ask_what", &args),
                vec![
                    (link("approve"), lang.text("remedy.approve"), "#188038"),
                    (link("decline"), lang.text("remedy.decline"), "#a50e0e"),
                    (case_url, lang.text("alert.open_case"), "#0b57d0"),
                ],
            )
        }
        RemedyMail::Decided => {
            let approved = f.proposal.approved == Some(true);
            let decider = f
                .decider
                .as_ref()
                .map(|u| u.email.clone())
                .unwrap_or_default();
            let args = [
                ("reference", f.case.reference.as_str()),
                ("remedy", remedy.as_str()),
                ("who", decider.as_str()),
            ];
            let (subject, heading, what) = if approved {
                (
                    "remedy.approved_subject",
                    "remedy.approved_heading",
                    "remedy.approved_what",
                )
            } else {
                (
                    "remedy.declined_subject",
                    "remedy.declined_heading",
                    "remedy.declined_what",
                )
            };
            (
                lang.text_with(subject, &args),
                lang.text_with(heading, &args),
                lang.text_with(what, &args),
                vec![(case_url, lang.text("alert.open_case"), "#0b57d0")],
            )
        }
    };
    let m = View {
        lang: lang.code(),
        subject,
        heading,
        what,
        facts,
        body: f.case.body.clone(),
        buttons,
        why: lang.text_with("alert.why", &[("store", &f.location.name)]),
    };
    Ok(Some(OutgoingEmail {
        subject: one_line(&m.subject, 200),
        text: Text { m: &m }.render()?,
        html: Html { m: &m }.render()?,
        inline_images: Vec::new(),
        list_unsubscribe: None,
    }))
}
