//! The HTTP floor: what this machine spends on HTTP alone, with no case work.
//!
//! It serves the routes `frontdesk-load` calls through the same connection
//! layer (`frontdesk::server::serve`), middleware (body limit, timeout,
//! tracing span), logging, runtime and allocator as `frontdesk serve`, and
//! answers each with a body the real server gave for it (captured in
//! `benches/e2e/floor/`, same sizes). Whatever rate the load generator
//! reaches against it bounds what the real server can reach on the same
//! cores; `benches/e2e/floor.sh` runs the two side by side. `--bare` leaves
//! the middleware out, to see what it costs.
//!
//! ```text
//! cargo run --release --example http_floor -- 127.0.0.1:18197 [--bare]
//! ```

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use frontdesk::config::ServerConfig;
use frontdesk::http::with_middleware;
use frontdesk::server::{ConnectionLimits, serve};

/// The server's allocator, so that the floor allocates as it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CREATED: &str = include_str!("../benches/e2e/floor/create.json");
const CASE: &str = include_str!("../benches/e2e/floor/get.json");
const CUSTOMER_MESSAGE: &str = include_str!("../benches/e2e/floor/msg.json");
const REPLY: &str = include_str!("../benches/e2e/floor/reply.json");
const PATCHED: &str = include_str!("../benches/e2e/floor/patch.json");
const LISTING: &str = include_str!("../benches/e2e/floor/list.json");

fn json(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Every route takes its body as bytes, so each request is read whole, as
/// the real handlers read theirs.
fn routes() -> Router {
    Router::new()
        .route("/healthz", get(|| async { json(StatusCode::OK, r#"{"status":"ok"}"#) }))
        .route(
            "/api/v1/cases",
            get(|| async { json(StatusCode::OK, LISTING) })
                .post(|_body: Bytes| async { json(StatusCode::CREATED, CREATED) }),
        )
        .route(
            "/api/v1/cases/{id}",
            get(|| async { json(StatusCode::OK, CASE) }).patch(|_body: Bytes| async { json(StatusCode::OK, PATCHED) }),
        )
        .route(
            "/api/v1/cases/{id}/messages",
            post(|body: Bytes| async move {
                let reply = body.windows(7).any(|w| w == br#""reply""#);
                json(StatusCode::CREATED, if reply { REPLY } else { CUSTOMER_MESSAGE })
            }),
        )
}

fn main() -> anyhow::Result<()> {
    frontdesk::init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bare = args.iter().any(|a| a == "--bare");
    let bind = args.iter().find(|a| !a.starts_with("--")).cloned().unwrap_or_else(|| "127.0.0.1:18197".to_owned());
    let server = ServerConfig::default();
    let routes =
        if bare { routes() } else { with_middleware(routes(), server.max_body_bytes, server.request_timeout()?) };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(&bind).await.with_context(|| format!("cannot listen on {bind}"))?;
        tracing::info!(%bind, bare, "http floor listening");
        let limits = ConnectionLimits { max_connections: 4096, header_read_timeout: server.header_read_timeout()? };
        serve(listener, routes, limits, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        Ok(())
    })
}
