//! People: agents managed over the API and the CLI, assignment to real
//! agents only, routing within a team's members, and sessions that end when
//! an agent is deactivated.

use frontdesk_core::auth::{Session, hash_secret};
use frontdesk_core::store::{RedbStore, Store};
use frontdesk_core::write::command::{Command, Outcome};
use serde_json::{Value, json};

use crate::harness::{PASSWORD, Server, run_cli, workdir};
use crate::rules::copy_default_scripts;

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[test]
fn admins_manage_agents_and_every_person_lists_them_without_password_hashes() {
    let dir = workdir();
    let server = Server::start(dir.path());
    let sam = server.create_agent("sam", "agent", &["support", "billing"]);
    assert_eq!(sam["name"], "sam");
    assert_eq!(sam["role"], "agent");
    assert_eq!(sam["teams"], json!(["support", "billing"]));
    assert_eq!(sam["active"], true);
    assert!(sam.get("password_hash").is_none() && !sam.to_string().contains("argon2"), "{sam}");

    let new = |name: &str, email: &str, role: &str, password: &str| json!({"name": name, "email": email, "role": role, "password": password});
    let (status, body) = server.post("/api/v1/agents", new("sam", "other@example.com", "agent", PASSWORD));
    assert_eq!((status, code(&body)), (409, "agent_exists"), "{body}");
    let (status, body) = server.post("/api/v1/agents", new("bea", "SAM@example.com", "agent", PASSWORD));
    assert_eq!((status, code(&body)), (409, "email_taken"), "{body}");
    let (status, body) = server.post("/api/v1/agents", new("bea", "bea@example.com", "agent", "short"));
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("10 characters"), "{body}");
    let (status, body) = server.post("/api/v1/agents", new("bea", "bea@example.com", "integration", PASSWORD));
    assert_eq!(status, 400, "a person is not an integration: {body}");
    let (status, body) = server.post("/api/v1/agents", new("Bea Smith", "bea@example.com", "agent", PASSWORD));
    assert_eq!(status, 400, "{body}");
    server.create_agent("lee", "lead", &["billing"]);

    let agent_token = server.create_token("dana", "agent");
    let machine = server.create_token("crm", "integration");
    let body = new("eve", "eve@example.com", "agent", PASSWORD);
    for token in [&agent_token, &machine] {
        let (status, answer) = server.call_as(Some(token), "POST", "/api/v1/agents", Some(&body));
        assert_eq!(status, 403, "{answer}");
        let patch = json!({"role": "admin"});
        let (status, answer) = server.call_as(Some(token), "PATCH", "/api/v1/agents/sam", Some(&patch));
        assert_eq!(status, 403, "{answer}");
    }
    let (status, _) = server.call_as(Some(&machine), "GET", "/api/v1/agents", None);
    assert_eq!(status, 403, "machines do not list people");

    let (status, listed) = server.call_as(Some(&agent_token), "GET", "/api/v1/agents", None);
    assert_eq!(status, 200, "{listed}");
    let names: Vec<&str> = listed["agents"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["lee", "sam"]);
    assert!(!listed.to_string().contains("password"), "{listed}");

    let (status, changed) = server.patch(
        "/api/v1/agents/sam",
        json!({"role": "lead", "teams": ["incident"], "email": "Samuel@Example.com", "password": "a new long password"}),
    );
    assert_eq!(status, 200, "{changed}");
    assert_eq!((changed["role"].as_str(), changed["email"].as_str()), (Some("lead"), Some("samuel@example.com")));
    assert!(changed.get("password_hash").is_none());
    let (status, body) = server.patch("/api/v1/agents/ghost", json!({"active": false}));
    assert_eq!(status, 404, "{body}");
    let (status, body) = server.patch("/api/v1/agents/lee", json!({"email": "samuel@example.com"}));
    assert_eq!((status, code(&body)), (409, "email_taken"), "{body}");
    let (status, body) = server.patch("/api/v1/agents/lee", json!({"password": "tiny"}));
    assert_eq!(status, 400, "{body}");

    let (status, teams) = server.call_as(Some(&agent_token), "GET", "/api/v1/teams", None);
    assert_eq!(status, 200, "{teams}");
    assert_eq!(
        teams["teams"],
        json!([{"name": "billing", "members": ["lee"]}, {"name": "incident", "members": ["sam"]}])
    );
    server.patch("/api/v1/agents/lee", json!({"active": false}));
    let (_, teams) = server.get("/api/v1/teams");
    assert_eq!(teams["teams"], json!([{"name": "incident", "members": ["sam"]}]), "inactive agents are in no team");
}

