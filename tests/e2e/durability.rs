//! Acknowledged writes survive a clean restart and `kill -9`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use crate::harness::{Server, workdir};

#[test]
fn acknowledged_cases_survive_a_clean_restart() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let case = server.create_case("Keep me", "ivy@example.com", "api");
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    let (_, events_before) = server.get(&format!("{path}/events"));
    server.stop();
    let server = Server::start(dir.path());
    let (status, after) = server.get(&path);
    assert_eq!(status, 200);
    assert_eq!(after, case);
    assert!(!server.log_text().contains("not closed cleanly"), "a clean stop needs no repair");
    assert_eq!(server.get(&format!("{path}/events")).1, events_before);
}

/// Sends creates from 4 threads until stopped; returns every case answered 201.
fn load_until_stopped(server: &Server, stop: &Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<Vec<serde_json::Value>>> {
    (0..4)
        .map(|w| {
            let (token, base, stop) = (server.token.clone(), server.base.clone(), stop.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(std::time::Duration::from_secs(5)))
                    .build()
                    .into();
                let mut acknowledged = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) && n < 5_000 {
                    n += 1;
                    let body = json!({"subject": format!("w{w} #{n}"), "customer": {"email": format!("w{w}@example.com")},
                                      "message": {"body": "hello"}});
                    let Ok(mut response) = agent
                        .post(&format!("{base}/api/v1/cases"))
                        .header("Authorization", &format!("Bearer {token}"))
                        .send_json(&body)
                    else {
                        break;
                    };
                    // A body cut off by the kill is no acknowledgement the client can use.
                    if response.status() == 201
                        && let Ok(case) = response.body_mut().read_json()
                    {
                        acknowledged.push(case);
                    }
                }
                acknowledged
            })
        })
        .collect()
}

#[test]
fn every_case_acknowledged_with_201_survives_kill_9_again_and_again() {
    let dir = workdir();
    let mut acknowledged: Vec<serde_json::Value> = Vec::new();
    for round in 0..3 {
        let server = Server::start(dir.path());
        if round > 0 {
            // The log says why a start after a crash takes longer.
            let log = server.log_text();
            assert!(log.contains("not closed cleanly"), "round {round}: no repair logged:\n{log}");
            assert!(log.contains("data file checked and repaired"), "round {round}: no repair end logged:\n{log}");
        }
        // Everything acknowledged before is still there, whole: the row, its
        // events, and a row that is the fold of those events.
        for case in &acknowledged {
            let id = case["id"].as_str().unwrap();
            let (status, stored) = server.get(&format!("/api/v1/cases/{id}"));
            assert_eq!(status, 200, "round {round}: case {id} was acknowledged but is gone");
            assert_eq!(stored["subject"], case["subject"]);
            let (_, events) = server.get(&format!("/api/v1/cases/{id}/events"));
            let events = events["events"].as_array().unwrap();
            assert_eq!(events[0]["type"], "case_created");
            assert_eq!(
                stored["version"].as_u64(),
                Some(events.len() as u64),
                "round {round}: case {id} row and events disagree"
            );
            assert_eq!(stored["last_event_id"], events.last().unwrap()["id"]);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writers = load_until_stopped(&server, &stop);
        // Let the writers get going, then pull the plug mid-load.
        let (_, before) = server.get("/api/v1/cases?limit=1");
        let first = before["cases"][0]["id"].as_str().map(str::to_owned);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let (_, now) = server.get("/api/v1/cases?limit=1");
            let latest = now["cases"][0]["id"].as_str().map(str::to_owned);
            if latest != first && latest.and_then(|l| l.parse::<u64>().ok()).unwrap_or(0) > 30 * (round as u64 + 1) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "no load reached the server");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            acknowledged.extend(writer.join().unwrap());
        }
    }
    assert!(acknowledged.len() >= 30, "only {} cases were acknowledged", acknowledged.len());
    let server = Server::start(dir.path());
    for case in &acknowledged {
        let (status, _) = server.get(&format!("/api/v1/cases/{}", case["id"].as_str().unwrap()));
        assert_eq!(status, 200);
    }
    // The server is healthy and writable after recovery.
    server.create_case("After the crashes", "w0@example.com", "api");
}

#[test]
fn a_full_write_queue_answers_429_with_retry_after_and_loses_no_acknowledged_case() {
    let dir = workdir();
    // A queue of one write and one write per transaction: 32 senders at once
    // must overflow it.
    let server = Server::start_with(dir.path(), "[server]\nqueue_capacity = 1\nbatch_limit = 1\n");
    let answers: Vec<(u16, Option<String>, serde_json::Value)> = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..32)
            .map(|w| {
                let (token, base) = (server.token.clone(), server.base.clone());
                scope.spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
                    (0..20)
                        .map(|n| {
                            let body = json!({"subject": format!("q{w} #{n}"), "customer": {"email": format!("q{w}@example.com")}});
                            let mut response = agent
                                .post(&format!("{base}/api/v1/cases"))
                                .header("Authorization", &format!("Bearer {token}"))
                                .send_json(&body)
                                .expect("http call");
                            let retry = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
                            let text = response.body_mut().read_to_string().unwrap_or_default();
                            (response.status().as_u16(), retry, serde_json::from_str(&text).unwrap_or_default())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        senders.into_iter().flat_map(|s| s.join().unwrap()).collect()
    });
    let overloaded: Vec<_> = answers.iter().filter(|(status, ..)| *status == 429).collect();
    let created: Vec<_> = answers.iter().filter(|(status, ..)| *status == 201).collect();
    assert_eq!(overloaded.len() + created.len(), answers.len(), "only 201 or 429");
    assert!(!overloaded.is_empty(), "a queue of one must overflow under 32 senders");
    assert!(!created.is_empty());
    for (_, retry, body) in &overloaded {
        assert_eq!(retry.as_deref(), Some("1"), "429 says when to come back");
        assert_eq!(body["error"]["code"], "overloaded", "{body}");
    }
    // Every case answered 201 is there after a restart; the refused ones are not.
    server.stop();
    let server = Server::start(dir.path());
    let mut listed = 0;
    let mut cursor = String::new();
    loop {
        let (_, page) = server.get(&format!("/api/v1/cases?limit=200{cursor}"));
        listed += page["cases"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(listed, created.len(), "exactly the acknowledged cases");
    for (_, _, case) in created {
        let (status, got) = server.get(&format!("/api/v1/cases/{}", case["id"].as_str().unwrap()));
        assert_eq!(status, 200);
        assert_eq!(got["subject"], case["subject"]);
    }
}
