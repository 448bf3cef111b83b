//! The chat channel: a web-chat or messaging webhook posts one message of a
//! conversation; agent replies go back to the chat API, into the same
//! conversation.
//!
//! The conversation id is the thread key, so the server keeps a
//! conversation on one open case. A visitor who gives an email is reported
//! with it, and the server makes them the same customer as that email's
//! owner.

use frontdesk_plugin_sdk::channel::{DeliveryReceipt, Guest, Identity, InboundMessage, OutboundMessage, PluginError};
use frontdesk_plugin_sdk::{config, http};
use serde::Deserialize;
use serde_json::{Value, json};

/// How errors name the chat service's API.
const API: &str = "chat API";

struct Chat;

impl Guest for Chat {
    fn parse_inbound(_headers: Vec<(String, String)>, body: Vec<u8>) -> Result<Vec<InboundMessage>, PluginError> {
        parse_message(&body).map(|message| vec![message])
    }

    fn deliver(message: OutboundMessage) -> Result<DeliveryReceipt, PluginError> {
        let api_url =
            config::setting("api_url").ok_or_else(|| PluginError::permanent("chat api_url is not configured"))?;
        let (url, payload) = delivery(&api_url, &message)?;
        let request = http::Request::post_json(url, payload.to_string()).bearer(config::setting("api_key").as_deref());
        let response = http::send_to(API, &request)?;
        Ok(DeliveryReceipt::from_answer(&response.body))
    }
}

frontdesk_plugin_sdk::export_channel!(Chat);

/// One chat message as the webhook posts it. Other fields (`sent_at`, ...)
/// are ignored: the server stamps messages with its own clock.
#[derive(Debug, Deserialize)]
struct ChatMessage {
    conversation_id: String,
    from: Visitor,
    text: String,
    message_id: String,
}

#[derive(Debug, Deserialize)]
struct Visitor {
    handle: String,
    name: Option<String>,
    email: Option<String>,
}

/// Parses one webhook body into the message it carries.
///
/// # Errors
/// A permanent error when the body is not JSON of the documented shape or
/// a required field is missing or blank.
pub fn parse_message(body: &[u8]) -> Result<InboundMessage, PluginError> {
    let message: ChatMessage = serde_json::from_slice(body)
        .map_err(|e| PluginError::permanent(format!("chat webhook body is not the expected JSON: {e}")))?;
    let required = |value: String, field: &str| {
        let value = value.trim().to_owned();
        if value.is_empty() {
            Err(PluginError::permanent(format!("chat message has a blank `{field}`")))
        } else {
            Ok(value)
        }
    };
    let handle = required(message.from.handle, "from.handle")?;
    let email = message.from.email.map(|e| e.trim().to_owned()).filter(|e| looks_like_email(e));
    Ok(InboundMessage {
        sender: Identity { kind: "handle".into(), value: handle },
        sender_name: message.from.name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
        other_identities: email.map(|value| Identity { kind: "email".into(), value }).into_iter().collect(),
        subject: None,
        text: required(message.text, "text")?,
        full_text: None,
        channel_message_id: required(message.message_id, "message_id")?,
        thread_key: Some(required(message.conversation_id, "conversation_id")?),
        references: Vec::new(),
        case_ref: None,
    })
}

/// Whether a typed-in email is worth linking: text before the last `@`, a
/// dot in the domain and no spaces. Anything else is ignored rather than refused, since the
/// message itself is fine.
fn looks_like_email(s: &str) -> bool {
    s.rsplit_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace))
}

