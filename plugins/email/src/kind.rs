//! What kind of mail a message is: written by a person, sent by a machine on
//! someone's behalf (out-of-office, auto-acknowledgement, list or bulk mail),
//! or a delivery status notification (a bounce).
//!
//! Auto-replies are told by their headers (RFC 3834 `Auto-Submitted`, the
//! `Precedence`, `X-Autoreply` and `X-Autorespond` that older responders
//! send) and by out-of-office subjects; bounces by their RFC 3464 shape
//! (`multipart/report; report-type=delivery-status`).

use frontdesk_plugin_sdk::channel::frontdesk::plugin::message_kinds::BounceReport;
use mail_parser::{Message, MessageParser, MessagePart, MimeHeaders, PartType};

/// What kind of mail a message is.
#[derive(Debug, Clone)]
pub enum MailKind {
    /// A person wrote it.
    Normal,
    /// A machine sent it on someone's behalf; the text says what gave it away.
    AutoReply(String),
    /// A report that a message could not be delivered.
    Bounce(Bounce),
}

/// A parsed delivery status notification.
#[derive(Debug, Clone)]
pub struct Bounce {
    /// What the report says, for the server.
    pub report: BounceReport,
    /// The `Message-ID` of the message that bounced, in angle brackets.
    pub original_message_id: Option<String>,
    /// The subject of the message that bounced (it carries the case
    /// reference of a reply).
    pub original_subject: Option<String>,
}

/// Subjects that out-of-office responders put first, lower-cased. Only the
/// start of a subject counts, so a customer writing "about my out of office
/// setting" is not taken for a robot.
const AUTO_SUBJECTS: &[&str] = &[
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "auto response",
    "autoresponse",
    "away from the office",
    "abwesenheitsnotiz",
    "automatische antwort",
    "réponse automatique",
    "absence du bureau",
    "respuesta automática",
    "fuera de la oficina",
    "risposta automatica",
];

/// The kind of `message`.
pub fn classify(message: &Message<'_>) -> MailKind {
    if let Some(bounce) = bounce(message) {
        return MailKind::Bounce(bounce);
    }
    match auto_reply_reason(message) {
        Some(reason) => MailKind::AutoReply(reason),
        None => MailKind::Normal,
    }
}

/// What marks `message` as sent by a machine, if anything does.
fn auto_reply_reason(message: &Message<'_>) -> Option<String> {
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    // RFC 3834: anything but `no` is automatic.
    if let Some(value) = header("Auto-Submitted")
        && !value.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("no")
    {
        return Some(format!("Auto-Submitted: {value}"));
    }
    if let Some(value) = header("Precedence")
        && ["bulk", "junk", "list", "auto_reply"].iter().any(|p| value.eq_ignore_ascii_case(p))
    {
        return Some(format!("Precedence: {value}"));
    }
    // Not `X-Auto-Response-Suppress`: Outlook sends it on mail people write.
    for name in ["X-Autoreply", "X-Autorespond"] {
        if let Some(value) = header(name) {
            return Some(format!("{name}: {value}"));
        }
    }
    let subject = message.subject().unwrap_or("").trim().to_lowercase();
    AUTO_SUBJECTS
        .iter()
        .find(|start| subject.starts_with(*start))
        .map(|_| format!("Subject: {}", message.subject().unwrap_or("").trim()))
}

/// The delivery status notification `message` is, if it is one.
fn bounce(message: &Message<'_>) -> Option<Bounce> {
    let root = message.root_part();
    let is_report = root.is_content_type("multipart", "report")
        && root
            .content_type()
            .and_then(|ct| ct.attribute("report-type"))
            .is_some_and(|t| t.eq_ignore_ascii_case("delivery-status"));
    if !is_report {
        return None;
    }
    let mut report = BounceReport { recipients: Vec::new(), permanent: false, status: None, diagnostic: None };
    let mut original_message_id = None;
    let mut original_subject = None;
    for part in &message.parts {
        if part.is_content_type("message", "delivery-status") {
            read_delivery_status(&text_of(part), &mut report);
        } else if let Some((id, subject)) = original_headers(part) {
            original_message_id = original_message_id.or(id);
            original_subject = original_subject.or(subject);
        }
    }
    if report.status.is_none() && report.recipients.is_empty() {
        // A report whose fields cannot be read is still a bounce (its type
        // says so); count it as a failure rather than a delay.
        report.permanent = true;
    }
    Some(Bounce { report, original_message_id, original_subject })
}

/// The body of a part as text, whatever type it was parsed as.
fn text_of(part: &MessagePart<'_>) -> String {
    match &part.body {
        PartType::Text(text) | PartType::Html(text) => text.to_string(),
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        PartType::Message(_) | PartType::Multipart(_) => String::new(),
    }
}

/// `Message-ID` and `Subject` of the returned message in a report's third
/// part: a whole `message/rfc822` or only its `text/rfc822-headers`.
fn original_headers(part: &MessagePart<'_>) -> Option<(Option<String>, Option<String>)> {
    let pick = |m: &Message<'_>| (m.message_id().map(bracketed), m.subject().map(str::to_owned));
    if let PartType::Message(original) = &part.body {
        return Some(pick(original));
    }
    if part.is_content_type("text", "rfc822-headers") {
        // The part ends where the boundary begins, often without the last
        // header's line break, which the parser needs to see.
        let text = format!("{}\r\n\r\n", text_of(part).trim_end());
        return MessageParser::default().parse_headers(text.as_bytes()).map(|m| pick(&m));
    }
    None
}

