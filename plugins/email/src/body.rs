//! Mail bodies: the part of a reply worth showing on a case, and a crude
//! HTML-to-text for mails that come without a text part.

/// The new part of a reply: `body` without quoted lines, without what
/// follows a reply attribution (`On ... wrote:` followed by quoted lines,
/// Outlook's `-----Original Message-----` or `____` + `From:` header block),
/// and without the signature (from a line that is exactly `-- ` or `--`).
///
/// When nothing is left (a mail that is all quote), returns the whole body
/// trimmed, as showing something beats showing nothing.
pub fn trim_reply(body: &str) -> String {
    let body = body.replace("\r\n", "\n");
    let lines: Vec<&str> = body.lines().collect();
    let cut = (0..lines.len()).find(|&i| starts_trailer(&lines, i)).unwrap_or(lines.len());
    let kept: Vec<&str> = lines[..cut].iter().copied().filter(|line| !is_quoted(line)).collect();
    let text = tidy(&kept.join("\n"));
    if text.is_empty() { tidy(&body) } else { text }
}

/// Whether line `i` starts what follows the new text: a signature, a
/// forwarded-original header, or an attribution.
fn starts_trailer(lines: &[&str], i: usize) -> bool {
    let line = lines[i];
    let trimmed = line.trim();
    if line == "-- " || line == "--" {
        return true;
    }
    if trimmed.trim_matches('-').trim().eq_ignore_ascii_case("original message") && trimmed.starts_with("---") {
        return true;
    }
    // Outlook without the banner: a rule of underscores, then `From:`.
    if trimmed.len() >= 10 && trimmed.chars().all(|c| c == '_') {
        return lines.get(i + 1).is_some_and(|next| next.trim_start().starts_with("From:"));
    }
    // `On Mon, 2 Mar 2026, Ann <ann@example.com> wrote:`, which clients
    // wrap over two lines when it is long; only an attribution if quoted
    // lines follow it.
    if !trimmed.starts_with("On ") {
        return false;
    }
    let ends = if trimmed.ends_with("wrote:") {
        i
    } else if lines.get(i + 1).is_some_and(|next| next.trim_end().ends_with("wrote:")) {
        i + 1
    } else {
        return false;
    };
    lines[ends + 1..].iter().find(|l| !l.trim().is_empty()).is_some_and(|l| is_quoted(l))
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// Trailing spaces off every line, blank lines off both ends.
fn tidy(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let first = lines.iter().position(|l| !l.is_empty());
    let last = lines.iter().rposition(|l| !l.is_empty());
    match (first, last) {
        (Some(first), Some(last)) => lines[first..=last].join("\n"),
        _ => String::new(),
    }
}

/// Text from HTML, crudely: tags dropped, `<script>` and `<style>` dropped
/// with their content, block tags and `<br>` made line breaks, common
/// entities decoded, and `<blockquote>` content prefixed with `> ` so that
/// [`trim_reply`] sees it as quoted.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let Some(end) = rest.find('>') else { break };
            let tag = &rest[1..end];
            rest = &rest[end + 1..];
            let closing = tag.starts_with('/');
            let name = tag.trim_start_matches('/').split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or("");
            match name.to_ascii_lowercase().as_str() {
                "script" | "style" if !closing => {
                    let close = format!("</{}", name.to_ascii_lowercase());
                    rest = rest.to_ascii_lowercase().find(&close).map_or("", |i| &rest[i..]);
                }
                "br" => out.push('\n'),
                "p" => blank_line(&mut out),
                "blockquote" => {
                    blank_line(&mut out);
                    depth = if closing { depth.saturating_sub(1) } else { depth + 1 };
                }
                "div" | "li" | "tr" | "table" | "ul" | "ol" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "hr" => {
                    line_break(&mut out)
                }
                _ => {}
            }
        } else if c == '&' {
            let (decoded, used) = entity(rest);
            push_text(&mut out, &decoded, depth);
            rest = &rest[used..];
        } else {
            let next = rest.find(['<', '&']).unwrap_or(rest.len());
            // Runs of whitespace, line breaks included, are one space in HTML.
            let run = &rest[..next];
            let mut text = run.split_whitespace().collect::<Vec<_>>().join(" ");
            if run.starts_with(char::is_whitespace) && !out.ends_with(' ') {
                text.insert(0, ' ');
            }
            if run.ends_with(char::is_whitespace) && !text.trim().is_empty() {
                text.push(' ');
            }
            push_text(&mut out, &text, depth);
            rest = &rest[next..];
        }
    }
    // Collapse the runs of blank lines that `<br>`s leave behind.
    let mut lines: Vec<&str> = Vec::new();
    for line in out.lines().map(str::trim_end) {
        if !(line.is_empty() && lines.last().is_none_or(|l| l.is_empty())) {
            lines.push(line);
        }
    }
    tidy(&lines.join("\n"))
}

