//! The survey emails: the ask (five rating buttons), its reminder, and the follow-up check
//! (yes / no), in the customer's language, each with an unsubscribe link. A button only
//! opens the survey page with the answer chosen; nothing is recorded until the customer
//! confirms there (mail scanners open links).

use askama::Template;

use crate::db::models::Survey;
use crate::db::queries::{cases, locations};
use crate::db::DbConnection;
use crate::domain::alert::AlertContext;
use crate::domain::language::Language;
use crate::domain::mail::unsubscribe::unsubscribe_url;
use crate::domain::mail::MailError;
use crate::domain::mail::SurveyMail;
use crate::domain::mail::{one_line, OutgoingEmail};
use crate::domain::survey::survey_path;

pub struct SurveyFacts {
    survey: Survey,
    store: String,
    reference: String,
    report: Option<crate::domain::survey::Report>,
}

struct SurveyView {
    lang: &'static str,
    heading: String,
    /// Which report it is about.
    about: String,
    intro: String,
    question: String,
    /// (label, url) of each answer button.
    buttons: Vec<(String, String)>,
    scale: Option<(String, String)>,
    unsubscribe_label: String,
    unsubscribe_url: String,
}

#[derive(Template)]
#[template(path = "email/survey/subject.txt")]
struct Subject<'a> {
    m: &'a SurveyView,
}
#[derive(Template)]
#[template(path = "email/survey/body.txt")]
struct Text<'a> {
    m: &'a SurveyView,
}
#[derive(Template)]
#[template(path = "email/survey/body.html")]
struct Html<'a> {
    m: &'a SurveyView,
}

impl SurveyFacts {
    pub fn load(c: &mut DbConnection, survey_id: &str) -> diesel::QueryResult<Option<SurveyFacts>> {
        let Some(survey) = crate::db::queries::surveys::find(c, survey_id)? else {
            return Ok(None);
        };
        let Some(case) = cases::find(c, &survey.case_id)? else {
            return Ok(None);
        };
        let Some(location) = locations::find(c, &case.location_id)? else {
            return Ok(None);
        };
        let report = crate::domain::survey::Report::load(c, &case.id)?;
        Ok(Some(SurveyFacts {
            survey,
            store: location.name,
            reference: case.reference,
            report,
        }))
    }

    /// A made-up survey about a made-up report at a store, for "send a test to me": what
    /// the store's customers get, in `lang`. Its buttons lead to a survey that does not
    /// exist, so a test records nothing.
    pub fn sample(
        location: &crate::db::models::Location,
        lang: Language,
        now: chrono::NaiveDateTime,
    ) -> SurveyFacts {
        let received = now - chrono::Duration::days(3);
        let survey = Survey {
            id: "sample".to_owned(),
            ..Survey::unanswered(
                crate::domain::survey::SurveyKind::Satisfaction,
                lang.code(),
                received,
            )
        };
        SurveyFacts {
            survey,
            store: location.name.clone(),
            reference: "ABC-123".to_owned(),
            report: Some(crate::domain::survey::Report::sample(
                &location.name,
                &location.time_zone,
                received,
                lang.text("test_mail.sample_words"),
            )),
        }
    }

    pub fn compose(
        &self,
        ctx: &AlertContext,
        mail: SurveyMail,
        recipient: &str,
    ) -> Result<OutgoingEmail, MailError> {
        let lang = Language::or_default(&self.survey.language);
        let store = [
            ("store", self.store.as_str()),
            ("reference", self.reference.as_str()),
        ];
        let page = format!(
            "{}{}",
            ctx.base_url,
            survey_path(ctx.key.expose_bytes(), &self.survey.id)
        );
        let (heading, intro, question, buttons, scale) = match mail {
            SurveyMail::Ask | SurveyMail::Reminder => (
                lang.text_with(
                    if mail == SurveyMail::Ask {
                        "survey.ask_heading"
                    } else {
                        "survey.reminder_heading"
                    },
                    &store,
                ),
                lang.text("survey.ask_intro"),
                lang.text("survey.csat"),
                (1..=5)
                    .map(|n| (n.to_string(), format!("{page}?r={n}")))
                    .collect(),
                Some((lang.text("survey.csat_1"), lang.text("survey.csat_5"))),
            ),
            SurveyMail::FollowUp => (
                lang.text("survey.follow_up_heading"),
                lang.text_with("survey.follow_up_intro", &store),
                lang.text("survey.still_working"),
                vec![
                    (lang.text("survey.yes"), format!("{page}?w=yes")),
                    (lang.text("survey.no"), format!("{page}?w=no")),
                ],
                None,
            ),
        };
        let m = SurveyView {
            lang: lang.code(),
            heading,
            about: self
                .report
                .as_ref()
                .map(|r| r.text(lang))
                .unwrap_or_default(),
            intro,
            question,
            buttons,
            scale,
            unsubscribe_label: lang.text("survey.unsubscribe"),
            unsubscribe_url: unsubscribe_url(ctx, recipient),
        };
        let list_unsubscribe = Some(m.unsubscribe_url.clone());
        Ok(OutgoingEmail {
            subject: one_line(&Subject { m: &m }.render()?, 200),
            text: Text { m: &m }.render()?,
            html: Html { m: &m }.render()?,
            inline_images: Vec::new(),
            list_unsubscribe,
        })
    }
}
