//! The layers of `core/src`: a module may name (`use crate::...`, or a
//! `crate::...` path inline) only modules of its own layer or a lower one.
//!
//! Why this order: the core is built upwards from pure values, and each
//! layer needs only what is below it. Time (`clock`, `duration`,
//! `timestamp_text`) needs nothing; the `domain` (cases, customers, events,
//! their lifecycle and the fold of events into rows) needs only time; `auth`
//! (tokens, roles) and `case_ref` (signed case references) build on domain
//! ids and actors; `script_views` are the read-only views Rhai sees, which
//! SLA policy conditions use as well as rules, so they sit below `sla`; `sla`
//! and then `metrics` (which counts SLA results) are pure maths over cases.
//! `store` persists all of these, so it sits above them and below everything
//! that reads or writes durably: the two sandboxes, `rules` (Rhai) and
//! `plugins` (wasmtime), which query the store and keep their state in it;
//! then `write`, the write path, which decides each command, applies rule
//! actions and plugin effects and commits through the store; and last
//! `runtime`, which drives the writer from the service, the timers and the
//! outbox worker. Imports that only go down keep the pure layers testable
//! without a store or a runtime, and keep a module near the top from becoming
//! a dependency of one near the bottom. Inside `write` the order follows one
//! command through the writer (its input and refusals, the pure decision, the
//! context it runs in, the outbox rows it leaves, the commit, the command
//! families built on those, and on top the executor, the plan and the single
//! writer); inside `runtime` the events it publishes come first and the tasks
//! that call the service last.
//!
//! The order is written down once, in the tables below. A module (or a file
//! of a layered folder) that no table lists is itself a failure, as is a
//! table entry with no module behind it, so the tables cannot drift from the
//! tree. The checker takes its tables and its files as arguments: the tests
//! at the end run it on small trees held in memory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers of `core/src`, lowest first, by top-level module: a folder
/// module by its folder name, a file by its name without `.rs`. A module may
/// use modules of its own layer and of the layers before it.
const LAYERS: &[&[&str]] = &[
    &["clock", "duration", "timestamp_text"],
    &["domain"],
    &["auth", "case_ref"],
    &["script_views"],
    &["sla"],
    &["metrics"],
    &["store"],
    &["rules"],
    &["plugins"],
    &["write"],
    &["runtime"],
    &["conformance"],
];

/// Folders whose sub-modules are layered as well, each with its own order,
/// lowest first: a sub-module may use only those listed before it. The
/// folder's `mod.rs` is its root and may use all of them.
const FOLDER_LAYERS: &[(&str, &[&str])] = &[
    (
        "write",
        &[
            "command",
            "decide",
            "context",
            "outbox_rows",
            "commit",
            "customers",
            "agents",
            "tokens",
            "views",
            "messages",
            "macros",
            "automatic",
            "inbound",
            "plugin_effects",
            "rule_actions",
            "execute",
            "plan",
            "recording",
            "writer",
        ],
    ),
    ("runtime", &["notify", "events", "service", "reads", "feed", "timers", "outbox_worker"]),
];

/// Upward imports inside a layered folder that are allowed anyway:
/// (folder, importing sub-module, imported sub-module, why).
const ALLOWED_CYCLES: &[(&str, &str, &str, &str)] = &[];

const LAYOUT: Layout = Layout { layers: LAYERS, folders: FOLDER_LAYERS, allowed: ALLOWED_CYCLES };

#[test]
fn core_imports_only_downward() {
    // Read at run time: a test binary reused from a shared target dir may
    // have been built in another clone.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let files = read_tree(&Path::new(&manifest).join("src"));
    assert!(files.iter().any(|(path, _)| path == "lib.rs"), "no core/src/lib.rs under {manifest}");
    let problems = check("core/src", &files, &LAYOUT);
    assert!(
        problems.is_empty(),
        "{} layering problem(s) in core/src (the order is LAYERS and FOLDER_LAYERS in core/tests/layout.rs):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The HTTP API and the console reach the core only through its door
/// (`runtime::Frontdesk`): no handler may name the store, whose calls block.
#[test]
fn http_handlers_use_no_store_type() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    for folder in ["http", "console"] {
        let root = Path::new(&manifest).join("../src").join(folder);
        let files = read_tree(&root);
        assert!(!files.is_empty(), "no handlers under {}", root.display());
        let problems: Vec<String> = files
            .iter()
            .flat_map(|(path, source)| {
                source
                    .lines()
                    .enumerate()
                    .filter(|(_, line)| line.contains("frontdesk_core::store"))
                    .map(move |(n, line)| format!("src/{folder}/{path}:{}: {}", n + 1, line.trim()))
            })
            .collect();
        assert!(problems.is_empty(), "handler code names the store; use runtime::Frontdesk:\n{}", problems.join("\n"));
    }
}

/// The order to check against: [`LAYERS`], [`FOLDER_LAYERS`] and
/// [`ALLOWED_CYCLES`] for the real tree, smaller ones in the tests.
struct Layout {
    layers: &'static [&'static [&'static str]],
    folders: &'static [(&'static str, &'static [&'static str])],
    allowed: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

