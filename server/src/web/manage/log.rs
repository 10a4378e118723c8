//! `/manage/log`: the administrative changes, newest first (admins only).

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::db::models::AdminLogEntry;
use crate::db::queries::admin_log;
use crate::db::states::Role;
use crate::domain::language::Language;
use crate::web::session::SignedIn;
use crate::web::{render, AppError, AppState};

/// Entries shown on the page.
const SHOWN: i64 = 500;

#[derive(Template)]
#[template(path = "manage/log.html")]
struct LogPage {
    l: Language,
    entries: Vec<AdminLogEntry>,
}

impl LogPage {
    /// Who, as shown: an email, or the command line in the reader's language.
    fn actor_label(&self, actor: &str) -> String {
        if actor == "command line" {
            self.l.text("log.command_line")
        } else {
            actor.to_owned()
        }
    }

    /// What an entry's action is called in the reader's language.
    fn action_label(&self, action: &str) -> String {
        let key = format!("log.{}", action.replace('.', "_"));
        let label = self.l.text(&key);
        if label == key {
            action.to_owned()
        } else {
            label
        }
    }
}

pub async fn show(state: web::Data<AppState>, who: SignedIn) -> Result<HttpResponse, AppError> {
    if who.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let db = state.db.clone();
    let entries = web::block(move || db.read(|c| admin_log::latest(c, SHOWN))).await??;
    let l = Language::or_default(&who.user.language);
    render::html(&LogPage { l, entries })
}