fn line_break(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

fn blank_line(out: &mut String) {
    line_break(out);
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
}

/// Appends text, starting quoted lines with `> ` and dropping spaces at the
/// start of a line.
fn push_text(out: &mut String, text: &str, depth: usize) {
    let at_line_start = out.is_empty() || out.ends_with('\n');
    let text = if at_line_start { text.trim_start() } else { text };
    if text.is_empty() {
        return;
    }
    if at_line_start && depth > 0 {
        out.push_str(&"> ".repeat(depth));
    }
    out.push_str(text);
}

/// Decodes the entity at the start of `s` (which starts with `&`); returns
/// the text and how many bytes it used. Unknown entities stay as written.
fn entity(s: &str) -> (String, usize) {
    let Some(end) = s[..s.len().min(12)].find(';') else { return ("&".into(), 1) };
    let name = &s[1..end];
    let decoded = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => name
            .strip_prefix('#')
            .and_then(|n| match n.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => n.parse().ok(),
            })
            .and_then(char::from_u32),
    };
    match decoded {
        Some(c) => (c.to_string(), end + 1),
        None => ("&".into(), 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_lose_quotes_attributions_and_signatures() {
        let cases = [
            ("Thanks, that worked.", "Thanks, that worked."),
            ("Thanks!\n\n> old text\n> more old text\n", "Thanks!"),
            (
                "Yes please.\r\n\r\nOn Mon, 2 Mar 2026 at 09:00, Support <support@acme.example> wrote:\r\n> Shall we?\r\n",
                "Yes please.",
            ),
            (
                "Yes please.\n\nOn Mon, 2 Mar 2026 at 09:00, Frontdesk Support <support@acme.example>\nwrote:\n\n> Shall we?\n",
                "Yes please.",
            ),
            ("Yes.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nShall we?", "Yes."),
            ("Yes.\n\n________________________________\nFrom: Support <s@acme.example>\nSent: Monday", "Yes."),
            ("Cheers\n-- \nAnn Example\nACME Corp", "Cheers"),
            ("Cheers\n--\nAnn", "Cheers"),
            ("Answer above.\n\nAnn\n-- \nsig\n\nOn Mon, Bob wrote:\n> q", "Answer above.\n\nAnn"),
            // Interleaved: quotes go, answers stay.
            ("> Is it on?\nYes.\n> Is it plugged in?\nAlso yes.", "Yes.\nAlso yes."),
            // Not an attribution: nothing quoted follows.
            ("On Monday I wrote:\nthe report is late.", "On Monday I wrote:\nthe report is late."),
            // Not a signature: the dashes are not alone on the line.
            ("Use --force\n-- not a sig", "Use --force\n-- not a sig"),
            // All quote: keep it rather than show nothing.
            ("> only a quote", "> only a quote"),
            ("", ""),
        ];
        for (body, expected) in cases {
            assert_eq!(trim_reply(body), expected, "body: {body:?}");
        }
    }

    #[test]
    fn html_becomes_text() {
        let cases = [
            ("<p>Hello</p><p>World</p>", "Hello\n\nWorld"),
            ("Line one<br>Line two<br/>Line three", "Line one\nLine two\nLine three"),
            ("<div>a &amp; b &lt;c&gt; &#233;&#x263A;&nbsp;&bogus; x</div>", "a & b <c> é☺ &bogus; x"),
            ("<style>p { color: red }</style><p>Hi</p><SCRIPT>alert(1)</SCRIPT>", "Hi"),
            ("<b>bold</b> and <i>italic</i>\n   words", "bold and italic words"),
            (
                "<div>Sure.</div><div>On Mon, Bob wrote:</div><blockquote><div>Shall we?</div></blockquote>",
                "Sure.\nOn Mon, Bob wrote:\n\n> Shall we?",
            ),
            ("unclosed <b", "unclosed"),
        ];
        for (html, expected) in cases {
            assert_eq!(html_to_text(html), expected, "html: {html:?}");
        }
        let quoted = html_to_text("<p>Sure.</p><div>On Mon, Bob wrote:</div><blockquote><p>Shall we?</p></blockquote>");
        assert_eq!(trim_reply(&quoted), "Sure.");
    }
}
