//! Emails about a staff account: the set-password link of a reset or an invitation, in
//! the person's language.

use askama::Template;
use chrono::DateTime;

use crate::db::models::User;
use crate::domain::account::password_link::link_query;
use crate::domain::alert::AlertContext;
use crate::domain::language::Language;
use crate::domain::mail::MailError;
use crate::domain::mail::PasswordMail;
use crate::domain::mail::{one_line, OutgoingEmail};

struct AccountView {
    lang: &'static str,
    heading: String,
    intro: String,
    button: String,
    url: String,
    note: String,
}

#[derive(Template)]
#[template(path = "email/password/subject.txt")]
struct Subject<'a> {
    m: &'a AccountView,
}
#[derive(Template)]
#[template(path = "email/password/body.txt")]
struct Text<'a> {
    m: &'a AccountView,
}
#[derive(Template)]
#[template(path = "email/password/body.html")]
struct Html<'a> {
    m: &'a AccountView,
}

pub fn compose(
    ctx: &AlertContext,
    user: &User,
    mail: PasswordMail,
    expires: i64,
) -> Result<OutgoingEmail, MailError> {
    let lang = Language::or_default(&user.language);
    let expires_at = DateTime::from_timestamp(expires, 0)
        .map(|d| d.naive_utc())
        .unwrap_or_else(|| ctx.clock.now());
    let url = format!(
        "{}/manage/password/set?{}",
        ctx.base_url,
        link_query(ctx.key.expose_bytes(), user, expires_at)
    );
    let (heading, intro, note) = match mail {
        PasswordMail::Reset => (
            lang.text("account.reset_heading"),
            lang.text("account.reset_intro"),
            lang.text("account.reset_note"),
        ),
        PasswordMail::Invite => (
            lang.text("account.invite_heading"),
            lang.text_with("account.invite_intro", &[("email", &user.email)]),
            lang.text("account.invite_note"),
        ),
    };
    let m = AccountView {
        lang: lang.code(),
        heading,
        intro,
        button: lang.text("account.set_password"),
        url,
        note,
    };
    Ok(OutgoingEmail {
        subject: one_line(&Subject { m: &m }.render()?, 200),
        text: Text { m: &m }.render()?,
        html: Html { m: &m }.render()?,
        inline_images: Vec::new(),
        list_unsubscribe: None,
    })
}
