//! Rules in Rhai through the server: the default scripts on real cases,
//! hot reload, broken and hostile scripts. Rules that wait for time (SLA
//! escalation, outreach on tick) run in process on a moved clock
//! ([`TestApp`]).

use std::path::Path;
use std::time::{Duration, Instant};

use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::harness::{Api, Server, workdir};
use crate::plugin_kit::{self, FakeProvider};

/// Copies the repository's default scripts into `dir/scripts`.
pub(crate) fn copy_default_scripts(dir: &Path) {
    let target = dir.join("scripts");
    std::fs::create_dir_all(&target).unwrap();
    let source = crate::harness::repo().join("scripts");
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rhai") {
            std::fs::copy(&path, target.join(path.file_name().unwrap())).unwrap();
        }
    }
}

fn events(server: &Api, id: &str) -> Vec<Value> {
    let (_, body) = server.get(&format!("/api/v1/cases/{id}/events"));
    body["events"].as_array().unwrap().clone()
}

fn create(server: &Api, subject: &str, customer: Value) -> Value {
    let (status, case) = server.post("/api/v1/cases", json!({"subject": subject, "customer": customer}));
    assert_eq!(status, 201, "{case}");
    case
}

fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn triage_and_routing_set_priority_tags_team_and_assignee_attributed_to_the_scripts() {
    let dir = workdir();
    copy_default_scripts(dir.path());
    let server = Server::start(dir.path());
    // The routing rules assign within a team's members: its active agents.
    for (name, team) in [("ida", "incident"), ("ike", "incident"), ("bea", "billing"), ("bo", "billing")] {
        server.create_agent(name, "agent", &[team]);
    }
    let case = create(&server, "Our dashboard is down", json!({"email": "ops@acme.example", "tier": "enterprise"}));
    assert_eq!(case["priority"], "urgent");
    assert_eq!(case["tags"], json!(["incident", "vip"]));
    assert_eq!(case["team"], "incident");
    assert!(["ida", "ike"].contains(&case["assignee"].as_str().unwrap()), "{case}");

    let events = events(&server, case["id"].as_str().unwrap());
    let created = events.iter().find(|e| e["type"] == "case_created").unwrap();
    let priority = events.iter().find(|e| e["type"] == "priority_changed" && e["data"]["to"] == "urgent").unwrap();
    assert!(priority["actor"].as_str().unwrap().starts_with("script:10-triage.rhai@"), "{priority}");
    assert_eq!(priority["caused_by"], created["id"]);
    let team = events.iter().find(|e| e["type"] == "team_changed").unwrap();
    assert!(team["actor"].as_str().unwrap().starts_with("script:20-routing.rhai@"));

    // Billing words go to billing; least-loaded assignment spreads the work.
    let a = create(&server, "Refund for invoice 42", json!({"email": "a@example.com"}));
    let b = create(&server, "Invoice question", json!({"email": "b@example.com"}));
    assert_eq!((a["team"].as_str(), b["team"].as_str()), (Some("billing"), Some("billing")));
    assert_ne!(a["assignee"], b["assignee"], "the second billing case goes to the other agent");

    // An explicit team from the caller is kept.
    let (_, routed) = server
        .post("/api/v1/cases", json!({"subject": "Hello", "team": "sales", "customer": {"email": "c@example.com"}}));
    assert_eq!(routed["team"], "sales");
}

