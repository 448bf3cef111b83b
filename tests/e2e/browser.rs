//! A real browser for the console's tests: Debian's Chromium, headless,
//! driven over WebDriver by `chromedriver` through fantoccini.
//!
//! Scenarios are sync, like the rest of tests/e2e: [`Browser`] owns a small
//! tokio runtime and every [`Page`] call blocks on it. Each test starts its
//! own [`Browser`] (one `chromedriver` process, killed with everything it
//! started when the browser is dropped), so tests run in parallel without
//! sharing anything. Each [`Browser::session`] is its own Chromium with its
//! own fresh profile: two sessions are two agents with separate cookie jars.
//!
//! ```ignore
//! let Some(browser) = Browser::start() else { return }; // None only with FRONTDESK_SKIP_BROWSER=1
//! let page = browser.session();
//! page.goto(&format!("{}/login", server.base));
//! page.fill("input[name=email]", "dana@example.com");
//! page.click("button[type=submit]");
//! page.wait_for_text("h1", "Cases");
//! page.press("r"); // to whatever has focus: the body after a load
//! page.fill("textarea", "On our way.");
//! page.press(CTRL_ENTER);
//! ```
//!
//! Every helper panics on failure; waits poll until [`Page::timeout`] and
//! then fail with the page's URL, a snippet of its HTML and a screenshot
//! saved under the target directory.
//!
//! Chromium and chromedriver come from Debian (`.ci/run` installs them). When
//! they are missing the test fails, unless `FRONTDESK_SKIP_BROWSER=1` is set,
//! which skips browser tests on a developer's machine (also when they are
//! installed).

// The helpers are for the console's scenarios, which do not use all of them yet.
#![allow(dead_code)]

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

pub use fantoccini::key::Key;

/// The browser Debian's `chromium` package installs.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The driver Debian's `chromium-driver` package installs.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Set to `1` to skip browser tests (a developer's machine without Chromium).
pub const SKIP_ENV: &str = "FRONTDESK_SKIP_BROWSER";
/// How long a [`Page`] waits for an element, a text or a click by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Ctrl+Enter, for [`Page::press`] and [`Page::press_in`].
pub const CTRL_ENTER: &str = "\u{e009}\u{e007}";
/// Escape, for [`Page::press`] and [`Page::press_in`].
pub const ESCAPE: &str = "\u{e00c}";

/// How often waits look again.
const POLL: Duration = Duration::from_millis(50);
/// How long chromedriver may take to answer its first `/status`.
const DRIVER_START: Duration = Duration::from_secs(20);

/// A running `chromedriver`; sessions on it are [`Page`]s.
pub struct Browser {
    driver: Arc<Driver>,
}

/// The chromedriver process, its address and the runtime the WebDriver
/// client runs on. Shared by the pages, so it outlives the last of them.
struct Driver {
    child: Child,
    url: String,
    runtime: tokio::runtime::Runtime,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// One browser session: its own Chromium process and profile, one tab.
/// Dropping it ends the session (Chromium exits) and removes the profile.
pub struct Page {
    client: Option<Client>,
    driver: Arc<Driver>,
    /// How long waits, clicks and fills retry before failing.
    pub timeout: Duration,
    _profile: tempfile::TempDir,
}

/// A cookie as the browser holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserCookie {
    /// The cookie's name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// `HttpOnly`: scripts on the page cannot read it.
    pub http_only: bool,
    /// `Secure`.
    pub secure: bool,
    /// `Strict`, `Lax` or `None`, as the server set it.
    pub same_site: Option<String>,
    /// Its path, if the browser reports one.
    pub path: Option<String>,
}

impl Browser {
    /// Starts a chromedriver on a free port and waits until it answers.
    ///
    /// Returns `None` only when `FRONTDESK_SKIP_BROWSER=1` is set; the test
    /// then returns at once (`let Some(browser) = Browser::start() else { return };`).
    ///
    /// # Panics
    ///
    /// If Chromium or chromedriver is not installed (the message says how to
    /// install them), or chromedriver does not start.
    pub fn start() -> Option<Browser> {
        if std::env::var(SKIP_ENV).is_ok_and(|v| v == "1") {
            eprintln!("{SKIP_ENV}=1: browser test skipped");
            return None;
        }
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER].into_iter().filter(|p| !Path::new(p).exists()).collect();
        assert!(
            missing.is_empty(),
            "browser tests need {} (missing). Run .ci/run, which installs them, or \
             `apt-get install --no-install-recommends chromium chromium-driver`; \
             {SKIP_ENV}=1 skips browser tests on a developer's machine",
            missing.join(" and ")
        );
        Some(Browser { driver: Arc::new(Driver::start()) })
    }

    /// Opens a new session: a fresh Chromium with a profile of its own, so
    /// cookies, storage and cache are not shared with any other session.
    ///
    /// # Panics
    ///
    /// If chromedriver cannot start Chromium.
    pub fn session(&self) -> Page {
        let profile = tempfile::Builder::new().prefix("frontdesk-chromium-").tempdir().expect("profile dir");
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            // Without these Chromium keeps calling home, and on a closed
            // network floods it with refused connections.
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,800".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let Value::Object(capabilities) = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        }) else {
            unreachable!("a JSON object")
        };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let client = match self.driver.runtime.block_on(builder.connect(&self.driver.url)) {
            Ok(client) => client,
            Err(e) => panic!("chromedriver could not start Chromium: {e}\n{}", self.driver.log_tail()),
        };
        Page { client: Some(client), driver: self.driver.clone(), timeout: DEFAULT_TIMEOUT, _profile: profile }
    }
}

