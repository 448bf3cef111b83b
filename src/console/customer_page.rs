//! One customer: profile, identities, health, every case, and the timeline
//! across them.

use axum::extract::{Path, State};
use axum::response::Response;
use frontdesk_core::domain::CustomerId;
use frontdesk_core::runtime::CaseQuery;
use maud::html;

use super::error::ConsoleError;
use super::format;
use super::page::{self, Shell};
use super::session::SignedIn;
use crate::http::AppState;

/// Cases and events shown on the page.
const SHOWN: usize = 100;

/// `GET /customers/{id}`.
pub async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
) -> Result<Response, ConsoleError> {
    let id = raw
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(CustomerId::new)
        .ok_or_else(|| ConsoleError::NotFound(format!("no customer {raw:?}")))?;
    let customer = state
        .frontdesk()
        .customer(id)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("customer {id} not found")))?;
    let cases = state.frontdesk().cases(CaseQuery { customer: Some(id), limit: SHOWN, ..CaseQuery::default() }).await?;
    let events = state.frontdesk().customer_events(id, None, SHOWN).await?.map(|p| p.items).unwrap_or_default();
    let name = customer.name.clone().unwrap_or_else(|| "(no name)".to_owned());
    let content = html! {
        main #main .content {
            div.toolbar { a href="/" { "← Inbox" } }
            h1 { (name) }
            div.case-grid {
                div {
                    section.panel aria-label="Cases" {
                        h2 { "Cases (" (cases.items.len()) @if cases.next.is_some() { "+" } ")" }
                        table.cases {
                            thead { tr { th { "#" } th { "Subject" } th { "Status" } th { "Priority" } th { "Updated" } } }
                            tbody {
                                @for (case, _) in &cases.items {
                                    tr data-href={ "/cases/" (case.id) } {
                                        td { (case.id) }
                                        td.subject { a href={ "/cases/" (case.id) } { (case.subject) } }
                                        td { (format::status(case.status)) }
                                        td { (format::priority(case.priority)) }
                                        td { (format::time(case.updated_at)) }
                                    }
                                }
                            }
                        }
                    }
                    section.panel aria-label="Timeline" {
                        h2 { "Timeline across cases" }
                        ol.timeline {
                            @for event in &events {
                                li.ev-change {
                                    (format::actor(&event.actor, customer.name.as_deref())) " · "
                                    @if let Some(case) = event.case_id { a href={ "/cases/" (case) } { "#" (case) } " · " }
                                    (format::event_kind(&event.body))
                                    " · " span.when { (format::time(event.at)) }
                                }
                            }
                        }
                    }
                }
                aside {
                    section.panel aria-label="Profile" {
                        h2 { "Profile" }
                        dl {
                            dt { "Name" } dd { (name) }
                            dt { "Tier" } dd { (customer.tier.as_deref().unwrap_or("—")) }
                            @for identity in &customer.identities { dt { (format::identity_kind(&identity.kind)) } dd { (identity.value) } }
                            dt { "Health" } dd {
                                @match &customer.health {
                                    Some(h) => { (h.get("score").map_or_else(|| h.to_string(), ToString::to_string)) " " (h.get("band").and_then(|b| b.as_str()).unwrap_or("")) }
                                    None => { "—" }
                                }
                            }
                            dt { "Since" } dd { (format::time(customer.created_at)) }
                            @for (key, value) in &customer.attributes { dt { (key) } dd { (value.to_string()) } }
                        }
                    }
                }
            }
        }
    };
    Ok(page::render(&Shell { title: &name, me: Some(&me), live: false, case: None }, content))
}