impl Layout {
    /// The 1-based layer of top-level module `module`.
    fn layer(&self, module: &str) -> Option<usize> {
        self.layers.iter().position(|layer| layer.contains(&module)).map(|i| i + 1)
    }

    /// The order of `folder`'s sub-modules, if it is a layered folder.
    fn folder(&self, folder: &str) -> Option<&'static [&'static str]> {
        self.folders.iter().find(|(name, _)| *name == folder).map(|(_, order)| *order)
    }
}

/// Every `.rs` file below `dir`: (path relative to `dir` with `/`, text).
fn read_tree(dir: &Path) -> Vec<(String, String)> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, String)>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path();
            let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
            if path.is_dir() {
                walk(&path, &format!("{prefix}{name}/"), out);
            } else if name.ends_with(".rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.push((format!("{prefix}{name}"), text));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out.sort();
    out
}

/// Where a file sits: its top-level module, and the sub-module it belongs
/// to inside that folder (`None` for a file module, or the folder's
/// `mod.rs`). `None` for `lib.rs`, the crate root.
fn module_of(path: &str) -> Option<(&str, Option<&str>)> {
    let mut parts = path.split('/');
    let first = parts.next()?;
    let Some(second) = parts.next() else {
        return (first != "lib.rs").then(|| (first.trim_end_matches(".rs"), None));
    };
    let nested = parts.next().is_some();
    let sub = if nested { Some(second) } else { Some(second.trim_end_matches(".rs")).filter(|s| *s != "mod") };
    Some((first, sub))
}

