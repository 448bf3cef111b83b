//! The Rhai engine for rules: every limit set in one place ([`harden`]), no
//! file, network or process access, printing routed to tracing, and the
//! action functions scripts call.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::actions::{self, Action};
use crate::script_views::{CustomerView, MessageView, TicketView};

/// `[scripts]` in the config: sandbox limits and rule scheduling.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScriptLimits {
    /// Operations one hook call may run (stops infinite loops).
    pub max_operations: u64,
    /// Nested function calls (stops runaway recursion).
    pub max_call_depth: usize,
    /// Nesting of expressions.
    pub max_expr_depth: usize,
    /// Longest string, in bytes.
    pub max_string_size: usize,
    /// Longest array.
    pub max_array_size: usize,
    /// Largest map.
    pub max_map_size: usize,
    /// Wall-clock limit of one hook call, in milliseconds.
    pub timeout_ms: u64,
    /// How many rounds of rule-triggered changes may trigger hooks again.
    pub cascade_depth: usize,
    /// How often `on_tick` runs (`60s`).
    pub tick_interval: String,
    /// A rule does not open the same outreach for a customer twice within
    /// this window (`7d`).
    pub outreach_window: String,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        Self {
            max_operations: 200_000,
            max_call_depth: 32,
            max_expr_depth: 64,
            max_string_size: 64 * 1024,
            max_array_size: 10_000,
            max_map_size: 10_000,
            timeout_ms: 100,
            cascade_depth: 8,
            tick_interval: "60s".into(),
            outreach_window: "7d".into(),
        }
    }
}

/// A new engine with every limit of `limits`, the views and the actions.
pub fn harden(limits: &ScriptLimits) -> rhai::Engine {
    let mut engine = rhai::Engine::new();
    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(limits.max_call_depth);
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth);
    engine.set_max_string_size(limits.max_string_size);
    engine.set_max_array_size(limits.max_array_size);
    engine.set_max_map_size(limits.max_map_size);
    engine.set_max_modules(0);
    // The string interner is one lock for every thread: with it, hooks for
    // different cases queue behind each other instead of running in parallel.
    engine.set_max_strings_interned(0);
    engine.disable_symbol("eval");
    engine.on_print(|text| tracing::info!(target: "frontdesk::rules", "{text}"));
    engine.on_debug(|text, source, pos| tracing::debug!(target: "frontdesk::rules", ?source, %pos, "{text}"));
    engine.on_progress(move |operations| {
        // The deadline of the call running on this thread (see `CallDeadline`),
        // looked at every 1,024 operations: reading the clock on every one
        // would cost more than the operations.
        if operations % 1024 == 0 && DEADLINE.with(|d| d.get().is_some_and(|at| Instant::now() >= at)) {
            Some(rhai::Dynamic::from("time limit exceeded"))
        } else {
            None
        }
    });
    register_views(&mut engine);
    register_helpers(&mut engine);
    register_actions(&mut engine);
    engine
}

/// Whether `text` contains any of `words`, ignoring case. Non-string words
/// are skipped.
pub fn contains_any(text: &str, words: &rhai::Array) -> bool {
    let text = text.to_lowercase();
    words.iter().any(|word| {
        word.read_lock::<rhai::ImmutableString>().is_some_and(|word| {
            if word.chars().any(char::is_uppercase) {
                text.contains(&word.to_lowercase())
            } else {
                text.contains(word.as_str())
            }
        })
    })
}

fn register_helpers(engine: &mut rhai::Engine) {
    // Keyword rules are the most common rule there is; done natively, a list
    // of words costs one call instead of a loop the interpreter runs.
    engine.register_fn("contains_any", |text: &str, words: rhai::Array| contains_any(text, &words));
}

thread_local! {
    static DEADLINE: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

/// Arms the wall-clock limit for a hook call on this thread; disarmed on drop.
pub(crate) struct CallDeadline;

impl CallDeadline {
    pub(crate) fn arm(timeout: Duration) -> Self {
        DEADLINE.with(|d| d.set(Some(Instant::now() + timeout)));
        CallDeadline
    }
}

impl Drop for CallDeadline {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(None));
    }
}