/// Reads the per-recipient fields of an RFC 3464 `message/delivery-status`
/// body: header-style fields in blocks, folded lines joined.
fn read_delivery_status(text: &str, report: &mut BounceReport) {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    for (name, value) in fields {
        // `rfc822; ann@example.com`: the address after the type.
        let typed = || value.split_once(';').map_or(value.as_str(), |(_, v)| v).trim().to_owned();
        match name.as_str() {
            "final-recipient" | "original-recipient" => {
                let address = typed();
                if !address.is_empty() && !report.recipients.iter().any(|r| r.eq_ignore_ascii_case(&address)) {
                    report.recipients.push(address);
                }
            }
            "action" => report.permanent |= value.eq_ignore_ascii_case("failed"),
            "status" if report.status.is_none() => report.status = Some(value.clone()),
            "diagnostic-code" if report.diagnostic.is_none() => report.diagnostic = Some(typed()),
            _ => {}
        }
    }
}

/// A message id in angle brackets, as the threading headers carry it.
pub fn bracketed(id: &str) -> String {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    format!("<{id}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(raw: &str) -> MailKind {
        classify(&MessageParser::default().parse(raw.as_bytes()).unwrap())
    }

    #[test]
    fn auto_replies_are_told_by_headers_and_subjects() {
        let cases = [
            ("Auto-Submitted: auto-replied\r\n", "Hi", Some("Auto-Submitted: auto-replied")),
            ("Auto-Submitted: auto-generated; owner-email=x@y\r\n", "Hi", Some("Auto-Submitted")),
            ("Auto-Submitted: no\r\n", "Hi", None),
            ("Precedence: bulk\r\n", "Newsletter", Some("Precedence: bulk")),
            ("Precedence: junk\r\n", "Hi", Some("Precedence: junk")),
            ("Precedence: list\r\n", "Hi", Some("Precedence: list")),
            ("Precedence: first-class\r\n", "Hi", None),
            ("X-Autoreply: yes\r\n", "Hi", Some("X-Autoreply: yes")),
            ("X-Autorespond: Away\r\n", "Hi", Some("X-Autorespond")),
            ("", "Out of Office: Re: Printer", Some("Subject: Out of Office")),
            ("", "Automatic reply: Printer on fire", Some("Subject: Automatic reply")),
            ("", "=?utf-8?q?Abwesenheitsnotiz=3A_Drucker?=", Some("Subject: Abwesenheitsnotiz")),
            ("", "Question about out of office settings", None),
            ("X-Auto-Response-Suppress: All\r\n", "Re: Printer", None),
        ];
        for (headers, subject, expected) in cases {
            let raw = format!("From: a@example.com\r\n{headers}Subject: {subject}\r\n\r\nbody\r\n");
            match (kind(&raw), expected) {
                (MailKind::AutoReply(reason), Some(start)) => assert!(reason.starts_with(start), "{raw:?}: {reason}"),
                (MailKind::Normal, None) => {}
                (other, _) => panic!("{raw:?}: {other:?}, expected {expected:?}"),
            }
        }
    }

    const DSN: &str = "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n\
To: support@acme.example\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
Auto-Submitted: auto-replied\r\n\
Message-ID: <dsn1@mx.example.net>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\
\r\n\
--B\r\n\
Content-Type: text/plain\r\n\
\r\n\
I'm sorry to have to inform you that your message could not be delivered.\r\n\
--B\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.example.net\r\n\
\r\n\
Final-Recipient: rfc822; ann@example.com\r\n\
Original-Recipient: rfc822;ann@example.com\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <ann@example.com>: Recipient address\r\n\
\trejected: User unknown\r\n\
--B\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
From: support@acme.example\r\n\
To: ann@example.com\r\n\
Subject: Re: Printer on fire [#c42.sig]\r\n\
Message-ID: <case-42.7@frontdesk>\r\n\
--B--\r\n";

    #[test]
    fn delivery_status_notifications_are_bounces() {
        let MailKind::Bounce(bounce) = kind(DSN) else { panic!("not a bounce") };
        assert_eq!(bounce.report.recipients, ["ann@example.com"]);
        assert!(bounce.report.permanent);
        assert_eq!(bounce.report.status.as_deref(), Some("5.1.1"));
        assert_eq!(
            bounce.report.diagnostic.as_deref(),
            Some("550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown")
        );
        assert_eq!(bounce.original_message_id.as_deref(), Some("<case-42.7@frontdesk>"));
        assert_eq!(bounce.original_subject.as_deref(), Some("Re: Printer on fire [#c42.sig]"));
    }

    #[test]
    fn a_returned_whole_message_names_the_original_too() {
        let raw = DSN
            .replace("Content-Type: text/rfc822-headers", "Content-Type: message/rfc822")
            .replace(
                "Message-ID: <case-42.7@frontdesk>\r\n",
                "Message-ID: <case-42.7@frontdesk>\r\n\r\nHave you tried water?\r\n",
            )
            .replace("Action: failed", "Action: delayed")
            .replace("Status: 5.1.1", "Status: 4.4.1");
        let MailKind::Bounce(bounce) = kind(&raw) else { panic!("not a bounce") };
        assert!(!bounce.report.permanent);
        assert_eq!(bounce.report.status.as_deref(), Some("4.4.1"));
        assert_eq!(bounce.original_message_id.as_deref(), Some("<case-42.7@frontdesk>"));
    }
}
