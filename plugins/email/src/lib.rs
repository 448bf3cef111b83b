//! The email channel. Inbound: one mail, as raw RFC 5322 (`message/rfc822`,
//! or a provider's form with the raw mail in a field) or as the JSON an
//! inbound-mail webhook posts, turned into one message with its sender, the
//! reply text without quotes and signature, what threads it (`In-Reply-To`,
//! `References`, the `[#...]` case reference in the subject) and whether a
//! machine sent it (auto-replies, bounces). Outbound: an agent reply posted
//! to an HTTP mail API with the headers that thread it in the customer's
//! mail client.
//!
//! Threading itself, deduplication by message id and checking the case
//! reference's signature are the server's; this plugin only reports what
//! the mail carries.

pub mod address;
pub mod body;
pub mod form;
pub mod kind;
pub mod raw;

use frontdesk_plugin_sdk::channel::{DeliveryReceipt, Guest, Identity, InboundMessage, OutboundMessage, PluginError};
use frontdesk_plugin_sdk::{config, http, message_kinds};
use kind::MailKind;
use raw::Parsed;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// How errors name the provider's API.
const API: &str = "mail API";

/// The sender address of replies when `from_address` is not configured.
pub const DEFAULT_FROM: &str = "support@frontdesk.example";

struct Email;

impl Guest for Email {
    fn parse_inbound(headers: Vec<(String, String)>, body: Vec<u8>) -> Result<Vec<InboundMessage>, PluginError> {
        let parsed = parse_request(&headers, &body)?;
        let id = &parsed.message.channel_message_id;
        match &parsed.kind {
            MailKind::Normal => {}
            MailKind::AutoReply(reason) => message_kinds::mark_auto_reply(id, reason),
            MailKind::Bounce(bounce) => message_kinds::mark_bounce(id, &bounce.report),
        }
        Ok(vec![parsed.message])
    }

    fn deliver(message: OutboundMessage) -> Result<DeliveryReceipt, PluginError> {
        let api_url =
            config::setting("api_url").ok_or_else(|| PluginError::permanent("email api_url is not configured"))?;
        let from = config::setting("from_address").unwrap_or_else(|| DEFAULT_FROM.to_owned());
        let mail = outbound_mail(&message, &from)?;
        let request = http::Request::post_json(api_url, mail.to_string()).bearer(config::setting("api_key").as_deref());
        let response = http::send_to(API, &request)?;
        Ok(DeliveryReceipt::from_answer(&response.body))
    }
}

frontdesk_plugin_sdk::export_channel!(Email);

/// Parses one webhook request by its `Content-Type`: `message/rfc822` (or
/// `message/global`) is a raw mail, `multipart/form-data` a provider's form
/// with the raw mail in a field (see [`form`]), anything else the JSON of
/// [`parse_mail`].
///
/// # Errors
/// A permanent error saying what is wrong with the request.
pub fn parse_request(headers: &[(String, String)], body: &[u8]) -> Result<Parsed, PluginError> {
    let content_type = headers.iter().find(|(name, _)| name == "content-type").map_or("", |(_, v)| v.as_str());
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "message/rfc822" | "message/global" => raw::parse_raw(body),
        "multipart/form-data" => raw::parse_raw(&form::raw_mail_field(content_type, body)?),
        _ => parse_mail(body).map(|message| Parsed { message, kind: MailKind::Normal }),
    }
}

/// An inbound mail as the webhook posts it. Fields not listed are ignored.
#[derive(Debug, Deserialize)]
struct InboundMail {
    from: Option<String>,
    subject: Option<String>,
    text: Option<String>,
    html: Option<String>,
    message_id: Option<String>,
    in_reply_to: Option<String>,
    references: Option<MessageIds>,
}

/// `References` as a list, or as the raw header's space-separated text.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum MessageIds {
    List(Vec<String>),
    Text(String),
}

