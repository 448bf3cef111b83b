//! Rule fixtures (`scripts/tests/*.json`): a hook, the case and customer it
//! sees, and the actions the rules must ask for. `frontdesk scripts test` runs
//! them so a business can keep its rules under test in git.

use std::path::Path;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::actions::Action;
use super::host::{Hook, RulesHost};
use crate::domain::{Case, Customer};
use crate::script_views::{CustomerView, MessageView, TicketView};

/// One fixture file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// What it shows.
    pub name: String,
    /// `on_case_created`, `on_message`, `on_status_changed`, `on_sla_warning`,
    /// `on_sla_breach`, `on_health_changed` or `on_tick`.
    pub hook: String,
    /// Only this file's hook (default: every file, in name order).
    #[serde(default)]
    pub script: Option<String>,
    /// Case fields that differ from a new, normal-priority case.
    #[serde(default)]
    pub ticket: Value,
    /// Customer fields (`tier`, `name`, `attributes`, ...).
    #[serde(default)]
    pub customer: Value,
    /// The message body, for `on_message`.
    #[serde(default)]
    pub message: Option<String>,
    /// `[from, to]` for `on_status_changed`.
    #[serde(default)]
    pub status: Option<(String, String)>,
    /// The metric, for the SLA hooks.
    #[serde(default)]
    pub metric: Option<String>,
    /// `[before, after]` health scores, for `on_health_changed`.
    #[serde(default)]
    pub health: Option<(i64, i64)>,
    /// "Now" (default 2026-01-05T10:00:00Z).
    #[serde(default)]
    pub now: Option<Timestamp>,
    /// Team -> the names `team_members(team)` returns (default: no teams).
    #[serde(default)]
    pub teams: std::collections::BTreeMap<String, Vec<String>>,
    /// The actions expected, in order.
    pub expect: Vec<Action>,
}

/// Merges `patch` into `base` (objects key by key; `null` changes nothing).
fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (k, v) in patch {
                merge(base.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (_, Value::Null) => {}
        (base, patch) => *base = patch.clone(),
    }
}

impl Fixture {
    fn case(&self, now: Timestamp) -> Result<Case, String> {
        let mut case = json!({
            "id": "1", "subject": "A question", "status": "new", "priority": "normal", "channel": "api",
            "customer_id": "1", "team": null, "assignee": null, "tags": [], "fields": {}, "created_at": now,
            "updated_at": now, "first_response_at": null, "solved_at": null, "closed_at": null, "reopen_count": 0,
            "csat": null, "linked_case_ids": [], "version": 1, "last_event_id": "1"
        });
        merge(&mut case, &self.ticket);
        serde_json::from_value(case).map_err(|e| format!("bad ticket: {e}"))
    }

    fn customer(&self, now: Timestamp) -> Result<Customer, String> {
        let mut customer = json!({
            "id": "1", "name": null, "tier": null, "identities": [{"kind": "email", "value": "customer@example.com"}],
            "attributes": {}, "health": null, "created_at": now, "updated_at": now
        });
        merge(&mut customer, &self.customer);
        serde_json::from_value(customer).map_err(|e| format!("bad customer: {e}"))
    }

    /// Runs the fixture; `Err` describes the difference.
    ///
    /// # Errors
    /// A malformed fixture, or actions other than expected.
    pub fn run(&self, host: &RulesHost) -> Result<(), String> {
        let hook = Hook::ALL
            .into_iter()
            .find(|h| h.name() == self.hook)
            .ok_or_else(|| format!("unknown hook {:?}", self.hook))?;
        let now = self.now.unwrap_or_else(|| "2026-01-05T10:00:00Z".parse().expect("valid default time"));
        let case = self.case(now)?;
        let customer = self.customer(now)?;
        let ticket = rhai::Dynamic::from(TicketView::new(&case, now));
        let customer_view = rhai::Dynamic::from(CustomerView::new(&customer));
        let args = match hook {
            Hook::CaseCreated => vec![ticket, customer_view],
            Hook::Message => {
                let body = self.message.as_deref().ok_or("on_message needs \"message\"")?;
                vec![
                    ticket,
                    rhai::Dynamic::from(MessageView::new(body, format!("customer:{}", customer.id))),
                    customer_view,
                ]
            }
            Hook::StatusChanged => {
                let (from, to) = self.status.clone().ok_or("on_status_changed needs \"status\": [from, to]")?;
                vec![ticket, from.into(), to.into()]
            }
            Hook::SlaWarning | Hook::SlaBreach => {
                vec![ticket, self.metric.clone().ok_or("SLA hooks need \"metric\"")?.into()]
            }
            Hook::HealthChanged => {
                let (before, after) = self.health.ok_or("on_health_changed needs \"health\": [before, after]")?;
                vec![customer_view, before.into(), after.into()]
            }
            Hook::Tick => vec![now.to_string().into()],
        };
        let set = host.current();
        let _teams =
            super::query::TeamScope::enter(super::query::Teams::Fixed(std::sync::Arc::new(self.teams.clone())));
        let got: Vec<Action> = set
            .files_with(hook)
            .filter(|f| self.script.as_ref().is_none_or(|s| *s == f.name))
            .flat_map(|f| host.call_file(f, hook, args.clone(), None, now))
            .map(|a| a.action)
            .collect();
        if got == self.expect {
            Ok(())
        } else {
            Err(format!(
                "expected {}\n       got {}",
                serde_json::to_string(&self.expect).unwrap_or_default(),
                serde_json::to_string(&got).unwrap_or_default()
            ))
        }
    }
}

/// Loads every `tests/*.json` fixture under `scripts_dir`, sorted by file.
///
/// # Errors
/// Unreadable or malformed files, named.
pub fn load(scripts_dir: &Path) -> Result<Vec<(String, Fixture)>, String> {
    let dir = scripts_dir.join("tests");
    let mut files: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    files.sort();
    let mut fixtures = Vec::new();
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let fixture = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        fixtures.push((name, fixture));
    }
    Ok(fixtures)
}
