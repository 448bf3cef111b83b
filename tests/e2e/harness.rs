//! Starts the real binary and talks to it over HTTP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::{Value, json};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_frontdesk");

/// The repository being tested. Read when the test runs (cargo sets it), not
/// baked in at build time: a test binary reused from a shared target dir may
/// have been built in another clone.
pub fn repo() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// A running server over a data directory.
pub struct Server {
    child: Child,
    api: Api,
    /// What the server logged so far.
    pub log: Arc<Mutex<Vec<String>>>,
}

/// HTTP calls to a server, as its admin unless told otherwise. Shared by the
/// real binary ([`Server`]) and the in-process [`crate::app::TestApp`],
/// which both deref to it, so a test reads the same on either.
pub struct Api {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The admin token from `admin.token`.
    pub token: String,
    agent: ureq::Agent,
}

/// The password [`Api::create_agent`] gives agents.
pub const PASSWORD: &str = "correct horse battery";

/// A test's working directory; removed when dropped.
pub fn workdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

impl Server {
    /// Starts a server with the default config in a new directory under `dir`.
    pub fn start(dir: &Path) -> Server {
        Self::start_with(dir, "")
    }

    /// Starts a server with `config` (TOML) in `dir`; data in `dir/data`, and
    /// rules from `dir/scripts` (created empty if missing: tests of the core
    /// run without the default rules unless they copy them in).
    pub fn start_with(dir: &Path, config: &str) -> Server {
        Self::start_with_plugins(dir, config, None)
    }

    /// As [`Server::start_with`], with third-party plugins from `plugins_dir`.
    pub fn start_with_plugins(dir: &Path, config: &str, plugins_dir: Option<&Path>) -> Server {
        Self::launch(dir, config, plugins_dir, None)
    }

    /// As [`Server::start_with`], in a process whose address space is
    /// limited to `kib` KiB (`ulimit -v`).
    pub fn start_with_address_limit(dir: &Path, config: &str, kib: u64) -> Server {
        Self::launch(dir, config, None, Some(kib))
    }

    fn launch(dir: &Path, config: &str, plugins_dir: Option<&Path>, address_limit_kib: Option<u64>) -> Server {
        let config_path = dir.join("frontdesk.toml");
        std::fs::write(&config_path, config).expect("write config");
        std::fs::create_dir_all(dir.join("scripts")).expect("scripts dir");
        let mut command = match address_limit_kib {
            Some(kib) => {
                let mut shell = Command::new("sh");
                shell.args(["-c", &format!("ulimit -v {kib} && exec \"$0\" \"$@\""), BIN]);
                shell
            }
            None => Command::new(BIN),
        };
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--config"])
            .arg(&config_path)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--scripts-dir")
            .arg(dir.join("scripts"));
        if let Some(plugins) = plugins_dir {
            command.arg("--plugins-dir").arg(plugins);
        }
        let mut child = command
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start frontdesk");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("frontdesk listening")
                    && let Some(addr) = line.split("addr=").nth(1).and_then(|s| s.split_whitespace().next())
                {
                    let _ = addr_tx.send(addr.to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = match addr_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start; log:\n{}", log.lock().unwrap().join("\n"));
            }
        };
        let token = std::fs::read_to_string(dir.join("data/admin.token")).expect("admin token").trim().to_owned();
        Server { child, api: Api::new(format!("http://{addr}"), token), log }
    }

    /// The server's log so far, as one string.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) {
        signal(&self.child, libc::SIGTERM);
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "server exited with {status}; log:\n{}", self.log.lock().unwrap().join("\n"));
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(mut self) {
        signal(&self.child, libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl std::ops::Deref for Server {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Api {
    /// A client of the server at `base` that calls as `token`.
    pub fn new(base: String, token: String) -> Api {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Api { base, token, agent }
    }

    /// Sends `method path` with an optional JSON body as `token`; returns the
    /// status and the parsed body (`Value::Null` if none).
    pub fn call_as(&self, token: Option<&str>, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let auth = token.map(|t| format!("Bearer {t}"));
        let response = match (method, body) {
            ("GET", _) => with_auth(self.agent.get(&url), auth.as_deref()).call(),
            ("DELETE", _) => with_auth(self.agent.delete(&url), auth.as_deref()).call(),
            ("POST", None) => with_auth(self.agent.post(&url), auth.as_deref()).send_empty(),
            ("POST", Some(b)) => with_auth(self.agent.post(&url), auth.as_deref()).send_json(b),
            ("PATCH", Some(b)) => with_auth(self.agent.patch(&url), auth.as_deref()).send_json(b),
            ("PUT", Some(b)) => with_auth(self.agent.put(&url), auth.as_deref()).send_json(b),
            (m, b) => panic!("unsupported call {m} with body {b:?}"),
        };
        read(response.expect("http call"))
    }

    /// Sends raw bytes with a content type, as the admin.
    pub fn post_raw(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let response = self
            .agent
            .post(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .content_type(content_type)
            .send(&body[..])
            .expect("http call");
        read(response)
    }

    /// POST raw bytes with headers and no token (webhooks).
    pub fn post_unauthenticated(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.post(&url).content_type("application/json");
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        read(request.send(body).expect("http call"))
    }

    /// POST with headers, as the admin.
    pub fn post_with(&self, path: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.post(&url).header("Authorization", &format!("Bearer {}", self.token));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        read(request.send_json(body).expect("http call"))
    }

    /// POST with headers as `token`.
    pub fn post_with_token(&self, token: &str, path: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.post(&url).header("Authorization", &format!("Bearer {token}"));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        read(request.send_json(body).expect("http call"))
    }

    /// GET as the admin.
    pub fn get(&self, path: &str) -> (u16, Value) {
        self.call_as(Some(&self.token.clone()), "GET", path, None)
    }

    /// POST as the admin.
    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call_as(Some(&self.token.clone()), "POST", path, Some(&body))
    }

    /// PATCH as the admin.
    pub fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.call_as(Some(&self.token.clone()), "PATCH", path, Some(&body))
    }

    /// Creates a case for `email` over `channel`; returns the case.
    pub fn create_case(&self, subject: &str, email: &str, channel: &str) -> Value {
        let (status, case) = self.post(
            "/api/v1/cases",
            json!({"subject": subject, "customer": {"email": email}, "channel": channel, "message": {"body": "hello"}}),
        );
        assert_eq!(status, 201, "{case}");
        case
    }

    /// Creates an agent (a person) with `role` and `teams` through the API,
    /// with the password [`PASSWORD`]; returns the agent as answered.
    pub fn create_agent(&self, name: &str, role: &str, teams: &[&str]) -> Value {
        let body = json!({"name": name, "email": format!("{name}@example.com"), "role": role, "teams": teams,
            "password": PASSWORD});
        let (status, agent) = self.post("/api/v1/agents", body);
        assert_eq!(status, 201, "{agent}");
        agent
    }

    /// Creates a token with `role` through the API; returns the secret.
    pub fn create_token(&self, name: &str, role: &str) -> String {
        let (status, body) = self.post("/api/v1/tokens", json!({"name": name, "role": role}));
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(pid, sig) };
}

fn with_auth<B>(request: ureq::RequestBuilder<B>, auth: Option<&str>) -> ureq::RequestBuilder<B> {
    match auth {
        Some(auth) => request.header("Authorization", auth),
        None => request,
    }
}

fn read(mut response: ureq::http::Response<ureq::Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, body)
}

/// Runs the binary with `args` to completion; returns (exit code, stdout, stderr).
pub fn run_cli(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(BIN).args(args).current_dir(dir).output().expect("run frontdesk");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
