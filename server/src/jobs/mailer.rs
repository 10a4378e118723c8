//! Delivering one outbox row: through SMTP when `MEND_SMTP_URL` is set, else as an .eml
//! file under the data dir (the main job works with zero set-up). Errors are sorted into
//! transient (try again later) and permanent (a 5xx: trying again cannot help).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::Settings;
use crate::db::models::OutboxMessage;
use crate::domain::mail::{MailError, OutgoingEmail};

/// Each SMTP command (connect included) must answer within this.
pub const SMTP_COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// A whole send, however the server dawdles; lettre's own timeouts do not cover every
/// await of an async send, so the worker puts a deadline around it too.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle SMTP connections kept open for the next messages.
pub const SMTP_POOL_SIZE: u32 = 32;

pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
        data_dir: PathBuf,
        /// host:port, for the log: never the URL, which may hold a password.
        server: String,
    },
    Files {
        dir: PathBuf,
        from: Mailbox,
        data_dir: PathBuf,
    },
}

impl Mailer {
    /// Where photos (and the other files Mend keeps) live.
    pub fn data_dir(&self) -> &std::path::Path {
        match self {
            Mailer::Smtp { data_dir, .. } | Mailer::Files { data_dir, .. } => data_dir,
        }
    }

    pub fn from_settings(settings: &Settings) -> Result<Mailer, crate::config::ConfigError> {
        let from = settings.mail_from.clone();
        let data_dir = settings.data_dir.clone();
        let Some(url) = &settings.smtp_url else {
            return Ok(Mailer::Files {
                dir: data_dir.join("mail"),
                from,
                data_dir,
            });
        };
        let url = url.expose_secret();
        let server = url::Url::parse(url)
            .map(|u| {
                format!(
                    "{}:{}",
                    u.host_str().unwrap_or_default(),
                    u.port().unwrap_or(25)
                )
            })
            .unwrap_or_default();
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| {
                crate::config::ConfigError::new("MEND_SMTP_URL", format!("not usable: {e}"))
            })?
            .timeout(Some(SMTP_COMMAND_TIMEOUT))
            .pool_config(PoolConfig::new().max_size(SMTP_POOL_SIZE))
            .build();
        Ok(Mailer::Smtp {
            transport,
            from,
            data_dir,
            server,
        })
    }

    /// Where mail goes, for the start-up log.
    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp { server, .. } => format!("SMTP server {server}"),
            Mailer::Files { dir, .. } => format!(".eml files in {}", dir.display()),
        }
    }

    /// True when messages become .eml files rather than SMTP sends.
    pub fn writes_files(&self) -> bool {
        matches!(self, Mailer::Files { .. })
    }

    /// Delivers rows (or passes on why they could not be rendered), each with its outcome.
    /// Through SMTP they go one after another (the worker sends rows side by side, one
    /// call each). As .eml files, one thread writes them all and then makes them durable:
    /// the first fsync commits the filesystem's journal with every file in it and the
    /// others find their data already on disk, and no writers queue for the directory's
    /// lock (32 at once spent their time spinning on it).
    pub async fn deliver_all(
        &self,
        rows: Vec<(OutboxMessage, Result<OutgoingEmail, MailError>)>,
        photos: &crate::jobs::photo_store::PhotoStore,
    ) -> Vec<(OutboxMessage, Result<(), MailError>)> {
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::Files { from, .. } => from.clone(),
        };
        let (rows, emails): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
        let images = match inline_images(&emails, photos).await {
            Ok(images) => images,
            Err(e) => {
                let e = MailError::Transient(format!("the photo could not be read: {e}"));
                return rows.into_iter().map(|row| (row, Err(e.clone()))).collect();
            }
        };
        let heads = rows.clone();
        // Encoding MIME is blocking work, so it runs on the worker's low-priority threads,
        // like its rendering, not on the runtime.
        let built = crate::jobs::background::spawn_blocking(move || {
            heads
                .iter()
                .zip(emails)
                .map(|(row, email)| {
                    email.and_then(|email| build_message(&from, row, email, &images))
                })
                .collect::<Vec<_>>()
        })
        .await;
        let messages = match built {
            Ok(messages) => messages,
            Err(e) => {
                let e = MailError::Transient(format!("building the messages failed: {e}"));
                return rows.into_iter().map(|row| (row, Err(e.clone()))).collect();
            }
        };
        match self {
            Mailer::Smtp { transport, .. } => {
                let mut sent = Vec::new();
                for (row, message) in rows.into_iter().zip(messages) {
                    let result = match message {
                        Ok(message) => smtp_send(transport, message).await,
                        Err(e) => Err(e),
                    };
                    sent.push((row, result));
                }
                sent
            }
            Mailer::Files { dir, .. } => write_files(dir, rows, messages).await,
        }
    }
}

async fn smtp_send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    message: Message,
) -> Result<(), MailError> {
    match tokio::time::timeout(SEND_TIMEOUT, transport.send(message)).await {
        Err(_) => Err(MailError::Transient(format!(
            "no answer from the SMTP server within {} s",
            SEND_TIMEOUT.as_secs()
        ))),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
        Ok(Err(e)) => Err(MailError::Transient(e.to_string())),
    }
}