/// Where and what to post for an agent reply:
/// `{api_url}/conversations/{thread-key}/messages` with the text, the
/// server's message id and the case id.
///
/// # Errors
/// A permanent error when the case has no conversation (thread key).
pub fn delivery(api_url: &str, message: &OutboundMessage) -> Result<(String, Value), PluginError> {
    let conversation = message.thread_key.as_deref().filter(|key| !key.is_empty()).ok_or_else(|| {
        PluginError::permanent(format!("case {} has no chat conversation to reply in", message.case_id))
    })?;
    let url =
        format!("{}/conversations/{}/messages", api_url.trim_end_matches('/'), http::encode_component(conversation));
    let payload = json!({ "text": message.text, "message_id": message.message_id, "case_id": message.case_id });
    Ok((url, payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: Value) -> Result<InboundMessage, PluginError> {
        parse_message(body.to_string().as_bytes())
    }

    #[test]
    fn a_chat_message_parses_with_its_conversation_as_thread_key() {
        let message = parse(json!({
            "conversation_id": "conv-7",
            "from": { "handle": "visitor-123", "name": "Ann Example", "email": "Ann@Example.com" },
            "text": "Is anyone there?",
            "message_id": "msg-1",
            "sent_at": "2026-03-02T09:00:00Z",
        }))
        .unwrap();
        assert_eq!(message.sender.kind, "handle");
        assert_eq!(message.sender.value, "visitor-123");
        assert_eq!(message.sender_name.as_deref(), Some("Ann Example"));
        assert_eq!(message.other_identities.len(), 1);
        assert_eq!(message.other_identities[0].kind, "email");
        assert_eq!(message.other_identities[0].value, "Ann@Example.com");
        assert_eq!(message.text, "Is anyone there?");
        assert_eq!(message.channel_message_id, "msg-1");
        assert_eq!(message.thread_key.as_deref(), Some("conv-7"));
        assert!(message.references.is_empty());
        assert_eq!((message.subject, message.full_text, message.case_ref), (None, None, None));
    }

    #[test]
    fn name_and_email_are_optional_and_a_bad_email_is_ignored() {
        for from in [
            json!({ "handle": "v1" }),
            json!({ "handle": "v1", "name": null, "email": null }),
            json!({ "handle": "v1", "name": " ", "email": "" }),
            json!({ "handle": "v1", "email": "not an email" }),
            json!({ "handle": "v1", "email": "ann@localhost" }),
        ] {
            let message =
                parse(json!({ "conversation_id": "c", "from": from, "text": "hi", "message_id": "m" })).unwrap();
            assert_eq!(message.sender_name, None, "{from}");
            assert!(message.other_identities.is_empty(), "{from}");
        }
    }

    #[test]
    fn malformed_webhooks_are_permanent_errors() {
        let good = json!({ "conversation_id": "c", "from": { "handle": "v" }, "text": "hi", "message_id": "m" });
        let mut cases = vec![(b"not json".to_vec(), "expected JSON".to_owned())];
        for field in ["conversation_id", "from", "text", "message_id"] {
            let mut body = good.clone();
            body.as_object_mut().unwrap().remove(field);
            cases.push((body.to_string().into_bytes(), format!("missing field `{field}`")));
            let mut body = good.clone();
            body[field] = json!(" ");
            let expected = if field == "from" { "expected JSON".to_owned() } else { format!("blank `{field}`") };
            cases.push((body.to_string().into_bytes(), expected));
        }
        let mut body = good.clone();
        body["from"]["handle"] = json!("");
        cases.push((body.to_string().into_bytes(), "blank `from.handle`".to_owned()));
        for (body, expected) in cases {
            let error = parse_message(&body).unwrap_err();
            assert!(!error.retryable);
            assert!(error.message.contains(&expected), "{}: {}", String::from_utf8_lossy(&body), error.message);
        }
    }

    fn reply(thread_key: Option<&str>) -> OutboundMessage {
        OutboundMessage {
            case_id: "42".into(),
            case_ref: "c42.sig".into(),
            message_id: "r1@frontdesk.example".into(),
            to: Identity { kind: "handle".into(), value: "visitor-123".into() },
            to_name: None,
            subject: "Chat with Ann".into(),
            text: "Yes, how can I help?".into(),
            in_reply_to: Some("msg-1".into()),
            references: vec!["msg-1".into()],
            thread_key: thread_key.map(str::to_owned),
        }
    }

    #[test]
    fn replies_post_into_the_conversation() {
        let (url, payload) = delivery("http://127.0.0.1:9000/api/", &reply(Some("conv 7/ü"))).unwrap();
        assert_eq!(url, "http://127.0.0.1:9000/api/conversations/conv%207%2F%C3%BC/messages");
        assert_eq!(
            payload,
            json!({ "text": "Yes, how can I help?", "message_id": "r1@frontdesk.example", "case_id": "42" })
        );
    }

    #[test]
    fn a_reply_without_a_conversation_is_a_permanent_error() {
        let error = delivery("http://127.0.0.1:9000", &reply(None)).unwrap_err();
        assert!(!error.retryable);
        assert!(error.message.contains("case 42"));
    }
}
