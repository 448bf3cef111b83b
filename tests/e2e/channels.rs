//! The first-party channel plugins end to end: `email` and `chat` as built
//! from `plugins/` and embedded in the binary, a provider on 127.0.0.1 in
//! the role of the mail and chat APIs.

use serde_json::{Value, json};

use crate::harness::{Server, workdir};
use crate::plugin_kit::{FakeProvider, Received, eventually, post_signed};

const EMAIL_SECRET: &str = "mail-secret";
const CHAT_SECRET: &str = "chat-secret";

/// Email and chat with their secrets, replies going to `provider`.
fn config(provider: &FakeProvider) -> String {
    format!(
        r#"
[plugins.email]
secret = "{EMAIL_SECRET}"
api_url = "http://{addr}/send"
api_key = "mail-key"
from_address = "help@acme.example"
allowed_hosts = ["127.0.0.1"]

[plugins.chat]
secret = "{CHAT_SECRET}"
api_url = "http://{addr}/chat"
allowed_hosts = ["127.0.0.1"]
"#,
        addr = provider.addr
    )
}

/// Posts a mail; answers the case id it went to and whether it opened it.
fn mail(server: &Server, body: Value) -> (String, bool) {
    let (status, answer) = post_signed(server, "email", EMAIL_SECRET, &body);
    assert_eq!(status, 202, "{answer}");
    (answer["cases"][0].as_str().unwrap().to_owned(), answer["messages"][0]["created"] == true)
}

fn events_of(server: &Server, case: &str, kind: &str) -> Vec<Value> {
    let (_, body) = server.get(&format!("/api/v1/cases/{case}/events"));
    body["events"].as_array().unwrap().iter().filter(|e| e["type"] == kind).cloned().collect()
}

fn reply(server: &Server, case: &str, text: &str) {
    let (status, body) = server.post(&format!("/api/v1/cases/{case}/messages"), json!({"type": "reply", "body": text}));
    assert_eq!(status, 201, "{body}");
}

/// Waits until the provider accepted `n` requests; returns them.
fn accepted(provider: &FakeProvider, server: &Server, n: usize) -> Vec<Received> {
    assert!(eventually(30, || provider.accepted().len() >= n), "{}", server.log_text());
    provider.accepted()
}