/// Checks `files` (paths relative to the source root, shown as `root`)
/// against `layout`; one line a problem, none when the tree is layered.
fn check(root: &str, files: &[(String, String)], layout: &Layout) -> Vec<String> {
    // The modules the tree has: top-level ones (with the first file seen),
    // and the sub-modules of each folder.
    let mut modules: BTreeMap<&str, &str> = BTreeMap::new();
    let mut subs: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for (path, _) in files {
        if let Some((top, sub)) = module_of(path) {
            modules.entry(top).or_insert(path);
            if let Some(sub) = sub {
                subs.entry(top).or_default().entry(sub).or_insert(path);
            }
        }
    }
    let mut problems = check_tables(root, layout, &modules, &subs);

    let root_file = |module: Option<&str>| {
        let candidates = match module {
            None => vec!["lib.rs".to_owned()],
            Some(m) => vec![format!("{m}/mod.rs"), format!("{m}.rs")],
        };
        files.iter().find(|(path, _)| candidates.contains(path)).map(|(_, text)| reexports(&strip_comments(text)))
    };
    let crate_reexports = root_file(None).unwrap_or_default();
    let folder_reexports: BTreeMap<&str, Reexports> =
        layout.folders.iter().map(|(folder, _)| (*folder, root_file(Some(folder)).unwrap_or_default())).collect();

    let mut used_allowances = BTreeSet::new();
    // One problem a line and module pair: `use crate::x::{a, b}` is one.
    let mut reported = BTreeSet::new();
    let mut report = |path: &str, line: usize, to: &str, problem: String| {
        if reported.insert((path.to_owned(), line, to.to_owned())) {
            problems.push(problem);
        }
    };
    for (path, text) in files {
        let Some((top, sub)) = module_of(path) else { continue };
        let code = strip_comments(text);
        for found in crate_paths(&code) {
            let line = 1 + code[..found.at].iter().filter(|c| **c == '\n').count();
            let named = found.segments.strip_suffix(&["self".to_owned()]).unwrap_or(&found.segments);
            let import = format!("crate::{}", named.join("::"));
            let place = format!("{root}/{path}:{line}: `{import}`");
            let source_line = text.lines().nth(line - 1).unwrap_or_default().trim();
            let shown = format!("\n    {line} | {source_line}");
            let segments = match resolve(&found.segments, |name| modules.contains_key(name), &crate_reexports) {
                Ok(segments) => segments,
                Err(why) => {
                    report(path, line, &import, format!("{place}: {why} (lib.rs){shown}"));
                    continue;
                }
            };
            let target = segments[0].as_str();
            if target != top {
                let (Some(from), Some(to)) = (layout.layer(top), layout.layer(target)) else { continue };
                if to > from {
                    let problem = format!(
                        "{place} reaches up: `{top}` is in layer {from}, `{target}` in layer {to}, above it{shown}"
                    );
                    report(path, line, target, problem);
                }
                continue;
            }
            // The same top-level module: only layered folders care, and only
            // which sub-module of the folder the path names.
            let (Some(order), Some(from_sub)) = (layout.folder(top), sub) else { continue };
            if segments.len() < 2 || segments[1] == "self" {
                continue;
            }
            let folder_subs = subs.get(top);
            let is_sub = |name: &str| folder_subs.is_some_and(|s| s.contains_key(name));
            let Ok(inner) = resolve(&segments[1..], is_sub, &folder_reexports[top]) else {
                // An item of the folder's root itself, not of a sub-module.
                continue;
            };
            let to_sub = inner[0].as_str();
            if to_sub == from_sub || !is_sub(to_sub) {
                continue;
            }
            let position = |name: &str| order.iter().position(|s| *s == name).map(|i| i + 1);
            let (Some(from), Some(to)) = (position(from_sub), position(to_sub)) else { continue };
            if to <= from {
                continue;
            }
            if let Some(entry) = layout.allowed.iter().position(|(f, a, b, _)| (*f, *a, *b) == (top, from_sub, to_sub))
            {
                used_allowances.insert(entry);
                continue;
            }
            let problem = format!(
                "{place} reaches up inside `{top}`: `{from_sub}` is its layer {from}, `{to_sub}` its layer {to}, \
                 above it (move the code, or list the pair in ALLOWED_CYCLES with a reason){shown}"
            );
            report(path, line, &format!("{top}::{to_sub}"), problem);
        }
    }
    for (entry, (folder, from, to, _)) in layout.allowed.iter().enumerate() {
        if !used_allowances.contains(&entry) && subs.get(folder).is_some_and(|s| s.contains_key(from)) {
            problems.push(format!(
                "ALLOWED_CYCLES allows `{folder}::{from}` to use `{folder}::{to}`, but it no longer does: remove the entry"
            ));
        }
    }
    problems
}

/// What is wrong with the tables themselves, and what the tree has that
/// they do not list.
fn check_tables(
    root: &str,
    layout: &Layout,
    modules: &BTreeMap<&str, &str>,
    subs: &BTreeMap<&str, BTreeMap<&str, &str>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut listed = BTreeSet::new();
    for name in layout.layers.iter().flat_map(|layer| layer.iter()) {
        if !listed.insert(*name) {
            problems.push(format!("LAYERS lists `{name}` more than once"));
        } else if !modules.contains_key(name) {
            problems
                .push(format!("LAYERS lists `{name}`, but {root} has no module `{name}`: remove it or fix the name"));
        }
    }
    for (module, path) in modules {
        if !listed.contains(module) {
            problems.push(format!("{root}/{path}: module `{module}` is in no layer: add it to LAYERS"));
        }
    }
    for (folder, order) in layout.folders {
        if !listed.contains(folder) {
            problems.push(format!("FOLDER_LAYERS orders `{folder}`, which LAYERS does not list"));
        }
        let found = subs.get(folder);
        let mut seen = BTreeSet::new();
        for sub in *order {
            if !seen.insert(*sub) {
                problems.push(format!("FOLDER_LAYERS lists `{folder}::{sub}` more than once"));
            } else if modules.contains_key(folder) && !found.is_some_and(|s| s.contains_key(sub)) {
                problems.push(format!(
                    "FOLDER_LAYERS lists `{folder}::{sub}`, but {root}/{folder} has no such file: remove it or fix the name"
                ));
            }
        }
        for (sub, path) in found.into_iter().flatten() {
            if !seen.contains(sub) {
                problems.push(format!(
                    "{root}/{path}: `{folder}::{sub}` is in no layer of `{folder}`: add it to LAYERS (FOLDER_LAYERS)"
                ));
            }
        }
    }
    for (folder, from, to, why) in layout.allowed {
        let order = layout.folder(folder).unwrap_or_default();
        let position = |name: &str| order.iter().position(|s| s == &name);
        match (position(from), position(to)) {
            (Some(a), Some(b)) if a < b && !why.trim().is_empty() => {}
            (Some(a), Some(b)) if a < b => {
                problems.push(format!("ALLOWED_CYCLES: `{folder}::{from}` -> `{folder}::{to}` needs a reason"))
            }
            (Some(_), Some(_)) => problems.push(format!(
                "ALLOWED_CYCLES: `{folder}::{from}` -> `{folder}::{to}` is not upward, so needs no entry: remove it"
            )),
            _ => problems.push(format!(
                "ALLOWED_CYCLES: `{folder}::{from}` -> `{folder}::{to}` names a sub-module FOLDER_LAYERS does not list"
            )),
        }
    }
    problems
}

