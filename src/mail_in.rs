//! `frontdesk mail-in`: the pipe an MTA delivers support mail to (the way
//! `rt-mailgate` works for RT). Reads one raw message on stdin, posts it to
//! a channel webhook as `message/rfc822`, signed with the channel's secret,
//! and exits with the sysexits(3) code that tells the MTA what to do with
//! the message: delivered, retry later, or bounce.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::cli::MailInArgs;

/// sysexits(3) codes, as MTAs read them.
pub mod exit {
    /// Delivered.
    pub const OK: u8 = 0;
    /// The server refused the message itself (a 4xx): the MTA bounces it.
    pub const DATAERR: u8 = 65;
    /// No message on stdin, or the secret file cannot be read.
    pub const NOINPUT: u8 = 66;
    /// Reading stdin failed.
    pub const IOERR: u8 = 74;
    /// The server is unreachable, overloaded or failing (no answer, 5xx, 429,
    /// 408), or refuses our credentials: the MTA keeps the message queued
    /// and tries again.
    pub const TEMPFAIL: u8 = 75;
}

/// Largest message read from stdin; bigger ones are refused before any
/// network work, as the server would refuse them anyway.
const MAX_MESSAGE_BYTES: u64 = 64 << 20;

/// What became of one message: the exit code and a line for the MTA's log.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The sysexits code.
    pub code: u8,
    /// Why, for stderr (which MTAs put in the bounce or the log); on
    /// success, the server's answer (the case each message went to).
    pub message: String,
}

/// Runs `mail-in`: the server's answer on stdout when delivered, the reason
/// on stderr when not. Never panics on bad input, always answers with a code.
pub fn run(args: &MailInArgs) -> ExitCode {
    let verdict = deliver(args, &mut std::io::stdin().lock());
    if verdict.code == exit::OK {
        println!("{}", verdict.message);
    } else {
        eprintln!("frontdesk mail-in: {}", verdict.message);
    }
    ExitCode::from(verdict.code)
}

/// Reads one message from `input` and posts it as `args` say.
pub fn deliver(args: &MailInArgs, input: &mut dyn Read) -> Verdict {
    let secret = match read_secret(&args.token_file) {
        Ok(secret) => secret,
        Err(message) => return Verdict { code: exit::NOINPUT, message },
    };
    let mut message = Vec::new();
    if let Err(e) = input.take(MAX_MESSAGE_BYTES + 1).read_to_end(&mut message) {
        return Verdict { code: exit::IOERR, message: format!("cannot read the message on stdin: {e}") };
    }
    if message.iter().all(u8::is_ascii_whitespace) {
        return Verdict { code: exit::NOINPUT, message: "no message on stdin".into() };
    }
    if message.len() as u64 > MAX_MESSAGE_BYTES {
        return Verdict {
            code: exit::DATAERR,
            message: format!("the message is over {} MiB", MAX_MESSAGE_BYTES >> 20),
        };
    }
    post(args, &secret, &message)
}

/// The channel secret: the file's first line, trimmed.
fn read_secret(path: &Path) -> Result<String, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the secret file {}: {e}", path.display()))?;
    let secret = text.lines().next().unwrap_or("").trim().to_owned();
    if secret.is_empty() {
        return Err(format!("the secret file {} is empty", path.display()));
    }
    Ok(secret)
}

fn post(args: &MailInArgs, secret: &str, message: &[u8]) -> Verdict {
    let url = format!("{}/api/v1/channels/{}/inbound", args.url.trim_end_matches('/'), args.plugin);
    if !url.starts_with("http://") {
        return Verdict {
            code: exit::TEMPFAIL,
            message: format!("--url must be http://HOST:PORT (mail-in talks plain HTTP to a local server): {url}"),
        };
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_global(Some(Duration::from_secs(args.timeout_secs)))
        .build()
        .into();
    let response = agent
        .post(&url)
        .header("Content-Type", "message/rfc822")
        .header("X-Frontdesk-Signature", &signature(secret, message))
        .send(message);
    match response {
        Ok(mut response) => {
            let status = response.status().as_u16();
            let body = response.body_mut().read_to_string().unwrap_or_default();
            verdict(status, &body)
        }
        Err(e) => Verdict { code: exit::TEMPFAIL, message: format!("cannot reach {url}: {e}") },
    }
}

/// `sha256=<hex HMAC-SHA256 of the body>`, as the webhook checks it.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The exit code for the server's answer. 401, 403 and 404 are a setup
/// problem (wrong secret, wrong plugin name), not the sender's: the MTA
/// keeps the mail queued until someone fixes it, rather than bouncing it.
pub fn verdict(status: u16, body: &str) -> Verdict {
    let why = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(300).collect());
    let code = match status {
        200..=299 => exit::OK,
        401 | 403 | 404 | 408 | 429 => exit::TEMPFAIL,
        400..=499 => exit::DATAERR,
        _ => exit::TEMPFAIL,
    };
    let message = match code {
        exit::OK => body.trim().to_owned(),
        exit::DATAERR => format!("the server refused the message ({status}): {why}"),
        _ => format!("the server could not take the message now ({status}): {why}; the MTA should retry"),
    };
    Verdict { code, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_the_codes_mtas_read() {
        let cases = [
            (202, exit::OK),
            (400, exit::DATAERR),
            (413, exit::DATAERR),
            (415, exit::DATAERR),
            (422, exit::DATAERR),
            (401, exit::TEMPFAIL),
            (403, exit::TEMPFAIL),
            (404, exit::TEMPFAIL),
            (408, exit::TEMPFAIL),
            (429, exit::TEMPFAIL),
            (500, exit::TEMPFAIL),
            (502, exit::TEMPFAIL),
            (503, exit::TEMPFAIL),
        ];
        for (status, code) in cases {
            assert_eq!(verdict(status, "").code, code, "status {status}");
        }
        let refused = verdict(400, r#"{"error": {"code": "invalid_body", "message": "no sender"}}"#);
        assert!(refused.message.ends_with("no sender"), "{}", refused.message);
    }
}
