//! RFC 5322 mailboxes as people write them in `From:` lines: a display name
//! (plain words, a quoted string, or a legacy trailing comment) and an
//! address. Lenient on purpose: a webhook is no place to refuse mail over a
//! stray comma. Encoded words (`=?UTF-8?...?=`) are left to the provider,
//! which decodes them before posting.

/// A sender: display name (if any) and address, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name, unquoted and unescaped.
    pub name: Option<String>,
    /// The address as written (case kept; the server lower-cases it).
    pub address: String,
}

/// Parses the first mailbox of a `From:` value.
///
/// Handles `Ann Example <ann@example.com>`, `"Example, Ann" <a@b>`,
/// `Ann (comment) <a@b>`, `<a@b>`, bare `a@b`, legacy `a@b (Ann)`, and
/// Unicode (IDN) domains, which are kept as written. `None` when there is no
/// address in it.
pub fn parse_mailbox(input: &str) -> Option<Mailbox> {
    let mut phrase: Vec<String> = Vec::new();
    let mut comments: Vec<String> = Vec::new();
    let mut angle: Option<String> = None;
    let mut word = String::new();
    let mut chars = input.chars();

    while let Some(c) = chars.next() {
        match c {
            '"' => {
                flush(&mut word, &mut phrase);
                phrase.push(quoted(&mut chars));
            }
            '(' => {
                flush(&mut word, &mut phrase);
                comments.push(comment(&mut chars));
            }
            '<' => {
                flush(&mut word, &mut phrase);
                let inner: String = chars.by_ref().take_while(|&c| c != '>').collect();
                angle = Some(inner.trim().to_owned());
            }
            // A comma ends the first mailbox once it has an address; before
            // that it is part of an unquoted `Last, First` name.
            ',' if angle.is_some() || phrase.iter().chain([&word]).any(|w| w.contains('@')) => break,
            c if c.is_whitespace() => flush(&mut word, &mut phrase),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut phrase);

    let (address, name) = match angle {
        Some(address) => {
            let name = if phrase.is_empty() { comments.into_iter().next() } else { Some(phrase.join(" ")) };
            (address, name)
        }
        None => {
            // `a@b (Ann)`: the address is the word with an `@`, the name
            // the comment.
            let address = phrase.into_iter().find(|w| w.contains('@'))?;
            (address, comments.into_iter().next())
        }
    };
    let name = name.map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "));
    let name = name.filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(&address));
    is_address(&address).then_some(Mailbox { name, address })
}

/// Whether `s` looks like `local@domain`: text on both sides of the last
/// `@` and no whitespace. Deliberately loose; the mail provider has already
/// accepted the mail.
pub fn is_address(s: &str) -> bool {
    s.rsplit_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !s.chars().any(char::is_whitespace))
}

/// Formats a recipient for a `To:` field: `Name <addr>`, quoting the name
/// when it has characters that would otherwise split it (`"Example, Ann"`).
pub fn format_mailbox(name: Option<&str>, address: &str) -> String {
    let Some(name) = name.map(one_line).filter(|n| !n.is_empty()) else {
        return address.to_owned();
    };
    const SPECIALS: &[char] = &['(', ')', '<', '>', '[', ']', ':', ';', '@', '\\', ',', '.', '"'];
    if name.contains(SPECIALS) {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\" <{address}>")
    } else {
        format!("{name} <{address}>")
    }
}

/// `s` with line breaks turned into spaces, so it cannot start a new header.
pub fn one_line(s: &str) -> String {
    s.split(['\r', '\n']).map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

fn flush(word: &mut String, phrase: &mut Vec<String>) {
    if !word.is_empty() {
        phrase.push(std::mem::take(word));
    }
}

/// The rest of a quoted string, after its opening `"`.
fn quoted(chars: &mut std::str::Chars<'_>) -> String {
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '"' => break,
            c => out.push(c),
        }
    }
    out
}

