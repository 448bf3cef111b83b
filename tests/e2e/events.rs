//! The event feed as an integrator mirrors it: pages in commit order, a
//! type filter, a long-poll that answers when something happens, and every
//! event exactly once while the server is killed with -9 mid-load and
//! started again.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Server, workdir};

/// One page from `after`; (events, next cursor, more).
fn page(server: &Server, query: &str) -> (Vec<Value>, Option<String>, bool) {
    let (status, body) = server.get(&format!("/api/v1/events?{query}"));
    assert_eq!(status, 200, "{query}: {body}");
    let events = body["events"].as_array().unwrap().clone();
    (events, body["next_cursor"].as_str().map(str::to_owned), body["more"] == true)
}

/// Everything after `cursor`, page by page, and the cursor to go on from.
fn drain(server: &Server, mut cursor: Option<String>, seen: &mut Vec<Value>) -> Option<String> {
    loop {
        let query = match &cursor {
            Some(c) => format!("after={c}&limit=37"),
            None => "limit=37".to_owned(),
        };
        let (events, next, more) = page(server, &query);
        seen.extend(events);
        cursor = next.or(cursor);
        if !more {
            return cursor;
        }
    }
}

fn id(event: &Value) -> u64 {
    event["id"].as_str().unwrap().parse().unwrap()
}

#[test]
fn the_feed_pages_in_commit_order_filters_by_type_and_long_polls() {
    let dir = workdir();
    let server = Server::start(dir.path());
    for n in 0..5 {
        server.create_case(&format!("case {n}"), &format!("c{n}@example.com"), "api");
    }
    let mut all = Vec::new();
    let cursor = drain(&server, None, &mut all);
    assert!(all.windows(2).all(|w| id(&w[0]) < id(&w[1])), "commit order");
    assert_eq!(all.iter().filter(|e| e["type"] == "case_created").count(), 5);
    let (created, _, _) = page(&server, "types=case_created,message_received&limit=1000");
    assert_eq!(created.len(), 10, "{created:?}");
    assert!(created.iter().all(|e| e["type"] == "case_created" || e["type"] == "message_received"));
    let (status, body) = server.get("/api/v1/events?types=case_eaten");
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_query")), "{body}");
    let (status, _) = server.get("/api/v1/events?after=garbage");
    assert_eq!(status, 400);

    // Nothing new: a long-poll answers when a case is created.
    let cursor = cursor.unwrap();
    let (base, token) = (server.base.clone(), server.token.clone());
    let waiting = std::thread::spawn(move || {
        let started = Instant::now();
        let api = crate::harness::Api::new(base, token);
        let (status, body) = api.get(&format!("/api/v1/events?after={cursor}&wait=20&types=case_created"));
        (status, body, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(500));
    server.create_case("wakes the poll", "w@example.com", "api");
    let (status, body, took) = waiting.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["events"][0]["data"]["subject"], "wakes the poll", "{body}");
    assert!(took < Duration::from_secs(10), "answered on the commit, not at the timeout: {took:?}");
    let (events, next, _) = page(&server, &format!("after={}&wait=1", body["next_cursor"].as_str().unwrap()));
    assert!(events.iter().all(|e| e["type"] != "case_created"), "only what came after: {events:?}");
    assert!(next.is_some(), "a cursor to go on from");
}

#[test]
fn a_consumer_sees_every_event_once_across_a_kill_9() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (base, token, stop) = (server.base.clone(), server.token.clone(), stop.clone());
            std::thread::spawn(move || {
                let api = crate::harness::Api::new(base, token);
                let mut acknowledged = Vec::new();
                for n in 0..2_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let body = json!({"subject": format!("w{w} #{n}"), "customer": {"email": format!("w{w}-{n}@example.com")}});
                    let url = format!("{}/api/v1/cases", api.base);
                    let sent = ureq::post(&url).header("Authorization", &format!("Bearer {}", api.token)).send_json(&body);
                    match sent {
                        Ok(mut response) if response.status() == 201 => match response.body_mut().read_json::<Value>() {
                            Ok(case) => acknowledged.push(case["id"].as_str().unwrap().to_owned()),
                            Err(_) => break,
                        },
                        _ => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    // Mirror while the writers write, then pull the plug.
    let mut seen = Vec::new();
    let mut cursor = None;
    let until = Instant::now() + Duration::from_millis(1_500);
    while Instant::now() < until {
        cursor = drain(&server, cursor, &mut seen);
    }
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<String> = writers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    assert!(acknowledged.len() > 20, "only {} cases were acknowledged", acknowledged.len());

    let server = Server::start(dir.path());
    server.create_case("after the restart", "late@example.com", "api");
    drain(&server, cursor, &mut seen);
    let ids: Vec<u64> = seen.iter().map(id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order, none twice");
    let mut everything = Vec::new();
    drain(&server, None, &mut everything);
    assert_eq!(seen, everything, "the mirror holds exactly what the store holds");
    let created: BTreeSet<&str> =
        seen.iter().filter(|e| e["type"] == "case_created").filter_map(|e| e["case_id"].as_str()).collect();
    for case in &acknowledged {
        assert!(created.contains(case.as_str()), "acknowledged case {case} is missing from the feed");
    }
    assert!(seen.iter().any(|e| e["data"]["subject"] == "after the restart"));
}