async fn write_files(
    dir: &Path,
    rows: Vec<OutboxMessage>,
    messages: Vec<Result<Message, MailError>>,
) -> Vec<(OutboxMessage, Result<(), MailError>)> {
    let ids: Vec<String> = rows.iter().map(|row| row.id.clone()).collect();
    let dir = dir.to_path_buf();
    let written = crate::jobs::background::spawn_blocking(move || {
        let files: Vec<(String, Vec<u8>)> = ids
            .into_iter()
            .zip(&messages)
            .filter_map(|(id, message)| Some((id, message.as_ref().ok()?.formatted())))
            .collect();
        let mut written = write_emls(&dir, &files).into_iter();
        messages
            .into_iter()
            .map(|message| match message {
                Err(e) => Err(e),
                Ok(_) => match written.next() {
                    Some(Ok(())) => Ok(()),
                    Some(Err(e)) => Err(MailError::Transient(format!(
                        "cannot write the .eml file: {e}"
                    ))),
                    None => Err(MailError::Transient("the .eml file was not written".into())),
                },
            })
            .collect::<Vec<_>>()
    })
    .await;
    match written {
        Ok(outcomes) => rows.into_iter().zip(outcomes).collect(),
        Err(e) => {
            let e = MailError::Transient(e.to_string());
            rows.into_iter().map(|row| (row, Err(e.clone()))).collect()
        }
    }
}

/// The Message-ID of a row: the same on every attempt, so a receiver can tell a repeat.
pub fn message_id(row_id: &str, from: &Mailbox) -> String {
    format!("<{row_id}@{}>", from.email.domain())
}

/// The photos these emails show, read from the photo store (the database, or the object
/// store) by path. A photo that is gone (erased meanwhile) is simply not there; a store
/// that cannot be reached is an error, so the mail waits for it rather than going without.
async fn inline_images(
    emails: &[Result<OutgoingEmail, MailError>],
    photos: &crate::jobs::photo_store::PhotoStore,
) -> Result<HashMap<String, Vec<u8>>, crate::jobs::photo_store::PhotoStoreError> {
    let mut images = HashMap::new();
    for image in emails.iter().flatten().flat_map(|e| &e.inline_images) {
        if images.contains_key(&image.path) {
            continue;
        }
        if let Some(bytes) = photos.read(&image.path).await? {
            images.insert(image.path.clone(), bytes);
        }
    }
    Ok(images)
}

pub fn build_message(
    from: &Mailbox,
    row: &OutboxMessage,
    email: OutgoingEmail,
    images: &HashMap<String, Vec<u8>>,
) -> Result<Message, MailError> {
    let to: Mailbox = row
        .recipient
        .parse()
        .map_err(|e| MailError::Permanent(format!("bad recipient address: {e}")))?;
    let mut related = MultiPart::related().singlepart(SinglePart::html(email.html));
    for image in &email.inline_images {
        let content_type = ContentType::parse(&image.content_type);
        match (images.get(&image.path), content_type) {
            (Some(bytes), Ok(content_type)) => {
                related = related.singlepart(
                    Attachment::new_inline(image.cid.clone()).body(bytes.clone(), content_type),
                );
            }
            // A photo erased meanwhile does not hold the alert back.
            (None, _) => {
                tracing::warn!(path = %image.path, "inline image missing; sending without it")
            }
            (_, Err(e)) => {
                tracing::warn!(path = %image.path, error = %e, "inline image of unknown type; sending without it")
            }
        }
    }
    // RFC 3834: machine-made, so out-of-office replies stay away; and what kind of message
    // it is, for a mail rule (alerts to one folder, say).
    let mut builder = Message::builder()
        .header(AutoSubmitted)
        .header(MendKind(row.kind.as_str().to_owned()));
    if let Some(url) = &email.list_unsubscribe {
        // RFC 8058: mail programs show an unsubscribe button that POSTs to the URL.
        builder = builder
            .header(ListUnsubscribe(format!("<{url}>")))
            .header(ListUnsubscribePost);
    }
    builder
        .from(from.clone())
        .to(to)
        // The subject was made one line when composed; lettre encodes what remains.
        .subject(email.subject)
        .message_id(Some(message_id(&row.id, from)))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(email.text))
                .multipart(related),
        )
        .map_err(|e| MailError::Permanent(format!("cannot build the message: {e}")))
}

#[derive(Clone)]
struct ListUnsubscribe(String);

impl lettre::message::header::Header for ListUnsubscribe {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_owned()))
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Headers whose value Mend chose (ASCII, one line).
macro_rules! plain_header {
    ($name:ident, $header:literal) => {
        impl lettre::message::header::Header for $name {
            fn name() -> lettre::message::header::HeaderName {
                lettre::message::header::HeaderName::new_from_ascii_str($header)
            }
            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok($name::from(s))
            }
            fn display(&self) -> lettre::message::header::HeaderValue {
                lettre::message::header::HeaderValue::new(Self::name(), self.value())
            }
        }
    };
}