/// The names a root file (`lib.rs`, a folder's `mod.rs`) re-exports with
/// `pub use`: each name with the path it stands for (relative to that
/// module), and the paths it re-exports all of with `*`.
#[derive(Default)]
struct Reexports {
    names: BTreeMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
}

fn reexports(code: &[char]) -> Reexports {
    let mut out = Reexports::default();
    let mut i = 0;
    while let Some(at) = find_word(code, i, "use") {
        i = at + 3;
        if !preceded_by_pub(code, at) {
            continue;
        }
        let mut paths = Vec::new();
        let mut j = i;
        parse_tree(code, &mut j, Vec::new(), &mut paths);
        for path in paths {
            let mut segments = path.segments;
            match segments.first().map(String::as_str) {
                Some("self") => drop(segments.remove(0)),
                Some("crate" | "super") | None => continue,
                Some(_) => {}
            }
            if segments.is_empty() {
                continue;
            }
            if path.glob {
                out.globs.push(segments);
            } else if let Some(name) = path.alias.or_else(|| segments.last().cloned()) {
                out.names.insert(name, segments);
            }
        }
    }
    out
}

/// `segments` with a leading re-exported name replaced by the path behind
/// it, so that the first segment is a module for which `is_module` holds.
///
/// # Errors
/// Why the first segment names no module.
fn resolve(
    segments: &[String],
    is_module: impl Fn(&str) -> bool,
    reexports: &Reexports,
) -> Result<Vec<String>, String> {
    let first = &segments[0];
    if is_module(first) {
        return Ok(segments.to_vec());
    }
    let behind = match (reexports.names.get(first), reexports.globs.as_slice()) {
        (Some(path), _) => path.clone(),
        (None, [glob]) => glob.iter().chain([first]).cloned().collect(),
        (None, []) => return Err(format!("`{first}` is neither a module nor re-exported")),
        (None, _) => return Err(format!("`{first}` may come from any of several `pub use ...::*`; name its module")),
    };
    if behind.first().is_some_and(|m| is_module(m)) {
        Ok(behind.into_iter().chain(segments[1..].iter().cloned()).collect())
    } else {
        Err(format!("`{first}` is re-exported from `{}`, which is no module here", behind.join("::")))
    }
}

/// One path found after `crate::` (or in a `pub use`), expanded out of its
/// `{...}` groups.
#[derive(Debug, PartialEq)]
struct FoundPath {
    segments: Vec<String>,
    /// Whether it ends in `::*`.
    glob: bool,
    /// The name after `as`.
    alias: Option<String>,
    /// Where its last segment starts, in chars.
    at: usize,
}

/// Every `crate::...` path in `code`, group by group: `use` lines, paths
/// inline and in attribute strings (`serialize_with = "crate::..."`).
/// `$crate::` (macros) is not this crate's path at the call site.
fn crate_paths(code: &[char]) -> Vec<FoundPath> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(at) = find_word(code, i, "crate") {
        i = at + 5;
        let after_dollar = at > 0 && code[at - 1] == '$';
        if !after_dollar && starts_with(code, i, "::") {
            i += 2;
            parse_tree(code, &mut i, Vec::new(), &mut out);
        }
    }
    out.retain(|path| path.segments.first().is_some_and(|first| first != "self"));
    out
}

