//! "Don't email me again": a signed link per address (no expiry: it must always work), in
//! every survey email and as the List-Unsubscribe header (RFC 8058 one-click POST).

use crate::domain::alert::AlertContext;
use crate::domain::signed_link;

fn signature(key: &[u8], email: &str) -> String {
    signed_link::token(key, "unsubscribe", email)
}

/// `{base}/u?e=..&s=..`
pub fn unsubscribe_url(ctx: &AlertContext, email: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("e", email)
        .append_pair("s", &signature(ctx.key.expose_bytes(), email))
        .finish();
    format!("{}/u?{query}", ctx.base_url)
}

pub fn verify(key: &[u8], email: &str, sig: &str) -> bool {
    signed_link::token_matches(key, "unsubscribe", email, sig)
}
