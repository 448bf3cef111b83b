//! The loaded rule set: every `*.rhai` file compiled once to an AST shared
//! across threads, swapped atomically on reload (a call in flight keeps the
//! `Arc` of the version it started with), and each file's status for the
//! admin API.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::actions::{self, Action, RuleAction};
use super::engine::{CallDeadline, ScriptLimits, harden};
use crate::domain::Actor;

/// Most actions one hook call may ask for; a call asking for more fails
/// whole, so a runaway loop cannot flood a case with events.
pub const MAX_ACTIONS_PER_CALL: usize = 100;

/// A hook scripts may define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hook {
    /// `on_case_created(ticket, customer)`.
    CaseCreated,
    /// `on_message(ticket, message, customer)`.
    Message,
    /// `on_status_changed(ticket, from, to)`.
    StatusChanged,
    /// `on_sla_warning(ticket, metric)`.
    SlaWarning,
    /// `on_sla_breach(ticket, metric)`.
    SlaBreach,
    /// `on_health_changed(customer, old, new)`.
    HealthChanged,
    /// `on_tick(now)`.
    Tick,
}

impl Hook {
    /// Every hook.
    pub const ALL: [Hook; 7] = [
        Hook::CaseCreated,
        Hook::Message,
        Hook::StatusChanged,
        Hook::SlaWarning,
        Hook::SlaBreach,
        Hook::HealthChanged,
        Hook::Tick,
    ];

    /// The function name.
    pub const fn name(self) -> &'static str {
        match self {
            Hook::CaseCreated => "on_case_created",
            Hook::Message => "on_message",
            Hook::StatusChanged => "on_status_changed",
            Hook::SlaWarning => "on_sla_warning",
            Hook::SlaBreach => "on_sla_breach",
            Hook::HealthChanged => "on_health_changed",
            Hook::Tick => "on_tick",
        }
    }

    /// How many parameters it takes.
    pub const fn arity(self) -> usize {
        match self {
            Hook::CaseCreated | Hook::SlaWarning | Hook::SlaBreach => 2,
            Hook::Message | Hook::StatusChanged | Hook::HealthChanged => 3,
            Hook::Tick => 1,
        }
    }
}

/// One compiled file.
#[derive(Debug)]
pub struct ScriptFile {
    /// File name (`10-triage.rhai`).
    pub name: String,
    /// First 8 hex digits of the SHA-256 of its source.
    pub hash: String,
    source: Arc<str>,
    ast: rhai::AST,
    hooks: BTreeSet<Hook>,
}

/// Per-thread compiled copies, by file version.
type ThreadAsts = std::collections::HashMap<usize, (Arc<ScriptFile>, Arc<rhai::AST>)>;

thread_local! {
    /// Each thread's own compiled copy of each file version. An AST shared
    /// across threads shares its string and module `Arc`s, and their reference
    /// counts ping-pong between cores on every call: per-thread copies let
    /// hooks for different cases run in parallel at full speed.
    static THREAD_ASTS: std::cell::RefCell<ThreadAsts> = std::cell::RefCell::new(ThreadAsts::new());
}

impl ScriptFile {
    /// The actor its actions are recorded with.
    pub fn actor(&self) -> Actor {
        Actor::Script { file: self.name.clone(), hash: self.hash.clone() }
    }
}

/// A consistent set of files, in name order.
#[derive(Debug, Default)]
pub struct RuleSet {
    files: Vec<Arc<ScriptFile>>,
}

impl RuleSet {
    /// Whether any file defines `hook`.
    pub fn has(&self, hook: Hook) -> bool {
        self.files.iter().any(|f| f.hooks.contains(&hook))
    }

    /// The files that define `hook`, in name order.
    pub fn files_with(&self, hook: Hook) -> impl Iterator<Item = &Arc<ScriptFile>> {
        self.files.iter().filter(move |f| f.hooks.contains(&hook))
    }

    /// Whether no file defines any hook.
    pub fn is_empty(&self) -> bool {
        self.files.iter().all(|f| f.hooks.is_empty())
    }
}

/// A compile or run-time error of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScriptProblem {
    /// `compile` or `runtime`.
    pub kind: &'static str,
    /// The message.
    pub message: String,
    /// Line, when known.
    pub line: Option<usize>,
    /// Column, when known.
    pub column: Option<usize>,
    /// When it happened.
    pub at: Timestamp,
}

/// A file as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ScriptStatus {
    /// File name.
    pub file: String,
    /// Hash of the version running (`null` if none ever compiled).
    pub hash: Option<String>,
    /// When the running version was loaded.
    pub loaded_at: Option<Timestamp>,
    /// `ok`, or `error` (the last good version, if any, keeps running). A removed
    /// file disappears from the list.
    pub status: &'static str,
    /// Hooks the running version defines.
    pub hooks: Vec<&'static str>,
    /// The last compile error (cleared by a good compile).
    pub compile_error: Option<ScriptProblem>,
    /// The last run-time error.
    pub runtime_error: Option<ScriptProblem>,
}