impl Driver {
    fn start() -> Driver {
        let dir = tempfile::Builder::new().prefix("frontdesk-chromedriver-").tempdir().expect("driver dir");
        let log = dir.path().join("chromedriver.log");
        // A port found free can be taken before chromedriver binds it: try another.
        for _ in 0..3 {
            let port = free_port();
            let out = File::create(&log).expect("chromedriver log");
            // chromedriver and every Chromium it starts run in the process
            // group of a shell that SIGKILLs the whole group when its stdin
            // (a pipe from this process) closes: when the Browser is dropped,
            // and also when the test process dies without unwinding (a
            // panic=abort, a SIGKILL, Ctrl+C: the group is not the
            // terminal's, so no signal of its own reaches it). The group also
            // ends when chromedriver exits.
            let mut child = Command::new("sh")
                .args(["-c", r#"("$0" "$@"; kill -KILL 0) & read -r _; kill -KILL 0"#, CHROMEDRIVER])
                .arg(format!("--port={port}"))
                .stdin(Stdio::piped())
                .stdout(out.try_clone().expect("log handle"))
                .stderr(out)
                .process_group(0)
                .spawn()
                .expect("start chromedriver");
            let url = format!("http://127.0.0.1:{port}");
            if wait_ready(&mut child, &url, &log) {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                return Driver { child, url, runtime, log, _dir: dir };
            }
            kill_group(&mut child);
            let tail = log_tail(&log);
            assert!(tail.contains("bind"), "chromedriver exited at start\n{tail}");
        }
        panic!("chromedriver found no free port in 3 tries\n{}", log_tail(&log));
    }

    fn log_tail(&self) -> String {
        log_tail(&self.log)
    }
}

/// Polls `/status` until chromedriver says it is ready; false if it exited.
fn wait_ready(child: &mut Child, url: &str, log: &Path) -> bool {
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(2))).build().into();
    let deadline = Instant::now() + DRIVER_START;
    while Instant::now() < deadline {
        if child.try_wait().expect("chromedriver status").is_some() {
            return false;
        }
        if let Ok(mut response) = agent.get(&format!("{url}/status")).call()
            && let Ok(status) = response.body_mut().read_json::<Value>()
            && status["value"]["ready"] == true
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    kill_group(child);
    panic!("chromedriver did not answer within {DRIVER_START:?}\n{}", log_tail(log));
}

/// The end of chromedriver's log, for failure messages.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = &lines[lines.len().saturating_sub(20)..];
    format!("chromedriver log ({}):\n{}", log.display(), tail.join("\n"))
}

/// Ends chromedriver's process group (it and every Chromium it started):
/// closing the watchdog's stdin makes it SIGKILL the group. Chromium's crash
/// handlers, in sessions of their own, exit with the browser they watch.
fn kill_group(child: &mut Child) {
    drop(child.stdin.take());
    let _ = child.wait();
}

impl Drop for Driver {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl Page {
    fn client(&self) -> &Client {
        self.client.as_ref().expect("session open")
    }

    fn block<T>(&self, future: impl Future<Output = T>) -> T {
        self.driver.runtime.block_on(future)
    }

    /// Loads `url` and waits until its document has loaded.
    pub fn goto(&self, url: &str) {
        if let Err(e) = self.block(self.client().goto(url)) {
            self.fail(&format!("goto {url}: {e}"));
        }
    }

    /// The URL the page is on now.
    pub fn url(&self) -> String {
        match self.block(self.client().current_url()) {
            Ok(url) => url.to_string(),
            Err(e) => panic!("current url: {e}"),
        }
    }

    /// Goes back one page in the history.
    pub fn back(&self) {
        if let Err(e) = self.block(self.client().back()) {
            self.fail(&format!("back: {e}"));
        }
    }

    /// Reloads the page.
    pub fn refresh(&self) {
        if let Err(e) = self.block(self.client().refresh()) {
            self.fail(&format!("refresh: {e}"));
        }
    }

