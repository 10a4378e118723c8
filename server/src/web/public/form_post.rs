//! Reading a complaint post by hand, field by field as it streams in: each text field
//! bounded, the photo bounded by the configured size. A photo over the limit is set aside
//! (read on and thrown away, up to a cap, to reach the fields after it) so the customer
//! gets the form back with everything they typed and the reason, in the language they
//! chose, instead of an error page that loses their words.

use actix_multipart::Multipart;
use futures_util::TryStreamExt;

/// One text field: far more than any field of the form needs.
const TEXT_MAX: usize = 16 * 1024;
/// All text fields together.
const TEXTS_MAX: usize = 64 * 1024;
/// Past the photo's limit a post is read on, and thrown away, at most this far (or four
/// times the limit, if more): enough for a phone's full-size photo, not an open tap.
const DRAIN_MIN: usize = 16 * 1024 * 1024;

fn drain_max(photo_max: usize) -> usize {
    photo_max.saturating_mul(4).max(DRAIN_MIN)
}

/// A complaint post as sent.
#[derive(Debug, Default)]
pub struct Posted {
    pub stamp: Option<String>,
    pub lang: Option<String>,
    pub website: Option<String>,
    pub category: Option<String>,
    pub body: Option<String>,
    pub email: Option<String>,
    pub consent: Option<String>,
    pub photo_ref: Option<String>,
    pub handoff: Option<String>,
    /// The photo's bytes, when one was sent within the limit.
    pub photo: Option<Vec<u8>>,
    /// A photo was sent over the limit: set aside, the rest of the post kept.
    pub photo_too_large: bool,
}

/// Why a post could not be read at all.
#[derive(Debug, PartialEq, Eq)]
pub enum PostError {
    /// Bigger than anything the form sends, even with a photo over the limit.
    TooLarge,
    /// Not a multipart form, or a broken one.
    Malformed,
}

impl From<actix_multipart::MultipartError> for PostError {
    fn from(e: actix_multipart::MultipartError) -> Self {
        match e {
            actix_multipart::MultipartError::Payload(actix_web::error::PayloadError::Overflow) => {
                PostError::TooLarge
            }
            _ => PostError::Malformed,
        }
    }
}

/// Reads the whole post.
pub async fn read(mut multipart: Multipart, photo_max: usize) -> Result<Posted, PostError> {
    let mut posted = Posted::default();
    let mut texts = 0usize;
    let mut drained = 0usize;
    while let Some(mut field) = multipart.try_next().await? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "photo" {
            let mut bytes = Vec::new();
            let mut over = false;
            while let Some(chunk) = field.try_next().await? {
                if over || bytes.len() + chunk.len() > photo_max {
                    if !over {
                        drained += bytes.len();
                        bytes = Vec::new();
                        over = true;
                    }
                    drained += chunk.len();
                    if drained > drain_max(photo_max) {
                        return Err(PostError::TooLarge);
                    }
                } else {
                    bytes.extend_from_slice(&chunk);
                }
            }
            if over {
                posted.photo_too_large = true;
            } else if !bytes.is_empty() {
                posted.photo = Some(bytes);
            }
            continue;
        }
        let mut value = Vec::new();
        while let Some(chunk) = field.try_next().await? {
            texts += chunk.len();
            if value.len() + chunk.len() > TEXT_MAX || texts > TEXTS_MAX {
                return Err(PostError::TooLarge);
            }
            value.extend_from_slice(&chunk);
        }
        let value = String::from_utf8(value).map_err(|_| PostError::Malformed)?;
        let slot = match name.as_str() {
            "stamp" => &mut posted.stamp,
            "lang" => &mut posted.lang,
            "website" => &mut posted.website,
            "category" => &mut posted.category,
            "body" => &mut posted.body,
            "email" => &mut posted.email,
            "consent" => &mut posted.consent,
            "photo_ref" => &mut posted.photo_ref,
            "handoff" => &mut posted.handoff,
            // A field the form does not have: ignored (it was bounded like the rest).
            _ => continue,
        };
        *slot = Some(value);
    }
    Ok(posted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};

    const BOUNDARY: &str = "b0undary";

    fn body(fields: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in fields {
            out.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"")
                    .as_bytes(),
            );
            if *name == "photo" {
                out.extend_from_slice(b"; filename=\"p.jpg\"\r\nContent-Type: image/jpeg");
            }
            out.extend_from_slice(b"\r\n\r\n");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        out
    }

    async fn read_body(bytes: Vec<u8>, photo_max: usize) -> Result<Posted, PostError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(&format!("multipart/form-data; boundary={BOUNDARY}")).unwrap(),
        );
        let stream = futures_util::stream::iter(
            bytes
                .chunks(1000)
                .map(|c| Ok(actix_web::web::Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        );
        read(Multipart::new(&headers, stream), photo_max).await
    }

    #[actix_web::test]
    async fn a_photo_over_the_limit_is_set_aside_and_the_fields_after_it_kept() {
        let big = vec![0xFFu8; 50_000];
        let posted = read_body(
            body(&[
                ("lang", b"ko"),
                ("body", "비누가 없어요".as_bytes()),
                ("photo", &big),
                ("email", b"kim@example.com"),
                ("consent", b"yes"),
            ]),
            10_000,
        )
        .await
        .unwrap();
        assert!(posted.photo_too_large && posted.photo.is_none());
        assert_eq!(posted.lang.as_deref(), Some("ko"));
        assert_eq!(posted.body.as_deref(), Some("비누가 없어요"));
        assert_eq!(posted.email.as_deref(), Some("kim@example.com"));
        assert_eq!(posted.consent.as_deref(), Some("yes"));
    }

    #[actix_web::test]
    async fn a_photo_within_the_limit_is_read() {
        let photo = vec![7u8; 9_000];
        let posted = read_body(body(&[("photo", &photo), ("body", b"x")]), 10_000)
            .await
            .unwrap();
        assert_eq!(posted.photo.as_deref(), Some(&photo[..]));
        assert!(!posted.photo_too_large);
    }

    #[actix_web::test]
    async fn an_oversized_text_field_or_a_broken_body_is_refused() {
        let long = vec![b'a'; TEXT_MAX + 1];
        assert_eq!(
            read_body(body(&[("body", &long)]), 10_000)
                .await
                .unwrap_err(),
            PostError::TooLarge
        );
        assert_eq!(
            read_body(body(&[("body", &[0xC3, 0x28])]), 10_000)
                .await
                .unwrap_err(),
            PostError::Malformed
        );
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let stream = futures_util::stream::iter(Vec::<Result<actix_web::web::Bytes, _>>::new());
        assert!(read(Multipart::new(&headers, stream), 10).await.is_err());
    }
}
