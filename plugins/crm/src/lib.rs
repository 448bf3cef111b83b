//! The CRM connector: fills in a new customer's name, company, tier and
//! attributes from a CRM's contact record, found by email, and records case
//! milestones (created, solved, CSAT) on the contact as activities.
//!
//! The CRM's small JSON API is documented in this crate's README. Which
//! customers to enrich and when, retries and backoff are the server's.

use frontdesk_plugin_sdk::crm::{CaseEvent, Customer, CustomerPatch, Guest, PluginError};
use frontdesk_plugin_sdk::{config, http};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// How errors name the CRM's API.
const API: &str = "CRM API";

struct Crm;

impl Guest for Crm {
    fn enrich(customer: Customer) -> Result<CustomerPatch, PluginError> {
        let Some(email) = email_of(&customer) else {
            return Ok(empty_patch());
        };
        let request = http::Request::get(contacts_url(&api_url()?, email));
        let response = http::send_to(API, &authorized(request))?;
        patch_from(&response.body)
    }

    fn on_case_event(event: CaseEvent) -> Result<(), PluginError> {
        let Some(activity) = activity(&event)? else {
            return Ok(());
        };
        let url = format!("{}/activities", api_url()?.trim_end_matches('/'));
        // The outbox may deliver an event twice (a timeout after the CRM
        // stored it); the key lets the CRM drop the copy.
        let request = http::Request::post_json(url, activity.to_string()).header("idempotency-key", &event.id);
        http::send_to(API, &authorized(request)).map(drop)
    }
}

frontdesk_plugin_sdk::export_crm!(Crm);

fn api_url() -> Result<String, PluginError> {
    config::setting("api_url").ok_or_else(|| PluginError::permanent("crm api_url is not configured"))
}

/// The answer to `GET /contacts?email=...`.
#[derive(Debug, Deserialize)]
struct Contacts {
    contacts: Vec<Contact>,
}

/// A CRM contact. Fields left out or `null` leave the customer unchanged.
#[derive(Debug, Deserialize)]
struct Contact {
    name: Option<String>,
    company: Option<String>,
    tier: Option<String>,
    #[serde(default)]
    attributes: Map<String, Value>,
}

/// The customer's first email address, the key the CRM knows contacts by.
pub fn email_of(customer: &Customer) -> Option<&str> {
    customer.identities.iter().find(|i| i.kind.eq_ignore_ascii_case("email")).map(|i| i.value.as_str())
}

/// `{api_url}/contacts?email=<email>`, the email percent-encoded.
pub fn contacts_url(api_url: &str, email: &str) -> String {
    format!("{}/contacts?email={}", api_url.trim_end_matches('/'), http::encode_component(email))
}

/// What the first contact of a lookup answer says about the customer; an
/// empty patch when there is none.
///
/// # Errors
/// A permanent error when the answer is not the documented JSON.
pub fn patch_from(body: &[u8]) -> Result<CustomerPatch, PluginError> {
    let answer: Contacts = serde_json::from_slice(body)
        .map_err(|e| PluginError::permanent(format!("CRM contact lookup answered unexpected JSON: {e}")))?;
    let Some(contact) = answer.contacts.into_iter().next() else {
        return Ok(empty_patch());
    };
    let text = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    Ok(CustomerPatch {
        name: text(contact.name),
        company: text(contact.company),
        tier: text(contact.tier),
        attributes: contact.attributes.into_iter().map(|(key, value)| (key, value.to_string())).collect(),
    })
}

/// The activity to post for `event`, or `None` when the event is not one
/// the CRM hears about (only `case_created`, `status_changed` to `solved`
/// and `csat_received` are) or the customer has no email to file it under.
///
/// # Errors
/// A permanent error when the event's data is not JSON.
pub fn activity(event: &CaseEvent) -> Result<Option<Value>, PluginError> {
    if !matches!(event.event_type.as_str(), "case_created" | "status_changed" | "csat_received") {
        return Ok(None);
    }
    let data: Value = serde_json::from_str(&event.data)
        .map_err(|e| PluginError::permanent(format!("event {} has data that is not JSON: {e}", event.id)))?;
    if event.event_type == "status_changed" && data["to"] != "solved" {
        return Ok(None);
    }
    let Some(email) = email_of(&event.customer) else {
        return Ok(None);
    };
    Ok(Some(json!({
        "email": email,
        "case_id": event.case_id,
        "event_id": event.id,
        "type": event.event_type,
        "at": event.at,
        "data": data,
    })))
}

fn empty_patch() -> CustomerPatch {
    CustomerPatch { name: None, company: None, tier: None, attributes: Vec::new() }
}

/// Adds `Authorization: Bearer <api_key>` when a key is configured.
fn authorized(request: http::Request) -> http::Request {
    request.bearer(config::setting("api_key").as_deref())
}