/// Parses one use tree (`a::b`, `a::{b, c::*}`, `a as b`) at `code[*i..]`,
/// each leaf path appended to `out` after `prefix`. Stops at whatever is not
/// part of a path (`(`, `<`, `;`, ...), so it also reads paths inline.
fn parse_tree(code: &[char], i: &mut usize, prefix: Vec<String>, out: &mut Vec<FoundPath>) {
    skip_space(code, i);
    match code.get(*i) {
        Some('{') => {
            *i += 1;
            loop {
                skip_space(code, i);
                match code.get(*i) {
                    Some(',') => *i += 1,
                    Some('}') => {
                        *i += 1;
                        return;
                    }
                    Some(_) => {
                        let before = *i;
                        parse_tree(code, i, prefix.clone(), out);
                        if *i == before {
                            return;
                        }
                    }
                    None => return,
                }
            }
        }
        Some('*') => {
            out.push(FoundPath { segments: prefix, glob: true, alias: None, at: *i });
            *i += 1;
        }
        Some(c) if is_ident(*c) => {
            let at = *i;
            let mut segments = prefix;
            segments.push(read_ident(code, i));
            let mut next = *i;
            skip_space(code, &mut next);
            if starts_with(code, next, "::") {
                let mut after = next + 2;
                skip_space(code, &mut after);
                if matches!(code.get(after), Some(c) if *c == '{' || *c == '*' || is_ident(*c)) {
                    *i = after;
                    parse_tree(code, i, segments, out);
                    return;
                }
            }
            let mut alias = None;
            if find_word(code, next, "as") == Some(next) {
                let mut name_at = next + 2;
                skip_space(code, &mut name_at);
                *i = name_at;
                alias = Some(read_ident(code, i));
            }
            out.push(FoundPath { segments, glob: false, alias, at });
        }
        _ => {}
    }
}