/// Parses one webhook body into the message it carries.
///
/// # Errors
/// A permanent error when the body is not JSON of the documented shape or
/// lacks `from` (with an address in it) or `message_id`.
pub fn parse_mail(body: &[u8]) -> Result<InboundMessage, PluginError> {
    let mail: InboundMail = serde_json::from_slice(body)
        .map_err(|e| PluginError::permanent(format!("email webhook body is not the expected JSON: {e}")))?;
    let from = non_empty(mail.from).ok_or_else(|| PluginError::permanent("email webhook body has no `from`"))?;
    let sender = address::parse_mailbox(&from)
        .ok_or_else(|| PluginError::permanent(format!("email `from` has no address in it: {from:?}")))?;
    let message_id =
        non_empty(mail.message_id).ok_or_else(|| PluginError::permanent("email webhook body has no `message_id`"))?;

    let whole = match (non_empty(mail.text), non_empty(mail.html)) {
        (Some(text), _) => text,
        (None, Some(html)) => body::html_to_text(&html),
        (None, None) => String::new(),
    };
    let text = body::trim_reply(&whole);
    let full_text = (text != whole.trim()).then_some(whole);

    let references = match mail.references {
        Some(MessageIds::List(ids)) => ids,
        Some(MessageIds::Text(ids)) => ids.split_whitespace().map(str::to_owned).collect(),
        None => Vec::new(),
    };
    let subject = non_empty(mail.subject);
    Ok(InboundMessage {
        sender: Identity { kind: "email".into(), value: sender.address },
        sender_name: sender.name,
        other_identities: Vec::new(),
        case_ref: subject.as_deref().and_then(case_ref_in),
        subject,
        text,
        full_text,
        channel_message_id: message_id,
        thread_key: None,
        references: unique_ids(mail.in_reply_to.into_iter().chain(references)),
    })
}

/// The token inside the first non-empty `[#...]` of a subject.
pub fn case_ref_in(subject: &str) -> Option<String> {
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        rest = &rest[start + 2..];
        let token = rest[..rest.find(']')?].trim();
        if !token.is_empty() && !token.contains('[') {
            return Some(token.to_owned());
        }
    }
    None
}

/// The subject of a reply: `Re: ` in front unless it is there already, and
/// the case reference at the end unless it is there already.
pub fn reply_subject(subject: &str, case_ref: &str) -> String {
    let subject = address::one_line(subject);
    let token = format!("[#{case_ref}]");
    let is_reply = subject.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("re:"));
    let mut out = if is_reply || subject.is_empty() { subject.clone() } else { format!("Re: {subject}") };
    if out.is_empty() {
        out.push_str("Re:");
    }
    if !subject.contains(&token) {
        out.push(' ');
        out.push_str(&token);
    }
    out
}

/// The subject of an outgoing mail: a reply's (see [`reply_subject`]), or,
/// for a message with no case reference (a notification from the rules),
/// its subject as it is.
fn subject_of(message: &OutboundMessage) -> String {
    if message.case_ref.trim().is_empty() {
        address::one_line(&message.subject)
    } else {
        reply_subject(&message.subject, &message.case_ref)
    }
}

/// The JSON posted to the mail API for an agent reply, or for a
/// notification from the rules (no case reference).
///
/// # Errors
/// A permanent error when the recipient is not an email address.
pub fn outbound_mail(message: &OutboundMessage, from: &str) -> Result<Value, PluginError> {
    if message.to.kind != "email" {
        return Err(PluginError::permanent(format!(
            "email can only deliver to an email identity, not to a `{}`",
            message.to.kind
        )));
    }
    let mut headers = Map::new();
    headers.insert("Message-ID".into(), msg_id(&message.message_id).into());
    if let Some(in_reply_to) = message.in_reply_to.as_deref().filter(|id| !id.trim().is_empty()) {
        headers.insert("In-Reply-To".into(), msg_id(in_reply_to).into());
    }
    let references = unique_ids(message.references.iter().cloned());
    if !references.is_empty() {
        let references: Vec<String> = references.iter().map(|id| msg_id(id)).collect();
        headers.insert("References".into(), references.join(" ").into());
    }
    Ok(json!({
        "from": from,
        "to": address::format_mailbox(message.to_name.as_deref(), &message.to.value),
        "subject": subject_of(message),
        "text": message.text,
        "headers": headers,
    }))
}

