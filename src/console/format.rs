//! Small pieces every page shows alike: badges, times, actors, SLA clocks.
//! maud escapes every value it interpolates, so customer-supplied text can
//! be passed as is.

use frontdesk_core::domain::{Actor, CaseStatus, Priority};
use frontdesk_core::sla::{CaseSla, MetricState, MetricStatus};
use jiff::Timestamp;
use maud::{Markup, html};

/// A status as a coloured badge.
pub fn status(status: CaseStatus) -> Markup {
    html! { span class={ "badge status-" (status.as_str()) } { (status_label(status)) } }
}

/// A status as people read it.
pub fn status_label(status: CaseStatus) -> &'static str {
    match status {
        CaseStatus::New => "New",
        CaseStatus::Open => "Open",
        CaseStatus::Pending => "Pending",
        CaseStatus::OnHold => "On hold",
        CaseStatus::Solved => "Solved",
        CaseStatus::Closed => "Closed",
    }
}

/// A priority as a badge (only high and urgent stand out).
pub fn priority(priority: Priority) -> Markup {
    html! { span class={ "badge prio-" (priority.as_str()) } { (priority.as_str()) } }
}

/// A time as UTC text in a `<time>` element (machine-readable for scripts).
pub fn time(at: Timestamp) -> Markup {
    let text = at.strftime("%Y-%m-%d %H:%M UTC").to_string();
    html! { time datetime=(at.to_string()) title=(at.to_string()) { (text) } }
}

/// Who did something, as an agent reads it: a person's name, or what a rule
/// or plugin was (with its file and hash, so "why did this happen" has an
/// answer).
pub fn actor(actor: &Actor, customer_name: Option<&str>) -> Markup {
    match actor {
        Actor::Agent(name) => html! { span.who { (name) } },
        Actor::Customer(_) => html! { span.who { (customer_name.unwrap_or("Customer")) } " (customer)" },
        Actor::Script { file, hash } => {
            html! { span.who title={ "script:" (file) "@" (hash) } { "Rule " code { (file) } } " @" code { (short(hash)) } }
        }
        Actor::Plugin { name, version } => html! { span.who { "Plugin " (name) } " " (version) },
        Actor::System => html! { span.who { "Frontdesk" } },
        Actor::Token(name) => html! { span.who { "Integration " (name) } },
    }
}

fn short(hash: &str) -> &str {
    hash.get(..8).unwrap_or(hash)
}

/// A metric's name as people read it.
pub fn metric_label(metric: frontdesk_core::domain::Metric) -> &'static str {
    match metric {
        frontdesk_core::domain::Metric::FirstResponse => "First reply",
        frontdesk_core::domain::Metric::NextResponse => "Next reply",
        frontdesk_core::domain::Metric::Resolution => "Resolution",
    }
}

/// One SLA metric as a badge; a running clock counts down in the browser
/// from `data-due`.
pub fn sla_badge(state: &MetricState) -> Markup {
    let status = state.status();
    let (class, text) = match status {
        MetricStatus::Running => ("sla-running", "due"),
        MetricStatus::Paused => ("sla-paused", "paused"),
        MetricStatus::Met => ("sla-met", "met"),
        MetricStatus::Breached => ("sla-breached", "breached"),
    };
    let due = state.due_at.filter(|_| status == MetricStatus::Running);
    html! {
        span class={ "badge " (class) } data-due=[due.map(|d| d.to_string())]
            title=[state.due_at.map(|d| format!("due {d}"))] {
            (metric_label(state.metric)) ": " (text)
            @if due.is_some() { " · " span.left {} }
        }
    }
}

/// The clock that needs attention first: a breached metric, else the
/// running one due soonest.
pub fn most_urgent(sla: &CaseSla) -> Option<&MetricState> {
    let mut states: Vec<&MetricState> = sla.metrics.values().collect();
    states.sort_by_key(|s| {
        let rank = match s.status() {
            MetricStatus::Breached => 0,
            MetricStatus::Running => 1,
            MetricStatus::Paused => 2,
            MetricStatus::Met => 3,
        };
        (rank, s.due_at)
    });
    states.into_iter().find(|s| s.status() != MetricStatus::Met)
}

/// What kind of identity, as a label.
pub fn identity_kind(kind: &frontdesk_core::domain::IdentityKind) -> String {
    use frontdesk_core::domain::IdentityKind;
    match kind {
        IdentityKind::Email => "Email".into(),
        IdentityKind::Chat => "Chat".into(),
        IdentityKind::Phone => "Phone".into(),
        IdentityKind::External(system) => system.clone(),
    }
}

/// What to call a customer: their name, else their first identity.
pub fn customer_name(customer: &frontdesk_core::domain::Customer) -> String {
    customer.name.clone().or_else(|| customer.identities.first().map(|i| i.value.clone())).unwrap_or_default()
}

/// An event's type as words (`sla_met` -> "sla met"), for events shown
/// without their own sentence.
pub fn event_kind(body: &frontdesk_core::domain::EventBody) -> String {
    serde_json::to_value(body)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(|t| t.replace('_', " ")))
        .unwrap_or_else(|| "changed the case".to_owned())
}
