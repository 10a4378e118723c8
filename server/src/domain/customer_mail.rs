//! Emails to the customer about their case: a public update from the store, and the news
//! that it is resolved. In the customer's language, with the link to their status page.

use askama::Template;

use crate::db::models::{Case, Location};
use crate::db::queries::{cases, locations};
use crate::db::{DbConnection, DbError};
use crate::domain::alerts::AlertContext;
use crate::domain::case_workflow::CustomerMailKind;
use crate::domain::email::{one_line, OutgoingEmail};
use crate::domain::language::Language;
use crate::domain::reference::status_token;

pub struct CustomerFacts {
    case: Case,
    location: Location,
    /// The update's text, for an update.
    text: Option<String>,
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
            CustomerMailKind::Resolved => None,
        };
        Ok(Some(CustomerFacts {
            case,
            location,
            text,
        }))
    }

    pub fn compose(
        &self,
        ctx: &AlertContext,
        kind: &CustomerMailKind,
        lang: Language,
    ) -> Result<OutgoingEmail, DbError> {
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
        };
        let m = CustomerView {
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
                .map(|to| crate::domain::unsubscribe::unsubscribe_url(ctx, to)),
        };
        let rendered = match kind {
            CustomerMailKind::Update { .. } => (
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
        let err = |e: askama::Error| DbError::Other(format!("email template failed: {e}"));
        Ok(OutgoingEmail {
            subject: one_line(&rendered.0.map_err(err)?, 200),
            text: rendered.1.map_err(err)?,
            html: rendered.2.map_err(err)?,
            inline_images: Vec::new(),
            list_unsubscribe: m.unsubscribe_url.clone(),
        })
    }
}
