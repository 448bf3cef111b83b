//! Outbound HTTP for plugins, a small blocking client over
//! `wasi:http/outgoing-handler`. The server only lets a request through to a
//! host the plugin was granted; any other ends as [`Error::Denied`].

use wasip2::http::outgoing_handler;
use wasip2::http::types::{ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasip2::io::streams::StreamError;

use crate::channel::PluginError;

/// An HTTP request.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// `http://host:port/path?query` or `https://...`.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body (empty for none).
    pub body: Vec<u8>,
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `Ok` for 2xx. Otherwise the error to return from an export, naming
    /// `api` (for example "mail API"), the status and the start of the
    /// answer: retryable for 429 and 5xx (busy or down: the outbox tries
    /// again), permanent for any other status (the request is refused).
    pub fn check(&self, api: &str) -> Result<(), PluginError> {
        if self.is_success() {
            return Ok(());
        }
        let answer: String = String::from_utf8_lossy(&self.body).chars().take(200).collect();
        let message = format!("{api} answered {}: {}", self.status, answer.trim());
        if self.status == 429 || self.status >= 500 {
            Err(PluginError::retryable(message))
        } else {
            Err(PluginError::permanent(message))
        }
    }
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The URL could not be parsed.
    InvalidUrl(String),
    /// The server refused the destination: not a granted host.
    Denied,
    /// The request failed on the way (connection refused, timeout, ...).
    Failed(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidUrl(url) => write!(f, "invalid URL `{url}`"),
            Error::Denied => write!(f, "the server refused the destination (not a granted host)"),
            Error::Failed(why) => write!(f, "request failed: {why}"),
        }
    }
}

impl Error {
    /// This failure as the error to return from an export, naming `api`: a
    /// request that failed on the way is worth retrying; a host that is not
    /// granted or a bad URL is not (the operator has to change the config).
    pub fn into_plugin_error(self, api: &str) -> PluginError {
        match self {
            Error::Failed(_) => PluginError::retryable(format!("{api}: {self}")),
            Error::Denied => {
                PluginError::permanent(format!("{api} host is not granted: add it to the plugin's allowed_hosts"))
            }
            Error::InvalidUrl(_) => PluginError::permanent(format!("{api}: {self} (check `api_url`)")),
        }
    }
}

impl Request {
    /// A `POST` with a JSON body (already serialised).
    pub fn post_json(url: impl Into<String>, json: impl Into<String>) -> Self {
        Self {
            method: "POST".into(),
            url: url.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: json.into().into_bytes(),
        }
    }

    /// A `GET`.
    pub fn get(url: impl Into<String>) -> Self {
        Self { method: "GET".into(), url: url.into(), headers: Vec::new(), body: Vec::new() }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `Authorization: Bearer <token>` when there is a token, so that an
    /// API key the operator left unset sends none:
    /// `request.bearer(config::setting("api_key").as_deref())`.
    pub fn bearer(self, token: Option<&str>) -> Self {
        match token {
            Some(token) => self.header("authorization", &format!("Bearer {token}")),
            None => self,
        }
    }
}

/// Sends `request` to `api` (named in errors, for example "mail API") and
/// answers its 2xx response, or the error to return from an export: see
/// [`Error::into_plugin_error`] and [`Response::check`].
pub fn send_to(api: &str, request: &Request) -> Result<Response, PluginError> {
    let response = send(request).map_err(|e| e.into_plugin_error(api))?;
    response.check(api)?;
    Ok(response)
}

/// Sends `request` and waits for the whole response.
pub fn send(request: &Request) -> Result<Response, Error> {
    let (scheme, authority, path) = split_url(&request.url).ok_or_else(|| Error::InvalidUrl(request.url.clone()))?;
    let headers = Fields::new();
    for (name, value) in &request.headers {
        headers.append(name, value.as_bytes()).map_err(|e| Error::Failed(format!("header `{name}`: {e:?}")))?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method.to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        other => Method::Other(other.to_owned()),
    };
    let invalid = |_| Error::InvalidUrl(request.url.clone());
    outgoing.set_method(&method).map_err(invalid)?;
    outgoing.set_scheme(Some(&scheme)).map_err(invalid)?;
    outgoing.set_authority(Some(authority)).map_err(invalid)?;
    outgoing.set_path_with_query(Some(path)).map_err(invalid)?;
    let body = outgoing.body().map_err(|_| Error::Failed("request body taken twice".into()))?;
    let future = outgoing_handler::handle(outgoing, None).map_err(error_code)?;
    write_body(&body, &request.body)?;
    OutgoingBody::finish(body, None).map_err(error_code)?;

    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(error_code(code)),
        Some(Err(())) | None => return Err(Error::Failed("no response".into())),
    };
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let incoming = response.consume().map_err(|_| Error::Failed("response body taken twice".into()))?;
    let body = read_body(&incoming)?;
    drop(IncomingBody::finish(incoming));
    Ok(Response { status, headers, body })
}