    /// The page's HTML as it is now (the DOM, not the bytes served).
    pub fn html(&self) -> String {
        self.block(self.client().source()).unwrap_or_else(|e| panic!("page source: {e}"))
    }

    /// Waits until an element matching `css` is visible.
    pub fn wait_for(&self, css: &str) {
        self.poll(&format!("a visible {css}"), || {
            self.visible_texts(css).map(|texts| (!texts.is_empty()).then_some(()))
        });
    }

    /// Waits until a visible element matching `css` has `text` in its text;
    /// returns that element's whole text.
    pub fn wait_for_text(&self, css: &str, text: &str) -> String {
        self.poll(&format!("a visible {css} with text {text:?}"), || {
            self.visible_texts(css).map(|texts| texts.into_iter().find(|t| t.contains(text)))
        })
    }

    /// Waits until no visible element matches `css`.
    pub fn wait_gone(&self, css: &str) {
        self.poll(&format!("no visible {css}"), || self.visible_texts(css).map(|texts| texts.is_empty().then_some(())));
    }

    /// The text of the first visible element matching `css`, once there is one.
    pub fn text(&self, css: &str) -> String {
        self.poll(&format!("a visible {css}"), || self.visible_texts(css).map(|texts| texts.into_iter().next()))
    }

    /// The texts of every visible element matching `css` now (no wait).
    pub fn texts(&self, css: &str) -> Vec<String> {
        self.visible_texts(css).unwrap_or_else(|e| self.fail(&e))
    }

    /// How many elements match `css` now, visible or not (no wait).
    pub fn count(&self, css: &str) -> usize {
        let n = self.execute("return document.querySelectorAll(arguments[0]).length", vec![json!(css)]);
        usize::try_from(n.as_u64().unwrap_or_default()).expect("count")
    }

    /// The attribute `name` of the first element matching `css`, once there
    /// is one (visible or not); `None` if it has no such attribute.
    pub fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let script = "const e = document.querySelector(arguments[0]); \
                      return e === null ? [false, null] : [true, e.getAttribute(arguments[1])]";
        self.poll(&format!("an element {css}"), || {
            let found = self.try_execute(script, vec![json!(css), json!(name)])?;
            Ok((found[0] == true).then(|| found[1].as_str().map(str::to_owned)))
        })
    }

    /// The current value of the form field matching `css` (what was typed,
    /// not the `value` attribute).
    pub fn value(&self, css: &str) -> String {
        let script = "const e = document.querySelector(arguments[0]); return e === null ? null : String(e.value)";
        self.poll(&format!("a field {css}"), || {
            Ok(self.try_execute(script, vec![json!(css)])?.as_str().map(str::to_owned))
        })
    }

    /// Clears the field matching `css` and types `text` into it, as a user
    /// would (key events); focus stays in the field.
    pub fn fill(&self, css: &str, text: &str) {
        self.with_element(&format!("fill {css}"), css, async |element| {
            element.clear().await?;
            element.send_keys(text).await
        });
    }

    /// Clicks the element matching `css`, waiting until it is there and
    /// clickable (not covered, not disabled).
    pub fn click(&self, css: &str) {
        self.with_element(&format!("click {css}"), css, async |element| element.click().await);
    }

    /// Types `keys` into the element matching `css` (focusing it first).
    /// `keys` may hold [`Key`]s: `&format!("{}{}", Key::Control, Key::Enter)`,
    /// or [`CTRL_ENTER`].
    pub fn press_in(&self, css: &str, keys: &str) {
        self.with_element(&format!("press {keys:?} in {css}"), css, async |element| element.send_keys(keys).await);
    }

    /// Presses `keys` on whatever has focus (the body after a page loads, or
    /// after [`Page::blur`]): `press("r")`, `press("?")`, `press(CTRL_ENTER)`.
    /// Modifiers ([`Key::Control`], [`Key::Shift`], [`Key::Alt`],
    /// [`Key::Meta`]) stay down until the end of `keys`; other keys go down
    /// and up one after the other.
    pub fn press(&self, keys: &str) {
        let modifiers = [Key::Control, Key::Shift, Key::Alt, Key::Meta].map(char::from);
        let mut actions = KeyActions::new("keyboard".to_owned());
        let mut held = Vec::new();
        for key in keys.chars() {
            actions = actions.then(KeyAction::Down { value: key });
            if modifiers.contains(&key) {
                held.push(key);
            } else {
                actions = actions.then(KeyAction::Up { value: key });
            }
        }
        for key in held.into_iter().rev() {
            actions = actions.then(KeyAction::Up { value: key });
        }
        if let Err(e) = self.block(self.client().perform_actions(actions)) {
            self.fail(&format!("press {keys:?}: {e}"));
        }
    }

    /// Takes focus away from the focused element, so [`Page::press`] goes to the body.
    pub fn blur(&self) {
        self.execute("if (document.activeElement) document.activeElement.blur()", vec![]);
    }

