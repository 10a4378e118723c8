//! "Don't email me again": a signed link per address (no expiry: it must always work), in
//! every survey email and as the List-Unsubscribe header (RFC 8058 one-click POST).

use hmac::{Hmac, Mac};

use crate::domain::alert::AlertContext;

fn signature(key: &[u8], email: &str) -> String {
    let Ok(mut mac) = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(b"mend unsubscribe|");
    mac.update(email.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
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
    use subtle::ConstantTimeEq;
    // Without an early exit: timing does not reveal how much matched.
    bool::from(signature(key, email).as_bytes().ct_eq(sig.as_bytes()))
}