#[test]
fn escalation_raises_priority_on_warning_and_escalates_on_breach() {
    let dir = workdir();
    copy_default_scripts(dir.path());
    // The team lead is told by email, through the email plugin.
    let provider = FakeProvider::start(0);
    let config = format!(
        "[[sla.policies]]\nname = \"fast\"\nwarning_at = 0.5\ntargets.normal = {{ first_response = \"2s\" }}\ntargets.high = {{ first_response = \"2s\" }}\n\
         [plugins.email]\nsecret = \"s\"\napi_url = \"http://{}/send\"\nallowed_hosts = [\"127.0.0.1\"]\n\
         [notify]\ntargets = {{ \"agent:sam\" = \"sam@acme.example\" }}\n",
        provider.addr
    );
    let server = TestApp::start_in(dir, &config);
    let case = create(&server, "A question", json!({"email": "q@example.com"}));
    let id = case["id"].as_str().unwrap().to_owned();
    server.advance(SignedDuration::from_secs(1));
    eventually("the warning", || events(&server, &id).iter().any(|e| e["type"] == "sla_warning"));
    server.advance(SignedDuration::from_secs(1));
    eventually("the escalation", || events(&server, &id).iter().any(|e| e["type"] == "escalated"));
    let (_, now) = server.get(&format!("/api/v1/cases/{id}"));
    let summary: Vec<String> = events(&server, &id)
        .iter()
        .map(|e| format!("{} {} {} {}", e["id"], e["type"], e["actor"], e["data"]))
        .collect();
    assert_eq!(now["priority"], "high", "raised on the warning: {summary:#?}");
    assert_eq!(now["escalation_level"], 1);
    let all = events(&server, &id);
    let warning = all.iter().find(|e| e["type"] == "sla_warning").unwrap();
    let raised = all.iter().find(|e| e["type"] == "priority_changed").unwrap();
    assert_eq!(raised["caused_by"], warning["id"]);
    assert!(
        all.iter().any(|e| e["type"] == "note_added" && e["data"]["body"].as_str().unwrap().contains("first_response"))
    );
    // The lead of `support` (where routing put it) gets the notification.
    assert!(plugin_kit::eventually(10, || !provider.accepted().is_empty()), "{}", server.get("/api/v1/admin/outbox").1);
    let mail = provider.accepted()[0].json();
    assert_eq!(mail["to"], "sam@acme.example", "{mail}");
    assert_eq!(mail["subject"], format!("[Frontdesk] Case #{id}: A question"), "{mail}");
    assert!(mail["text"].as_str().unwrap().contains("missed its first_response target"), "{mail}");
    // The item leaves the outbox once the outcome is committed, just after.
    assert!(plugin_kit::eventually(10, || server.get("/api/v1/admin/outbox").1["pending"] == 0));
}

#[test]
fn outreach_nudges_cases_pending_too_long_on_tick() {
    let dir = workdir();
    copy_default_scripts(dir.path());
    let server = TestApp::start_in(dir, "");
    let case = create(&server, "Which plan?", json!({"email": "p@example.com"}));
    let id = case["id"].as_str().unwrap().to_owned();
    server.patch(&format!("/api/v1/cases/{id}"), json!({"status": "pending"}));
    // The default rule waits three days; moving the clock also runs a tick.
    server.advance(SignedDuration::from_hours(3 * 24) + SignedDuration::from_mins(1));
    eventually("the nudge", || {
        events(&server, &id)
            .iter()
            .any(|e| e["type"] == "reply_sent" && e["actor"].as_str().unwrap().starts_with("script:40-outreach.rhai@"))
    });
}

