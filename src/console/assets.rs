//! The console's static files, compiled into the binary. Each is served
//! under a name that carries a hash of its bytes, so a browser may keep it
//! for a year and still never runs a stale script after an upgrade.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
struct Asset {
    /// The name pages link to, without the hash.
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const FILES: &[Asset] = &[
    Asset { name: "console.css", content_type: "text/css; charset=utf-8", bytes: include_bytes!("assets/console.css") },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/console.js"),
    },
    // htmx 2.0.11 from the npm registry (BSD Zero Clause, `htmx-LICENSE.txt`).
    Asset {
        name: "htmx.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/htmx-2.0.11.min.js"),
    },
];

/// `name` -> `name` with its content hash (`console.3f2a9c1b.css`).
static HASHED: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|asset| {
            let digest = hex::encode(&Sha256::digest(asset.bytes)[..6]);
            let (stem, ext) = asset.name.rsplit_once('.').unwrap_or((asset.name, ""));
            (asset.name, format!("{stem}.{digest}.{ext}"))
        })
        .collect()
});

/// The URL of the embedded file `name` (one of [`FILES`]).
pub fn url(name: &str) -> String {
    let hashed = HASHED.iter().find(|(n, _)| *n == name).map_or(name, |(_, h)| h.as_str());
    format!("/assets/{hashed}")
}

/// `GET /assets/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(index) = HASHED.iter().position(|(_, hashed)| *hashed == file) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let asset = &FILES[index];
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_hashed_url_that_serves_it() {
        for asset in FILES {
            let url = url(asset.name);
            assert!(url.starts_with("/assets/") && url != format!("/assets/{}", asset.name), "{url}");
            assert!(HASHED.iter().any(|(_, h)| url.ends_with(h.as_str())));
        }
    }
}
