//! Macros: canned replies with actions, written once by a lead and applied
//! by an agent in one step. A macro's reply is a template whose
//! placeholders (`{{customer.first_name | there}}`) are filled from the case
//! it is applied to, at the moment it is applied.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Case, CaseStatus, Customer, IdentityKind, Priority};

/// Longest macro title, in characters.
pub const MAX_TITLE: usize = 200;

/// A stored macro.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Macro {
    /// Unique key, 1-64 characters without spaces (`refund-approved`).
    pub name: String,
    /// What agents see in the picker.
    pub title: String,
    /// The message it adds, if any.
    #[serde(default)]
    pub message: Option<MacroMessage>,
    /// The status it sets.
    #[serde(default)]
    pub status: Option<CaseStatus>,
    /// The priority it sets.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Who it assigns the case to.
    #[serde(default)]
    pub assignee: Option<MacroAssignee>,
    /// Tags it adds.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// Tags it removes.
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// Custom fields it sets (`null` clears).
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// The lead who wrote it.
    pub created_by: String,
    /// When it was written.
    pub created_at: Timestamp,
    /// Who changed it last.
    pub updated_by: String,
    /// When it was changed last.
    pub updated_at: Timestamp,
}

impl Macro {
    /// Whether it changes the case (status, priority, assignee, tags or
    /// fields), besides any message it adds.
    pub fn changes_case(&self) -> bool {
        self.status.is_some()
            || self.priority.is_some()
            || self.assignee.is_some()
            || !self.add_tags.is_empty()
            || !self.remove_tags.is_empty()
            || !self.fields.is_empty()
    }
}

/// The message a macro adds: a public reply or an internal note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacroMessage {
    /// `reply` or `note`.
    pub kind: MacroMessageKind,
    /// The template (see [`render`]).
    pub body: String,
}

/// Which message a macro adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MacroMessageKind {
    /// A public reply, sent through the case's channel.
    Reply,
    /// An internal note.
    Note,
}

/// Who a macro assigns the case to, decided when it is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum MacroAssignee {
    /// The agent applying it (`@me`).
    Me,
    /// Nobody (`@nobody`): the case goes back to the queue.
    Nobody,
    /// A named agent.
    Agent(String),
}

impl MacroAssignee {
    /// The assignee when `applier` applies the macro.
    pub fn resolve(&self, applier: &str) -> Option<String> {
        match self {
            MacroAssignee::Me => Some(applier.to_owned()),
            MacroAssignee::Nobody => None,
            MacroAssignee::Agent(name) => Some(name.clone()),
        }
    }
}

impl From<MacroAssignee> for String {
    fn from(value: MacroAssignee) -> Self {
        match value {
            MacroAssignee::Me => "@me".into(),
            MacroAssignee::Nobody => "@nobody".into(),
            MacroAssignee::Agent(name) => name,
        }
    }
}

impl TryFrom<String> for MacroAssignee {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "@me" => Ok(MacroAssignee::Me),
            "@nobody" => Ok(MacroAssignee::Nobody),
            "" => Err("assignee must be @me, @nobody or an agent's name".into()),
            _ if value.starts_with('@') => Err(format!("unknown assignee {value:?}: use @me, @nobody or a name")),
            _ => Ok(MacroAssignee::Agent(value)),
        }
    }
}

/// The placeholders a template may use.
pub const PLACEHOLDERS: [&str; 8] = [
    "case.id",
    "case.subject",
    "case.status",
    "case.priority",
    "customer.name",
    "customer.first_name",
    "customer.email",
    "agent.name",
];

/// A template that cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{` without its `}}`.
    #[error("a placeholder opened at byte {0} is not closed with }}}}")]
    Unclosed(usize),
    /// A name that is not one of [`PLACEHOLDERS`].
    #[error("unknown placeholder {{{{{0}}}}}; known: {known}", known = PLACEHOLDERS.join(", "))]
    Unknown(String),
}

/// What placeholders are filled from.
#[derive(Debug, Clone, Copy)]
pub struct TemplateScope<'a> {
    /// The case.
    pub case: &'a Case,
    /// Its customer, when it could be read.
    pub customer: Option<&'a Customer>,
    /// The agent applying the macro.
    pub agent: &'a str,
}

impl TemplateScope<'_> {
    fn value(&self, name: &str) -> Option<String> {
        let customer_name = self.customer.and_then(|c| c.name.as_deref()).map(str::trim).filter(|n| !n.is_empty());
        let text = match name {
            "case.id" => self.case.id.to_string(),
            "case.subject" => self.case.subject.clone(),
            "case.status" => self.case.status.to_string(),
            "case.priority" => self.case.priority.to_string(),
            "customer.name" => customer_name?.to_owned(),
            "customer.first_name" => customer_name?.split_whitespace().next()?.to_owned(),
            "customer.email" => self.customer?.identities.iter().find(|i| i.kind == IdentityKind::Email)?.value.clone(),
            "agent.name" => self.agent.to_owned(),
            _ => return None,
        };
        Some(text)
    }
}

/// One `{{ name | fallback }}` in a template, by byte range.
struct Placeholder<'t> {
    start: usize,
    end: usize,
    name: &'t str,
    fallback: &'t str,
}

