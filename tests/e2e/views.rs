//! The inbox's sort by SLA due and saved views (issue 19), over real HTTP:
//! the API's `sort=sla_due` order and cursors, saved views and who may
//! change which, and the console showing a saved view with its count and
//! the sort control. In process, on a clock that stands still, so every
//! deadline is exact.

use serde_json::{Value, json};

use crate::app::TestApp;
use crate::harness::{Api, PASSWORD};

/// Deadlines by priority, so cases created together still sort apart.
const CONFIG: &str = r#"
[[sla.policies]]
name = "std"
calendar = "24x7"
targets.urgent = { first_response = "5m", resolution = "1h" }
targets.high = { first_response = "10m", resolution = "2h" }
targets.normal = { first_response = "1h", resolution = "1d" }
targets.low = { first_response = "4h", resolution = "2d" }
"#;

fn create(app: &Api, subject: &str, priority: &str, tags: &[&str]) -> String {
    let (status, case) = app.post(
        "/api/v1/cases",
        json!({"subject": subject, "priority": priority, "tags": tags,
               "customer": {"email": format!("{}@example.com", subject.to_lowercase())}, "message": {"body": "hi"}}),
    );
    assert_eq!(status, 201, "{case}");
    case["id"].as_str().unwrap().to_owned()
}

