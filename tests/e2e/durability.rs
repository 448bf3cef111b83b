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