fn placeholders(template: &str) -> impl Iterator<Item = Result<Placeholder<'_>, TemplateError>> {
    let mut from = 0;
    std::iter::from_fn(move || {
        let open = from + template[from..].find("{{")?;
        let Some(close) = template[open + 2..].find("}}").map(|i| open + 2 + i) else {
            from = template.len();
            return Some(Err(TemplateError::Unclosed(open)));
        };
        from = close + 2;
        let inner = &template[open + 2..close];
        let (name, fallback) = inner.split_once('|').unwrap_or((inner, ""));
        let name = name.trim();
        if !PLACEHOLDERS.contains(&name) {
            return Some(Err(TemplateError::Unknown(name.to_owned())));
        }
        Some(Ok(Placeholder { start: open, end: close + 2, name, fallback: fallback.trim() }))
    })
}

/// Checks that every placeholder of `template` is closed and known, so a
/// macro that cannot render is refused when it is saved, not when an agent
/// applies it.
///
/// # Errors
/// The first bad placeholder.
pub fn check_template(template: &str) -> Result<(), TemplateError> {
    placeholders(template).try_for_each(|p| p.map(|_| ()))
}

/// Fills the placeholders of `template` from `scope`. A value the case does
/// not have (a customer without a name) takes the placeholder's fallback,
/// or nothing.
///
/// # Errors
/// As [`check_template`].
pub fn render(template: &str, scope: &TemplateScope<'_>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut copied = 0;
    for placeholder in placeholders(template) {
        let p = placeholder?;
        out.push_str(&template[copied..p.start]);
        match scope.value(p.name) {
            Some(value) => out.push_str(&value),
            None => out.push_str(p.fallback),
        }
        copied = p.end;
    }
    out.push_str(&template[copied..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Actor, CaseId, CustomerId, Event, EventBody, EventId, Identity, projection};

    fn case() -> Case {
        let created = Event {
            id: EventId::new(1),
            case_id: Some(CaseId::new(42)),
            customer_id: CustomerId::new(7),
            at: "2026-03-02T09:00:00Z".parse().unwrap(),
            actor: Actor::System,
            caused_by: None,
            body: EventBody::CaseCreated {
                subject: "Refund for order 1234".into(),
                channel: "email".into(),
                priority: Priority::High,
                team: None,
                assignee: None,
                tags: Default::default(),
                fields: Default::default(),
                follow_up_of: None,
            },
        };
        projection::apply(None, &created).unwrap()
    }

    fn customer(name: Option<&str>) -> Customer {
        let at = "2026-03-02T09:00:00Z".parse().unwrap();
        Customer {
            id: CustomerId::new(7),
            name: name.map(str::to_owned),
            tier: None,
            identities: vec![Identity::email("Ada@Example.com").unwrap()],
            attributes: Default::default(),
            health: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn placeholders_fill_from_the_case_the_customer_and_the_agent() {
        let case = case();
        let customer = customer(Some("Ada Lovelace"));
        let scope = TemplateScope { case: &case, customer: Some(&customer), agent: "sam" };
        let text = render(
            "Hi {{customer.first_name}}, case #{{ case.id }} ({{case.priority}}) - {{agent.name}} <{{customer.email}}>",
            &scope,
        );
        assert_eq!(text.unwrap(), "Hi Ada, case #42 (high) - sam <ada@example.com>");
    }

    #[test]
    fn a_missing_value_takes_its_fallback_or_nothing() {
        let case = case();
        let customer = customer(None);
        let scope = TemplateScope { case: &case, customer: Some(&customer), agent: "sam" };
        assert_eq!(render("Hi {{customer.first_name | there}},", &scope).unwrap(), "Hi there,");
        assert_eq!(render("Hi {{customer.name}}!", &scope).unwrap(), "Hi !");
        let none = TemplateScope { customer: None, ..scope };
        assert_eq!(render("{{customer.email|your address}}", &none).unwrap(), "your address");
    }

    #[test]
    fn bad_templates_are_refused_with_the_reason() {
        assert_eq!(check_template("Hi {{customer.nmae}}"), Err(TemplateError::Unknown("customer.nmae".into())));
        assert_eq!(check_template("Hi {{customer.name"), Err(TemplateError::Unclosed(3)));
        assert!(check_template("no placeholders, {single} braces").is_ok());
    }

    #[test]
    fn filled_values_are_not_read_as_templates_again() {
        let mut case = case();
        case.subject = "{{agent.name}}".into();
        let scope = TemplateScope { case: &case, customer: None, agent: "sam" };
        assert_eq!(render("Re: {{case.subject}}", &scope).unwrap(), "Re: {{agent.name}}");
    }

    #[test]
    fn assignees_read_and_write_as_text() {
        for (text, value) in [
            ("@me", MacroAssignee::Me),
            ("@nobody", MacroAssignee::Nobody),
            ("bea", MacroAssignee::Agent("bea".into())),
        ] {
            assert_eq!(serde_json::from_value::<MacroAssignee>(text.into()).unwrap(), value);
            assert_eq!(serde_json::to_value(&value).unwrap(), text);
        }
        assert!(serde_json::from_value::<MacroAssignee>("@boss".into()).is_err());
    }
}