/// `source` with its comments blanked out (newlines kept, so offsets and
/// line numbers stay), strings and char literals left as they are.
fn strip_comments(source: &str) -> Vec<char> {
    let s: Vec<char> = source.chars().collect();
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < s.len() {
        let end = if starts_with(&s, i, "//") {
            let end = s[i..].iter().position(|c| *c == '\n').map_or(s.len(), |n| i + n);
            out.extend(s[i..end].iter().map(|c| blank(*c)));
            i = end;
            continue;
        } else if starts_with(&s, i, "/*") {
            let mut depth = 0;
            let mut j = i;
            while j < s.len() {
                if starts_with(&s, j, "/*") {
                    depth += 1;
                    j += 2;
                } else if starts_with(&s, j, "*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            out.extend(s[i..j.min(s.len())].iter().map(|c| blank(*c)));
            i = j;
            continue;
        } else if let Some(end) = raw_string_end(&s, i) {
            end
        } else if s[i] == '"' {
            let mut j = i + 1;
            while j < s.len() && s[j] != '"' {
                j += if s[j] == '\\' { 2 } else { 1 };
            }
            j + 1
        } else if s[i] == '\'' {
            char_literal_end(&s, i).unwrap_or(i + 1)
        } else {
            i + 1
        };
        let end = end.min(s.len());
        out.extend_from_slice(&s[i..end]);
        i = end;
    }
    out
}

/// The end of a raw string (`r"..."`, `r#"..."#`, `br"..."`) starting at `i`.
fn raw_string_end(s: &[char], i: usize) -> Option<usize> {
    let starts_token = |at: usize| at == 0 || !is_ident(s[at - 1]);
    let open = match s[i] {
        'r' if starts_token(i) => i + 1,
        'b' if starts_token(i) && s.get(i + 1) == Some(&'r') => i + 2,
        _ => return None,
    };
    let hashes = s[open..].iter().take_while(|c| **c == '#').count();
    if s.get(open + hashes) != Some(&'"') {
        return None;
    }
    let mut j = open + hashes + 1;
    while j < s.len() {
        if s[j] == '"' && s[j + 1..].iter().take(hashes).filter(|c| **c == '#').count() == hashes {
            return Some(j + 1 + hashes);
        }
        j += 1;
    }
    Some(s.len())
}

/// The end of a char literal at `i` (`'a'`, `'\n'`, `'\''`), or `None`
/// for a lifetime (`'a`).
fn char_literal_end(s: &[char], i: usize) -> Option<usize> {
    if s.get(i + 1) == Some(&'\\') {
        let close = s.get(i + 3..)?.iter().position(|c| *c == '\'')?;
        Some(i + 3 + close + 1)
    } else if s.get(i + 2) == Some(&'\'') {
        Some(i + 3)
    } else {
        None
    }
}

/// Whether the `use` at `at` follows `pub` or `pub(...)`.
fn preceded_by_pub(code: &[char], at: usize) -> bool {
    let mut k = at;
    while k > 0 && code[k - 1].is_whitespace() {
        k -= 1;
    }
    if k > 0 && code[k - 1] == ')' {
        match code[..k].iter().rposition(|c| *c == '(') {
            Some(open) => k = open,
            None => return false,
        }
        while k > 0 && code[k - 1].is_whitespace() {
            k -= 1;
        }
    }
    k >= 3 && code[k - 3..k] == ['p', 'u', 'b'] && (k == 3 || !is_ident(code[k - 4]))
}

/// The first `word` at or after `from` that stands alone (no identifier
/// character on either side).
fn find_word(code: &[char], from: usize, word: &str) -> Option<usize> {
    let len = word.chars().count();
    (from..code.len().saturating_sub(len - 1)).find(|&at| {
        starts_with(code, at, word)
            && (at == 0 || !is_ident(code[at - 1]))
            && code.get(at + len).is_none_or(|c| !is_ident(*c))
    })
}

fn starts_with(code: &[char], at: usize, text: &str) -> bool {
    let mut chars = text.chars();
    code.get(at..).is_some_and(|rest| rest.len() >= text.len() && chars.by_ref().zip(rest).all(|(a, b)| a == *b))
}

fn skip_space(code: &[char], i: &mut usize) {
    while code.get(*i).is_some_and(|c| c.is_whitespace()) {
        *i += 1;
    }
}

fn read_ident(code: &[char], i: &mut usize) -> String {
    let start = *i;
    while code.get(*i).is_some_and(|c| is_ident(*c)) {
        *i += 1;
    }
    code[start..*i].iter().collect()
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

mod checker {
    //! The checker on small trees held in memory, so that what it catches is
    //! tested without touching `core/src`.

    use super::*;

    const FAKE: Layout = Layout {
        layers: &[&["clock"], &["domain"], &["store", "rules"], &["write"], &["runtime"]],
        folders: &[("write", &["decide", "commit", "writer"])],
        allowed: &[],
    };

    fn tree(files: &[(&str, &str)]) -> Vec<(String, String)> {
        files.iter().map(|(path, text)| ((*path).to_owned(), (*text).to_owned())).collect()
    }

    /// A layered tree that passes; each test breaks it in one way.
    fn good() -> Vec<(&'static str, &'static str)> {
        vec![
            ("lib.rs", "pub mod clock;\npub mod domain;\npub use clock::Clock;\npub use domain::*;\n"),
            ("clock.rs", "pub trait Clock {}\n"),
            ("domain/mod.rs", "pub mod ids;\npub use ids::CaseId;\n"),
            ("domain/ids.rs", "use crate::clock::Clock;\npub struct CaseId;\n"),
            ("store.rs", "use crate::{Clock, CaseId};\nuse crate::rules::Rule;\npub struct Store;\n"),
            ("rules.rs", "use crate::store::Store;\npub struct Rule;\n"),
            ("write/mod.rs", "mod commit;\nmod decide;\nmod writer;\npub use writer::Writer;\n"),
            ("write/decide.rs", "use crate::domain::ids::CaseId;\npub fn decide() {}\n"),
            ("write/commit.rs", "use crate::write::decide;\nuse crate::store::Store;\n"),
            ("write/writer.rs", "use crate::write::{commit, decide::decide};\npub struct Writer;\n"),
            ("runtime.rs", "use crate::write::Writer;\nfn run() { crate::write::writer::Writer::start(); }\n"),
        ]
    }

    fn with(file: &'static str, text: &'static str) -> Vec<(String, String)> {
        let mut files = good();
        files.retain(|(path, _)| *path != file);
        files.push((file, text));
        tree(&files)
    }

    #[test]
    fn a_layered_tree_passes() {
        assert_eq!(check("src", &tree(&good()), &FAKE), Vec::<String>::new());
    }

    #[test]
    fn an_upward_import_is_reported() {
        let files = with("domain/ids.rs", "use crate::clock::Clock;\n\nuse crate::runtime::run;\npub struct CaseId;\n");
        let problems = check("src", &files, &FAKE);
        assert_eq!(
            problems,
            ["src/domain/ids.rs:3: `crate::runtime::run` reaches up: `domain` is in layer 2, `runtime` in layer 5, \
                 above it\n    3 | use crate::runtime::run;"]
        );
    }

    #[test]
    fn paths_inline_grouped_or_in_strings_count_and_comments_do_not() {
        let text = r##"
            //! Unlike [`crate::runtime`], this is low.
            /* crate::runtime::a /* nested */ crate::runtime::b */
            use crate::{clock::Clock, store::{Store, self}};
            const URL: &str = "http://example/"; // crate::runtime::c
            const RAW: &str = r#"a "quoted" // part"#;
            const QUOTE: char = '"';
            fn f<'a>(x: &'a str) { crate::write::writer::Writer::start::<u8>(x); }
            #[serde(serialize_with = "crate::write::show")]
            macro_rules! m { () => { $crate::runtime::run() } }
        "##;
        let code = strip_comments(text);
        let found: Vec<String> = crate_paths(&code).iter().map(|p| p.segments.join("::")).collect();
        assert_eq!(
            found,
            ["clock::Clock", "store::Store", "store::self", "write::writer::Writer::start", "write::show"]
        );
        let lines: Vec<usize> =
            crate_paths(&code).iter().map(|p| 1 + code[..p.at].iter().filter(|c| **c == '\n').count()).collect();
        assert_eq!(lines, [4, 4, 4, 8, 9]);
    }

    #[test]
    fn sub_modules_of_a_layered_folder_are_ordered_unless_allowed() {
        let files = with("write/decide.rs", "use crate::write::commit::Batch;\nuse crate::write::Writer;\n");
        let problems = check("src", &files, &FAKE);
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].starts_with(
            "src/write/decide.rs:1: `crate::write::commit::Batch` reaches up inside `write`: `decide` is its layer 1, \
             `commit` its layer 2"
        ));
        // `Writer` is re-exported by write/mod.rs from `writer`.
        assert!(problems[1].starts_with("src/write/decide.rs:2: `crate::write::Writer` reaches up inside `write`"));

        let allowed = Layout {
            allowed: &[
                ("write", "decide", "commit", "a batch refuses as a whole"),
                ("write", "decide", "writer", "the writer's limits"),
            ],
            ..FAKE
        };
        assert_eq!(check("src", &files, &allowed), Vec::<String>::new());
        let stale = check("src", &tree(&good()), &allowed);
        assert_eq!(stale.len(), 2, "{stale:#?}");
        assert!(stale[0].contains("no longer does: remove the entry"), "{stale:#?}");
    }

    #[test]
    fn modules_the_tables_do_not_list_are_reported() {
        let mut files = tree(&good());
        files.push(("view.rs".into(), "use crate::domain::CaseId;\n".into()));
        files.push(("write/extra.rs".into(), String::new()));
        let layout = Layout {
            layers: &[&["clock"], &["domain", "gone"], &["store", "rules"], &["write"], &["runtime"]],
            ..FAKE
        };
        let problems = check("src", &files, &layout);
        assert_eq!(
            problems,
            [
                "LAYERS lists `gone`, but src has no module `gone`: remove it or fix the name",
                "src/view.rs: module `view` is in no layer: add it to LAYERS",
                "src/write/extra.rs: `write::extra` is in no layer of `write`: add it to LAYERS (FOLDER_LAYERS)",
            ]
        );
    }

    #[test]
    fn names_at_the_crate_root_resolve_through_lib_rs() {
        // `pub use domain::*` makes `crate::Anything` domain's: above clock.
        let problems = check("src", &with("clock.rs", "use crate::Anything;\n"), &FAKE);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].contains("`clock` is in layer 1, `domain` in layer 2"), "{problems:#?}");
        // Without a glob, a name that nothing re-exports is a problem of its own.
        let mut files = with("rules.rs", "use crate::Nowhere;\n");
        files.retain(|(path, _)| path != "lib.rs");
        files.push(("lib.rs".into(), "pub mod clock;\npub use clock::Clock;\npub use domain::ids::CaseId;\n".into()));
        assert_eq!(
            check("src", &files, &FAKE),
            [
                "src/rules.rs:1: `crate::Nowhere`: `Nowhere` is neither a module nor re-exported (lib.rs)\n    1 | use crate::Nowhere;"
            ]
        );
    }
}