#[test]
fn email_opens_cases_dedupes_and_threads_by_headers_and_by_the_signed_subject_token() {
    let dir = workdir();
    let provider = FakeProvider::start(0);
    let server = Server::start_with(dir.path(), &config(&provider));

    // A signed mail opens a case for its sender, quotes and signature trimmed.
    let first = json!({
        "from": "\"Example, Ann\" <Ann@Example.COM>",
        "to": "support@acme.example",
        "subject": "Printer on fire",
        "text": "It is on fire.\n\n-- \nAnn Example\nACME Corp",
        "message_id": "<m1@example.com>",
        "in_reply_to": null,
        "references": [],
    });
    let (case, created) = mail(&server, first.clone());
    assert!(created);
    let (_, got) = server.get(&format!("/api/v1/cases/{case}"));
    assert_eq!((got["channel"].as_str(), got["subject"].as_str()), (Some("email"), Some("Printer on fire")));
    let customer_id = got["customer_id"].as_str().unwrap().to_owned();
    let (_, customer) = server.get(&format!("/api/v1/customers/{customer_id}"));
    assert_eq!(customer["name"], "Example, Ann", "{customer}");
    assert!(customer.to_string().contains("ann@example.com"), "address kept, compared case-insensitively: {customer}");
    let received = events_of(&server, &case, "message_received");
    assert_eq!(received[0]["data"]["body"], "It is on fire.", "{received:?}");
    assert!(received[0]["data"]["via"]["full_body"].as_str().unwrap().contains("ACME Corp"), "{received:?}");

    // The same message id again (a webhook retried): still one message.
    let (status, answer) = post_signed(&server, "email", EMAIL_SECRET, &first);
    assert_eq!((status, answer["messages"][0]["duplicate"].as_bool()), (202, Some(true)), "{answer}");
    assert_eq!(answer["cases"][0], case.as_str());
    assert_eq!(events_of(&server, &case, "message_received").len(), 1);

    // The agent answers: one mail to the provider, with threading headers.
    reply(&server, &case, "Unplug it, please.");
    let sent = accepted(&provider, &server, 1);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].request_line, "POST /send HTTP/1.1");
    assert_eq!(sent[0].header("authorization"), Some("Bearer mail-key"));
    let outgoing = sent[0].json();
    assert_eq!(outgoing["from"], "help@acme.example");
    assert_eq!(outgoing["to"], "\"Example, Ann\" <ann@example.com>", "{outgoing}");
    assert_eq!(outgoing["text"], "Unplug it, please.");
    assert_eq!(outgoing["headers"]["In-Reply-To"], "<m1@example.com>", "{outgoing}");
    assert_eq!(outgoing["headers"]["References"], "<m1@example.com>", "{outgoing}");
    let our_id = outgoing["headers"]["Message-ID"].as_str().unwrap().to_owned();
    assert!(our_id.starts_with('<') && our_id.ends_with('>'), "{our_id}");
    let subject = outgoing["subject"].as_str().unwrap().to_owned();
    let token = subject.split("[#").nth(1).and_then(|t| t.strip_suffix(']')).expect("a case token").to_owned();
    assert!(subject.starts_with("Re: Printer on fire [#"), "{subject}");
    assert!(eventually(10, || events_of(&server, &case, "reply_delivered").len() == 1));
    assert_eq!(events_of(&server, &case, "reply_delivered")[0]["data"]["message_id"], our_id.as_str());

    // The customer answers our mail: threads by In-Reply-To.
    let (threaded, created) = mail(
        &server,
        json!({
            "from": "ann@example.com", "subject": subject, "message_id": "<m2@example.com>",
            "text": "Done, still smoking.\n\nOn Mon, Support <help@acme.example> wrote:\n> Unplug it, please.",
            "in_reply_to": our_id, "references": ["<m1@example.com>", our_id],
        }),
    );
    assert_eq!((threaded.as_str(), created), (case.as_str(), false));
    let received = events_of(&server, &case, "message_received");
    assert_eq!(received.len(), 2);
    assert_eq!(received[1]["data"]["body"], "Done, still smoking.");

    // Headers stripped by a mail client: the signed token in the subject threads it.
    let (threaded, created) = mail(
        &server,
        json!({"from": "ann@example.com", "subject": format!("RE: {subject}"), "message_id": "<m3@example.com>",
               "text": "Any news?"}),
    );
    assert_eq!((threaded.as_str(), created), (case.as_str(), false));

    // A forged token (another case number, or an edited signature) does not.
    let (number, mac) = token.rsplit_once('-').unwrap();
    let other_number = format!("{}-{mac}", number.parse::<u64>().unwrap() + 1);
    let flipped = format!("{number}-{}{}", &mac[..mac.len() - 1], if mac.ends_with('0') { '1' } else { '0' });
    for (n, forged) in [other_number, flipped].into_iter().enumerate() {
        let (other, created) = mail(
            &server,
            json!({"from": "mallory@example.net", "subject": format!("Re: Printer on fire [#{forged}]"),
                   "message_id": format!("<forged{n}@example.net>"), "text": "Let me in"}),
        );
        assert!(created, "a forged token must not thread: {forged}");
        assert_ne!(other, case);
    }
    // Nor does the same subject without a token.
    let (other, created) = mail(
        &server,
        json!({"from": "ann@example.com", "subject": "Re: Printer on fire", "message_id": "<m4@example.com>",
               "text": "New problem, same printer"}),
    );
    assert!(created && other != case);
    assert_eq!(events_of(&server, &case, "message_received").len(), 3);

    // The second reply answers the latest mail and names the whole thread.
    reply(&server, &case, "A technician is on the way.");
    let sent = accepted(&provider, &server, 2);
    let second = sent[1].json();
    assert_eq!(second["headers"]["In-Reply-To"], "<m3@example.com>", "{second}");
    assert_eq!(
        second["headers"]["References"],
        format!("<m1@example.com> {our_id} <m2@example.com> <m3@example.com>"),
        "{second}"
    );
    assert_ne!(second["headers"]["Message-ID"], our_id.as_str());
    assert_eq!(second["subject"], subject.as_str(), "one Re: and one token");
}