#[test]
fn assignees_must_be_active_agents_and_agents_need_reassign_to_move_others_cases() {
    let dir = workdir();
    let server = Server::start(dir.path());
    server.create_agent("sam", "agent", &["support"]);
    server.create_agent("bea", "agent", &["support"]);
    let case = server.create_case("Printer", "p@example.com", "api");
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());

    let (status, body) = server.patch(&path, json!({"assignee": "ghost"}));
    assert_eq!((status, code(&body)), (400, "unknown_agent"), "{body}");
    let (status, body) = server
        .post("/api/v1/cases", json!({"subject": "x", "customer": {"email": "q@example.com"}, "assignee": "ghost"}));
    assert_eq!((status, code(&body)), (400, "unknown_agent"), "{body}");

    // Tokens named like the agents act as them.
    let sam = server.create_token("sam", "agent");
    let lead = server.create_token("lee", "lead");
    let patch = |token: &str, assignee: Value| {
        server.call_as(Some(token), "PATCH", &path, Some(&json!({"assignee": assignee})))
    };
    let (status, body) = patch(&sam, json!("bea"));
    assert_eq!((status, code(&body)), (403, "forbidden"), "an agent does not hand out cases: {body}");
    let (status, body) = patch(&sam, json!("sam"));
    assert_eq!(status, 200, "an agent takes an unassigned case: {body}");
    let (status, body) = patch(&sam, Value::Null);
    assert_eq!(status, 200, "and gives up their own: {body}");
    let (status, body) = patch(&lead, json!("bea"));
    assert_eq!(status, 200, "a lead assigns: {body}");
    let (status, body) = patch(&sam, json!("sam"));
    assert_eq!((status, code(&body)), (403, "forbidden"), "an agent does not take another's case: {body}");
    let (status, body) = patch(&sam, Value::Null);
    assert_eq!(status, 403, "nor unassign it: {body}");
    let (status, body) = patch(&lead, Value::Null);
    assert_eq!(status, 200, "{body}");
    assert!(body["assignee"].is_null());

    server.patch("/api/v1/agents/bea", json!({"active": false}));
    let (status, body) = server.patch(&path, json!({"assignee": "bea"}));
    assert_eq!((status, code(&body)), (400, "unknown_agent"), "a deactivated agent takes no cases: {body}");
}

#[test]
fn routing_assigns_a_member_of_the_team_and_a_bad_assign_is_a_script_error() {
    let dir = workdir();
    copy_default_scripts(dir.path());
    std::fs::write(
        dir.path().join("scripts/50-assign.rhai"),
        "fn on_case_created(ticket, customer) { if ticket.has_tag(\"ghost\") { assign(\"nobody\"); } }\n",
    )
    .unwrap();
    let server = Server::start(dir.path());
    server.create_agent("bea", "agent", &["billing"]);
    server.create_agent("sam", "agent", &["support"]);
    let create = |subject: &str, tags: Value| {
        let (status, case) = server
            .post("/api/v1/cases", json!({"subject": subject, "customer": {"email": "c@example.com"}, "tags": tags}));
        assert_eq!(status, 201, "{case}");
        case
    };
    let billing = create("Refund for invoice 7", json!([]));
    assert_eq!((billing["team"].as_str(), billing["assignee"].as_str()), (Some("billing"), Some("bea")));
    let incident = create("Our site is down", json!([]));
    assert_eq!(incident["team"], "incident");
    assert!(incident["assignee"].is_null(), "nobody is in incident: {incident}");
    let events = |case: &Value| {
        let (_, body) = server.get(&format!("/api/v1/cases/{}/events", case["id"].as_str().unwrap()));
        body["events"].as_array().unwrap().clone()
    };
    assert!(!events(&incident).iter().any(|e| e["type"] == "script_error"), "an empty team is no error");

    let ghost = create("Hello", json!(["ghost"]));
    assert_eq!(ghost["assignee"], "sam", "the routing rule's assignment stands");
    let errors: Vec<Value> = events(&ghost).into_iter().filter(|e| e["type"] == "script_error").collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0]["data"]["message"].as_str().unwrap().contains("nobody"), "{errors:?}");
}

