//! The leads' dashboard: first contact resolution, time to resolution, SLA
//! compliance per metric, CSAT and the backlog over a chosen range, drawn
//! as server-rendered SVG (no chart script; the policy forbids inline code
//! anyway).

use axum::extract::{Query, State};
use axum::response::Response;
use frontdesk_core::auth::Role;
use frontdesk_core::metrics::ServiceMetrics;
use jiff::SignedDuration;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::ConsoleError;
use super::format;
use super::page::{self, Shell};
use super::session::SignedIn;
use crate::http::AppState;

/// The ranges a lead picks from, in days.
const RANGES: [u32; 4] = [1, 7, 30, 90];

/// `?days=`: the range, one of [`RANGES`].
#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    days: Option<u32>,
}

/// `GET /reports`.
pub async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ConsoleError> {
    if me.agent.role == Role::Agent {
        return Err(ConsoleError::Forbidden("see reports (leads and admins can)"));
    }
    let days = query.days.filter(|d| RANGES.contains(d)).unwrap_or(7);
    let to = state.frontdesk().clock().now();
    let from = to - SignedDuration::from_hours(24 * i64::from(days));
    let metrics = state.frontdesk().service_metrics(from, to).await?;
    let content = html! {
        main #main .content {
            div.toolbar {
                h1 { "Reports" }
                span.spacer {}
                nav aria-label="Range" {
                    @for d in RANGES {
                        a.button aria-current=[(d == days).then_some("page")] href={ "/reports?days=" (d) } {
                            @if d == 1 { "24 h" } @else { (d) " days" }
                        }
                        " "
                    }
                }
            }
            p.hint { "From " (format::time(metrics.from)) " to " (format::time(metrics.to)) "." }
            (tiles(&metrics))
            div.case-grid {
                section.panel aria-label="SLA compliance" {
                    h2 { "SLA compliance" }
                    (compliance_chart(&metrics))
                }
                section.panel aria-label="Backlog" {
                    h2 { "Backlog now: " (metrics.backlog.total) }
                    (bars(&metrics.backlog.by_status.iter().map(|(k, v)| (k.replace('_', " "), *v)).collect::<Vec<_>>()))
                    h2 { "By age" }
                    (bars(&metrics.backlog.by_age.iter().map(|(k, v)| (k.replace('_', " "), *v)).collect::<Vec<_>>()))
                    p.hint { (metrics.backlog.reopened) " reopened" }
                }
            }
        }
    };
    Ok(page::render(&Shell { title: "Reports", me: Some(&me), live: false, case: None }, content))
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.0}%", r * 100.0))
}

fn duration(seconds: Option<f64>) -> String {
    let Some(s) = seconds else { return "—".to_owned() };
    let s = s.round() as i64;
    if s < 3600 {
        format!("{}m", s / 60)
    } else if s < 86_400 {
        format!("{}h {}m", s / 3600, s % 3600 / 60)
    } else {
        format!("{}d {}h", s / 86_400, s % 86_400 / 3600)
    }
}

fn tiles(m: &ServiceMetrics) -> Markup {
    let tile = |label: &str, value: String, detail: String| {
        html! { section.panel { h2 { (label) } div.big { (value) } div.hint { (detail) } } }
    };
    html! {
        div.tiles {
            (tile("First contact resolution", percent(m.first_contact_resolution.rate),
                format!("{} of {} solved cases", m.first_contact_resolution.hits, m.first_contact_resolution.of)))
            (tile("Time to resolution", duration(m.time_to_resolution.median_seconds),
                format!("median; mean {} over {} cases", duration(m.time_to_resolution.mean_seconds), m.time_to_resolution.count)))
            (tile("CSAT", m.csat.average.map_or_else(|| "—".to_owned(), |a| format!("{a:.1} / 5")),
                format!("{} ratings", m.csat.count)))
        }
    }
}

/// Met and breached per metric, as stacked horizontal bars.
fn compliance_chart(m: &ServiceMetrics) -> Markup {
    const WIDTH: f64 = 320.0;
    let rows: Vec<_> = m.sla_compliance.iter().collect();
    if rows.is_empty() {
        return html! { p.hint { "No SLA outcomes in this range." } };
    }
    let height = rows.len() * 34;
    html! {
        svg viewBox={ "0 0 460 " (height) } width="100%" role="img" aria-label="SLA compliance per metric" {
            @for (i, (metric, c)) in rows.iter().enumerate() {
                @let total = (c.met + c.breached).max(1) as f64;
                @let met_w = WIDTH * c.met as f64 / total;
                @let y = i * 34;
                text x="0" y=(y + 20) font-size="12" { (format::metric_label(**metric)) }
                rect x="90" y=(y + 6) width=(format!("{met_w:.1}")) height="20" fill="#1d7a3a" {}
                rect x=(format!("{:.1}", 90.0 + met_w)) y=(y + 6) width=(format!("{:.1}", WIDTH - met_w)) height="20" fill="#b3261e" {}
                text x="420" y=(y + 20) font-size="12" { (percent(c.rate)) }
                title { (c.met) " met, " (c.breached) " breached" }
            }
        }
    }
}

/// Counts as vertical bars with their labels.
fn bars(rows: &[(String, u64)]) -> Markup {
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    let width = rows.len().max(1) * 80;
    html! {
        svg viewBox={ "0 0 " (width) " 140" } width="100%" role="img" aria-label="counts" {
            @for (i, (label, value)) in rows.iter().enumerate() {
                @let h = 100.0 * *value as f64 / max;
                rect x=(i * 80 + 15) y=(format!("{:.1}", 110.0 - h)) width="50" height=(format!("{h:.1}")) fill="#2251c5" {}
                text x=(i * 80 + 40) y=(format!("{:.1}", 105.0 - h)) font-size="12" text-anchor="middle" { (value) }
                text x=(i * 80 + 40) y="128" font-size="11" text-anchor="middle" { (label) }
            }
        }
    }
}
