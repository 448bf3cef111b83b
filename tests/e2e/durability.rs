//! Acknowledged writes survive a clean restart and `kill -9`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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

#[test]
fn every_case_acknowledged_with_201_is_there_after_kill_9() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let token = server.token.clone();
    let base = server.base.clone();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (token, base, acknowledged, stop) = (token.clone(), base.clone(), acknowledged.clone(), stop.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(std::time::Duration::from_secs(5)))
                    .build()
                    .into();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) && n < 2_000 {
                    n += 1;
                    let body =
                        json!({"subject": format!("w{w} #{n}"), "customer": {"email": format!("w{w}@example.com")}});
                    let Ok(mut response) = agent
                        .post(&format!("{base}/api/v1/cases"))
                        .header("Authorization", &format!("Bearer {token}"))
                        .send_json(&body)
                    else {
                        break;
                    };
                    if response.status() == 201 {
                        let case: serde_json::Value = response.body_mut().read_json().unwrap();
                        acknowledged.lock().unwrap().push(case);
                    }
                }
            })
        })
        .collect();
    // Let the writers get going, then pull the plug mid-load.
    while acknowledged.lock().unwrap().len() < 50 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let server = Server::start(dir.path());
    for case in &acknowledged {
        let id = case["id"].as_str().unwrap();
        let (status, stored) = server.get(&format!("/api/v1/cases/{id}"));
        assert_eq!(status, 200, "case {id} was acknowledged but is gone");
        assert_eq!(&stored, case);
        let (_, events) = server.get(&format!("/api/v1/cases/{id}/events"));
        assert_eq!(events["events"][0]["type"], "case_created");
    }
    // The server is healthy and writable after recovery.
    server.create_case("After the crash", "w0@example.com", "api");
}
