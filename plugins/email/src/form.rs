//! The raw mail inside a provider's `multipart/form-data` webhook: the
//! `email` field of SendGrid's Inbound Parse with "POST the raw, full MIME
//! message" on, or the `body-mime` field of a Mailgun route that forwards
//! to a URL ending in `mime`. The form is itself MIME, so `mail-parser`
//! reads it too.

use frontdesk_plugin_sdk::channel::PluginError;
use mail_parser::{MessageParser, MimeHeaders};

/// The form fields that carry a whole raw mail, in the order looked for.
pub const RAW_MAIL_FIELDS: [&str; 2] = ["email", "body-mime"];

/// The raw mail in a `multipart/form-data` body whose request
/// `Content-Type` (with its boundary) is `content_type`.
///
/// # Errors
/// A permanent error when the form has none of [`RAW_MAIL_FIELDS`].
pub fn raw_mail_field(content_type: &str, body: &[u8]) -> Result<Vec<u8>, PluginError> {
    let mut form = format!("Content-Type: {content_type}\r\n\r\n").into_bytes();
    form.extend_from_slice(body);
    let parsed = MessageParser::default().parse(&form);
    let found = parsed.as_ref().and_then(|form_message| {
        RAW_MAIL_FIELDS.iter().find_map(|field| {
            form_message.parts.iter().skip(1).find(|part| {
                part.content_disposition()
                    .and_then(|d| d.attribute("name"))
                    .is_some_and(|name| name.eq_ignore_ascii_case(field))
            })
        })
    });
    let part = found.ok_or_else(|| {
        PluginError::permanent(format!(
            "the form has no raw mail: expected a field named {}",
            RAW_MAIL_FIELDS.map(|f| format!("`{f}`")).join(" or ")
        ))
    })?;
    // The field's bytes as sent, not as decoded text: a raw mail may be in
    // any charset, or 8-bit.
    let (start, end) = (part.raw_body_offset() as usize, part.raw_end_offset() as usize);
    Ok(form.get(start..end.min(form.len())).unwrap_or_default().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raw_mail_field_is_found_byte_for_byte() {
        let mail = "From: ann@example.com\r\nSubject: caf\u{e9}\r\n\r\nhi\r\n";
        for field in RAW_MAIL_FIELDS {
            let body = format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\nsupport@acme.example\r\n\
                 --XyZ\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{mail}\r\n--XyZ--\r\n"
            );
            let raw = raw_mail_field("multipart/form-data; boundary=XyZ", body.as_bytes()).unwrap();
            assert_eq!(String::from_utf8(raw).unwrap().trim_end(), mail.trim_end(), "field {field}");
        }
    }

    #[test]
    fn a_form_without_a_raw_mail_says_which_fields_it_wants() {
        let body = "--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhi\r\n--b--\r\n";
        let error = raw_mail_field("multipart/form-data; boundary=b", body.as_bytes()).unwrap_err();
        assert!(error.message.contains("`email` or `body-mime`"), "{}", error.message);
    }
}