#[cfg(test)]
mod tests {
    use frontdesk_plugin_sdk::crm::Identity;

    use super::*;

    fn customer(identities: &[(&str, &str)]) -> Customer {
        Customer {
            id: "cu1".into(),
            name: None,
            tier: None,
            identities: identities
                .iter()
                .map(|(kind, value)| Identity { kind: (*kind).into(), value: (*value).into() })
                .collect(),
            attributes: Vec::new(),
        }
    }

    fn event(event_type: &str, data: &str, identities: &[(&str, &str)]) -> CaseEvent {
        CaseEvent {
            id: "ev9".into(),
            case_id: "42".into(),
            event_type: event_type.into(),
            at: "2026-03-02T09:00:00Z".into(),
            actor: "agent:ann".into(),
            data: data.into(),
            customer: customer(identities),
        }
    }

    #[test]
    fn the_email_identity_is_the_lookup_key() {
        assert_eq!(email_of(&customer(&[("handle", "v1"), ("email", "ann@example.com")])), Some("ann@example.com"));
        assert_eq!(email_of(&customer(&[("handle", "v1"), ("phone", "+4930")])), None);
        assert_eq!(
            contacts_url("http://127.0.0.1:9100/api/", "ann+vip@bücher.example"),
            "http://127.0.0.1:9100/api/contacts?email=ann%2Bvip%40b%C3%BCcher.example"
        );
    }

    #[test]
    fn the_first_contact_becomes_the_patch() {
        let body = json!({ "contacts": [
            {
                "name": "Ann Example",
                "company": "ACME",
                "tier": "enterprise",
                "attributes": { "plan": "gold", "seats": 40, "beta": true, "owner": { "name": "Bob" } },
            },
            { "name": "Someone Else" },
        ]});
        let patch = patch_from(body.to_string().as_bytes()).unwrap();
        assert_eq!(patch.name.as_deref(), Some("Ann Example"));
        assert_eq!(patch.company.as_deref(), Some("ACME"));
        assert_eq!(patch.tier.as_deref(), Some("enterprise"));
        let mut attributes = patch.attributes;
        attributes.sort();
        assert_eq!(
            attributes,
            [
                ("beta".to_owned(), "true".to_owned()),
                ("owner".to_owned(), r#"{"name":"Bob"}"#.to_owned()),
                ("plan".to_owned(), r#""gold""#.to_owned()),
                ("seats".to_owned(), "40".to_owned()),
            ]
        );
    }

    #[test]
    fn missing_fields_and_no_contacts_patch_nothing() {
        for body in [r#"{"contacts": []}"#, r#"{"contacts": [{}]}"#, r#"{"contacts": [{"name": null, "tier": " "}]}"#] {
            let patch = patch_from(body.as_bytes()).unwrap();
            assert_eq!((patch.name, patch.company, patch.tier), (None, None, None), "{body}");
            assert!(patch.attributes.is_empty());
        }
        for body in ["", "[]", r#"{"contact": {}}"#, r#"{"contacts": [{"name": 7}]}"#] {
            assert!(!patch_from(body.as_bytes()).unwrap_err().retryable, "{body}");
        }
    }

    #[test]
    fn milestones_become_activities() {
        let created = activity(&event("case_created", r#"{"subject":"Printer"}"#, &[("email", "ann@example.com")]));
        assert_eq!(
            created.unwrap(),
            Some(json!({
                "email": "ann@example.com",
                "case_id": "42",
                "event_id": "ev9",
                "type": "case_created",
                "at": "2026-03-02T09:00:00Z",
                "data": { "subject": "Printer" },
            }))
        );
        let solved = activity(&event("status_changed", r#"{"from":"open","to":"solved"}"#, &[("email", "a@b.c")]));
        assert_eq!(solved.unwrap().unwrap()["data"]["to"], "solved");
        let csat = activity(&event("csat_received", r#"{"score":5}"#, &[("email", "a@b.c")]));
        assert_eq!(csat.unwrap().unwrap()["type"], "csat_received");
    }

    #[test]
    fn other_events_and_customers_without_email_are_skipped() {
        let with_email = [("email", "a@b.c")];
        let skipped = [
            event("status_changed", r#"{"from":"new","to":"open"}"#, &with_email),
            event("status_changed", r#"{}"#, &with_email),
            event("reply_sent", "not even json", &with_email),
            event("message_received", r#"{}"#, &with_email),
            event("case_created", r#"{}"#, &[("handle", "v1")]),
        ];
        for event in skipped {
            assert_eq!(activity(&event).unwrap(), None, "{} {}", event.event_type, event.data);
        }
        assert!(!activity(&event("case_created", "{", &with_email)).unwrap_err().retryable);
    }
}
