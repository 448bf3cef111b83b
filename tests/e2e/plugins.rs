//! The plugin platform end to end: real components built from
//! `tests/plugins/`, loaded by the real binary next to the built-in ones.

use serde_json::{Value, json};

use crate::harness::{Server, run_cli, workdir};
use crate::plugin_kit::{FakeProvider, eventually, install, post_signed, sign};

const HOSTILE: &[&str] =
    &["steady", "spin", "membomb", "trap", "garbage", "garbage-channel", "sneaky", "future", "echo"];

fn config(extra: &str) -> String {
    format!(
        r#"
[plugins.echo]
secret = "echo-secret"
[plugins.sneaky]
secret = "sneaky-secret"
allowed_hosts = ["127.0.0.1"]
[plugins.garbage-channel]
secret = "g"
count = 1000
{extra}
"#
    )
}

fn customer(server: &Server, email: &str) -> String {
    let (status, customer) = server.post("/api/v1/customers", json!({"email": email}));
    assert!(status == 201 || status == 200, "{customer}");
    customer["id"].as_str().unwrap().to_owned()
}

fn signals(server: &Server, customer: &str, plugin: &str, score: u64) -> (u16, Value) {
    server.post(&format!("/api/v1/customers/{customer}/signals?plugin={plugin}"), json!({"signals": {"score": score}}))
}

fn plugin_status(server: &Server, name: &str) -> Value {
    let (_, body) = server.get("/api/v1/admin/plugins");
    body["plugins"].as_array().unwrap().iter().find(|p| p["name"] == name).cloned().unwrap_or(Value::Null)
}

fn events_of(server: &Server, path: &str, kind: &str) -> Vec<Value> {
    let (_, body) = server.get(path);
    body["events"].as_array().unwrap().iter().filter(|e| e["type"] == kind).cloned().collect()
}

#[test]
fn hostile_plugins_fail_their_own_calls_only_and_the_server_stays_up() {
    let dir = workdir();
    let plugins = install(dir.path(), HOSTILE);
    // A long deadline for the memory bomb, so that the memory limit stops it
    // even on a machine busy enough to make touching 32 MiB take 100 ms.
    let hostile = config("[plugins.membomb]\ntimeout = \"10s\"");
    let server = Server::start_with_plugins(dir.path(), &hostile, Some(&plugins));

    // Refused with a reason; the rest, built in and installed, run.
    let future = plugin_status(&server, "future");
    assert_eq!(future["status"], "refused", "{future}");
    assert!(future["reason"].as_str().unwrap().contains("needs plugin API ^2.0"), "{future}");
    assert_eq!(plugin_status(&server, "crm")["status"], "disabled", "no api_url configured");
    for name in ["steady", "spin", "membomb", "trap", "garbage", "echo", "email", "chat", "health"] {
        assert_eq!(plugin_status(&server, name)["status"], "running", "{name}: {}", plugin_status(&server, name));
    }

    let id = customer(&server, "hostile@example.com");
    for (plugin, kind, says) in [
        ("spin", "timeout", "deadline"),
        ("membomb", "memory_limit", "memory limit of 32 MiB"),
        ("trap", "trap", ""),
        ("garbage", "bad_output", "score 250 is out of range"),
    ] {
        let (status, body) = signals(&server, &id, plugin, 80);
        assert_eq!(status, 502, "{plugin}: {body}");
        assert_eq!(body["error"]["code"], "plugin_failed", "{plugin}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(kind) && message.contains(says), "{plugin}: {message}");
        // The good neighbour answers right after.
        let (status, body) = signals(&server, &id, "steady", 80);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["health"]["score"], 80);
    }
    let errors = events_of(&server, &format!("/api/v1/customers/{id}/events"), "plugin_error");
    let kinds: Vec<&str> = errors.iter().map(|e| e["data"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["timeout", "memory_limit", "trap", "bad_output"]);
    assert_eq!(errors[0]["data"]["plugin"], "spin");
    assert_eq!(errors[0]["data"]["hook"], "score");

    // An oversized answer from a channel is bad output, and nothing is written.
    let (status, body) = post_signed(&server, "garbage-channel", "g", &json!({"anything": 1}));
    assert_eq!(status, 502, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("over the limit of 100"), "{body}");

    // Repeated failures open the circuit: the plugin is not even called.
    for _ in 0..4 {
        signals(&server, &id, "spin", 10);
    }
    assert_eq!(plugin_status(&server, "spin")["status"], "circuit_open");
    let started = std::time::Instant::now();
    let (status, body) = signals(&server, &id, "spin", 10);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "plugin_unavailable");
    assert!(started.elapsed() < std::time::Duration::from_millis(100), "an open circuit answers at once");
    assert!(plugin_status(&server, "spin")["failures"].as_u64().unwrap() >= 5);

    // Everything else still works, and the server shuts down cleanly.
    server.create_case("still here", "someone@example.com", "api");
    server.stop();
}