#[derive(Clone)]
struct AutoSubmitted;
impl AutoSubmitted {
    fn value(&self) -> String {
        "auto-generated".to_owned()
    }
}
impl From<&str> for AutoSubmitted {
    fn from(_: &str) -> Self {
        AutoSubmitted
    }
}
plain_header!(AutoSubmitted, "Auto-Submitted");

#[derive(Clone)]
struct MendKind(String);
impl MendKind {
    fn value(&self) -> String {
        self.0.clone()
    }
}
impl From<&str> for MendKind {
    fn from(s: &str) -> Self {
        MendKind(s.to_owned())
    }
}
plain_header!(MendKind, "X-Mend-Kind");

#[derive(Clone)]
struct ListUnsubscribePost;

impl lettre::message::header::Header for ListUnsubscribePost {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

/// Written under a temporary name and renamed, so a reader never sees half a message;
/// the name is the row's id, so a repeated attempt overwrites rather than doubles.
/// Writes each (row id, message) to `{id}.eml` under `dir`, atomically (a temporary file
/// renamed once durable); the outcome of each, in order.
fn write_emls(dir: &Path, files: &[(String, Vec<u8>)]) -> Vec<std::io::Result<()>> {
    use std::io::Write;
    let create = |tmp: &Path| match std::fs::File::create(tmp) {
        // The directory is made on first use (and again if someone removed it), not
        // checked before every message: under load each extra call is a directory look-up.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            std::fs::File::create(tmp)
        }
        other => other,
    };
    let written: Vec<std::io::Result<(PathBuf, std::fs::File)>> = files
        .iter()
        .map(|(id, bytes)| {
            let tmp = dir.join(format!(".{id}.tmp"));
            let mut f = create(&tmp)?;
            f.write_all(bytes)?;
            Ok((tmp, f))
        })
        .collect();
    written
        .into_iter()
        .zip(files)
        .map(|(file, (id, _))| {
            let (tmp, f) = file?;
            f.sync_all()?;
            std::fs::rename(&tmp, dir.join(format!("{id}.eml")))
        })
        .collect()
}

/// How long to wait before attempt `attempts + 1`: 5 s doubling up to 10 min, spread by
/// ±25% (`jitter` in 0..1) so that messages failed together do not retry together.
pub fn retry_delay(attempts: i32, jitter: f64) -> Duration {
    const FIRST: f64 = 5.0;
    const MOST: f64 = 600.0;
    let exponent = attempts.saturating_sub(1).clamp(0, 16);
    let base = (FIRST * 2f64.powi(exponent)).min(MOST);
    let spread = base * (0.75 + 0.5 * jitter.clamp(0.0, 1.0));
    Duration::from_secs_f64(spread.clamp(FIRST * 0.75, MOST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_5_seconds_to_10_minutes_with_jitter() {
        assert_eq!(retry_delay(1, 0.5), Duration::from_secs(5));
        assert_eq!(retry_delay(2, 0.5), Duration::from_secs(10));
        assert_eq!(retry_delay(3, 0.5), Duration::from_secs(20));
        assert_eq!(retry_delay(9, 0.5), Duration::from_secs(600));
        assert_eq!(retry_delay(500, 0.5), Duration::from_secs(600));
        assert_eq!(retry_delay(2, 0.0), Duration::from_secs_f64(7.5));
        assert_eq!(retry_delay(2, 1.0), Duration::from_secs_f64(12.5));
        assert!(retry_delay(500, 1.0) <= Duration::from_secs(600));
        assert!(retry_delay(0, 0.0) >= Duration::from_secs_f64(3.75));
    }

    fn email(subject: &str) -> OutgoingEmail {
        OutgoingEmail {
            subject: subject.into(),
            text: "text".into(),
            html: "<p>html</p>".into(),
            inline_images: vec![],
            list_unsubscribe: None,
        }
    }

    fn row(recipient: &str) -> OutboxMessage {
        let now = crate::db::models::now_utc();
        OutboxMessage {
            id: "0190-abc".into(),
            kind: crate::db::states::MailKind::Alert,
            recipient: recipient.into(),
            payload: "{}".into(),
            attempts: 0,
            next_attempt_at: now,
            claimed_until: None,
            sent_at: None,
            last_error: None,
            dedupe_key: "k".into(),
            created_at: now,
            failed_at: None,
            case_id: None,
        }
    }

    #[test]
    fn a_message_has_a_stable_message_id_and_a_text_and_html_part() {
        let from: Mailbox = "Mend <mend@shop.example>".parse().unwrap();
        let m = build_message(&from, &row("a@shop.example"), email("Hi"), &HashMap::new()).unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(
            text.contains("Message-ID: <0190-abc@shop.example>"),
            "{text}"
        );
        assert!(text.contains("multipart/alternative"));
        assert!(text.contains("text/plain") && text.contains("text/html"));
    }

    #[test]
    fn a_bad_recipient_is_a_permanent_failure() {
        let from: Mailbox = "mend@shop.example".parse().unwrap();
        let err =
            build_message(&from, &row("not an address"), email("Hi"), &HashMap::new()).unwrap_err();
        assert!(matches!(err, MailError::Permanent(_)), "{err:?}");
    }
}