/// The rest of a comment, after its opening `(`; comments nest.
fn comment(chars: &mut std::str::Chars<'_>) -> String {
    let mut out = String::new();
    let mut depth = 1;
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '(' => {
                depth += 1;
                out.push(c);
            }
            ')' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(name: Option<&str>, address: &str) -> Option<Mailbox> {
        Some(Mailbox { name: name.map(str::to_owned), address: address.to_owned() })
    }

    #[test]
    fn display_name_forms_parse() {
        let cases = [
            ("Ann Example <ann@example.com>", mailbox(Some("Ann Example"), "ann@example.com")),
            ("\"Example, Ann\" <ann@example.com>", mailbox(Some("Example, Ann"), "ann@example.com")),
            ("Ann (Sales) <ann@example.com>", mailbox(Some("Ann"), "ann@example.com")),
            ("(Ann) <ann@example.com>", mailbox(Some("Ann"), "ann@example.com")),
            ("ann@example.com", mailbox(None, "ann@example.com")),
            ("<ann@example.com>", mailbox(None, "ann@example.com")),
            ("ann@example.com (Ann Example)", mailbox(Some("Ann Example"), "ann@example.com")),
            ("  Ann   Example  < ann@example.com > ", mailbox(Some("Ann Example"), "ann@example.com")),
            ("Ann@Example.COM", mailbox(None, "Ann@Example.COM")),
            ("Ann <Ann.Example@EXAMPLE.com>", mailbox(Some("Ann"), "Ann.Example@EXAMPLE.com")),
            ("Jörg Müller <joerg@bücher.example>", mailbox(Some("Jörg Müller"), "joerg@bücher.example")),
            ("ann@bücher.example", mailbox(None, "ann@bücher.example")),
            (
                "\"Ann \\\"The Boss\\\" Example\" <a@b.example>",
                mailbox(Some("Ann \"The Boss\" Example"), "a@b.example"),
            ),
            ("\"ann@example.com\" <ann@example.com>", mailbox(None, "ann@example.com")),
            ("Example, Ann <ann@example.com>", mailbox(Some("Example, Ann"), "ann@example.com")),
            ("Ann <ann@example.com>, Bob <bob@example.com>", mailbox(Some("Ann"), "ann@example.com")),
            ("ann@example.com, bob@example.com", mailbox(None, "ann@example.com")),
            ("Ann (the (nested) one) <a@b.example>", mailbox(Some("Ann"), "a@b.example")),
            ("\"\" <ann@example.com>", mailbox(None, "ann@example.com")),
            ("Ann Example", None),
            ("", None),
            ("<>", None),
            ("Ann <not-an-address>", None),
            ("@example.com", None),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_mailbox(input), expected, "input: {input:?}");
        }
    }

    #[test]
    fn every_name_form_keeps_the_address_for_many_addresses() {
        let addresses = ["a@b.example", "Ann.Example+tag@Example.COM", "x_y-z@sub.bücher.example", "o'neil@example.ie"];
        let names = ["Ann", "Ann Example", "Example, Ann", "Ann (Support)", "Jörg"];
        for address in addresses {
            let forms = [
                (address.to_owned(), None),
                (format!("<{address}>"), None),
                (format!("{address} (Ann)"), Some("Ann")),
                (format!("Ann <{address}>"), Some("Ann")),
            ];
            for (input, name) in forms {
                let parsed = parse_mailbox(&input).unwrap_or_else(|| panic!("no mailbox in {input:?}"));
                assert_eq!(parsed.address, address, "input: {input:?}");
                assert_eq!(parsed.name.as_deref(), name, "input: {input:?}");
            }
            for name in names {
                // What we format, we parse back (comments are not names).
                let formatted = format_mailbox(Some(name), address);
                let parsed = parse_mailbox(&formatted).unwrap();
                assert_eq!(parsed.address, address);
                assert_eq!(parsed.name.as_deref(), Some(name), "formatted: {formatted:?}");
            }
        }
    }

    #[test]
    fn recipients_are_quoted_only_when_needed() {
        assert_eq!(format_mailbox(None, "ann@example.com"), "ann@example.com");
        assert_eq!(format_mailbox(Some(""), "ann@example.com"), "ann@example.com");
        assert_eq!(format_mailbox(Some("Ann Example"), "ann@example.com"), "Ann Example <ann@example.com>");
        assert_eq!(format_mailbox(Some("Example, Ann"), "a@b"), "\"Example, Ann\" <a@b>");
        assert_eq!(format_mailbox(Some("Ann \"AE\" E."), "a@b"), "\"Ann \\\"AE\\\" E.\" <a@b>");
        assert_eq!(format_mailbox(Some("Ann\r\nBcc: x@evil"), "a@b"), "\"Ann Bcc: x@evil\" <a@b>");
    }
}