#[test]
fn a_plugin_reaching_for_a_host_it_was_not_granted_is_refused_and_logged() {
    let dir = workdir();
    let plugins = install(dir.path(), &["sneaky"]);
    let server = Server::start_with_plugins(dir.path(), &config(""), Some(&plugins));
    let message = json!({"from": "ann@example.com", "text": "hi", "id": "s1"});
    let (status, body) = post_signed(&server, "sneaky", "sneaky-secret", &message);
    assert_eq!(status, 202, "{body}");
    let case = body["cases"][0].as_str().unwrap().to_owned();
    let (status, _) = server.post(&format!("/api/v1/cases/{case}/messages"), json!({"type": "reply", "body": "hello"}));
    assert_eq!(status, 201);
    let path = format!("/api/v1/cases/{case}/events");
    assert!(eventually(10, || !events_of(&server, &path, "delivery_failed").is_empty()), "{}", server.log_text());
    let failed = &events_of(&server, &path, "delivery_failed")[0];
    assert!(failed["data"]["message"].as_str().unwrap().contains("refused the destination"), "{failed}");
    assert!(server.log_text().contains("outbound HTTP refused: host not granted"), "the refusal is logged");
    assert!(server.log_text().contains("127.0.0.2"), "the log names the host");
    let (_, outbox) = server.get("/api/v1/admin/outbox");
    assert_eq!(outbox["failed"], 1, "{outbox}");

    // An admin sends it again: attempted anew (and refused anew, here).
    let id = outbox["items"][0]["id"].as_u64().unwrap();
    let retry = |id: u64| {
        server.call_as(Some(&server.token.clone()), "POST", &format!("/api/v1/admin/outbox/{id}/retry"), None)
    };
    let (status, body) = retry(id);
    assert_eq!((status, body["status"].as_str()), (200, Some("pending")), "{body}");
    assert!(eventually(10, || events_of(&server, &path, "delivery_failed").len() == 2), "attempted again");
    assert_eq!(retry(id + 1000).0, 404, "an unknown item");
}

#[test]
fn channel_webhooks_check_signatures_dedupe_and_thread() {
    let dir = workdir();
    let plugins = install(dir.path(), &["echo"]);
    let server = Server::start_with_plugins(dir.path(), &config(""), Some(&plugins));
    let first =
        json!({"messages": [{"from": "Ann@Example.com", "text": "My order is late", "id": "m1", "thread": "conv-1"}]});
    let bytes = serde_json::to_vec(&first).unwrap();

    // No signature, a malformed one, a wrong one: 401, nothing written.
    let path = "/api/v1/channels/echo/inbound";
    assert_eq!(server.post_unauthenticated(path, &[], &bytes).0, 401);
    assert_eq!(server.post_unauthenticated(path, &[("X-Frontdesk-Signature", "sha256=zz")], &bytes).0, 401);
    let wrong = sign("not-the-secret", &bytes);
    let (status, body) = server.post_unauthenticated(path, &[("X-Frontdesk-Signature", &wrong)], &bytes);
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("bad_signature")));
    assert_eq!(server.get("/api/v1/cases").1["cases"].as_array().unwrap().len(), 0);
    // An unknown channel is 404.
    assert_eq!(post_signed(&server, "fax", "x", &first).0, 404);

    // Signed: a case for the sender.
    let (status, body) = post_signed(&server, "echo", "echo-secret", &first);
    assert_eq!(status, 202, "{body}");
    let case = body["cases"][0].as_str().unwrap().to_owned();
    assert_eq!(body["messages"][0]["created"], true);
    let (_, got) = server.get(&format!("/api/v1/cases/{case}"));
    assert_eq!(got["channel"], "echo");
    assert_eq!(got["subject"], "My order is late");

    // The same message again: one message, same case.
    let (status, body) = post_signed(&server, "echo", "echo-secret", &first);
    assert_eq!(status, 202);
    assert_eq!(body["messages"][0]["duplicate"], true);
    assert_eq!(body["cases"][0], case.as_str());

    // Same conversation: threads into the case.
    let next = json!({"messages": [{"from": "ann@example.com", "text": "Any news?", "id": "m2", "thread": "conv-1"}]});
    let (_, body) = post_signed(&server, "echo", "echo-secret", &next);
    assert_eq!(body["cases"][0], case.as_str());
    let messages = events_of(&server, &format!("/api/v1/cases/{case}/events"), "message_received");
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["data"]["via"]["message_id"], "m2");

    // A body the plugin rejects is 400 with its message.
    let bytes = b"not json".to_vec();
    let signature = sign("echo-secret", &bytes);
    let (status, body) = server.post_unauthenticated(path, &[("X-Frontdesk-Signature", &signature)], &bytes);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "plugin_rejected");
}