#[test]
fn a_status_hook_runs_on_replies_and_status_changes_only_when_a_script_defines_it() {
    let dir = workdir();
    copy_default_scripts(dir.path());
    let server = Server::start(dir.path());
    // The default scripts have no `on_status_changed`: a reply and a status
    // change are written without a rule preview, and no script acts on them.
    let case = create(&server, "Printer", json!({"email": "pat@example.com"}));
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    let (status, reply) = server.post(&format!("{path}/messages"), json!({"type": "reply", "body": "On it."}));
    assert_eq!(status, 201, "{reply}");
    let (status, pending) = server.patch(&path, json!({"status": "pending"}));
    assert_eq!((status, pending["tags"].clone()), (200, case["tags"].clone()), "{pending}");

    // A script that defines it sees the reply's new -> open and the change to pending.
    save(
        &dir.path().join("scripts/50-status.rhai"),
        "fn on_status_changed(ticket, from, to) {\n    if from == \"new\" && to == \"open\" { add_tag(\"answered\"); }\n    if to == \"pending\" { add_tag(\"waiting\"); }\n}\n",
    );
    eventually("the status script", || {
        let (_, scripts) = server.get("/api/v1/admin/scripts");
        scripts["scripts"].as_array().unwrap().iter().any(|s| s["file"] == "50-status.rhai" && s["status"] == "ok")
    });
    let case = create(&server, "Scanner", json!({"email": "pat@example.com"}));
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    let (status, _) = server.post(&format!("{path}/messages"), json!({"type": "reply", "body": "On it."}));
    assert_eq!(status, 201);
    let (_, answered) = server.get(&path);
    assert!(answered["tags"].as_array().unwrap().contains(&json!("answered")), "{answered}");
    let (status, pending) = server.patch(&path, json!({"status": "pending"}));
    assert_eq!(status, 200, "{pending}");
    assert!(pending["tags"].as_array().unwrap().contains(&json!("waiting")), "{pending}");
    let tagged = events(&server, case["id"].as_str().unwrap())
        .into_iter()
        .filter(|e| e["type"] == "tag_added")
        .map(|e| e["actor"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(tagged.len(), 2, "{tagged:?}");
    assert!(tagged.iter().all(|actor| actor.starts_with("script:50-status.rhai@")), "{tagged:?}");
}

#[test]
fn editing_a_script_changes_behaviour_without_a_restart_and_bad_versions_keep_the_last_good_one() {
    let dir = workdir();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    let file = scripts.join("tagger.rhai");
    std::fs::write(&file, "fn on_case_created(ticket, customer) { add_tag(\"first\"); }\n").unwrap();
    let server = Server::start(dir.path());
    assert_eq!(create(&server, "one", json!({"email": "x@example.com"}))["tags"], json!(["first"]));

    save(&file, "fn on_case_created(ticket, customer) { add_tag(\"second\"); }\n");
    let started = Instant::now();
    eventually("the new version", || {
        create(&server, "two", json!({"email": "x@example.com"}))["tags"] == json!(["second"])
    });
    assert!(started.elapsed() < Duration::from_secs(2), "reloaded in {:?}", started.elapsed());

    // A syntax error: the last good version keeps running; the admin API says where.
    save(&file, "fn on_case_created(ticket, customer) {\n    add_tag(\"third\"\n}\n");
    eventually("the compile error", || {
        let (_, scripts) = server.get("/api/v1/admin/scripts");
        scripts["scripts"][0]["status"] == "error"
    });
    let (_, scripts) = server.get("/api/v1/admin/scripts");
    let status = &scripts["scripts"][0];
    assert_eq!(status["file"], "tagger.rhai");
    assert_eq!(status["compile_error"]["line"], 3, "{status}");
    assert!(status["compile_error"]["column"].is_number());
    assert_eq!(create(&server, "three", json!({"email": "x@example.com"}))["tags"], json!(["second"]));

    // A removed file stops applying.
    std::fs::remove_file(&file).unwrap();
    eventually("the removal", || create(&server, "four", json!({"email": "x@example.com"}))["tags"] == json!([]));
    let (_, scripts) = server.get("/api/v1/admin/scripts");
    assert_eq!(scripts["scripts"], json!([]));
}

#[test]
fn hostile_scripts_end_as_script_errors_while_the_case_is_created_promptly() {
    let dir = workdir();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::write(scripts.join("a-loop.rhai"), "fn on_case_created(ticket, customer) { loop { } }\n").unwrap();
    std::fs::write(
        scripts.join("b-recursion.rhai"),
        "fn deep(n) { deep(n + 1) }\nfn on_case_created(ticket, customer) { deep(0); }\n",
    )
    .unwrap();
    std::fs::write(
        scripts.join("c-string.rhai"),
        "fn on_case_created(ticket, customer) { let s = \"x\"; while true { s += s; } }\n",
    )
    .unwrap();
    std::fs::write(
        scripts.join("d-throw.rhai"),
        "fn on_case_created(ticket, customer) { add_tag(\"lost\"); throw \"no\"; }\n",
    )
    .unwrap();
    std::fs::write(
        scripts.join("e-bad-arg.rhai"),
        "fn on_case_created(ticket, customer) { set_priority(\"critical\"); add_tag(\"ok\"); }\n",
    )
    .unwrap();
    let server = Server::start(dir.path());
    let started = Instant::now();
    let case = create(&server, "Hello", json!({"email": "h@example.com"}));
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!(case["tags"], json!(["ok"]), "a failed hook's actions are dropped; a good action still applies");
    let errors: Vec<Value> =
        events(&server, case["id"].as_str().unwrap()).into_iter().filter(|e| e["type"] == "script_error").collect();
    let files: Vec<&str> = errors.iter().map(|e| e["data"]["file"].as_str().unwrap()).collect();
    assert_eq!(
        files,
        ["a-loop.rhai", "b-recursion.rhai", "c-string.rhai", "d-throw.rhai", "e-bad-arg.rhai"],
        "{errors:#?}"
    );
    let messages: Vec<&str> = errors.iter().map(|e| e["data"]["message"].as_str().unwrap()).collect();
    assert!(messages[0].contains("Too many operations"), "{messages:?}");
    assert!(messages[1].contains("Stack overflow"), "{messages:?}");
    assert!(messages[2].contains("string too large"), "{messages:?}");
    assert_eq!(
        (errors[3]["data"]["line"].as_u64(), errors[3]["data"]["hook"].as_str()),
        (Some(1), Some("on_case_created"))
    );
    assert!(messages[4].contains("critical"));
    let (status, _) = server.get("/healthz");
    assert_eq!(status, 200);
    let (_, scripts) = server.get("/api/v1/admin/scripts");
    assert!(scripts["scripts"][0]["runtime_error"]["message"].is_string(), "{scripts}");
}

#[test]
fn scripts_check_prints_file_line_and_column() {
    let dir = workdir();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::write(scripts.join("good.rhai"), "fn on_tick(now) { }\n").unwrap();
    std::fs::write(scripts.join("bad.rhai"), "fn on_tick(now) {\n  let x = ;\n}\n").unwrap();
    let (code, out, _) =
        crate::harness::run_cli(dir.path(), &["scripts", "check", "--scripts-dir", scripts.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("bad.rhai:2:"), "{out}");
    assert!(!out.contains("good.rhai"));
    let (code, out, _) = crate::harness::run_cli(
        dir.path(),
        &["scripts", "check", "--scripts-dir", crate::harness::repo().join("scripts").to_str().unwrap()],
    );
    assert_eq!(code, 0, "the default rules compile: {out}");
}

#[test]
fn scripts_test_runs_the_fixtures_and_fails_on_a_difference() {
    let repo_scripts = crate::harness::repo().join("scripts");
    let dir = workdir();
    let (code, out, err) =
        crate::harness::run_cli(dir.path(), &["scripts", "test", "--scripts-dir", repo_scripts.to_str().unwrap()]);
    assert_eq!(code, 0, "the default rules pass their fixtures: {out}{err}");
    assert!(out.contains("0 failed"), "{out}");

    copy_default_scripts(dir.path());
    let tests = dir.path().join("scripts/tests");
    std::fs::create_dir_all(&tests).unwrap();
    std::fs::write(
        tests.join("wrong.json"),
        r#"{"name": "expects the wrong team", "hook": "on_case_created", "script": "20-routing.rhai",
            "ticket": {"tags": ["billing"]}, "expect": [{"action": "route_to", "args": "support"}]}"#,
    )
    .unwrap();
    let scripts = dir.path().join("scripts");
    let (code, out, _) =
        crate::harness::run_cli(dir.path(), &["scripts", "test", "--scripts-dir", scripts.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILED  wrong.json") && out.contains("\"billing\""), "{out}");
}

#[test]
fn simulate_replays_recent_cases_through_candidate_rules_and_writes_nothing() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let outage = create(&server, "Site is down", json!({"email": "a@example.com"}));
    create(&server, "Invoice copy please", json!({"email": "b@example.com"}));
    create(&server, "Hello", json!({"email": "c@example.com"}));
    let before: Vec<Vec<Value>> = ["1", "2", "3"].iter().map(|id| events(&server, id)).collect();

    let repo_scripts = crate::harness::repo().join("scripts");
    let mut scripts = serde_json::Map::new();
    for name in ["10-triage.rhai", "20-routing.rhai"] {
        scripts.insert(name.into(), std::fs::read_to_string(repo_scripts.join(name)).unwrap().into());
    }
    let (status, report) = server.post("/api/v1/admin/scripts/simulate", json!({"since": "1d", "scripts": scripts}));
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["cases_examined"], 3);
    let triage = &report["rules"]["10-triage.rhai"];
    assert_eq!(triage["cases_changed"], 2, "{report}");
    assert_eq!(triage["changes"]["priority"], 1);
    assert_eq!(triage["changes"]["tags"], 2);
    assert!(triage["example_case_ids"].as_array().unwrap().contains(&outage["id"]));
    assert_eq!(report["rules"]["20-routing.rhai"]["cases_changed"], 3);
    let after: Vec<Vec<Value>> = ["1", "2", "3"].iter().map(|id| events(&server, id)).collect();
    assert_eq!(before, after, "a dry run writes nothing");
    let (_, case) = server.get(&format!("/api/v1/cases/{}", outage["id"].as_str().unwrap()));
    assert_eq!(case["priority"], "normal");

    let (status, broken) = server
        .post("/api/v1/admin/scripts/simulate", json!({"since": "1d", "scripts": {"x.rhai": "fn on_tick(now) {"}}));
    assert_eq!((status, broken["error"]["code"].as_str()), (400, Some("invalid_body")), "{broken}");

    // The CLI does the same on a stopped server's data.
    server.stop();
    let data = dir.path().join("data");
    let (code, out, err) = crate::harness::run_cli(
        dir.path(),
        &[
            "scripts",
            "simulate",
            "--since",
            "1d",
            "--scripts-dir",
            repo_scripts.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["rules"]["10-triage.rhai"]["cases_changed"], 2);
}

#[test]
fn a_rule_does_not_open_the_same_outreach_twice_within_the_window() {
    let server = TestApp::start_with("[scripts]\noutreach_window = \"1h\"\n");
    let scripts = server.dir().join("scripts");
    let (_, customer) = server.post("/api/v1/customers", json!({"email": "renewal@example.com", "name": "Rene"}));
    let id = customer["id"].as_str().unwrap();
    std::fs::write(
        scripts.join("renewals.rhai"),
        format!("fn on_tick(now) {{ open_case(\"{id}\", \"Renewal in 30 days\", \"Call about the renewal.\"); }}\n"),
    )
    .unwrap();
    // A second rule opens one case per tick (its subject names the tick), so
    // the test knows how many ticks have run; both rules run in every tick.
    let (_, counter) = server.post("/api/v1/customers", json!({"email": "ticks@example.com"}));
    let counter = counter["id"].as_str().unwrap();
    std::fs::write(
        scripts.join("ticks.rhai"),
        format!("fn on_tick(now) {{ open_case(\"{counter}\", `tick ${{now}}`, \"\"); }}\n"),
    )
    .unwrap();
    eventually("both rules loaded", || {
        let (_, loaded) = server.get("/api/v1/admin/scripts");
        loaded["scripts"].as_array().unwrap().iter().filter(|s| s["status"] == "ok").count() == 2
    });
    let cases_of = |customer: &str| {
        let (_, list) = server.get(&format!("/api/v1/cases?customer={customer}"));
        list["cases"].as_array().unwrap().clone()
    };
    let outreach_cases = || cases_of(id);
    let tick = |n: usize| {
        server.advance(SignedDuration::from_mins(1));
        eventually("the tick", || cases_of(counter).len() >= n);
    };
    tick(1);
    eventually("the outreach case", || !outreach_cases().is_empty());
    tick(2);
    tick(3);
    let cases = outreach_cases();
    assert_eq!(cases.len(), 1, "ticks kept running but the outreach opened once: {cases:#?}");
    assert_eq!(cases[0]["channel"], "outreach");
    let all = events(&server, cases[0]["id"].as_str().unwrap());
    let opened = all.iter().find(|e| e["type"] == "outreach_opened").unwrap();
    assert_eq!(opened["data"]["rule"], "renewals.rhai");
    assert!(opened["actor"].as_str().unwrap().starts_with("script:renewals.rhai@"));
}

#[test]
fn a_script_that_floods_actions_fails_whole() {
    let dir = workdir();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::write(
        scripts.join("flood.rhai"),
        "fn on_case_created(ticket, customer) { for i in 0..5000 { note(`n${i}`); } }\n",
    )
    .unwrap();
    let server = Server::start(dir.path());
    let case = create(&server, "Hello", json!({"email": "f@example.com"}));
    let all = events(&server, case["id"].as_str().unwrap());
    assert!(!all.iter().any(|e| e["type"] == "note_added"), "none of the flood applies");
    let error = all.iter().find(|e| e["type"] == "script_error").expect("a script_error");
    assert!(error["data"]["message"].as_str().unwrap().contains("5000 actions"), "{error}");
}

/// Replaces `file` the way editors do (write aside, rename over), so the
/// watcher never sees a half-written version: a truncated file compiles to an
/// empty rule set, which would become the "last good" version.
fn save(file: &std::path::Path, text: &str) {
    let aside = file.with_extension("rhai.tmp");
    std::fs::write(&aside, text).unwrap();
    std::fs::rename(&aside, file).unwrap();
}