#[test]
fn agent_create_and_reset_password_work_on_a_stopped_server() {
    let dir = workdir();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let file = password_file.to_str().unwrap();
    let create = [
        "agent",
        "create",
        "--name",
        "ann",
        "--email",
        "Ann@Example.com",
        "--role",
        "lead",
        "--team",
        "billing",
        "--team",
        "support",
        "--password-file",
        file,
        "--data-dir",
        data,
    ];
    let (code, stdout, stderr) = run_cli(dir.path(), &create);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let printed: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(printed["email"], "ann@example.com");
    assert_eq!(printed["teams"], json!(["billing", "support"]));
    assert!(!stdout.contains("argon2") && !stdout.contains(PASSWORD), "{stdout}");
    let (code, _, stderr) = run_cli(dir.path(), &create);
    assert_ne!(code, 0);
    assert!(stderr.contains("already exists"), "{stderr}");

    std::fs::write(&password_file, "short\n").unwrap();
    let reset = ["agent", "reset-password", "--name", "ann", "--password-file", file, "--data-dir", data];
    let (code, _, stderr) = run_cli(dir.path(), &reset);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("10 characters"), "{stderr}");
    std::fs::write(&password_file, "another long password\n").unwrap();
    let (code, _, stderr) = run_cli(dir.path(), &reset);
    assert_eq!(code, 0, "{stderr}");
    let ghost = ["agent", "reset-password", "--name", "ghost", "--password-file", file, "--data-dir", data];
    let (code, _, stderr) = run_cli(dir.path(), &ghost);
    assert_ne!(code, 0);
    assert!(stderr.contains("not found"), "{stderr}");

    let stored = RedbStore::open(dir.path().join("data/frontdesk.redb")).unwrap().agent("ann").unwrap().unwrap();
    assert!(frontdesk_core::auth::password::verify_password(&stored.password_hash, "another long password"));
    assert!(!frontdesk_core::auth::password::verify_password(&stored.password_hash, PASSWORD));

    let server = Server::start(dir.path());
    let (_, listed) = server.get("/api/v1/agents");
    assert_eq!(listed["agents"][0]["name"], "ann");
    assert_eq!(listed["agents"][0]["role"], "lead");
    let (code, _, stderr) = run_cli(dir.path(), &reset);
    assert_ne!(code, 0);
    assert!(stderr.contains("in use"), "{stderr}");
}

#[test]
fn deactivating_an_agent_ends_its_sessions_across_a_restart() {
    let dir = workdir();
    let server = Server::start(dir.path());
    server.create_agent("sam", "agent", &[]);
    server.create_agent("bea", "agent", &[]);
    server.stop();

    // Sessions as the console stores them, straight into the data file.
    let path = dir.path().join("data/frontdesk.redb");
    let now = jiff::Timestamp::now();
    let session = |secret: &str, agent: &str| Session {
        hash: hash_secret(secret),
        agent: agent.into(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + jiff::SignedDuration::from_hours(8),
    };
    {
        let store = RedbStore::open(&path).unwrap();
        let book = frontdesk_core::sla::SlaBook::default();
        let ctx = frontdesk_core::write::ExecContext {
            now,
            auto_close_after: jiff::SignedDuration::from_hours(96),
            sla: &book,
            outreach_window: jiff::SignedDuration::from_hours(24),
            plugins: frontdesk_core::write::PluginRoutes::NONE,
        };
        for (secret, agent) in [("cookie-sam", "sam"), ("cookie-bea", "bea")] {
            let outcome = frontdesk_core::write::execute::execute_alone(
                &store,
                &Command::StartSession(session(secret, agent)),
                &ctx,
            )
            .unwrap();
            assert!(matches!(outcome, Outcome::Session(_)));
        }
    }

    let server = Server::start(dir.path());
    let (status, body) = server.patch("/api/v1/agents/sam", json!({"active": false}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"], false);
    server.stop();
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.session(&hash_secret("cookie-sam")).unwrap(), None, "sam is signed out");
    assert!(store.session(&hash_secret("cookie-bea")).unwrap().is_some(), "bea is not, after a restart too");
}