fn write_body(body: &OutgoingBody, bytes: &[u8]) -> Result<(), Error> {
    let stream = body.write().map_err(|_| Error::Failed("request body stream taken twice".into()))?;
    // `blocking-write-and-flush` takes at most 4096 bytes a call.
    for chunk in bytes.chunks(4096) {
        stream.blocking_write_and_flush(chunk).map_err(|e| Error::Failed(format!("writing the body: {e:?}")))?;
    }
    Ok(())
}

fn read_body(incoming: &IncomingBody) -> Result<Vec<u8>, Error> {
    let stream = incoming.stream().map_err(|_| Error::Failed("response body stream taken twice".into()))?;
    let mut out = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => out.extend_from_slice(&chunk),
            Err(StreamError::Closed) => return Ok(out),
            Err(e) => return Err(Error::Failed(format!("reading the body: {e:?}"))),
        }
    }
}

fn error_code(code: ErrorCode) -> Error {
    match code {
        ErrorCode::HttpRequestDenied => Error::Denied,
        other => Error::Failed(format!("{other:?}")),
    }
}

/// `http://host:port/path` into scheme, authority and path-with-query.
fn split_url(url: &str) -> Option<(Scheme, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => Scheme::Other(other.to_owned()),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    (!authority.is_empty()).then_some((scheme, authority, path))
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so a
/// value is safe as one path segment or query value (`+` in an address
/// stays a `+`, `/` cannot start a new segment).
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        let (scheme, authority, path) = split_url("http://127.0.0.1:8025/v1/send?x=1").unwrap();
        assert!(matches!(scheme, Scheme::Http));
        assert_eq!(authority, "127.0.0.1:8025");
        assert_eq!(path, "/v1/send?x=1");
        let (_, authority, path) = split_url("https://api.example").unwrap();
        assert_eq!((authority, path), ("api.example", "/"));
        assert!(split_url("no-scheme").is_none());
        assert!(split_url("http:///path").is_none());
    }

    #[test]
    fn components_are_percent_encoded() {
        let cases = [
            ("abc-._~XYZ09", "abc-._~XYZ09"),
            ("a b", "a%20b"),
            ("a/b?c#d&e", "a%2Fb%3Fc%23d%26e"),
            ("ann+vip@example.com", "ann%2Bvip%40example.com"),
            ("é", "%C3%A9"),
        ];
        for (raw, encoded) in cases {
            assert_eq!(encode_component(raw), encoded);
        }
    }

    #[test]
    fn a_bearer_token_is_sent_only_when_there_is_one() {
        let request = Request::get("http://127.0.0.1:9000/x").bearer(Some("crm-key"));
        assert_eq!(request.headers, [("authorization".to_owned(), "Bearer crm-key".to_owned())]);
        let request = Request::post_json("http://127.0.0.1:9000/x", "{}").bearer(None);
        assert_eq!(request.headers, [("content-type".to_owned(), "application/json".to_owned())]);
    }

    #[test]
    fn statuses_map_to_retryable_or_permanent_errors() {
        let response = |status| Response { status, headers: Vec::new(), body: b"{\"error\":\"x\"}".to_vec() };
        for status in [200, 201, 202, 204] {
            assert!(response(status).check("mail API").is_ok());
        }
        for status in [429, 500, 502, 503] {
            assert!(response(status).check("mail API").unwrap_err().retryable, "{status}");
        }
        for status in [400, 401, 403, 404, 422] {
            let error = response(status).check("mail API").unwrap_err();
            assert!(!error.retryable, "{status}");
            assert!(
                error.message.starts_with(&format!("mail API answered {status}: {{\"error\"")),
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn failed_requests_are_retryable_and_refused_ones_permanent() {
        let failed = Error::Failed("connection refused".into()).into_plugin_error("CRM API");
        assert!(failed.retryable);
        assert_eq!(failed.message, "CRM API: request failed: connection refused");
        let denied = Error::Denied.into_plugin_error("CRM API");
        assert!(!denied.retryable && denied.message.contains("allowed_hosts"));
        let url = Error::InvalidUrl("x".into()).into_plugin_error("CRM API");
        assert!(!url.retryable && url.message.contains("api_url"));
    }
}