    /// Runs `script` as the body of a function (`return` gives its value)
    /// with `args` as `arguments`; returns what it returned, as JSON.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.try_execute(script, args).unwrap_or_else(|e| self.fail(&e))
    }

    /// [`Page::execute`] without arguments.
    pub fn js(&self, script: &str) -> Value {
        self.execute(script, vec![])
    }

    /// Every cookie the browser holds for the page's origin, `HttpOnly` ones included.
    pub fn cookies(&self) -> Vec<BrowserCookie> {
        let cookies =
            self.block(self.client().get_all_cookies()).unwrap_or_else(|e| self.fail(&format!("cookies: {e}")));
        cookies
            .into_iter()
            .map(|c| BrowserCookie {
                name: c.name().to_owned(),
                value: c.value().to_owned(),
                http_only: c.http_only().unwrap_or(false),
                secure: c.secure().unwrap_or(false),
                same_site: c.same_site().map(|s| s.to_string()),
                path: c.path().map(str::to_owned),
            })
            .collect()
    }

    /// The cookie `name` for the page's origin, if the browser holds one.
    pub fn cookie(&self, name: &str) -> Option<BrowserCookie> {
        self.cookies().into_iter().find(|c| c.name == name)
    }

    /// Saves a PNG of the viewport to `path`.
    pub fn screenshot(&self, path: &Path) {
        let png = self.block(self.client().screenshot()).unwrap_or_else(|e| panic!("screenshot: {e}"));
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }

    fn try_execute(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.block(self.client().execute(script, args)).map_err(|e| format!("script {script:?}: {e}"))
    }

    /// The innerText of every visible element matching `css`; an error for
    /// a selector that does not parse.
    fn visible_texts(&self, css: &str) -> Result<Vec<String>, String> {
        let script = "return Array.from(document.querySelectorAll(arguments[0])) \
                      .filter(e => e.checkVisibility({ visibilityProperty: true })) \
                      .map(e => e.innerText)";
        let texts = self.try_execute(script, vec![json!(css)])?;
        Ok(texts.as_array().into_iter().flatten().map(|t| t.as_str().unwrap_or_default().to_owned()).collect())
    }

    /// Calls `check` until it gives a value or an error, or the timeout
    /// passes; fails on an error or the timeout.
    fn poll<T>(&self, what: &str, mut check: impl FnMut() -> Result<Option<T>, String>) -> T {
        let deadline = Instant::now() + self.timeout;
        loop {
            match check() {
                Ok(Some(value)) => return value,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL),
                Ok(None) => self.fail(&format!("waited {:?} for {what}", self.timeout)),
                Err(e) => self.fail(&format!("waiting for {what}: {e}")),
            }
        }
    }

    /// Finds `css` and runs `act` on it, again and again until it succeeds
    /// or the timeout passes (the element may not be there, or not be
    /// interactable, yet).
    fn with_element(
        &self,
        what: &str,
        css: &str,
        act: impl AsyncFn(fantoccini::elements::Element) -> Result<(), fantoccini::error::CmdError>,
    ) {
        let deadline = Instant::now() + self.timeout;
        loop {
            let attempt = self.block(async {
                let element = self.client().find(Locator::Css(css)).await?;
                act(element).await
            });
            match attempt {
                Ok(()) => return,
                Err(e) if Instant::now() >= deadline => self.fail(&format!("{what} for {:?}: {e}", self.timeout)),
                Err(_) => std::thread::sleep(POLL),
            }
        }
    }

    /// Panics with `what`, the page's URL, the start of its HTML and the
    /// path of a screenshot of it.
    fn fail(&self, what: &str) -> ! {
        static FAILURES: AtomicUsize = AtomicUsize::new(0);
        let url = self.block(self.client().current_url()).map_or_else(|e| format!("(unknown: {e})"), |u| u.to_string());
        let html = self.block(self.client().source()).unwrap_or_else(|e| format!("(unavailable: {e})"));
        let snippet: String = html.chars().take(2000).collect();
        let more = if html.chars().count() > 2000 { "\n..." } else { "" };
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-failures");
        let shot = dir.join(format!("{}-{}.png", std::process::id(), FAILURES.fetch_add(1, Ordering::Relaxed)));
        let saved = std::fs::create_dir_all(&dir).is_ok()
            && self.block(self.client().screenshot()).is_ok_and(|png| std::fs::write(&shot, png).is_ok());
        let shot = if saved { shot.display().to_string() } else { "(none)".to_owned() };
        panic!("{what}\nat {url}\nscreenshot: {shot}\nHTML:\n{snippet}{more}");
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Ends the session: chromedriver quits this Chromium.
            let _ = self.driver.runtime.block_on(client.close());
        }
    }
}
