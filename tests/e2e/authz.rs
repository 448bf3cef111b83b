//! Every route × every role, against the real server: the API with each
//! token role (and none), the console with each person's session (and
//! none). A route a role may use answers anything but 401/403; one it may
//! not answers 403 (401 or a sign-in redirect without credentials). A new
//! route without a row here fails `every_route_is_in_the_matrix`.

use serde_json::{Value, json};

use crate::harness::{Server, workdir};

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Nobody,
    Integration,
    Agent,
    Lead,
    Admin,
}

const ALL: [Who; 5] = [Who::Nobody, Who::Integration, Who::Agent, Who::Lead, Who::Admin];
const PEOPLE: &[Who] = &[Who::Agent, Who::Lead, Who::Admin];
const STAFF: &[Who] = &[Who::Integration, Who::Agent, Who::Lead, Who::Admin];
const LEADS: &[Who] = &[Who::Lead, Who::Admin];
const ADMINS: &[Who] = &[Who::Admin];

/// One API route: method, path, body, who may use it.
struct ApiRoute(&'static str, &'static str, Option<fn() -> Value>, &'static [Who]);

fn api_routes() -> Vec<ApiRoute> {
    vec![
        ApiRoute("GET", "/api/v1/cases", None, STAFF),
        ApiRoute(
            "POST",
            "/api/v1/cases",
            Some(|| json!({"subject": "s", "customer": {"email": "x@example.com"}})),
            STAFF,
        ),
        ApiRoute("GET", "/api/v1/cases/1", None, STAFF),
        ApiRoute("PATCH", "/api/v1/cases/1", Some(|| json!({"priority": "high"})), PEOPLE),
        ApiRoute("POST", "/api/v1/cases/1/messages", Some(|| json!({"type": "note", "body": "n"})), PEOPLE),
        ApiRoute("GET", "/api/v1/cases/1/events", None, STAFF),
        ApiRoute("POST", "/api/v1/cases/1/csat", Some(|| json!({"score": 5})), STAFF),
        ApiRoute("GET", "/api/v1/cases/1/sla", None, STAFF),
        ApiRoute("POST", "/api/v1/customers", Some(|| json!({"email": "y@example.com"})), STAFF),
        ApiRoute("GET", "/api/v1/customers/1", None, STAFF),
        ApiRoute("GET", "/api/v1/customers/1/events", None, STAFF),
        ApiRoute("POST", "/api/v1/customers/1/signals", Some(|| json!({"signals": {}})), STAFF),
        ApiRoute("GET", "/api/v1/metrics", None, PEOPLE),
        ApiRoute("POST", "/api/v1/tokens", Some(|| json!({"name": "t-new", "role": "agent"})), ADMINS),
        ApiRoute("GET", "/api/v1/tokens", None, ADMINS),
        ApiRoute("DELETE", "/api/v1/tokens/t-new", None, ADMINS),
        ApiRoute("GET", "/api/v1/macros", None, STAFF),
        ApiRoute("POST", "/api/v1/macros", Some(|| json!({"name": "m-new", "title": "T", "add_tags": ["x"]})), LEADS),
        ApiRoute("GET", "/api/v1/macros/m-new", None, STAFF),
        ApiRoute("PUT", "/api/v1/macros/m-new", Some(|| json!({"title": "T2", "add_tags": ["y"]})), LEADS),
        ApiRoute("POST", "/api/v1/cases/1/macros", Some(|| json!({"macro": "m-new"})), PEOPLE),
        ApiRoute("DELETE", "/api/v1/macros/m-new", None, LEADS),
        ApiRoute("GET", "/api/v1/events", None, STAFF),
        ApiRoute("GET", "/api/v1/agents", None, PEOPLE),
        ApiRoute(
            "POST",
            "/api/v1/agents",
            Some(
                || json!({"name": "newbie", "email": "newbie@acme.example", "role": "agent", "password": "long enough pw"}),
            ),
            ADMINS,
        ),
        ApiRoute("PATCH", "/api/v1/agents/sam", Some(|| json!({"teams": ["support"]})), ADMINS),
        ApiRoute("GET", "/api/v1/teams", None, PEOPLE),
        ApiRoute("GET", "/api/v1/admin/scripts", None, ADMINS),
        ApiRoute("POST", "/api/v1/admin/scripts/simulate", Some(|| json!({"since": "1d"})), ADMINS),
        ApiRoute("GET", "/api/v1/admin/plugins", None, ADMINS),
        ApiRoute("GET", "/api/v1/admin/outbox", None, ADMINS),
        ApiRoute("POST", "/api/v1/admin/outbox/1/retry", None, ADMINS),
        ApiRoute("GET", "/api/v1/views", None, PEOPLE),
        ApiRoute("POST", "/api/v1/views", Some(|| json!({"name": "v", "filters": {"unsolved": true}})), PEOPLE),
        // View 1 is the agent's (the first person to save one above): the
        // others get 404, which is no refusal of their role.
        ApiRoute("PATCH", "/api/v1/views/1", Some(|| json!({"name": "renamed"})), PEOPLE),
        ApiRoute("DELETE", "/api/v1/views/1", None, PEOPLE),
    ]
}

/// One console route: method, path, form body, who may use it.
struct ConsoleRoute(&'static str, &'static str, &'static str, &'static [Who]);

fn console_routes() -> Vec<ConsoleRoute> {
    vec![
        ConsoleRoute("GET", "/", "", PEOPLE),
        ConsoleRoute("GET", "/cases/1", "", PEOPLE),
        ConsoleRoute("GET", "/customers/1", "", PEOPLE),
        ConsoleRoute("GET", "/next?view=unsolved", "", PEOPLE),
        ConsoleRoute("GET", "/go?case=1", "", PEOPLE),
        ConsoleRoute("GET", "/reports", "", LEADS),
        ConsoleRoute("GET", "/admin", "", ADMINS),
        ConsoleRoute("GET", "/macros", "", LEADS),
        ConsoleRoute(
            "POST",
            "/macros",
            "name=m-console&title=T&kind=note&body=hi&status=&priority=&assignee=&add_tags=&remove_tags=",
            LEADS,
        ),
        ConsoleRoute("POST", "/cases/1/macros", "macro=m-console&key=k2", PEOPLE),
        ConsoleRoute("POST", "/macros/m-console/delete", "", LEADS),
        ConsoleRoute(
            "POST",
            "/admin/agents",
            "name=viaconsole&email=vc%40acme.example&role=agent&teams=&password=long+enough+pw",
            ADMINS,
        ),
        ConsoleRoute("POST", "/admin/tokens", "name=t-console&role=integration&expires_in_days=", ADMINS),
        ConsoleRoute("POST", "/admin/tokens/t-console/revoke", "", ADMINS),
        ConsoleRoute("POST", "/admin/outbox/1/retry", "", ADMINS),
        ConsoleRoute("POST", "/admin/simulate", "since=1d&file=&source=", ADMINS),
        ConsoleRoute("GET", "/console/inbox?view=mine", "", PEOPLE),
        ConsoleRoute("GET", "/console/live", "", PEOPLE),
        ConsoleRoute("GET", "/console/cases/1/head", "", PEOPLE),
        ConsoleRoute("GET", "/console/cases/1/events?after=0", "", PEOPLE),
        ConsoleRoute("GET", "/console/cases/1/properties", "", PEOPLE),
        ConsoleRoute("POST", "/console/cases/1/presence", "state=viewing", PEOPLE),
        ConsoleRoute("POST", "/cases/1/messages", "kind=note&body=hi&key=k1&seen=0", PEOPLE),
        ConsoleRoute("POST", "/cases/1/update", "priority=high", PEOPLE),
        ConsoleRoute("POST", "/views", "name=console+view&view=unsolved&sort=sla_due", PEOPLE),
        ConsoleRoute("POST", "/views/1/rename", "name=x", PEOPLE),
        ConsoleRoute("POST", "/views/1/delete", "", PEOPLE),
    ]
}

/// A client that reports every status, redirects included, as an answer.
fn client() -> ureq::Agent {
    ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).build().into()
}

