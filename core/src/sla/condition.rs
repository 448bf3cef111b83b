//! What a policy's `when` condition sees: `ticket` (the case) and
//! `customer`, read by property (`ticket.priority`, `ticket["priority"]`).
//! A name the view does not have reads as `()`, as on an object map.
//!
//! The writer chooses a policy on every case write, so a property is made
//! only when a condition reads it: the shipped conditions read two, and
//! building the whole case as a map first cost more than evaluating them.

use std::sync::Arc;

use rhai::{Dynamic, ImmutableString};

use crate::domain::{Case, Customer};
use crate::script_views::{json, text};

/// The properties `ticket` has.
pub const TICKET_PROPERTIES: [&str; 10] =
    ["id", "subject", "status", "priority", "channel", "team", "assignee", "tags", "fields", "reopen_count"];

/// The properties `customer` has (all `()` when the customer is unknown).
pub const CUSTOMER_PROPERTIES: [&str; 4] = ["id", "name", "tier", "attributes"];

/// `ticket` in a condition: the case, shared rather than copied.
#[derive(Debug, Clone)]
pub(crate) struct TicketProps(pub(crate) Arc<Case>);

/// `customer` in a condition.
#[derive(Debug, Clone)]
pub(crate) struct CustomerProps(pub(crate) Option<Arc<Customer>>);

fn json_map<'a>(entries: impl Iterator<Item = (&'a String, &'a serde_json::Value)>) -> Dynamic {
    entries.map(|(k, v)| (k.as_str().into(), json(v))).collect::<rhai::Map>().into()
}

/// One property of the case, `()` for a name it does not have.
pub fn ticket_property(case: &Case, name: &str) -> Dynamic {
    match name {
        "id" => case.id.to_string().into(),
        "subject" => case.subject.as_str().into(),
        "status" => case.status.as_str().into(),
        "priority" => case.priority.as_str().into(),
        "channel" => case.channel.as_str().into(),
        "team" => text(case.team.as_ref()),
        "assignee" => text(case.assignee.as_ref()),
        "tags" => {
            case.tags.iter().map(|t| Dynamic::from(ImmutableString::from(t.as_str()))).collect::<rhai::Array>().into()
        }
        "fields" => json_map(case.fields.iter()),
        "reopen_count" => i64::from(case.reopen_count).into(),
        _ => Dynamic::UNIT,
    }
}

/// One property of the customer, `()` for a name it does not have. An
/// unknown customer has every property, all `()`, and no attributes.
pub fn customer_property(customer: Option<&Customer>, name: &str) -> Dynamic {
    match (name, customer) {
        ("attributes", None) => rhai::Map::new().into(),
        (_, None) => Dynamic::UNIT,
        ("id", Some(c)) => c.id.to_string().into(),
        ("name", Some(c)) => text(c.name.as_ref()),
        ("tier", Some(c)) => text(c.tier.as_ref()),
        ("attributes", Some(c)) => json_map(c.attributes.iter()),
        _ => Dynamic::UNIT,
    }
}

/// A Rhai engine for policy conditions: small, bounded, no I/O, with the
/// `ticket` and `customer` views registered.
pub(crate) fn engine() -> rhai::Engine {
    use rhai::packages::Package;
    let mut engine = rhai::Engine::new_raw();
    engine.register_global_module(rhai::packages::StandardPackage::new().as_shared_module());
    engine.set_max_operations(10_000);
    engine.set_max_expr_depths(64, 32);
    engine.set_max_call_levels(16);
    engine.set_max_string_size(4_096);
    engine.set_max_array_size(1_000);
    engine.set_max_map_size(1_000);
    engine.register_type_with_name::<TicketProps>("ticket");
    engine.register_type_with_name::<CustomerProps>("customer");
    for name in TICKET_PROPERTIES {
        engine.register_get(name, move |t: &mut TicketProps| ticket_property(&t.0, name));
    }
    for name in CUSTOMER_PROPERTIES {
        engine.register_get(name, move |c: &mut CustomerProps| customer_property(c.0.as_deref(), name));
    }
    // Index access, and the fallback for a property without a getter.
    engine.register_indexer_get(|t: &mut TicketProps, name: ImmutableString| ticket_property(&t.0, &name));
    engine
        .register_indexer_get(|c: &mut CustomerProps, name: ImmutableString| customer_property(c.0.as_deref(), &name));
    engine
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::sla::{SlaBook, SlaConfig};

    fn case() -> Case {
        serde_json::from_value(serde_json::json!({
            "id": "42", "subject": "Refund", "status": "open", "priority": "high", "channel": "email",
            "customer_id": "7", "team": "billing", "assignee": null, "tags": ["vip", "refund"],
            "fields": {"plan": "gold", "seats": 12}, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z", "first_response_at": null, "solved_at": null, "closed_at": null,
            "reopen_count": 2, "agent_replies": 0, "escalation_level": 0, "csat": null, "linked_case_ids": [],
            "version": 3, "last_event_id": "9"
        }))
        .unwrap()
    }

    fn customer() -> Customer {
        serde_json::from_value(serde_json::json!({
            "id": "7", "name": "Ann", "tier": "enterprise", "identities": [],
            "attributes": {"region": "eu"}, "health": null,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    /// Whether `condition` holds, as the policy it guards being chosen.
    fn holds(condition: &str, customer: Option<Customer>) -> bool {
        let config: SlaConfig = serde_json::from_value(serde_json::json!({"policies": [
            {"name": "when", "when": condition}, {"name": "otherwise"}]}))
        .unwrap();
        let book = SlaBook::new(&BTreeMap::new(), &config).unwrap();
        let chosen = book.select(&Arc::new(case()), customer.map(Arc::new).as_ref()).unwrap();
        chosen.name == "when"
    }

    #[test]
    fn conditions_read_every_property_of_the_case_and_customer() {
        for condition in [
            r#"ticket.id == "42" && ticket.subject == "Refund" && ticket.status == "open""#,
            r#"ticket.priority == "high" && ticket.channel == "email" && ticket.team == "billing""#,
            r#"ticket.assignee == () && ticket.reopen_count == 2"#,
            r#""vip" in ticket.tags && ticket.tags.len() == 2"#,
            r#"ticket.fields.plan == "gold" && ticket.fields.seats == 12 && ticket.fields.other == ()"#,
            r#"customer.id == "7" && customer.name == "Ann" && customer.tier == "enterprise""#,
            r#"customer.attributes.region == "eu""#,
        ] {
            assert!(holds(condition, Some(customer())), "{condition}");
        }
    }

    #[test]
    fn index_access_reads_the_same_properties() {
        assert!(holds(r#"ticket["priority"] == "high" && customer["tier"] == "enterprise""#, Some(customer())));
    }

    #[test]
    fn a_name_the_view_lacks_reads_as_unit_as_on_a_map() {
        assert!(holds("ticket.nothing == () && customer.nothing == ()", Some(customer())));
        assert!(holds(r#"ticket["nothing"] == ()"#, None));
    }

    #[test]
    fn an_unknown_customer_has_unit_properties_and_no_attributes() {
        assert!(holds("customer.id == () && customer.tier == () && customer.attributes.len() == 0", None));
        assert!(!holds(r#"customer.tier == "enterprise""#, None));
    }

    #[test]
    fn a_condition_that_fails_while_it_runs_counts_as_false() {
        assert!(!holds("ticket.reopen_count / 0 == 1", Some(customer())));
        assert!(!holds("ticket.subject.len() > customer.tier", Some(customer())));
    }
}