/// The rules host: engine, current set, statuses.
pub struct RulesHost {
    engine: rhai::Engine,
    limits: ScriptLimits,
    set: RwLock<Arc<RuleSet>>,
    statuses: Mutex<BTreeMap<String, ScriptStatus>>,
}

impl std::fmt::Debug for RulesHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RulesHost").field("limits", &self.limits).finish_non_exhaustive()
    }
}

/// A script that does not compile.
struct CompileError {
    message: String,
    line: Option<usize>,
    column: Option<usize>,
}

/// Where a script problem is, from a Rhai position.
fn position(pos: rhai::Position) -> (Option<usize>, Option<usize>) {
    (pos.line(), pos.position())
}

/// The first 8 hex digits of the SHA-256 of `source`.
pub fn short_hash(source: &str) -> String {
    crate::auth::hex(&Sha256::digest(source.as_bytes())[..4])
}

impl RulesHost {
    /// A host with no files.
    pub fn new(limits: ScriptLimits) -> Self {
        Self {
            engine: harden(&limits),
            limits,
            set: RwLock::new(Arc::new(RuleSet::default())),
            statuses: Mutex::new(BTreeMap::new()),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &ScriptLimits {
        &self.limits
    }

    /// The current set; hold it for the whole of a command's evaluation.
    pub fn current(&self) -> Arc<RuleSet> {
        self.set.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Every file's status, by name.
    pub fn statuses(&self) -> Vec<ScriptStatus> {
        self.lock_statuses().values().cloned().collect()
    }

    fn lock_statuses(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ScriptStatus>> {
        self.statuses.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Compiles `source`; the hooks it defines, or the error with position.
    fn compile(&self, source: &str) -> Result<(rhai::AST, BTreeSet<Hook>), CompileError> {
        let ast = self.engine.compile(source).map_err(|e| {
            let (line, column) = position(e.position());
            CompileError { message: e.to_string(), line, column }
        })?;
        let hooks = Hook::ALL
            .into_iter()
            .filter(|hook| ast.iter_functions().any(|f| f.name == hook.name() && f.params.len() == hook.arity()))
            .collect();
        Ok((ast, hooks))
    }

    /// Loads (or reloads) one file's source. A file that does not compile
    /// keeps its last good version running; `None` removes the file.
    pub fn update(&self, name: &str, source: Option<&str>, now: Timestamp) {
        let mut statuses = self.lock_statuses();
        let current = self.current();
        let mut files: Vec<Arc<ScriptFile>> = current.files.iter().filter(|f| f.name != name).cloned().collect();
        match source {
            None => {
                if current.files.iter().any(|f| f.name == name) || statuses.contains_key(name) {
                    tracing::info!(file = name, "script removed");
                }
                statuses.remove(name);
            }
            Some(source) => {
                let hash = short_hash(source);
                let status = statuses.entry(name.to_owned()).or_insert_with(|| ScriptStatus {
                    file: name.to_owned(),
                    hash: None,
                    loaded_at: None,
                    status: "ok",
                    hooks: Vec::new(),
                    compile_error: None,
                    runtime_error: None,
                });
                if status.hash.as_deref() == Some(hash.as_str()) && status.compile_error.is_none() {
                    return;
                }
                match self.compile(source) {
                    Ok((ast, hooks)) => {
                        tracing::info!(file = name, hash = %hash, hooks = hooks.len(), "script loaded");
                        status.hash = Some(hash.clone());
                        status.loaded_at = Some(now);
                        status.status = "ok";
                        status.hooks = hooks.iter().map(|h| h.name()).collect();
                        status.compile_error = None;
                        status.runtime_error = None;
                        let source = Arc::from(source);
                        files.push(Arc::new(ScriptFile { name: name.to_owned(), hash, source, ast, hooks }));
                    }
                    Err(CompileError { message, line, column }) => {
                        tracing::error!(file = name, line, column, error = %message, "script does not compile; keeping the last good version");
                        status.status = "error";
                        status.compile_error = Some(ScriptProblem { kind: "compile", message, line, column, at: now });
                        // The last good version stays.
                        files.extend(current.files.iter().filter(|f| f.name == name).cloned());
                    }
                }
            }
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        *self.set.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(RuleSet { files });
    }

    /// Loads every `*.rhai` file of `dir` (and forgets files no longer there).
    ///
    /// # Errors
    /// The directory cannot be read.
    pub fn load_dir(&self, dir: &Path, now: Timestamp) -> std::io::Result<()> {
        let found = script_files(dir)?;
        let known: Vec<String> = self.lock_statuses().keys().cloned().collect();
        for name in known {
            if !found.iter().any(|(n, _)| *n == name) {
                self.update(&name, None, now);
            }
        }
        for (name, path) in found {
            match std::fs::read_to_string(&path) {
                Ok(source) => self.update(&name, Some(&source), now),
                Err(e) => tracing::warn!(file = %path.display(), error = %e, "cannot read script"),
            }
        }
        Ok(())
    }

    /// Calls `hook` in every file of `set` that defines it, in name order.
    /// A call that fails or hits a limit yields one `Failed` action and none
    /// of the actions it queued before failing.
    pub fn call(
        &self,
        set: &RuleSet,
        hook: Hook,
        args: impl Fn() -> Vec<rhai::Dynamic>,
        trigger: Option<usize>,
        now: Timestamp,
    ) -> Vec<RuleAction> {
        // Built once: no action is applied between the files here.
        let args = args();
        set.files_with(hook).flat_map(|file| self.call_file(file, hook, args.clone(), trigger, now)).collect()
    }

    /// This thread's copy of `file`'s AST (compiled on first use).
    fn thread_ast(&self, file: &Arc<ScriptFile>) -> Arc<rhai::AST> {
        THREAD_ASTS.with(|cache| {
            // Keyed by the file version's address; holding the `Arc` keeps the
            // address from being reused by another version while cached.
            let key = Arc::as_ptr(file) as usize;
            if let Some((_, ast)) = cache.borrow().get(&key) {
                return ast.clone();
            }
            // It compiled before, so it compiles again; fall back to the shared copy if not.
            let ast = Arc::new(self.engine.compile(&*file.source).unwrap_or_else(|_| file.ast.clone()));
            let mut cache = cache.borrow_mut();
            // Old versions of reloaded files are dropped with the rest.
            if cache.len() > 256 {
                cache.clear();
            }
            cache.insert(key, (file.clone(), ast.clone()));
            ast
        })
    }

    /// Calls `hook` in one file.
    pub fn call_file(
        &self,
        file: &Arc<ScriptFile>,
        hook: Hook,
        args: Vec<rhai::Dynamic>,
        trigger: Option<usize>,
        now: Timestamp,
    ) -> Vec<RuleAction> {
        let mut out = Vec::new();
        {
            let actor = file.actor();
            let span = tracing::debug_span!("rule", file = %file.name, hook = hook.name());
            let _entered = span.enter();
            let _ = actions::take();
            let ast = self.thread_ast(file);
            let result = {
                let _deadline = CallDeadline::arm(Duration::from_millis(self.limits.timeout_ms));
                let options = rhai::CallFnOptions::new().eval_ast(false).rewind_scope(true);
                let mut scope = rhai::Scope::new();
                let mut call_args = args;
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.engine.call_fn_with_options::<rhai::Dynamic>(
                        options,
                        &mut scope,
                        &ast,
                        hook.name(),
                        std::mem::take(&mut call_args),
                    )
                }))
            };
            let queued = actions::take();
            let failure = match result {
                Ok(Ok(_)) if queued.len() > MAX_ACTIONS_PER_CALL => Some((
                    format!("asked for {} actions in one call (at most {MAX_ACTIONS_PER_CALL})", queued.len()),
                    None,
                    None,
                )),
                Ok(Ok(_)) => None,
                Ok(Err(e)) => {
                    let (line, column) = position(e.position());
                    Some((e.to_string(), line, column))
                }
                Err(_) => Some(("the script engine panicked".to_owned(), None, None)),
            };
            match failure {
                None => out.extend(queued.into_iter().map(|action| RuleAction {
                    trigger,
                    actor: actor.clone(),
                    action,
                    produced: 0,
                })),
                Some((message, line, column)) => {
                    tracing::warn!(file = %file.name, hook = hook.name(), line, column, error = %message, "script failed");
                    if let Some(status) = self.lock_statuses().get_mut(&file.name) {
                        status.runtime_error =
                            Some(ScriptProblem { kind: "runtime", message: message.clone(), line, column, at: now });
                    }
                    let action = Action::Failed { hook: hook.name().to_owned(), message, line, column };
                    out.push(RuleAction { trigger, actor, action, produced: 0 });
                }
            }
        }
        out
    }
}

/// The `*.rhai` files of `dir`, by name.
///
/// # Errors
/// The directory cannot be read.
pub fn script_files(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "rhai")
            && path.is_file()
            && let Some(name) = path.file_name().and_then(|n| n.to_str())
        {
            files.push((name.to_owned(), path.clone()));
        }
    }
    files.sort();
    Ok(files)
}

/// Compiles every file of `dir` without running anything: `(file, line,
/// column, message)` for each error.
///
/// # Errors
/// The directory cannot be read.
pub fn check_dir(dir: &Path, limits: &ScriptLimits) -> std::io::Result<Vec<(String, usize, usize, String)>> {
    let host = RulesHost::new(limits.clone());
    let mut errors = Vec::new();
    for (name, path) in script_files(dir)? {
        let source = std::fs::read_to_string(&path)?;
        if let Err(CompileError { message, line, column }) = host.compile(&source) {
            errors.push((name, line.unwrap_or(0), column.unwrap_or(0), message));
        }
    }
    Ok(errors)
}
