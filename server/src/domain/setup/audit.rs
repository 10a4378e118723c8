//! Who changed what: every administrative change writes one entry, in the same
//! transaction as the change.

use serde::Serialize;

use crate::db::models::{new_id, now_utc, AdminLogEntry};
use crate::db::queries::admin_log;
use crate::db::DbConnection;

/// Who makes a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An operator at the server's command line.
    CommandLine,
    /// A signed-in person.
    User { id: String, email: String },
}

impl Actor {
    fn parts(&self) -> (Option<String>, String) {
        match self {
            Actor::CommandLine => (None, "command line".to_owned()),
            Actor::User { id, email } => (Some(id.clone()), email.clone()),
        }
    }
}

/// Records `action` on `subject`, with the before and after states as JSON.
pub fn record<B: Serialize, A: Serialize>(
    c: &mut DbConnection,
    actor: &Actor,
    action: &str,
    subject: &str,
    before: Option<&B>,
    after: Option<&A>,
) -> diesel::QueryResult<()> {
    let (actor_user_id, actor) = actor.parts();
    let json = |v: Option<String>| v.filter(|s| s != "null");
    admin_log::insert(
        c,
        &AdminLogEntry {
            id: new_id(),
            actor_user_id,
            actor,
            action: action.to_owned(),
            subject: subject.to_owned(),
            before: json(before.and_then(|b| serde_json::to_string(b).ok())),
            after: json(after.and_then(|a| serde_json::to_string(a).ok())),
            created_at: now_utc(),
        },
    )
}
