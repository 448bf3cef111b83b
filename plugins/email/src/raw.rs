//! Raw RFC 5322 mail (what an MTA hands a pipe, or a provider forwards as
//! MIME) turned into one inbound message, parsed with `mail-parser`:
//! RFC 2047 encoded words, quoted-printable and base64 bodies, charsets,
//! `multipart/alternative` (text/plain preferred, text/html made text).

use frontdesk_plugin_sdk::channel::{Identity, InboundMessage, PluginError};
use mail_parser::{Address, HeaderValue, Message, MessageParser, PartType};
use sha2::{Digest, Sha256};

use crate::kind::{self, MailKind, bracketed};
use crate::{address, body, case_ref_in};

/// Longest text kept, under the server's 256 KiB per message; the rest is
/// cut with a note, since a case shows text, not archives.
pub const MAX_TEXT_BYTES: usize = 200 * 1024;
/// Longest subject, name or message id kept (the server takes 1 KiB).
const MAX_SHORT_BYTES: usize = 900;
/// Most ids taken from `In-Reply-To` and `References` (the server takes 100).
const MAX_REFERENCES: usize = 50;

/// One parsed mail: the message for the server and what kind it is.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The message as the server takes it.
    pub message: InboundMessage,
    /// Whether a person or a machine sent it.
    pub kind: MailKind,
}

/// Parses one raw mail.
///
/// # Errors
/// A permanent error when the bytes have no header fields, or no sender
/// address in `From`, `Sender`, `Reply-To` or `Return-Path`.
pub fn parse_raw(raw: &[u8]) -> Result<Parsed, PluginError> {
    let mail = MessageParser::default()
        .parse(raw)
        .filter(|m| !m.headers().is_empty())
        .ok_or_else(|| PluginError::permanent("the body is not an RFC 5322 mail: it has no header fields"))?;
    let (sender, sender_name) = sender(&mail).ok_or_else(|| {
        PluginError::permanent("the mail has no sender: no address in From, Sender, Reply-To or Return-Path")
    })?;
    let kind = kind::classify(&mail);
    let subject = mail.subject().map(address::one_line).filter(|s| !s.is_empty()).map(|s| clip(&s, MAX_SHORT_BYTES));

    let whole = body_text(&mail);
    let text = clip_text(body::trim_reply(&whole));
    let full_text = (text != whole.trim()).then(|| clip_text(whole));

    let mut references: Vec<String> = Vec::new();
    let mut case_ref = subject.as_deref().and_then(case_ref_in);
    if let MailKind::Bounce(bounce) = &kind {
        // A bounce threads by the message it returns, which is ours.
        references.extend(bounce.original_message_id.clone());
        case_ref = bounce.original_subject.as_deref().and_then(case_ref_in).or(case_ref);
    }
    references.extend(ids(mail.in_reply_to()));
    let mut older = ids(mail.references());
    // `References` lists the oldest first; the newest matter most.
    older.reverse();
    references.extend(older);

    Ok(Parsed {
        message: InboundMessage {
            sender: Identity { kind: "email".into(), value: sender },
            sender_name,
            other_identities: Vec::new(),
            case_ref,
            subject,
            text,
            full_text,
            channel_message_id: mail
                .message_id()
                .map(bracketed)
                .filter(|id| id.len() <= MAX_SHORT_BYTES)
                .unwrap_or_else(|| synthetic_id(raw)),
            thread_key: None,
            references: unique_short(references),
        },
        kind,
    })
}

/// The sender's address and name: `From`, else `Sender`, `Reply-To`, then
/// the envelope's `Return-Path`.
fn sender(mail: &Message<'_>) -> Option<(String, Option<String>)> {
    let first = |a: Option<&Address<'_>>| {
        let addr = a?.iter().find(|a| a.address().is_some_and(|x| x.contains('@')))?;
        let address = addr.address()?.trim().to_owned();
        let name = addr
            .name()
            .map(address::one_line)
            .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(&address))
            .map(|n| clip(&n, MAX_SHORT_BYTES));
        Some((address, name))
    };
    first(mail.from()).or_else(|| first(mail.sender())).or_else(|| first(mail.reply_to())).or_else(|| {
        let path = match mail.return_path() {
            HeaderValue::Text(t) => t.to_string(),
            HeaderValue::TextList(list) => list.first()?.to_string(),
            _ => return None,
        };
        let path = path.trim().trim_start_matches('<').trim_end_matches('>').to_owned();
        path.contains('@').then_some((path, None))
    })
}

/// The text of the mail's body parts, in order: text/plain as it is, HTML
/// made text (mail-parser already chose text/plain over HTML in each
/// `multipart/alternative`).
fn body_text(mail: &Message<'_>) -> String {
    let texts: Vec<String> = mail
        .text_bodies()
        .filter_map(|part| match &part.body {
            PartType::Text(text) => Some(text.replace("\r\n", "\n")),
            PartType::Html(html) => Some(body::html_to_text(html)),
            _ => None,
        })
        .filter(|t| !t.trim().is_empty())
        .collect();
    texts.join("\n\n")
}

/// The message ids of an `In-Reply-To` or `References` header, bracketed.
fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![bracketed(id)],
        HeaderValue::TextList(ids) => ids.iter().map(|id| bracketed(id)).collect(),
        _ => Vec::new(),
    }
}

/// Ids each once, in order, none too long, at most [`MAX_REFERENCES`].
fn unique_short(ids: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if id.len() > 2 && id.len() <= MAX_SHORT_BYTES && !out.contains(&id) && out.len() < MAX_REFERENCES {
            out.push(id);
        }
    }
    out
}

/// A stable id for a mail without `Message-ID`, so that the same mail
/// delivered twice (an MTA retrying) is still recorded once.
fn synthetic_id(raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("<sha256-{hex}@frontdesk.invalid>")
}

