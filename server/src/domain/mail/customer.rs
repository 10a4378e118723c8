//! Emails to the customer about their case: the receipt, sent at once, a public update
//! from the store, the news that it is resolved, and what the store changed because of
//! it ("you said, we did"). In the customer's language, with the link to their status page.

use askama::Template;

use crate::db::models::{Case, Location};
use crate::db::queries::{cases, locations};
use crate::db::{DbConnection, DbError};
use crate::domain::alert::AlertContext;
use crate::domain::case::reference::status_token;
use crate::domain::language::Language;
use crate::domain::mail::CustomerMailKind;
use crate::domain::mail::MailError;
use crate::domain::mail::{one_line, OutgoingEmail};

pub struct CustomerFacts {
    case: Case,
    location: Location,
    /// The update's text, for an update.
    text: Option<String>,
    /// For "you said, we did": the change and the case's category with its labels.
    change: Option<(
        crate::domain::process_changes::Texts,
        Option<crate::domain::setup::categories::Category>,
    )>,
}

struct CustomerView {
    lang: &'static str,
    heading: String,
    intro: String,
    text: String,
    status_label: String,
    status_url: Option<String>,
    reference_label: String,
    reference: String,
    why: String,
    unsubscribe_label: String,
    unsubscribe_url: Option<String>,
    /// In the receipt: "what would make this right?" and a link per choice to the status
    /// page with it picked (the page sends nothing until the customer presses send).
    wish: Option<(String, Vec<(String, String)>)>,
}

macro_rules! customer_template {
    ($name:ident, $path:literal) => {
        #[derive(Template)]
        #[template(path = $path)]
        struct $name<'a> {
            m: &'a CustomerView,
        }
    };
}
customer_template!(UpdateSubject, "email/customer_update/subject.txt");
customer_template!(UpdateText, "email/customer_update/body.txt");
customer_template!(UpdateHtml, "email/customer_update/body.html");
customer_template!(ResolvedSubject, "email/customer_resolved/subject.txt");
customer_template!(ResolvedText, "email/customer_resolved/body.txt");
customer_template!(ResolvedHtml, "email/customer_resolved/body.html");

/// The receipt for a new case, as an outbox row, when its customer gave an email, agreed
/// to be contacted and has not asked for no more mail. Made inside the transaction that
/// stores the case, so a complaint that got its reference has its receipt on the way.
pub fn receipt(
    c: &mut DbConnection,
    case: &Case,
) -> Result<Option<crate::db::models::OutboxMessage>, DbError> {
    let Some(to) = case
        .contact_email
        .as_deref()
        .filter(|_| case.contact_consent)
    else {
        return Ok(None);
    };
    if crate::db::queries::surveys::opted_out(c, to)? {
        return Ok(None);
    }
    let kind = CustomerMailKind::Receipt;
    crate::domain::mail::outbox_row(crate::domain::mail::Enqueue {
        kind: kind.mail_kind(),
        recipient: to,
        payload: &crate::domain::mail::MailPayload::CustomerMail {
            case_id: case.id.clone(),
            mail: kind,
            lang: case.language.clone(),
        },
        dedupe_key: format!("receipt:{}", case.id),
        case_id: Some(&case.id),
        now: case.created_at,
    })
    .map(Some)
}

impl CustomerFacts {
    /// None when the case, its location or the update is gone.
    pub fn load(
        c: &mut DbConnection,
        case_id: &str,
        kind: &CustomerMailKind,
    ) -> diesel::QueryResult<Option<CustomerFacts>> {
        let Some(case) = cases::find(c, case_id)? else {
            return Ok(None);
        };
        let Some(location) = locations::find(c, &case.location_id)? else {
            return Ok(None);
        };
        let text = match kind {
            CustomerMailKind::Update { event_id } => {
                let event = cases::events(c, case_id)?
                    .into_iter()
                    .find(|e| e.id == *event_id);
                let Some(event) = event else { return Ok(None) };
                let detail: serde_json::Value =
                    serde_json::from_str(&event.detail).unwrap_or_default();
                Some(detail["text"].as_str().unwrap_or_default().to_owned())
            }
            CustomerMailKind::Resolved
            | CustomerMailKind::Receipt
            | CustomerMailKind::Changed { .. } => None,
        };
        let change = match kind {
            CustomerMailKind::Changed { change_id } => {
                // A withdrawn change is not sent: its rows were dropped with it, and one
                // claimed in between finds it gone.
                let Some(found) = crate::db::queries::process_changes::find(c, change_id)?
                    .filter(|ch| ch.withdrawn_at.is_none())
                else {
                    return Ok(None);
                };
                let category = crate::domain::setup::categories::of_store(c, &case.location_id)?
                    .into_iter()
                    .find(|k| k.key == case.category);
                Some((
                    crate::domain::process_changes::Texts::parse(&found.texts),
                    category,
                ))
            }
            _ => None,
        };
        Ok(Some(CustomerFacts {
            case,
            location,
            text,
            change,
        }))
    }

