//! The SLA clock through the server: deadlines, warnings and breaches
//! recorded by the scheduler, listing by SLA state, explanations, restarts.
//! Tests that wait for a deadline run in process on a moved clock
//! ([`TestApp`]); one breach, the CLI and start-up errors run on the real
//! binary and its wall clock.

use std::time::{Duration, Instant};

use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::harness::{Api, Server, workdir};

const CONFIG: &str = r#"
[[sla.policies]]
name = "fast"
when = 'ticket.priority == "urgent"'
warning_at = 0.5
targets.urgent = { first_response = "2s", resolution = "1h" }

[[sla.policies]]
name = "quick"
when = 'ticket.priority == "high"'
targets.high = { resolution = "2s" }

[[sla.policies]]
name = "standard"
targets.normal = { first_response = "1h", resolution = "1d" }
"#;

fn wait_for(server: &Api, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = server.get(path);
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {body}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn event_types(server: &Api, id: &str) -> Vec<String> {
    let (_, events) = server.get(&format!("/api/v1/cases/{id}/events"));
    events["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

/// Moves the clock one second and returns once the scheduler has handled
/// every timer due by then, so a test can check that something did *not*
/// happen. The scheduler handles due timers in deadline order, so the
/// warning of a probe case created just before (urgent: warned after 1 s,
/// breached after 2 s) is the last one it handles. The probe is warned, never
/// breached, so it stays off the breached list.
fn settle(app: &TestApp) {
    let (status, probe) = app.post(
        "/api/v1/cases",
        json!({"subject": "Probe", "priority": "urgent", "customer": {"email": "probe@example.com"}}),
    );
    assert_eq!(status, 201, "{probe}");
    let probe = probe["id"].as_str().unwrap().to_owned();
    app.advance(SignedDuration::from_secs(1));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !event_types(app, &probe).iter().any(|t| t == "sla_warning") {
        assert!(Instant::now() < deadline, "the scheduler did not warn the probe case");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_missed_first_response_is_warned_then_breached_exactly_once() {
    let server = TestApp::start_with(CONFIG);
    let (status, case) = server.post(
        "/api/v1/cases",
        json!({"subject": "Down!", "priority": "urgent", "customer": {"email": "ops@example.com"}}),
    );
    assert_eq!(status, 201, "{case}");
    assert_eq!(case["sla"]["policy"], "fast");
    let first = &case["sla"]["metrics"]["first_response"];
    assert_eq!(first["state"], "running");
    let due_at: jiff::Timestamp = first["due_at"].as_str().unwrap().parse().unwrap();
    let created_at: jiff::Timestamp = case["created_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due_at.duration_since(created_at), jiff::SignedDuration::from_secs(2));

    let id = case["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/cases/{id}");
    // Time passes as it would: the warning first, then the breach.
    server.advance(SignedDuration::from_secs(1));
    wait_for(&server, &format!("{path}/events"), "the warning", |e| e.to_string().contains("sla_warning"));
    server.advance(SignedDuration::from_secs(1));
    let breached =
        wait_for(&server, &path, "the breach", |c| c["sla"]["metrics"]["first_response"]["state"] == "breached");
    assert_eq!(breached["sla"]["metrics"]["first_response"]["breached_at"], first["due_at"]);

    let (_, list) = server.get("/api/v1/cases?sla=breached");
    assert_eq!(list["cases"].as_array().unwrap().len(), 1);
    assert_eq!(list["cases"][0]["id"], id.as_str());

    // Let the scheduler see a later time, when it could (wrongly) fire again, before counting.
    settle(&server);
    let types = event_types(&server, &id);
    assert_eq!(types.iter().filter(|t| *t == "sla_warning").count(), 1, "{types:?}");
    assert_eq!(types.iter().filter(|t| *t == "sla_breached").count(), 1, "{types:?}");
    let (_, events) = server.get(&format!("{path}/events"));
    let breach = events["events"].as_array().unwrap().iter().find(|e| e["type"] == "sla_breached").unwrap().clone();
    assert_eq!(breach["actor"], "system");
    assert_eq!(breach["data"]["metric"], "first_response");
    assert_eq!(breach["data"]["breached_at"], first["due_at"]);

    // Replying takes it off the breached list; the metric stays breached.
    server.post(&format!("{path}/messages"), json!({"type": "reply", "body": "on it"}));
    let (_, list) = server.get("/api/v1/cases?sla=breached");
    assert!(list["cases"].as_array().unwrap().is_empty(), "{list}");
    let (_, after) = server.get(&path);
    assert_eq!(after["sla"]["metrics"]["first_response"]["state"], "breached");
}

#[test]
fn a_reply_in_time_is_met_and_pending_pauses_resolution() {
    let dir = workdir();
    let server = Server::start_with(dir.path(), CONFIG);
    let case = server.create_case("Question", "q@example.com", "api");
    assert_eq!(case["sla"]["policy"], "standard");
    let id = case["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/cases/{id}");
    let (_, reply) = server.post(&format!("{path}/messages"), json!({"type": "reply", "body": "Which model?"}));
    assert_eq!(reply["case"]["sla"]["metrics"]["first_response"]["state"], "met");
    let met =
        reply["events"].as_array().unwrap().iter().find(|e| e["type"] == "sla_met").expect("sla_met event").clone();
    assert_eq!(met["data"]["metric"], "first_response");
    assert_eq!(met["caused_by"], reply["events"][1]["id"], "caused by the status change that came with the reply");

    let (_, pending) = server.patch(&path, json!({"status": "pending"}));
    let resolution = &pending["sla"]["metrics"]["resolution"];
    assert_eq!(resolution["state"], "paused");
    assert!(resolution["due_at"].is_null());

    let (status, explained) = server.get(&format!("{path}/sla"));
    assert_eq!(status, 200, "{explained}");
    assert_eq!(explained["policy"], "standard");
    assert_eq!(explained["calendar"]["name"], "24x7");
    assert_eq!(explained["pause_on"], json!(["pending", "on_hold"]));
    let spans = explained["metrics"]["resolution"][0]["spans"].as_array().unwrap();
    let kinds: Vec<(bool, &str)> =
        spans.iter().map(|s| (s["running"].as_bool().unwrap(), s["reason"].as_str().unwrap())).collect();
    // new -> open keeps counting (no new span); pending pauses.
    assert_eq!(kinds, [(true, "created"), (false, "status pending")]);
}

#[test]
fn a_deadline_that_passed_while_the_server_was_down_is_recorded_at_start_with_its_real_time() {
    let mut server = TestApp::start_with(CONFIG);
    let (_, case) = server.post(
        "/api/v1/cases",
        json!({"subject": "Down!", "priority": "urgent", "customer": {"email": "ops@example.com"}}),
    );
    let due_at = case["sla"]["metrics"]["first_response"]["due_at"].clone();
    server.restart_after(SignedDuration::from_secs(3));
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    let breached =
        wait_for(&server, &path, "the breach", |c| c["sla"]["metrics"]["first_response"]["state"] == "breached");
    assert_eq!(breached["sla"]["metrics"]["first_response"]["breached_at"], due_at);
    let types = event_types(&server, case["id"].as_str().unwrap());
    assert_eq!(types.iter().filter(|t| *t == "sla_breached").count(), 1, "{types:?}");
}

#[test]
fn the_real_binary_records_a_breach_when_the_wall_clock_reaches_it() {
    let dir = workdir();
    let server = Server::start_with(
        dir.path(),
        "[[sla.policies]]\nname = \"fast\"\nwarning_at = 0.5\ntargets.normal = { first_response = \"1s\" }\n",
    );
    let case = server.create_case("Down!", "ops@example.com", "api");
    let due_at = case["sla"]["metrics"]["first_response"]["due_at"].clone();
    let id = case["id"].as_str().unwrap().to_owned();
    let breached = wait_for(&server, &format!("/api/v1/cases/{id}"), "the breach", |c| {
        c["sla"]["metrics"]["first_response"]["state"] == "breached"
    });
    assert_eq!(breached["sla"]["metrics"]["first_response"]["breached_at"], due_at);
    let (_, list) = server.get("/api/v1/cases?sla=breached");
    assert_eq!(list["cases"][0]["id"], id.as_str());
    let types = event_types(&server, &id);
    assert_eq!(types.iter().filter(|t| *t == "sla_warning").count(), 1, "{types:?}");
    assert_eq!(types.iter().filter(|t| *t == "sla_breached").count(), 1, "{types:?}");
}

#[test]
fn sla_due_prints_the_deadline_and_refuses_bad_input_with_exit_2() {
    let dir = workdir();
    let config = dir.path().join("cal.toml");
    std::fs::write(
        &config,
        "[calendars.emea]\ntime_zone = \"Europe/Berlin\"\nhours = { mon = [\"09:00-17:00\"], tue = [\"09:00-12:00\", \"13:00-17:00\"] }\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let run =
        |args: &[&str]| crate::harness::run_cli(dir.path(), &[&["sla", "due", "--config", config], args].concat());
    // Mon 10:00 Berlin + 7h = Mon 17:00 Berlin (the closing time), 16:00Z.
    let (code, out, err) = run(&["--calendar", "emea", "--start", "2026-03-02T10:00:00+01:00", "--duration", "7h"]);
    assert_eq!((code, out.trim()), (0, "2026-03-02T16:00:00Z"), "{err}");
    // Mon 16:00 + 2h: one hour Monday, then Tuesday from 09:00 -> Tue 10:00 Berlin.
    let (code, out, _) = run(&["--calendar", "emea", "--start", "2026-03-02T15:00:00Z", "--duration", "2h"]);
    assert_eq!((code, out.trim()), (0, "2026-03-03T09:00:00Z"));
    for bad in [
        vec!["--calendar", "nope", "--start", "2026-03-02T10:00:00Z", "--duration", "1h"],
        vec!["--calendar", "emea", "--start", "monday", "--duration", "1h"],
        vec!["--calendar", "emea", "--start", "2026-03-02T10:00:00Z", "--duration", "1x"],
    ] {
        let (code, _, err) = run(&bad);
        assert_eq!(code, 2, "{bad:?}: {err}");
        assert!(err.starts_with("error:"), "{err}");
    }
}

#[test]
fn a_policy_condition_that_does_not_compile_stops_the_server_with_its_position() {
    let dir = workdir();
    let config = dir.path().join("frontdesk.toml");
    std::fs::write(&config, "[[sla.policies]]\nname = \"broken\"\nwhen = 'ticket.priority == '\n").unwrap();
    let (code, _, err) =
        crate::harness::run_cli(dir.path(), &["serve", "--config", config.to_str().unwrap(), "--bind", "127.0.0.1:0"]);
    assert_ne!(code, 0);
    assert!(err.contains("frontdesk.toml") && err.contains("broken") && err.contains("column"), "{err}");
}

#[test]
fn a_pending_case_does_not_breach_its_resolution_target() {
    let server = TestApp::start_with(CONFIG);
    let (_, waiting) = server.post(
        "/api/v1/cases",
        json!({"subject": "Waiting", "priority": "high", "customer": {"email": "w@example.com"}}),
    );
    let (_, running) = server.post(
        "/api/v1/cases",
        json!({"subject": "Running", "priority": "high", "customer": {"email": "r@example.com"}}),
    );
    assert_eq!(waiting["sla"]["policy"], "quick");
    let waiting_path = format!("/api/v1/cases/{}", waiting["id"].as_str().unwrap());
    let (_, paused) = server.patch(&waiting_path, json!({"status": "pending"}));
    assert_eq!(paused["sla"]["metrics"]["resolution"]["state"], "paused");
    // The other case, left running, breaches: the scheduler is working.
    let running_path = format!("/api/v1/cases/{}", running["id"].as_str().unwrap());
    server.advance(SignedDuration::from_secs(2));
    wait_for(&server, &running_path, "the running case's breach", |c| {
        c["sla"]["metrics"]["resolution"]["state"] == "breached"
    });
    // Long after the target, the paused case is still not breached.
    server.advance(SignedDuration::from_hours(1));
    settle(&server);
    let (_, still) = server.get(&waiting_path);
    assert_eq!(still["sla"]["metrics"]["resolution"]["state"], "paused", "{still}");
    assert!(!event_types(&server, waiting["id"].as_str().unwrap()).iter().any(|t| t == "sla_breached"));
}
