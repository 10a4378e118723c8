//! Talking to the server's kiosk API (`/api/kiosk/v1/`): what each answer means for the
//! outbox. Anything that is not a clear answer from the server (no connection, a timeout,
//! a 5xx, a proxy's error page) is `Retry`: the taps stay and are sent again.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::outbox::PendingTap;

#[derive(Clone)]
pub struct ServerApi {
    client: reqwest::Client,
    base: String,
    token: String,
}

/// The server's answer to a batch of taps.
#[derive(Debug, Clone, PartialEq)]
pub enum Sent {
    /// Stored (or stored before: the same keys count once).
    Stored { accepted: u64, duplicates: u64 },
    /// The tap at `index` is invalid and will never be accepted; the rest were not stored.
    InvalidTap { index: usize, detail: String },
    /// Too big for the server: send fewer at a time.
    TooLarge,
    /// The token is unknown or revoked: a person must act.
    Refused { code: String },
    /// Try again later.
    Retry { reason: String },
}

/// What the server says about this kiosk's store in a heartbeat's answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StoreInfo {
    pub location_name: String,
    pub language: String,
    /// The store's sticker (complaint form) URL, for customers who prefer their phone.
    pub sticker_url: Option<String>,
    /// "You said, we did": the store's latest changes, each as language code -> text,
    /// shown on the idle screen (and remembered, like the rest, across a restart offline).
    #[serde(default)]
    pub changes: Vec<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
struct HeartbeatAnswer {
    server_time: String,
    #[serde(flatten)]
    store: StoreInfo,
}

#[derive(Debug, Deserialize)]
struct ErrorAnswer {
    error: String,
    #[serde(default)]
    detail: String,
    index: Option<usize>,
}

#[derive(Serialize)]
struct TapOut<'a> {
    key: &'a str,
    rating: i32,
    tapped_at: String,
}

/// RFC 3339 (UTC, milliseconds) for a time in Unix milliseconds.
pub fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl ServerApi {
    pub fn new(base: &str, token: &str) -> Result<ServerApi, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .user_agent(concat!("mend-kiosk/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(ServerApi {
            client,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}/api/kiosk/v1/{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Sends taps; `clock_offset_ms` (server minus kiosk) corrects a kiosk clock that is
    /// off, as measured at the last heartbeat.
    pub async fn send_taps(&self, taps: &[PendingTap], clock_offset_ms: i64) -> Sent {
        let body = serde_json::json!({
            "taps": taps.iter().map(|t| TapOut {
                key: &t.key,
                rating: t.rating,
                tapped_at: rfc3339_ms(t.tapped_at_ms.saturating_add(clock_offset_ms)),
            }).collect::<Vec<_>>()
        });
        let res = match self.post("taps").json(&body).send().await {
            Ok(res) => res,
            Err(e) => {
                return Sent::Retry {
                    reason: e.to_string(),
                }
            }
        };
        let status = res.status();
        let Ok(text) = res.text().await else {
            return Sent::Retry {
                reason: format!("{status}: the answer was cut off"),
            };
        };
        classify(status.as_u16(), &text)
    }

    /// Says the kiosk is alive and how many taps wait; learns the store's details and the
    /// server's clock. Returns the store and the clock offset (server minus kiosk, ms).
    pub async fn heartbeat(
        &self,
        buffered: i64,
        version: &str,
    ) -> Result<(StoreInfo, i64), String> {
        let sent_at = chrono::Utc::now().timestamp_millis();
        let res = self
            .post("heartbeat")
            .json(&serde_json::json!({ "buffered": buffered.max(0), "version": version }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = res.status();
        let text = res.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status}: {}", error_code(&text)));
        }
        let answer: HeartbeatAnswer =
            serde_json::from_str(&text).map_err(|e| format!("unexpected answer: {e}"))?;
        let received_at = chrono::Utc::now().timestamp_millis();
        let server_ms = chrono::DateTime::parse_from_rfc3339(&answer.server_time)
            .map_err(|e| format!("unexpected server_time: {e}"))?
            .timestamp_millis();
        // The server read its clock about halfway through the round trip.
        let offset = server_ms - (sent_at + received_at) / 2;
        Ok((answer.store, offset))
    }

    /// A one-time link to the store's complaint form, tagged with this tap.
    pub async fn handoff(&self, key: &str) -> Result<String, String> {
        #[derive(Deserialize)]
        struct Answer {
            url: String,
        }
        let res = self
            .post("handoff")
            .json(&serde_json::json!({ "key": key }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = res.status();
        let text = res.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status}: {}", error_code(&text)));
        }
        serde_json::from_str::<Answer>(&text)
            .map(|a| a.url)
            .map_err(|e| format!("unexpected answer: {e}"))
    }
}

fn error_code(text: &str) -> String {
    serde_json::from_str::<ErrorAnswer>(text)
        .map(|e| e.error)
        .unwrap_or_else(|_| "no error code".into())
}

/// What an answer to a batch means. Only answers in the server's own JSON count as
/// final: a 4xx page from a proxy in between is retried like a 5xx.
pub fn classify(status: u16, body: &str) -> Sent {
    if status == 200 {
        #[derive(Deserialize)]
        struct Stored {
            accepted: u64,
            duplicates: u64,
        }
        return match serde_json::from_str::<Stored>(body) {
            Ok(s) => Sent::Stored {
                accepted: s.accepted,
                duplicates: s.duplicates,
            },
            Err(e) => Sent::Retry {
                reason: format!("200 with an unexpected body: {e}"),
            },
        };
    }
    let Ok(error) = serde_json::from_str::<ErrorAnswer>(body) else {
        return Sent::Retry {
            reason: format!("HTTP {status} without the server's JSON"),
        };
    };
    match (status, error.error.as_str(), error.index) {
        (401, code, _) => Sent::Refused { code: code.into() },
        (413, _, _) => Sent::TooLarge,
        (422, "invalid_tap", Some(index)) => Sent::InvalidTap {
            index,
            detail: error.detail,
        },
        _ => Sent::Retry {
            reason: format!("HTTP {status}: {} {}", error.error, error.detail),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_by_status_and_code() {
        assert_eq!(
            classify(200, r#"{"accepted":3,"duplicates":1}"#),
            Sent::Stored {
                accepted: 3,
                duplicates: 1
            }
        );
        assert_eq!(
            classify(401, r#"{"error":"revoked","detail":"x"}"#),
            Sent::Refused {
                code: "revoked".into()
            }
        );
        assert_eq!(
            classify(413, r#"{"error":"batch_too_large","detail":"x"}"#),
            Sent::TooLarge
        );
        assert_eq!(
            classify(
                422,
                r#"{"error":"invalid_tap","detail":"future","index":4}"#
            ),
            Sent::InvalidTap {
                index: 4,
                detail: "future".into()
            }
        );
    }

    #[test]
    fn anything_unclear_is_retried_never_dropped() {
        for (status, body) in [
            (503, r#"{"error":"unavailable","detail":"x"}"#),
            (502, "<html>Bad Gateway</html>"),
            (404, "<html>Not Found</html>"),
            (200, "<html>captive portal</html>"),
            (422, r#"{"error":"invalid_tap","detail":"no index"}"#),
        ] {
            assert!(
                matches!(classify(status, body), Sent::Retry { .. }),
                "{status} {body}"
            );
        }
    }

    #[test]
    fn times_are_sent_as_utc_rfc3339_with_milliseconds() {
        assert_eq!(rfc3339_ms(1_763_900_000_123), "2025-11-23T12:13:20.123Z");
    }
}