    pub fn compose(
        &self,
        ctx: &AlertContext,
        kind: &CustomerMailKind,
        lang: Language,
    ) -> Result<OutgoingEmail, MailError> {
        let case = &self.case;
        let store = [("store", self.location.name.as_str())];
        let status_url = case.render_nonce.as_deref().map(|nonce| {
            let token = status_token(ctx.key.expose_bytes(), nonce);
            format!(
                "{}/c/{}?k={token}&lang={}",
                ctx.base_url,
                case.reference,
                lang.code()
            )
        });
        let (heading, intro, text) = match kind {
            CustomerMailKind::Update { .. } => (
                lang.text_with("customer.update_heading", &store),
                lang.text_with("customer.update_intro", &store),
                self.text.clone().unwrap_or_default(),
            ),
            CustomerMailKind::Resolved => (
                lang.text_with("customer.resolved_heading", &store),
                lang.text_with("customer.resolved_intro", &store),
                case.resolution.clone().unwrap_or_default(),
            ),
            // Their own words back, so they know which report it is.
            CustomerMailKind::Receipt => (
                lang.text_with("customer.receipt_heading", &store),
                lang.text_with("customer.receipt_intro", &store),
                case.body.clone(),
            ),
            CustomerMailKind::Changed { .. } => {
                let (texts, category) = self.change.clone().unwrap_or_default();
                let store_language = self.location.default_language.as_str();
                let about = category.map_or_else(
                    || lang.category_label(&case.category),
                    |k| k.label(lang, store_language),
                );
                (
                    lang.text_with("customer.changed_heading", &store),
                    lang.text_with(
                        "customer.changed_intro",
                        &[("store", self.location.name.as_str()), ("about", &about)],
                    ),
                    texts.pick(lang, store_language).to_owned(),
                )
            }
        };
        let wish = match (kind, &status_url) {
            (CustomerMailKind::Receipt, Some(url)) if case.resolved_at.is_none() => Some((
                lang.text("wish.title"),
                crate::domain::recovery::wish::CHOICES
                    .iter()
                    .map(|w| {
                        (
                            format!("{url}&wish={w}#wish"),
                            crate::domain::recovery::wish::label(lang, *w),
                        )
                    })
                    .collect(),
            )),
            _ => None,
        };
        let m = CustomerView {
            wish,
            lang: lang.code(),
            heading,
            intro,
            text,
            status_label: lang.text("customer.status_link"),
            status_url,
            reference_label: lang.text("status.reference"),
            reference: case.reference.clone(),
            why: lang.text_with("customer.why", &store),
            unsubscribe_label: lang.text("survey.unsubscribe"),
            unsubscribe_url: case
                .contact_email
                .as_deref()
                .map(|to| crate::domain::mail::unsubscribe::unsubscribe_url(ctx, to)),
        };
        let rendered = match kind {
            CustomerMailKind::Update { .. }
            | CustomerMailKind::Receipt
            | CustomerMailKind::Changed { .. } => (
                UpdateSubject { m: &m }.render(),
                UpdateText { m: &m }.render(),
                UpdateHtml { m: &m }.render(),
            ),
            CustomerMailKind::Resolved => (
                ResolvedSubject { m: &m }.render(),
                ResolvedText { m: &m }.render(),
                ResolvedHtml { m: &m }.render(),
            ),
        };
        Ok(OutgoingEmail {
            subject: one_line(&rendered.0?, 200),
            text: rendered.1?,
            html: rendered.2?,
            inline_images: Vec::new(),
            list_unsubscribe: m.unsubscribe_url.clone(),
        })
    }
}