fn request(method: &str, url: &str) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
    match method {
        "POST" => client().post(url),
        "PATCH" => client().patch(url),
        _ => client().put(url),
    }
}

fn get(url: &str) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
    client().get(url)
}

/// A signed-in person: the session cookie and the CSRF token of its pages.
struct Session {
    cookie: String,
    csrf: String,
}

fn sign_in(base: &str, account: &str) -> Session {
    let response = request("POST", &format!("{base}/login"))
        .header("Origin", base)
        .content_type("application/x-www-form-urlencoded")
        .send(format!("account={account}&password=long+enough+pw"))
        .expect("sign in");
    assert_eq!(response.status().as_u16(), 303, "signing in {account}");
    let set = response.headers().get("set-cookie").expect("a session cookie").to_str().unwrap().to_owned();
    let cookie = set.split(';').next().unwrap().to_owned();
    let mut page = get(&format!("{base}/")).header("Cookie", &cookie).call().expect("inbox");
    let html = page.body_mut().read_to_string().unwrap();
    let csrf =
        html.split("name=\"csrf-token\" content=\"").nth(1).and_then(|r| r.split('"').next()).expect("csrf meta");
    Session { cookie, csrf: csrf.to_owned() }
}

#[test]
fn every_route_answers_each_role_as_the_matrix_says() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let base = server.base.clone();
    for (name, role) in [("sam", "agent"), ("lee", "lead"), ("ada", "admin")] {
        let (status, body) = server.post(
            "/api/v1/agents",
            json!({"name": name, "email": format!("{name}@acme.example"), "role": role, "password": "long enough pw"}),
        );
        assert_eq!(status, 201, "{body}");
    }
    server.create_case("matrix", "m@example.com", "api");
    let tokens = [
        (Who::Integration, server.create_token("t-int", "integration")),
        (Who::Agent, server.create_token("t-agent", "agent")),
        (Who::Lead, server.create_token("t-lead", "lead")),
        (Who::Admin, server.token.clone()),
    ];
    let mut failures = Vec::new();
    for ApiRoute(method, path, body, allowed) in api_routes() {
        for who in ALL {
            let token = tokens.iter().find(|(w, _)| *w == who).map(|(_, t)| t.as_str());
            let url = format!("{base}{path}");
            let response = match (method, body) {
                ("GET" | "DELETE", _) => {
                    let mut r = if method == "GET" { get(&url) } else { client().delete(&url) };
                    if let Some(t) = token {
                        r = r.header("Authorization", &format!("Bearer {t}"));
                    }
                    r.call()
                }
                (_, body) => {
                    let mut r = request(method, &url);
                    if let Some(t) = token {
                        r = r.header("Authorization", &format!("Bearer {t}"));
                    }
                    r.content_type("application/json").send(body.map_or(json!({}), |b| b()).to_string())
                }
            }
            .expect("request");
            let status = response.status().as_u16();
            let expected_ok = allowed.contains(&who);
            let ok = !matches!(status, 401 | 403);
            if ok != expected_ok || (who == Who::Nobody && status != 401) {
                failures.push(format!("{method} {path} as {who:?}: {status}"));
            }
            // A role that may not use the route is told so before anything
            // about its body: malformed JSON is still a 403 (401 without a token).
            // A message's kind decides who may post it, so its body comes first.
            if body.is_some() && !expected_ok && !path.ends_with("/messages") {
                let mut r = request(method, &url);
                if let Some(t) = token {
                    r = r.header("Authorization", &format!("Bearer {t}"));
                }
                let status = r.content_type("application/json").send("{not json").expect("request").status().as_u16();
                let wanted = if who == Who::Nobody { 401 } else { 403 };
                if status != wanted {
                    failures.push(format!("{method} {path} as {who:?} with a malformed body: {status}, not {wanted}"));
                }
            }
        }
    }
    let sessions: Vec<(Who, Session)> =
        [(Who::Agent, "sam"), (Who::Lead, "lee"), (Who::Admin, "ada")].map(|(w, a)| (w, sign_in(&base, a))).into();
    for ConsoleRoute(method, path, body, allowed) in console_routes() {
        for who in [Who::Nobody, Who::Agent, Who::Lead, Who::Admin] {
            let session = sessions.iter().find(|(w, _)| *w == who).map(|(_, s)| s);
            let url = format!("{base}{path}");
            let response = if method == "GET" {
                let mut r = get(&url);
                if let Some(s) = session {
                    r = r.header("Cookie", &s.cookie);
                }
                r.call()
            } else {
                let mut r = request(method, &url).header("Origin", &base);
                if let Some(s) = session {
                    r = r.header("Cookie", &s.cookie).header("X-CSRF-Token", &s.csrf);
                }
                r.content_type("application/x-www-form-urlencoded").send(body.to_owned())
            }
            .expect("request");
            let status = response.status().as_u16();
            let signed_out = matches!(status, 401 | 303) && who == Who::Nobody;
            let refused = matches!(status, 401 | 403) || signed_out;
            if refused == allowed.contains(&who) {
                failures.push(format!("console {method} {path} as {who:?}: {status}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} route(s) answer a role against the matrix:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The matrix lists every route the server has: a route added without a
/// row here fails.
#[test]
fn every_route_is_in_the_matrix() {
    let listed: Vec<String> = api_routes()
        .iter()
        .map(|ApiRoute(m, p, ..)| {
            let path = p.replace("/1", "/{id}").replace("/sam", "/{name}").replace("/t-new", "/{name}");
            format!("{m} {}", path.replace("/m-new", "/{name}"))
        })
        .chain(console_routes().iter().map(|ConsoleRoute(m, p, ..)| {
            let path = p.split('?').next().unwrap().replace("/1", "/{id}").replace("/t-console", "/{name}");
            let path = path.replace("/m-console", "/{name}");
            format!("{m} {path}")
        }))
        .collect();
    let sources = [
        "src/http/admin.rs",
        "src/http/agents.rs",
        "src/http/cases.rs",
        "src/http/customers.rs",
        "src/http/events.rs",
        "src/http/macros.rs",
        "src/http/metrics.rs",
        "src/http/tokens.rs",
        "src/http/views.rs",
        "src/console/mod.rs",
    ];
    let mut missing = Vec::new();
    for file in sources {
        let text = std::fs::read_to_string(crate::harness::repo().join(file)).unwrap();
        let prefix = if file.starts_with("src/http") { "/api/v1" } else { "" };
        for route in text.split(".route(\"").skip(1) {
            let path = route.split('"').next().unwrap();
            let line = route.lines().next().unwrap_or_default();
            for (method, handler) in
                [("GET", "get("), ("POST", "post("), ("PATCH", "patch("), ("PUT", "put("), ("DELETE", "delete(")]
            {
                let routed = line.contains(&format!(" {handler}"))
                    || line.contains(&format!("({handler}"))
                    || line.contains(&format!(".{handler}"));
                // Open to all, or (sign-out) ending the session the matrix uses:
                // the browser scenario covers it.
                let public = matches!(path, "/login" | "/assets/{file}" | "/logout");
                if routed && !public && !listed.contains(&format!("{method} {prefix}{path}")) {
                    missing.push(format!("{method} {prefix}{path} ({file})"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "routes with no row in the authorization matrix:\n{}", missing.join("\n"));
}