#[test]
fn replies_reach_a_flaky_provider_once_and_survive_a_kill_between_commit_and_delivery() {
    let dir = workdir();
    let plugins = install(dir.path(), &["echo"]);
    let provider = FakeProvider::start(2);
    let config = config("").replace(
        "secret = \"echo-secret\"",
        &format!(
            "secret = \"echo-secret\"\nallowed_hosts = [\"127.0.0.1\"]\napi_url = \"http://{}/send\"",
            provider.addr
        ),
    );
    let server = Server::start_with_plugins(dir.path(), &config, Some(&plugins));
    let message = json!({"messages": [{"from": "bo@example.com", "text": "Hello", "id": "b1", "thread": "t-b"}]});
    let (_, body) = post_signed(&server, "echo", "echo-secret", &message);
    let case = body["cases"][0].as_str().unwrap().to_owned();
    let (status, _) =
        server.post(&format!("/api/v1/cases/{case}/messages"), json!({"type": "reply", "body": "On its way"}));
    assert_eq!(status, 201);

    // Two 503s, then accepted: delivered once, after retries with backoff.
    let path = format!("/api/v1/cases/{case}/events");
    assert!(eventually(20, || !events_of(&server, &path, "reply_delivered").is_empty()), "{}", server.log_text());
    let delivered = &events_of(&server, &path, "reply_delivered")[0];
    assert_eq!(delivered["data"]["attempts"], 3);
    assert_eq!(provider.accepted().len(), 1);
    assert_eq!(provider.received.lock().unwrap().len(), 3);
    assert!(provider.accepted()[0].body.contains("On its way"));
    assert_eq!(server.get("/api/v1/admin/outbox").1["pending"], 0);

    // The provider goes down; a reply is committed, then the server is killed.
    provider.set_failing(true);
    server.post(&format!("/api/v1/cases/{case}/messages"), json!({"type": "reply", "body": "Second reply"}));
    assert!(eventually(10, || server.get("/api/v1/admin/outbox").1["items"][0]["attempts"].as_u64() >= Some(1)));
    server.kill9();

    // Back up, provider healthy: the reply goes out exactly once.
    provider.set_failing(false);
    let server = Server::start_with_plugins(dir.path(), &config, Some(&plugins));
    assert!(eventually(30, || events_of(&server, &path, "reply_delivered").len() == 2), "{}", server.log_text());
    let bodies: Vec<String> = provider.accepted().iter().map(|r| r.body.clone()).collect();
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies.iter().filter(|b| b.contains("Second reply")).count(), 1);
    assert_eq!(server.get("/api/v1/admin/outbox").1["pending"], 0);
}