fn register_views(engine: &mut rhai::Engine) {
    engine.register_type_with_name::<TicketView>("Ticket");
    engine.register_get("id", |t: &mut TicketView| t.id.clone());
    engine.register_get("subject", |t: &mut TicketView| t.subject.clone());
    engine.register_get("status", |t: &mut TicketView| t.status.clone());
    engine.register_get("priority", |t: &mut TicketView| t.priority.clone());
    engine.register_get("channel", |t: &mut TicketView| t.channel.clone());
    engine.register_get("team", |t: &mut TicketView| t.team.clone());
    engine.register_get("assignee", |t: &mut TicketView| t.assignee.clone());
    engine.register_get("tags", |t: &mut TicketView| t.tags.clone());
    engine.register_get("fields", |t: &mut TicketView| t.fields.clone());
    engine.register_get("customer_id", |t: &mut TicketView| t.customer_id.clone());
    engine.register_get("reopen_count", |t: &mut TicketView| t.reopen_count);
    engine.register_get("escalation_level", |t: &mut TicketView| t.escalation_level);
    engine.register_get("created_at", |t: &mut TicketView| t.created_at.clone());
    engine.register_get("age_seconds", |t: &mut TicketView| t.age_seconds);
    engine.register_get("idle_seconds", |t: &mut TicketView| t.idle_seconds);
    engine.register_fn("has_tag", |t: &mut TicketView, tag: &str| {
        t.tags.iter().any(|x| x.read_lock::<rhai::ImmutableString>().is_some_and(|x| x.as_str() == tag))
    });

    engine.register_type_with_name::<CustomerView>("Customer");
    engine.register_get("id", |c: &mut CustomerView| c.id.clone());
    engine.register_get("name", |c: &mut CustomerView| c.name.clone());
    engine.register_get("tier", |c: &mut CustomerView| c.tier.clone());
    engine.register_get("email", |c: &mut CustomerView| c.email.clone());
    engine.register_get("attributes", |c: &mut CustomerView| c.attributes.clone());
    engine.register_get("health", |c: &mut CustomerView| c.health.clone());

    engine.register_type_with_name::<MessageView>("Message");
    engine.register_get("body", |m: &mut MessageView| m.body.clone());
    engine.register_get("author", |m: &mut MessageView| m.author.clone());
}

fn register_actions(engine: &mut rhai::Engine) {
    engine.register_fn("set_priority", |p: &str| actions::push(Action::SetPriority(p.to_owned())));
    engine.register_fn("add_tag", |t: &str| actions::push(Action::AddTag(t.to_owned())));
    engine.register_fn("remove_tag", |t: &str| actions::push(Action::RemoveTag(t.to_owned())));
    engine.register_fn("route_to", |team: &str| actions::push(Action::RouteTo(team.to_owned())));
    engine.register_fn("assign", |agent: &str| actions::push(Action::Assign(agent.to_owned())));
    engine.register_fn("escalate", |level: i64, reason: &str| {
        actions::push(Action::Escalate { level, reason: reason.to_owned() })
    });
    engine.register_fn("reply", |template: &str, vars: rhai::Map| {
        let vars = vars.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        actions::push(Action::Reply { template: template.to_owned(), vars });
    });
    engine.register_fn("reply", |template: &str| {
        actions::push(Action::Reply { template: template.to_owned(), vars: Default::default() });
    });
    engine.register_fn("note", |text: &str| actions::push(Action::Note(text.to_owned())));
    engine.register_fn("notify", |target: &str, text: &str| {
        actions::push(Action::Notify { target: target.to_owned(), text: text.to_owned() });
    });
    engine.register_fn("open_case", |customer_id: &str, subject: &str, body: &str| {
        actions::push(Action::OpenCase {
            customer_id: customer_id.to_owned(),
            subject: subject.to_owned(),
            body: body.to_owned(),
        });
    });
    engine.register_fn("set_field", |key: &str, value: rhai::Dynamic| -> Result<(), Box<rhai::EvalAltResult>> {
        let value = rhai::serde::from_dynamic::<serde_json::Value>(&value)
            .map_err(|e| format!("set_field({key:?}): the value cannot be stored: {e}"))?;
        actions::push(Action::SetField { key: key.to_owned(), value });
        Ok(())
    });
    engine.register_fn("follow_up", |case_id: &str, text: &str| {
        actions::push(Action::FollowUp { case_id: case_id.to_owned(), text: text.to_owned() });
    });
    engine.register_fn("cases_waiting", |status: &str, older_than_seconds: i64| {
        super::query::cases_waiting(status, older_than_seconds)
    });
    engine.register_fn("team_members", super::query::team_members);
    // The core's helper for load-aware routing: of the agents given, the one
    // with the fewest unsolved cases, chosen by the writer so it sees current load.
    engine.register_fn("assign_least_loaded", |members: rhai::Array| {
        let members = members.into_iter().filter_map(|m| m.into_string().ok()).collect();
        actions::push(Action::AssignLeastLoaded(members));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> rhai::Array {
        list.iter().map(|w| rhai::Dynamic::from(rhai::ImmutableString::from(*w))).collect()
    }

    #[test]
    fn contains_any_ignores_case_on_both_sides() {
        assert!(contains_any("Site is DOWN since 9", &words(&["outage", "is down"])));
        assert!(contains_any("refund please", &words(&["Refund"])));
        assert!(contains_any("ÄRGER mit der Rechnung", &words(&["ärger"])));
        assert!(!contains_any("all good", &words(&["outage", "is down"])));
        assert!(!contains_any("anything", &words(&[])));
        let mixed: rhai::Array =
            vec![rhai::Dynamic::from(42_i64), rhai::Dynamic::from(rhai::ImmutableString::from("good"))];
        assert!(contains_any("all good", &mixed), "non-strings are skipped");
    }

    #[test]
    fn scripts_call_contains_any_as_a_method() {
        let engine = harden(&ScriptLimits::default());
        let yes: bool = engine.eval(r#""Our site is down".contains_any(["outage", "IS DOWN"])"#).unwrap();
        let no: bool = engine.eval(r#"contains_any("fine", ["outage"])"#).unwrap();
        assert!(yes && !no);
    }
}
