//! A short notice to staff: a heading, what happened, what to do, and one button. The
//! kiosk's unhappy-taps alert and the "webhook stopped" mail are notices.

use askama::Template;

use crate::domain::language::Language;
use crate::domain::mail::{one_line, MailError, OutgoingEmail};

pub struct Notice {
    pub lang: Language,
    pub subject: String,
    pub heading: String,
    pub what: String,
    pub advice: String,
    pub link_label: String,
    pub url: String,
}

struct View<'a> {
    lang: &'static str,
    n: &'a Notice,
}

#[derive(Template)]
#[template(path = "email/notice/subject.txt")]
struct Subject<'a> {
    m: &'a View<'a>,
}
#[derive(Template)]
#[template(path = "email/notice/body.txt")]
struct Text<'a> {
    m: &'a View<'a>,
}
#[derive(Template)]
#[template(path = "email/notice/body.html")]
struct Html<'a> {
    m: &'a View<'a>,
}

impl Notice {
    pub fn email(&self) -> Result<OutgoingEmail, MailError> {
        let m = View {
            lang: self.lang.code(),
            n: self,
        };
        Ok(OutgoingEmail {
            subject: one_line(&Subject { m: &m }.render()?, 200),
            text: Text { m: &m }.render()?,
            html: Html { m: &m }.render()?,
            inline_images: Vec::new(),
            list_unsubscribe: None,
        })
    }
}