/// `text` cut at a character boundary to at most `max` bytes.
fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// A body cut to [`MAX_TEXT_BYTES`], saying so when it was.
fn clip_text(text: String) -> String {
    if text.len() <= MAX_TEXT_BYTES {
        return text;
    }
    let mut out = clip(&text, MAX_TEXT_BYTES - 64);
    out.push_str("\n\n[… the rest of this mail was too long to show]");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Parsed {
        parse_raw(raw.as_bytes()).unwrap()
    }

    #[test]
    fn encoded_words_and_quoted_printable_are_decoded() {
        let parsed = parse(
            "From: =?ISO-8859-1?Q?Andr=E9_Pirard?= <PIRARD@vm1.ulg.ac.be>\r\n\
             Subject: =?utf-8?B?RHJ1Y2tlciBicmVubnQg8J+UpQ==?=\r\n\
             Message-ID: <m1@ulg.ac.be>\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=iso-8859-1\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\
             \r\n\
             Le caf=E9 est fr=E9=\r\nquent.\r\n",
        );
        let m = parsed.message;
        assert_eq!(m.sender.value, "PIRARD@vm1.ulg.ac.be");
        assert_eq!(m.sender_name.as_deref(), Some("André Pirard"));
        assert_eq!(m.subject.as_deref(), Some("Drucker brennt 🔥"));
        assert_eq!(m.text, "Le café est fréquent.");
        assert_eq!(m.channel_message_id, "<m1@ulg.ac.be>");
        assert!(matches!(parsed.kind, MailKind::Normal));
    }

    #[test]
    fn alternative_prefers_plain_text_and_html_only_becomes_text() {
        let alternative = "From: ann@example.com\r\nMessage-ID: <a@x>\r\n\
             Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/html\r\n\r\n<p>the <b>html</b></p>\r\n\
             --b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
             dGhlIHBsYWluIHRleHQ=\r\n--b--\r\n";
        assert_eq!(parse(alternative).message.text, "the plain text");
        let html_only = "From: ann@example.com\r\nMessage-ID: <h@x>\r\nContent-Type: text/html\r\n\r\n\
             <div>Yes</div><script>alert(1)</script><blockquote>old</blockquote>";
        let m = parse(html_only).message;
        assert_eq!(m.text, "Yes");
        assert!(!m.full_text.unwrap_or_default().contains("alert"));
    }

    #[test]
    fn replies_thread_by_in_reply_to_and_references() {
        let m = parse(
            "From: Ann <ann@example.com>\r\nSubject: RE: Printer [#c42.sig]\r\n\
             Message-ID: <m3@example.com>\r\nIn-Reply-To: <r2@frontdesk>\r\n\
             References: <m1@example.com> <r2@frontdesk>\r\n\r\n\
             Still smoking.\r\n\r\nOn Mon, Support <s@acme.example> wrote:\r\n> Unplug it.\r\n",
        )
        .message;
        assert_eq!(m.references, ["<r2@frontdesk>", "<m1@example.com>"]);
        assert_eq!(m.case_ref.as_deref(), Some("c42.sig"));
        assert_eq!(m.text, "Still smoking.");
        assert!(m.full_text.unwrap().contains("> Unplug it."));
    }

    #[test]
    fn a_mail_without_message_id_gets_a_stable_one() {
        let raw = "From: ann@example.com\r\n\r\nhi\r\n";
        let first = parse(raw).message.channel_message_id;
        assert_eq!(first, parse(raw).message.channel_message_id);
        assert!(first.starts_with("<sha256-") && first.ends_with("@frontdesk.invalid>"), "{first}");
    }

    #[test]
    fn the_sender_falls_back_to_reply_to_and_return_path() {
        let m = parse("Return-Path: <bounce@list.example>\r\nSubject: x\r\n\r\nhi\r\n").message;
        assert_eq!(m.sender.value, "bounce@list.example");
        let m = parse("From: undisclosed-recipients:;\r\nReply-To: Bo <bo@example.com>\r\n\r\nhi\r\n").message;
        assert_eq!(m.sender.value, "bo@example.com");
    }

    #[test]
    fn mail_without_headers_or_sender_is_refused_with_the_reason() {
        for (raw, why) in [("", "no header fields"), ("Subject: hi\r\n\r\nbody", "no sender")] {
            let error = parse_raw(raw.as_bytes()).unwrap_err();
            assert!(!error.retryable);
            assert!(error.message.contains(why), "{raw:?}: {}", error.message);
        }
    }

    #[test]
    fn huge_bodies_are_cut_with_a_note() {
        let raw = format!("From: a@example.com\r\n\r\n{}\r\n", "all work and no play ".repeat(20_000));
        let m = parse(&raw).message;
        assert!(m.text.len() <= MAX_TEXT_BYTES, "{}", m.text.len());
        assert!(m.text.ends_with("too long to show]"));
    }

    #[test]
    fn a_bounce_threads_by_the_returned_message() {
        let raw = "From: MAILER-DAEMON@mx.example.net\r\nSubject: Undelivered Mail\r\nMessage-ID: <d@mx>\r\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n\
             --B\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n\
             --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n\
             Final-Recipient: rfc822; ann@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\
             --B\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: Re: Printer [#c42.sig]\r\n\
             Message-ID: <case-42.7@frontdesk>\r\n--B--\r\n";
        let parsed = parse(raw);
        assert!(matches!(parsed.kind, MailKind::Bounce(_)), "{:?}", parsed.kind);
        assert_eq!(parsed.message.references, ["<case-42.7@frontdesk>"]);
        assert_eq!(parsed.message.case_ref.as_deref(), Some("c42.sig"));
        assert_eq!(parsed.message.text, "Could not deliver.");
    }
}
