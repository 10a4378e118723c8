//! Bodies for services that take a webhook as it is, with nothing to write on their side:
//! Slack incoming webhooks, Microsoft Teams Workflows (an Adaptive Card), Google Chat,
//! and ntfy (a phone push: title, priority by severity, a tap opens the case, an
//! "I'm on it" action). The standard format is the event's own JSON.

use serde_json::{json, Value};

use super::payload::Message;
use crate::db::states::{WebhookEvent, WebhookFormat};
use crate::domain::language::Language;

/// Where and what to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub url: String,
    pub body: Vec<u8>,
}

/// Slack's mrkdwn treats these three as markup.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn render(format: WebhookFormat, url: &str, lang: Language, m: &Message) -> Request {
    let open = lang.text("webhook.open_case");
    let on_it = lang.text("webhook.on_it");
    let body: Value = match format {
        WebhookFormat::Standard => m.body.clone(),
        WebhookFormat::Slack => {
            let mut blocks = vec![json!({
                "type": "section",
                "text": { "type": "mrkdwn", "text": format!("*{}*\n{}", slack_escape(&m.title), slack_escape(&m.text)) },
            })];
            if let Some(case) = &m.case_url {
                let mut buttons = vec![
                    json!({ "type": "button", "text": { "type": "plain_text", "text": open }, "url": case }),
                ];
                if let Some(ack) = &m.ack_url {
                    buttons.push(json!({ "type": "button", "style": "primary", "text": { "type": "plain_text", "text": on_it }, "url": ack }));
                }
                blocks.push(json!({ "type": "actions", "elements": buttons }));
            }
            json!({ "text": format!("{} {}", m.title, m.text).trim(), "blocks": blocks })
        }
        WebhookFormat::Teams => {
            let mut actions = Vec::new();
            if let Some(case) = &m.case_url {
                actions.push(json!({ "type": "Action.OpenUrl", "title": open, "url": case }));
            }
            if let Some(ack) = &m.ack_url {
                actions.push(json!({ "type": "Action.OpenUrl", "title": on_it, "url": ack }));
            }
            json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": {
                        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                        "type": "AdaptiveCard",
                        "version": "1.4",
                        "body": [
                            { "type": "TextBlock", "text": m.title, "weight": "Bolder", "size": "Medium", "wrap": true,
                              "color": if m.severe { "Attention" } else { "Default" } },
                            { "type": "TextBlock", "text": m.text, "wrap": true },
                        ],
                        "actions": actions,
                    },
                }],
            })
        }
        WebhookFormat::GoogleChat => {
            let mut text = format!("*{}*", m.title);
            if !m.text.is_empty() {
                text.push('\n');
                text.push_str(&m.text);
            }
            if let Some(case) = &m.case_url {
                text.push_str(&format!("\n<{case}|{open}>"));
            }
            if let Some(ack) = &m.ack_url {
                text.push_str(&format!(" · <{ack}|{on_it}>"));
            }
            json!({ "text": text })
        }
        WebhookFormat::Ntfy => {
            let (base, topic) = ntfy_parts(url);
            let priority = match (m.event, m.severe) {
                (_, true) => 5,
                (WebhookEvent::CaseCreated | WebhookEvent::CaseReopened, false) => 4,
                _ => 3,
            };
            let mut actions = Vec::new();
            if let Some(ack) = &m.ack_url {
                actions
                    .push(json!({ "action": "view", "label": on_it, "url": ack, "clear": true }));
            }
            let body = json!({
                "topic": topic,
                "title": m.title,
                "message": if m.text.is_empty() { m.title.clone() } else { m.text.clone() },
                "priority": priority,
                "tags": [if m.severe { "rotating_light" } else { "speech_balloon" }],
                "click": m.case_url,
                "actions": actions,
            });
            return Request {
                url: base,
                body: body.to_string().into_bytes(),
            };
        }
    };
    Request {
        url: url.to_owned(),
        body: body.to_string().into_bytes(),
    }
}

/// ntfy takes JSON at its root URL with the topic inside: `https://ntfy.sh/mend-alerts`
/// posts to `https://ntfy.sh/` with topic `mend-alerts`.
pub fn ntfy_parts(url: &str) -> (String, String) {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return (url.to_owned(), String::new());
    };
    let mut segments: Vec<String> = parsed
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let topic = segments.pop().unwrap_or_default();
    let mut path = segments.join("/");
    path.push('/');
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    parsed.set_path(&path);
    parsed.set_query(None);
    (parsed.to_string(), topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntfy_posts_to_the_root_with_the_topic_inside() {
        assert_eq!(
            ntfy_parts("https://ntfy.sh/mend-alerts"),
            ("https://ntfy.sh/".to_owned(), "mend-alerts".to_owned())
        );
        assert_eq!(
            ntfy_parts("http://127.0.0.1:8090/push/team-a/"),
            (
                "http://127.0.0.1:8090/push/".to_owned(),
                "team-a".to_owned()
            )
        );
    }

    #[test]
    fn slack_markup_in_customer_words_is_escaped() {
        assert_eq!(slack_escape("<!channel> & co"), "&lt;!channel&gt; &amp; co");
    }
}