fn subjects(page: &Value) -> Vec<String> {
    page["cases"].as_array().unwrap().iter().map(|c| c["subject"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn sla_due_lists_the_soonest_deadline_first_and_pages_with_its_cursor() {
    let app = TestApp::start_with(CONFIG);
    create(&app, "Low", "low", &[]);
    create(&app, "Urgent", "urgent", &[]);
    let waiting = create(&app, "Waiting", "urgent", &[]);
    create(&app, "Normal", "normal", &["vip"]);
    create(&app, "High", "high", &["vip"]);
    let (status, _) = app.patch(&format!("/api/v1/cases/{waiting}"), json!({"status": "pending"}));
    assert_eq!(status, 200);

    let (status, page) = app.get("/api/v1/cases?sort=sla_due&limit=50");
    assert_eq!(status, 200, "{page}");
    assert_eq!(subjects(&page), ["Urgent", "High", "Normal", "Low", "Waiting"], "a paused clock has no deadline");
    let (_, created) = app.get("/api/v1/cases?sort=created&limit=50");
    assert_eq!(subjects(&created), ["High", "Normal", "Waiting", "Urgent", "Low"], "created stays newest first");

    // Page by two: every case once, in the same order.
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/cases?sort=sla_due&limit=2&cursor={c}"),
            None => "/api/v1/cases?sort=sla_due&limit=2".to_owned(),
        };
        let (status, page) = app.get(&path);
        assert_eq!(status, 200, "{page}");
        seen.extend(subjects(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(seen.len() <= 10, "paging ends: {seen:?}");
    }
    assert_eq!(seen, ["Urgent", "High", "Normal", "Low", "Waiting"]);

    // Filters apply; a deadline that moves moves the case.
    let (_, vip) = app.get("/api/v1/cases?sort=sla_due&tag=vip");
    assert_eq!(subjects(&vip), ["High", "Normal"]);
    let (_, low) = app.get("/api/v1/cases?sort=sla_due&limit=50&priority=low");
    let low_id = low["cases"][0]["id"].as_str().unwrap().to_owned();
    app.patch(&format!("/api/v1/cases/{low_id}"), json!({"priority": "urgent"}));
    let (_, page) = app.get("/api/v1/cases?sort=sla_due&limit=50&unsolved=true");
    assert_eq!(subjects(&page), ["Low", "Urgent", "High", "Normal", "Waiting"], "a tie goes to the older case");

    for bad in ["/api/v1/cases?sort=priority", "/api/v1/cases?sort=sla_due&cursor=c1", "/api/v1/cases?cursor=d1_2"] {
        let (status, body) = app.get(bad);
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_query")), "{bad}: {body}");
    }
}

#[test]
fn saved_views_are_private_unless_a_lead_shares_them() {
    let app = TestApp::start_with(CONFIG);
    let sam = app.create_token("sam", "agent");
    let bea = app.create_token("bea", "agent");
    let lee = app.create_token("lee", "lead");
    let bot = app.create_token("bot", "integration");
    create(&app, "One", "normal", &["vip"]);
    create(&app, "Two", "urgent", &["vip"]);
    create(&app, "Three", "normal", &[]);
    let call = |token: &str, method: &str, path: &str, body: Option<Value>| {
        app.call_as(Some(token), method, path, body.as_ref())
    };
    let vip = json!({"name": "VIPs", "filters": {"tag": "vip", "unsolved": true}, "sort": "sla_due"});

    let (status, mine) = call(&sam, "POST", "/api/v1/views", Some(vip.clone()));
    assert_eq!(status, 201, "{mine}");
    assert_eq!(
        (mine["owner"].as_str(), mine["shared"].as_bool(), mine["sort"].as_str()),
        (Some("sam"), Some(false), Some("sla_due"))
    );
    let mine_id = mine["id"].as_str().unwrap().to_owned();
    let (status, body) = call(&sam, "POST", "/api/v1/views", Some(vip.clone()));
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("view_name_taken")), "{body}");
    let shared = json!({"name": "Everything open", "shared": true, "filters": {"unsolved": true}});
    let (status, body) = call(&sam, "POST", "/api/v1/views", Some(shared.clone()));
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "an agent cannot share: {body}");
    let (status, team) = call(&lee, "POST", "/api/v1/views", Some(shared));
    assert_eq!(status, 201, "{team}");
    let team_id = team["id"].as_str().unwrap().to_owned();
    let (status, _) = call(&bot, "POST", "/api/v1/views", Some(vip.clone()));
    assert_eq!(status, 403, "integrations have no views");
    let (status, body) = call(&sam, "POST", "/api/v1/views", Some(json!({"name": "x", "colour": "red"})));
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_body")), "{body}");

    // Each sees their own and the shared ones, with live counts.
    let listed = |token: &str| -> Vec<(String, u64)> {
        let (status, body) = call(token, "GET", "/api/v1/views", None);
        assert_eq!(status, 200, "{body}");
        body["views"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["name"].as_str().unwrap().to_owned(), v["count"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(listed(&sam), [("Everything open".to_owned(), 3), ("VIPs".to_owned(), 2)]);
    assert_eq!(listed(&bea), [("Everything open".to_owned(), 3)], "another's private view stays private");
    create(&app, "Four", "low", &["vip"]);
    assert_eq!(listed(&sam), [("Everything open".to_owned(), 4), ("VIPs".to_owned(), 3)]);

    // Only the owner changes a private view; only leads change shared ones.
    let rename = Some(json!({"name": "Mine"}));
    assert_eq!(call(&bea, "PATCH", &format!("/api/v1/views/{mine_id}"), rename.clone()).0, 404);
    assert_eq!(call(&bea, "DELETE", &format!("/api/v1/views/{mine_id}"), None).0, 404);
    assert_eq!(call(&lee, "DELETE", &format!("/api/v1/views/{mine_id}"), None).0, 404, "nor a lead");
    assert_eq!(call(&bea, "PATCH", &format!("/api/v1/views/{team_id}"), rename.clone()).0, 403);
    assert_eq!(call(&sam, "DELETE", &format!("/api/v1/views/{team_id}"), None).0, 403);
    let (status, body) = call(&sam, "PATCH", &format!("/api/v1/views/{mine_id}"), Some(json!({"shared": true})));
    assert_eq!(status, 403, "{body}");
    let (status, renamed) = call(&sam, "PATCH", &format!("/api/v1/views/{mine_id}"), rename);
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Mine")), "{renamed}");
    let (status, body) = call(&lee, "PATCH", &format!("/api/v1/views/{team_id}"), Some(json!({"sort": "sla_due"})));
    assert_eq!((status, body["sort"].as_str()), (200, Some("sla_due")), "{body}");
    assert_eq!(call(&sam, "DELETE", &format!("/api/v1/views/{mine_id}"), None).0, 204);
    assert_eq!(listed(&sam), [("Everything open".to_owned(), 4)]);
    assert_eq!(call(&sam, "DELETE", &format!("/api/v1/views/{mine_id}"), None).0, 404, "gone");
    assert_eq!(call(&lee, "DELETE", &format!("/api/v1/views/{team_id}"), None).0, 204);
    assert!(listed(&bea).is_empty());
}

/// A signed-in person in the console, over plain HTTP.
struct Console {
    base: String,
    cookie: String,
    csrf: String,
    agent: ureq::Agent,
}

impl Console {
    fn sign_in(base: &str, account: &str) -> Console {
        let agent: ureq::Agent =
            ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).build().into();
        let response = agent
            .post(&format!("{base}/login"))
            .header("Origin", base)
            .content_type("application/x-www-form-urlencoded")
            .send(format!("account={account}&password={}", PASSWORD.replace(' ', "+")))
            .expect("sign in");
        assert_eq!(response.status().as_u16(), 303, "signing in {account}");
        let set = response.headers().get("set-cookie").expect("a session cookie").to_str().unwrap();
        let cookie = set.split(';').next().unwrap().to_owned();
        let mut console = Console { base: base.to_owned(), cookie, csrf: String::new(), agent };
        let (_, page) = console.get("/");
        console.csrf =
            page.split("name=\"csrf-token\" content=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();
        console
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut response =
            self.agent.get(&format!("{}{path}", self.base)).header("Cookie", &self.cookie).call().unwrap();
        (response.status().as_u16(), response.body_mut().read_to_string().unwrap())
    }

    /// A GET answered with a redirect: status and `Location`.
    fn redirect(&self, path: &str) -> (u16, String) {
        let response = self.agent.get(&format!("{}{path}", self.base)).header("Cookie", &self.cookie).call().unwrap();
        let to = response.headers().get("location").map_or("", |v| v.to_str().unwrap()).to_owned();
        (response.status().as_u16(), to)
    }

    /// An htmx form post: status, `HX-Redirect`, body.
    fn post(&self, path: &str, form: &str) -> (u16, Option<String>, String) {
        let mut response = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .header("Origin", &self.base)
            .header("X-CSRF-Token", &self.csrf)
            .header("HX-Request", "true")
            .content_type("application/x-www-form-urlencoded")
            .send(form.to_owned())
            .unwrap();
        let redirect = response.headers().get("hx-redirect").map(|v| v.to_str().unwrap().to_owned());
        (response.status().as_u16(), redirect, response.body_mut().read_to_string().unwrap())
    }
}

/// The case ids of the inbox's rows, in order.
fn rows(html: &str) -> Vec<String> {
    html.split("<tr data-href=")
        .skip(1)
        .filter_map(|r| r.split("data-id=\"").nth(1)?.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// The count the sidebar shows for `key`.
fn sidebar_count(html: &str, key: &str) -> Option<u64> {
    let rest = html.split(&format!("data-count=\"{key}\">")).nth(1)?;
    rest.split('<').next()?.trim().parse().ok()
}

#[test]
fn the_console_shows_saved_views_with_counts_and_sorts_by_sla_due() {
    let app = TestApp::start_with(CONFIG);
    app.create_agent("sam", "agent", &[]);
    app.create_agent("lee", "lead", &[]);
    let normal = create(&app, "Normal", "normal", &["vip"]);
    let urgent = create(&app, "Urgent", "urgent", &["vip"]);
    create(&app, "Other", "high", &[]);
    let sam = Console::sign_in(&app.base, "sam");
    let lee = Console::sign_in(&app.base, "lee");

    // The sort control, on a built-in queue.
    let (status, inbox) = sam.get("/?view=unsolved");
    assert_eq!(status, 200);
    assert!(inbox.contains("href=\"/?view=unsolved&amp;sort=sla_due\""), "{inbox}");
    assert!(!inbox.contains("name=\"shared\""), "only leads see the shared box");
    let (_, by_due) = sam.get("/?view=tag%3Avip&sort=sla_due");
    assert_eq!(rows(&by_due), [urgent.clone(), normal.clone()]);
    let (_, by_created) = sam.get("/?view=tag%3Avip&sort=created");
    assert_eq!(rows(&by_created), [urgent.clone(), normal.clone()]);
    let (_, all_by_due) = sam.get("/?view=unsolved&sort=sla_due");
    assert_eq!(rows(&all_by_due).first(), Some(&urgent));
    // "Next case" (n) follows the deadline order the agent is working in.
    let order = rows(&all_by_due);
    for pair in order.windows(2) {
        let (status, to) = sam.redirect(&format!("/next?view=unsolved&sort=sla_due&after={}", pair[0]));
        assert_eq!((status, to), (303, format!("/cases/{}?view=unsolved&sort=sla_due", pair[1])));
    }
    let (_, to) = sam.redirect(&format!("/next?view=unsolved&sort=sla_due&after={}", order[order.len() - 1]));
    assert_eq!(to, format!("/cases/{}?view=unsolved&sort=sla_due", order[0]), "round to the first");

    // Save the current view: it opens, sorted as saved, with its count.
    let (status, to, body) = sam.post("/views", "name=My+%3Cb%3EVIPs%3C%2Fb%3E&view=tag%3Avip&sort=sla_due");
    assert_eq!(status, 200, "{body}");
    let to = to.expect("sent to the new view");
    let key = to.strip_prefix("/?view=").unwrap().replace("%3A", ":");
    let (status, page) = sam.get(&to);
    assert_eq!(status, 200);
    assert!(page.contains("My &lt;b&gt;VIPs&lt;/b&gt;"), "the name is escaped");
    assert_eq!(sidebar_count(&page, &key), Some(2), "{page}");
    assert_eq!(rows(&page), [urgent.clone(), normal.clone()]);
    assert!(page.contains("aria-current=\"true\">SLA due"), "the view's own sort is on");
    assert!(page.contains("id=\"rename-view\"") && page.contains("hx-confirm="), "its owner may rename and delete it");

    // Its count follows the cases: the region the live feed re-reads has it.
    create(&app, "Later", "low", &["vip"]);
    let (_, region) = sam.get(&format!("/console/inbox?view={key}"));
    assert_eq!(sidebar_count(&region, &key), Some(3));
    assert_eq!(rows(&region).len(), 3);

    // An agent cannot share; a lead can, and the agent sees it under "Shared views".
    let (status, _, body) = sam.post("/views", "name=All&view=unsolved&shared=on");
    assert_eq!(status, 403, "{body}");
    let (_, lee_inbox) = lee.get("/");
    assert!(lee_inbox.contains("name=\"shared\""));
    let (status, to, body) = lee.post("/views", "name=Team+queue&view=unsolved&shared=on");
    assert_eq!(status, 200, "{body}");
    let shared_key = to.unwrap().strip_prefix("/?view=").unwrap().replace("%3A", ":");
    let (_, page) = sam.get("/");
    let shared_section = page.split("Shared views").nth(1).unwrap();
    assert!(shared_section.contains("Team queue"));
    assert_eq!(sidebar_count(&page, &shared_key), Some(4));
    let (_, shared_page) = sam.get(&format!("/?view={shared_key}"));
    assert!(!shared_page.contains("id=\"rename-view\""), "an agent may not change a shared view");
    let shared_id = shared_key.strip_prefix("saved:").unwrap();
    assert_eq!(sam.post(&format!("/views/{shared_id}/delete"), "").0, 403);

    // Rename, then delete, its own view.
    let id = key.strip_prefix("saved:").unwrap();
    let (status, _, body) = sam.post(&format!("/views/{id}/rename"), "name=VIP+cases");
    assert_eq!(status, 200, "{body}");
    let (_, page) = sam.get("/");
    assert!(page.contains("VIP cases"));
    assert_eq!(lee.get(&format!("/?view={key}")).0, 404, "another's private view is not found");
    let (status, to, _) = sam.post(&format!("/views/{id}/delete"), "");
    assert_eq!((status, to.as_deref()), (200, Some("/")));
    assert_eq!(sam.get(&format!("/?view={key}")).0, 404);
}