#[test]
fn an_email_reply_is_delivered_once_through_provider_failures_and_a_kill() {
    let dir = workdir();
    let provider = FakeProvider::start(2);
    let config = config(&provider);
    let server = Server::start_with(dir.path(), &config);
    let (case, _) = mail(
        &server,
        json!({"from": "Bo <bo@example.com>", "subject": "Invoice", "message_id": "<b1@example.com>", "text": "Wrong total"}),
    );

    // The provider fails the first two attempts: the outbox retries.
    reply(&server, &case, "Corrected invoice attached.");
    assert!(eventually(30, || events_of(&server, &case, "reply_delivered").len() == 1), "{}", server.log_text());
    let delivered = &events_of(&server, &case, "reply_delivered")[0];
    assert_eq!(delivered["data"]["attempts"], 3);
    assert_eq!(provider.received.lock().unwrap().len(), 3, "two failures, one success");
    let sent = provider.accepted();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].json()["headers"]["In-Reply-To"], "<b1@example.com>");
    let attempts: Vec<Value> =
        provider.received.lock().unwrap().iter().map(|r| r.json()["headers"]["Message-ID"].clone()).collect();
    assert!(attempts.windows(2).all(|w| w[0] == w[1]), "every attempt carries the same Message-ID: {attempts:?}");

    // Two replies committed, then the server killed before they could be
    // delivered (the provider is down, so nothing can slip out first).
    provider.set_failing(true);
    reply(&server, &case, "Second reply");
    reply(&server, &case, "Third reply");
    server.kill9();

    provider.set_failing(false);
    let server = Server::start_with(dir.path(), &config);
    assert!(eventually(30, || events_of(&server, &case, "reply_delivered").len() == 3), "{}", server.log_text());
    let texts: Vec<Value> = provider.accepted().iter().map(|r| r.json()["text"].clone()).collect();
    assert_eq!(
        texts,
        ["Corrected invoice attached.", "Second reply", "Third reply"],
        "each delivered exactly once, in the order written"
    );
    let last = provider.accepted().last().unwrap().json();
    assert_eq!(last["headers"]["In-Reply-To"], "<b1@example.com>");
    assert_eq!(server.get("/api/v1/admin/outbox").1["pending"], 0);
}

#[test]
fn chat_threads_by_conversation_and_shares_one_customer_with_email() {
    let dir = workdir();
    let provider = FakeProvider::start(0);
    let server = Server::start_with(dir.path(), &config(&provider));

    let (mail_case, _) = mail(
        &server,
        json!({"from": "Ann <ann@example.com>", "subject": "Login fails", "message_id": "<a1@example.com>",
               "text": "I cannot log in"}),
    );
    let chat = |id: &str, text: &str| {
        let body = json!({"conversation_id": "conv-7", "from": {"handle": "visitor-123", "name": "Ann",
            "email": "ANN@example.com"}, "text": text, "message_id": id, "sent_at": "2026-03-02T09:00:00Z"});
        let (status, answer) = post_signed(&server, "chat", CHAT_SECRET, &body);
        assert_eq!(status, 202, "{answer}");
        answer["cases"][0].as_str().unwrap().to_owned()
    };
    let chat_case = chat("msg-1", "Is anyone there?");
    assert_ne!(chat_case, mail_case, "a new conversation is its own case");
    assert_eq!(chat("msg-2", "Still locked out"), chat_case, "same conversation, same case");
    assert_eq!(chat("msg-2", "Still locked out"), chat_case, "a repeated message id is one message");
    assert_eq!(events_of(&server, &chat_case, "message_received").len(), 2);

    // One customer: the chat visitor gave the email of the mail's sender.
    let customer_of = |case: &str| server.get(&format!("/api/v1/cases/{case}")).1["customer_id"].clone();
    assert_eq!(customer_of(&chat_case), customer_of(&mail_case));
    let customer = customer_of(&mail_case);
    let (_, profile) = server.get(&format!("/api/v1/customers/{}", customer.as_str().unwrap()));
    assert!(profile.to_string().contains("visitor-123"), "the handle joins the customer: {profile}");
    let (_, timeline) = server.get(&format!("/api/v1/customers/{}/events", customer.as_str().unwrap()));
    let cases: std::collections::BTreeSet<&str> =
        timeline["events"].as_array().unwrap().iter().filter_map(|e| e["case_id"].as_str()).collect();
    assert!(cases.contains(mail_case.as_str()) && cases.contains(chat_case.as_str()), "{timeline}");

    // A chat reply goes back into the conversation.
    reply(&server, &chat_case, "Try resetting your password.");
    let sent = accepted(&provider, &server, 1);
    assert_eq!(sent[0].request_line, "POST /chat/conversations/conv-7/messages HTTP/1.1");
    assert_eq!(sent[0].json()["text"], "Try resetting your password.");
    assert_eq!(sent[0].json()["case_id"], chat_case.as_str());

    // A bad chat body is refused with the plugin's reason.
    let (status, answer) =
        post_signed(&server, "chat", CHAT_SECRET, &json!({"conversation_id": "c", "text": "no sender"}));
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("from"), "{answer}");
}