#[test]
fn plugins_list_shows_running_and_refused_plugins_with_reasons() {
    let dir = workdir();
    let plugins = install(dir.path(), &["steady", "future"]);
    std::fs::create_dir_all(plugins.join("broken")).unwrap();
    std::fs::write(plugins.join("broken/plugin.toml"), "name = \"broken\"\nkind = \"fax\"").unwrap();
    let plugins_arg = plugins.to_string_lossy().into_owned();
    let (code, stdout, stderr) = run_cli(dir.path(), &["plugins", "list", "--plugins-dir", &plugins_arg]);
    assert_eq!(code, 0, "{stderr}");
    let line = |name: &str| stdout.lines().find(|l| l.starts_with(name)).unwrap_or_default().to_owned();
    assert!(line("steady").contains("running"), "{stdout}");
    assert!(line("email").contains("running") && line("email").contains("built in"), "{stdout}");
    assert!(line("future").contains("refused") && line("future").contains("^2.0"), "{stdout}");
    assert!(line("broken").contains("refused") && line("broken").contains("fax"), "{stdout}");
}

#[test]
fn plugins_run_tries_a_hook_on_a_fixture_and_reports_its_costs() {
    let dir = workdir();
    let plugins = install(dir.path(), &["steady", "spin"]);
    let input = dir.path().join("input.json");
    std::fs::write(&input, r#"{"customer": {"id": "1", "name": null, "tier": null, "identities": [], "attributes": []}, "signals": {"score": 35}}"#).unwrap();
    let args = |plugin: &str| {
        vec![
            "plugins".to_owned(),
            "run".into(),
            plugin.into(),
            "score".into(),
            "--input".into(),
            input.to_string_lossy().into_owned(),
            "--plugins-dir".into(),
            plugins.to_string_lossy().into_owned(),
        ]
    };
    let steady = args("steady");
    let (code, stdout, stderr) = run_cli(dir.path(), &steady.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{stderr}");
    let output: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(output["score"], 35);
    assert_eq!(output["band"], "Critical");
    for needle in ["fuel used:", "peak memory:", "limit 32 MiB", "deadline 100 ms", "input:", "output:"] {
        assert!(stderr.contains(needle), "{needle} missing: {stderr}");
    }
    let spin = args("spin");
    let (code, _, stderr) = run_cli(dir.path(), &spin.iter().map(String::as_str).collect::<Vec<_>>());
    assert_ne!(code, 0);
    assert!(stderr.contains("timeout"), "{stderr}");
    // A failed call still shows how far it got against the limits.
    for needle in ["wall time:", "deadline 100 ms", "fuel used:", "peak memory:"] {
        assert!(stderr.contains(needle), "{needle} missing: {stderr}");
    }
}

#[test]
fn compiled_components_are_cached_so_the_next_start_skips_compiling() {
    let dir = workdir();
    let plugins = install(dir.path(), &["steady"]);
    let server = Server::start_with_plugins(dir.path(), "", Some(&plugins));
    assert_eq!(plugin_status(&server, "steady")["compiled"], "fresh");
    server.stop();
    let server = Server::start_with_plugins(dir.path(), "", Some(&plugins));
    assert_eq!(plugin_status(&server, "steady")["compiled"], "cached");
    assert_eq!(plugin_status(&server, "email")["compiled"], "cached");
}

#[test]
fn the_key_value_store_needs_both_the_manifest_and_the_operator_and_survives_restarts() {
    let dir = workdir();
    let plugins = install(dir.path(), &["counter"]);
    let server = Server::start_with_plugins(dir.path(), "", Some(&plugins));
    let counter = plugin_status(&server, "counter");
    assert_eq!(counter["status"], "refused", "not granted: {counter}");
    assert!(counter["reason"].as_str().unwrap().contains("key-value"), "{counter}");
    server.stop();

    let granted = "[plugins.counter]\nkv = true\n";
    let server = Server::start_with_plugins(dir.path(), granted, Some(&plugins));
    let id = customer(&server, "kv@example.com");
    signals(&server, &id, "counter", 1);
    let (_, body) = signals(&server, &id, "counter", 1);
    assert_eq!(body["health"]["reasons"][0], "call 2", "{body}");
    server.stop();
    let server = Server::start_with_plugins(dir.path(), granted, Some(&plugins));
    let (_, body) = signals(&server, &id, "counter", 1);
    assert_eq!(body["health"]["reasons"][0], "call 3", "{body}");
}

#[test]
fn health_signals_score_the_customer_and_a_drop_to_critical_opens_a_check_in_case() {
    let dir = workdir();
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    let rule = crate::harness::repo().join("scripts/40-outreach.rhai");
    std::fs::copy(rule, dir.path().join("scripts/40-outreach.rhai")).unwrap();
    let server = Server::start_with(dir.path(), "");
    let id = customer(&server, "acme@example.com");
    let path = format!("/api/v1/customers/{id}/signals");

    let thriving = json!({"signals": {"logins_30d": 40, "seats_used_ratio": 0.9, "open_cases": 0, "csat_avg": 4.8,
        "days_to_renewal": 200, "favourite_colour": 7}});
    let (status, body) = server.post(&path, thriving);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["health"]["band"], "healthy", "{body}");
    assert!(body["health"]["score"].as_u64().unwrap() >= 70);
    assert!(!body["health"]["reasons"].as_array().unwrap().is_empty());

    let (status, body) = server.post(&path, json!({"signals": {"logins_30d": "many"}}));
    assert_eq!(status, 400, "{body}");

    let failing = json!({"signals": {"logins_30d": 0, "seats_used_ratio": 0.05, "open_cases": 9, "csat_avg": 1.2,
        "days_to_renewal": 5}});
    let (status, body) = server.post(&path, failing);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["health"]["band"], "critical", "{body}");

    let changes = events_of(&server, &format!("/api/v1/customers/{id}/events"), "health_changed");
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1]["data"]["previous_band"], "healthy");
    let (_, cases) = server.get(&format!("/api/v1/cases?customer={id}"));
    let cases = cases["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1, "{cases:?}");
    assert_eq!(cases[0]["subject"], "Check-in: account health is critical");
}

