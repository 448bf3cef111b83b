//! What plugin tests need: the test plugins of `tests/plugins/` built from
//! source, a plugins folder to install them in, signed webhooks, and a small
//! HTTP server on 127.0.0.1 in the role of a provider.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Builds every crate under `tests/plugins/` for wasm32-wasip2 once per run;
/// returns the folder holding the components.
pub fn built() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = crate::harness::repo();
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasm-test-plugins");
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        command
            .current_dir(&root)
            .args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir"])
            .arg(&target);
        for name in names(&root.join("tests/plugins")) {
            command.args(["-p", &format!("frontdesk-test-plugin-{name}")]);
        }
        let output = command.output().expect("run cargo");
        assert!(output.status.success(), "building test plugins failed:\n{}", String::from_utf8_lossy(&output.stderr));
        target.join("wasm32-wasip2/release")
    })
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("tests/plugins")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("plugin.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Installs the named test plugins in `dir/plugins` (manifest and component,
/// as a third party would); returns that folder.
pub fn install(dir: &Path, plugins: &[&str]) -> PathBuf {
    let built = built();
    let root = crate::harness::repo().join("tests/plugins");
    let target = dir.join("plugins");
    for name in plugins {
        let folder = target.join(name);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::copy(root.join(name).join("plugin.toml"), folder.join("plugin.toml")).unwrap();
        let wasm = built.join(format!("frontdesk_test_plugin_{}.wasm", name.replace('-', "_")));
        std::fs::copy(&wasm, folder.join("plugin.wasm")).unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));
    }
    target
}

/// Posts `body` to channel `plugin`'s webhook, signed with `secret`.
pub fn post_signed(
    server: &crate::harness::Server,
    plugin: &str,
    secret: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let bytes = serde_json::to_vec(body).unwrap();
    let signature = sign(secret, &bytes);
    server.post_unauthenticated(
        &format!("/api/v1/channels/{plugin}/inbound"),
        &[("X-Frontdesk-Signature", &signature)],
        &bytes,
    )
}

/// `sha256=<hex>` of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One request the fake provider received.
#[derive(Debug, Clone)]
pub struct Received {
    /// `POST /send HTTP/1.1`.
    pub request_line: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
    /// The status it was answered with.
    pub status: u16,
}

/// What a provider answers a request that it does not fail: a status and a
/// JSON body, from the request line and the body.
pub type Responder = dyn Fn(&str, &str) -> (u16, String) + Send + Sync;

impl Received {
    /// The value of header `name` (lower case), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// A provider on 127.0.0.1 that records requests and fails the first
/// `fail_first` of them with 503.
#[derive(Clone)]
pub struct FakeProvider {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Every request, in order.
    pub received: Arc<Mutex<Vec<Received>>>,
    fail_first: Arc<AtomicUsize>,
    delay_ms: Arc<AtomicU64>,
    respond: Arc<Responder>,
}

impl FakeProvider {
    /// Starts listening; the first `fail_first` requests get 503, the rest
    /// `200 {"id": "p-N"}`.
    pub fn start(fail_first: usize) -> FakeProvider {
        let counter = AtomicUsize::new(0);
        Self::serve(fail_first, move |_, _| {
            (200, format!("{{\"id\":\"p-{}\"}}", counter.fetch_add(1, Ordering::SeqCst)))
        })
    }

    /// Starts listening with `respond` deciding every answer (an API with
    /// endpoints, such as a CRM's).
    pub fn start_with(respond: impl Fn(&str, &str) -> (u16, String) + Send + Sync + 'static) -> FakeProvider {
        Self::serve(0, respond)
    }

    fn serve(fail_first: usize, respond: impl Fn(&str, &str) -> (u16, String) + Send + Sync + 'static) -> FakeProvider {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind provider");
        let provider = FakeProvider {
            addr: listener.local_addr().unwrap().to_string(),
            received: Arc::default(),
            fail_first: Arc::new(AtomicUsize::new(fail_first)),
            delay_ms: Arc::default(),
            respond: Arc::new(respond),
        };
        let p = provider.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let p = p.clone();
                std::thread::spawn(move || p.answer(stream));
            }
        });
        provider
    }

    /// Answer every request only after `delay` (a slow provider).
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.delay_ms.store(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    /// Fail (503) every request from now on, or none.
    pub fn set_failing(&self, failing: bool) {
        self.fail_first.store(if failing { usize::MAX } else { 0 }, Ordering::SeqCst);
    }

    /// Requests answered 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.received.lock().unwrap().iter().filter(|r| r.status < 300).cloned().collect()
    }

    fn answer(&self, mut stream: std::net::TcpStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut request_line = String::new();
        reader.read_line(&mut request_line)?;
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
                if k == "content-length" {
                    length = v.parse().unwrap_or(0);
                }
                headers.push((k, v));
            }
        }
        let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
        let body = if chunked { read_chunked(&mut reader)? } else { read_exact(&mut reader, length)? };
        std::thread::sleep(std::time::Duration::from_millis(self.delay_ms.load(Ordering::SeqCst)));
        let fail = self.fail_first.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        let request_line = request_line.trim_end().to_owned();
        let body = String::from_utf8_lossy(&body).into_owned();
        let (status, reply) =
            if fail { (503, "{\"error\":\"try later\"}".to_owned()) } else { (self.respond)(&request_line, &body) };
        self.received.lock().unwrap().push(Received { request_line, headers, body, status });
        let reason = if status < 300 { "OK" } else { "Error" };
        write!(
            stream,
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
            reply.len()
        )?;
        stream.flush()
    }
}

fn read_exact(reader: &mut impl Read, length: usize) -> std::io::Result<Vec<u8>> {
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(body)
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

/// Polls `check` every 100 ms for up to `seconds`; true once it holds.
pub fn eventually(seconds: u64, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    check()
}