/// A message id in angle brackets, as the `Message-ID` family of headers
/// wants it.
fn msg_id(id: &str) -> String {
    let id = id.trim();
    if id.starts_with('<') { id.to_owned() } else { format!("<{id}>") }
}

/// Ids trimmed, empty ones dropped, each kept once, in order.
fn unique_ids(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        let id = id.trim();
        if !id.is_empty() && !out.iter().any(|seen| seen == id) {
            out.push(id.to_owned());
        }
    }
    out
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inbound(body: Value) -> Result<InboundMessage, PluginError> {
        parse_mail(body.to_string().as_bytes())
    }

    #[test]
    fn a_reply_parses_into_one_message() {
        let message = inbound(json!({
            "from": "\"Example, Ann\" <Ann@Example.com>",
            "to": "support@acme.example",
            "subject": "Re: Printer on fire [#c42.sig]",
            "text": "Still burning.\n\n-- \nAnn\n\nOn Mon, Support <support@acme.example> wrote:\n> Try turning it off.",
            "html": "<p>Still burning.</p>",
            "message_id": "<m2@example.com>",
            "in_reply_to": "<r1@frontdesk.example>",
            "references": ["<m1@example.com>", "<r1@frontdesk.example>"],
        }))
        .unwrap();
        assert_eq!(message.sender.kind, "email");
        assert_eq!(message.sender.value, "Ann@Example.com");
        assert_eq!(message.sender_name.as_deref(), Some("Example, Ann"));
        assert_eq!(message.subject.as_deref(), Some("Re: Printer on fire [#c42.sig]"));
        assert_eq!(message.text, "Still burning.");
        assert!(message.full_text.unwrap().contains("Try turning it off."));
        assert_eq!(message.channel_message_id, "<m2@example.com>");
        assert_eq!(message.references, ["<r1@frontdesk.example>", "<m1@example.com>"]);
        assert_eq!(message.case_ref.as_deref(), Some("c42.sig"));
        assert_eq!(message.thread_key, None);
        assert!(message.other_identities.is_empty());
    }

    #[test]
    fn a_new_mail_has_no_threading_and_no_full_text() {
        let message = inbound(json!({
            "from": "ann@example.com",
            "subject": "Printer on fire",
            "text": "It is on fire.\n",
            "message_id": "<m1@example.com>",
            "in_reply_to": null,
        }))
        .unwrap();
        assert_eq!(message.sender_name, None);
        assert_eq!(message.text, "It is on fire.");
        assert_eq!(message.full_text, None);
        assert!(message.references.is_empty());
        assert_eq!(message.case_ref, None);
    }

    #[test]
    fn html_only_mail_is_turned_into_text() {
        let message = inbound(json!({
            "from": "Ann <ann@example.com>",
            "html": "<div>Yes &amp; thanks</div><blockquote><p>Shall we?</p></blockquote>",
            "message_id": "<m3@example.com>",
            "references": "<a@x> <b@x>  <a@x>",
        }))
        .unwrap();
        assert_eq!(message.text, "Yes & thanks");
        assert_eq!(message.full_text.as_deref(), Some("Yes & thanks\n\n> Shall we?"));
        assert_eq!(message.references, ["<a@x>", "<b@x>"]);
        assert_eq!(message.subject, None);
    }

    #[test]
    fn malformed_webhooks_are_permanent_errors() {
        let cases: [(&[u8], &str); 5] = [
            (b"not json", "not the expected JSON"),
            (br#"{"message_id": "<m@x>", "text": "hi"}"#, "no `from`"),
            (br#"{"from": "Ann", "message_id": "<m@x>"}"#, "no address"),
            (br#"{"from": "ann@example.com", "message_id": " "}"#, "no `message_id`"),
            (br#"{"from": "ann@example.com", "message_id": "<m@x>", "references": 7}"#, "expected JSON"),
        ];
        for (body, expected) in cases {
            let error = parse_mail(body).unwrap_err();
            assert!(!error.retryable);
            assert!(error.message.contains(expected), "{:?}: {}", String::from_utf8_lossy(body), error.message);
        }
    }

    #[test]
    fn case_refs_come_from_the_first_bracketed_token() {
        let cases = [
            ("Re: Printer [#c42.abc]", Some("c42.abc")),
            ("[#a] and [#b]", Some("a")),
            ("[#] then [# b ]", Some("b")),
            ("[#[#x]", Some("x")),
            ("[#unclosed", None),
            ("Printer [c42]", None),
            ("", None),
        ];
        for (subject, expected) in cases {
            assert_eq!(case_ref_in(subject).as_deref(), expected, "subject: {subject:?}");
        }
    }

    #[test]
    fn reply_subjects_get_one_re_and_one_token() {
        let cases = [
            ("Printer on fire", "Re: Printer on fire [#c1.s]"),
            ("Re: Printer on fire", "Re: Printer on fire [#c1.s]"),
            ("RE: Printer on fire [#c1.s]", "RE: Printer on fire [#c1.s]"),
            ("Printer on fire [#c1.s]", "Re: Printer on fire [#c1.s]"),
            ("Fwd: Printer", "Re: Fwd: Printer [#c1.s]"),
            ("", "Re: [#c1.s]"),
            ("Line\r\nBcc: x@evil.example", "Re: Line Bcc: x@evil.example [#c1.s]"),
        ];
        for (subject, expected) in cases {
            assert_eq!(reply_subject(subject, "c1.s"), expected, "subject: {subject:?}");
            // Idempotent: replying to the reply changes nothing.
            assert_eq!(reply_subject(expected, "c1.s"), expected);
        }
    }

    fn reply() -> OutboundMessage {
        OutboundMessage {
            case_id: "42".into(),
            case_ref: "c42.sig".into(),
            message_id: "r2@frontdesk.example".into(),
            to: Identity { kind: "email".into(), value: "ann@example.com".into() },
            to_name: Some("Example, Ann".into()),
            subject: "Printer on fire".into(),
            text: "Have you tried water?".into(),
            in_reply_to: Some("<m2@example.com>".into()),
            references: vec!["<m1@example.com>".into(), "<r1@frontdesk.example>".into(), "<m2@example.com>".into()],
            thread_key: None,
        }
    }

    #[test]
    fn replies_carry_threading_headers() {
        let mail = outbound_mail(&reply(), "help@acme.example").unwrap();
        assert_eq!(
            mail,
            json!({
                "from": "help@acme.example",
                "to": "\"Example, Ann\" <ann@example.com>",
                "subject": "Re: Printer on fire [#c42.sig]",
                "text": "Have you tried water?",
                "headers": {
                    "Message-ID": "<r2@frontdesk.example>",
                    "In-Reply-To": "<m2@example.com>",
                    "References": "<m1@example.com> <r1@frontdesk.example> <m2@example.com>",
                },
            })
        );
    }

    #[test]
    fn a_first_reply_has_no_in_reply_to_or_references() {
        let message = OutboundMessage { in_reply_to: None, references: Vec::new(), to_name: None, ..reply() };
        let mail = outbound_mail(&message, DEFAULT_FROM).unwrap();
        assert_eq!(mail["to"], "ann@example.com");
        assert_eq!(mail["headers"], json!({ "Message-ID": "<r2@frontdesk.example>" }));
    }

    #[test]
    fn a_message_without_a_case_reference_keeps_its_subject() {
        let message = OutboundMessage {
            case_ref: String::new(),
            subject: "[Frontdesk] Case #42: Printer on fire".into(),
            in_reply_to: None,
            references: Vec::new(),
            ..reply()
        };
        let mail = outbound_mail(&message, DEFAULT_FROM).unwrap();
        assert_eq!(mail["subject"], "[Frontdesk] Case #42: Printer on fire");
    }

    #[test]
    fn replies_to_a_chat_handle_are_refused() {
        let message = OutboundMessage { to: Identity { kind: "handle".into(), value: "ann".into() }, ..reply() };
        let error = outbound_mail(&message, DEFAULT_FROM).unwrap_err();
        assert!(!error.retryable);
    }
}