#[test]
fn under_an_address_space_limit_plugins_still_load_and_answer() {
    // The instance pool reserves about a terabyte of address space; a host
    // with `ulimit -v` (or valgrind) cannot give it, and the server must
    // still start, with instances allocated per call.
    let dir = workdir();
    let server = Server::start_with_address_limit(dir.path(), "", 16 * 1024 * 1024);
    assert!(server.log_text().contains("allocating instances on demand"), "{}", server.log_text());
    let id = customer(&server, "limited@example.com");
    let (status, body) = signals(&server, &id, "health", 90);
    assert_eq!(status, 200, "{body}");
    assert!(body["health"]["band"].is_string(), "{body}");
    server.stop();
}

#[test]
fn a_plugin_built_against_the_first_contract_keeps_loading_beside_one_on_the_newer_minor() {
    let dir = workdir();
    let plugins = install(dir.path(), &["legacy", "budget"]);
    // What each was built against is in its component's import names.
    let imports = |name: &str| {
        String::from_utf8_lossy(&std::fs::read(plugins.join(name).join("plugin.wasm")).unwrap()).into_owned()
    };
    assert!(imports("legacy").contains("frontdesk:plugin/clock@0.1.0"), "legacy is built against 0.1.0");
    assert!(!imports("legacy").contains("@0.1.1"));
    assert!(imports("budget").contains("frontdesk:plugin/clock@0.1.2"), "budget is built with the SDK, on 0.1.2");

    let server = Server::start_with_plugins(dir.path(), "[plugins.budget]\ntimeout = \"250ms\"\n", Some(&plugins));
    for name in ["legacy", "budget"] {
        let status = plugin_status(&server, name);
        assert_eq!(status["status"], "running", "{status}");
        assert_eq!(status["api"], "0.1.2", "served by the newest minor: {status}");
    }
    let id = customer(&server, "old@example.com");
    let (status, body) = signals(&server, &id, "legacy", 64);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["health"]["score"], 64);
    assert_eq!(body["health"]["reasons"], json!(["built against 0.1.0", "clock ok"]), "{body}");
    assert!(server.log_text().contains("legacy plugin scoring"), "its log import works");

    // The addition in 0.1.1: the call's own deadline, here 250 ms.
    let (status, body) = signals(&server, &id, "budget", 0);
    assert_eq!(status, 200, "{body}");
    let reason = body["health"]["reasons"][0].as_str().unwrap();
    let left: u64 = reason.strip_suffix(" ms left").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{reason}"));
    assert!((1..=250).contains(&left), "{reason}");
}
