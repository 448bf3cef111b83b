//! A keep-alive HTTP/1.1 connection that sends one request at a time: the
//! least a load generator needs. It shares the machine with the server it
//! measures, so its own CPU is kept small: a request is one write of bytes
//! built in a reused buffer, a response is read into another and parsed with
//! `httparse`; there is no pool, no connection task and no channel per
//! request (hyper's client spent about half of the generator's user time).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Headers a response may have before it is refused.
const MAX_HEADERS: usize = 32;
/// Largest response head (status line and headers).
const MAX_HEAD: usize = 64 * 1024;

/// Where requests go, and the headers every request carries.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`, to connect to and to send as `Host`.
    authority: String,
    /// `Authorization` header value.
    auth: String,
}

impl Target {
    /// The target at `url` (`http://host:port`, no path), authenticating
    /// with `auth`.
    ///
    /// # Errors
    /// A URL that is not plain `http://host[:port]`.
    pub fn new(url: &str, auth: String) -> anyhow::Result<Self> {
        let Some(rest) = url.trim_end_matches('/').strip_prefix("http://") else {
            bail!("--url must start with http:// (got {url:?})");
        };
        anyhow::ensure!(!rest.is_empty() && !rest.contains('/'), "--url must be http://host:port, without a path");
        let authority = if rest.contains(':') { rest.to_owned() } else { format!("{rest}:80") };
        Ok(Self { authority, auth })
    }
}

/// One answered request.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The response body.
    pub body: Vec<u8>,
    /// From the first byte written to the last byte read.
    pub latency: Duration,
}

/// A connection, opened on first use and again after a failure or a
/// `Connection: close`.
#[derive(Debug)]
pub struct Connection {
    target: Target,
    stream: Option<TcpStream>,
    request: Vec<u8>,
    response: Vec<u8>,
}

impl Connection {
    /// A connection to `target` (not opened yet).
    pub fn new(target: Target) -> Self {
        Self { target, stream: None, request: Vec::with_capacity(1024), response: Vec::with_capacity(16 * 1024) }
    }

    /// Sends one request with an optional JSON body and reads the answer.
    ///
    /// # Errors
    /// Connection and protocol failures; the connection is dropped and the
    /// next request opens a new one.
    pub async fn send(&mut self, method: &str, path: &str, body: Option<&[u8]>) -> anyhow::Result<Answer> {
        let result = self.exchange(method, path, body).await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn exchange(&mut self, method: &str, path: &str, body: Option<&[u8]>) -> anyhow::Result<Answer> {
        use std::io::Write;
        self.request.clear();
        write!(
            self.request,
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nauthorization: {}\r\n",
            self.target.authority, self.target.auth
        )?;
        if let Some(body) = body {
            write!(self.request, "content-type: application/json\r\ncontent-length: {}\r\n\r\n", body.len())?;
            self.request.extend_from_slice(body);
        } else {
            self.request.extend_from_slice(b"\r\n");
        }
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(&self.target.authority)
                    .await
                    .with_context(|| format!("connect to {}", self.target.authority))?;
                stream.set_nodelay(true)?;
                self.stream.insert(stream)
            }
        };
        let started = Instant::now();
        stream.write_all(&self.request).await?;
        self.response.clear();
        let (status, head_len, body_len, close) = loop {
            if let Some(head) = parse_head(&self.response)? {
                break head;
            }
            anyhow::ensure!(self.response.len() < MAX_HEAD, "response head over {MAX_HEAD} bytes");
            read_more(stream, &mut self.response).await?;
        };
        while self.response.len() < head_len + body_len {
            read_more(stream, &mut self.response).await?;
        }
        let latency = started.elapsed();
        anyhow::ensure!(self.response.len() == head_len + body_len, "bytes after the response body");
        let body = self.response[head_len..].to_vec();
        if close {
            self.stream = None;
        }
        Ok(Answer { status, body, latency })
    }
}

/// Reads what the socket has into `buffer`; end of stream is an error (the
/// server closed a connection with a request outstanding).
async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> anyhow::Result<()> {
    buffer.reserve(16 * 1024);
    if stream.read_buf(buffer).await? == 0 {
        bail!("the server closed the connection");
    }
    Ok(())
}

/// The status, head length, body length and whether the server closes the
/// connection after it, once the whole head is in `bytes`.
fn parse_head(bytes: &[u8]) -> anyhow::Result<Option<(u16, usize, usize, bool)>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head_len) = response.parse(bytes)? else { return Ok(None) };
    let status = response.code.context("a response without a status")?;
    let mut body_len = None;
    let mut close = false;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            body_len = Some(std::str::from_utf8(header.value)?.trim().parse::<usize>()?);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            bail!("chunked responses are not supported");
        } else if header.name.eq_ignore_ascii_case("connection") {
            close = header.value.eq_ignore_ascii_case(b"close");
        }
    }
    // Only these statuses have no body and may omit its length.
    let body_len = match body_len {
        Some(len) => len,
        None if status == 204 || status == 304 || (100..200).contains(&status) => 0,
        None => bail!("a {status} response without content-length"),
    };
    Ok(Some((status, head_len, body_len, close)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// Answers each request read with the next of `answers`, written in two
    /// parts to split head and body across reads; hangs up after the last.
    async fn serve(answers: Vec<&'static str>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut answers = answers.into_iter();
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut buffer = vec![0; 4096];
                while let Ok(1..) = stream.read(&mut buffer).await {
                    let Some(answer) = answers.next() else { break };
                    let (head, body) = answer.split_at(answer.len() / 2);
                    stream.write_all(head.as_bytes()).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    stream.write_all(body.as_bytes()).await.unwrap();
                    if answers.len() == 0 {
                        return; // and hang up
                    }
                }
            }
        });
        url
    }

    #[tokio::test]
    async fn answers_are_read_whole_over_one_connection_and_a_closed_one_reopens() {
        let url = serve(vec![
            "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n{\"id\":\"17\"}\n",
            "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\nconnection: close\r\n\r\n{}",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
        ])
        .await;
        let mut connection = Connection::new(Target::new(&url, "Bearer t".into()).unwrap());
        let answer = connection.send("POST", "/api/v1/cases", Some(b"{}")).await.unwrap();
        assert_eq!((answer.status, answer.body.as_slice()), (201, b"{\"id\":\"17\"}\n".as_slice()));
        let answer = connection.send("GET", "/api/v1/cases/9", None).await.unwrap();
        assert_eq!((answer.status, answer.body.as_slice()), (404, b"{}".as_slice()));
        assert!(connection.stream.is_none(), "connection: close is honoured");
        let answer = connection.send("GET", "/healthz", None).await.unwrap();
        assert_eq!((answer.status, answer.body.len()), (200, 0));
    }

    #[tokio::test]
    async fn a_server_that_hangs_up_mid_answer_is_an_error() {
        let url = serve(vec!["HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"short\":"]).await;
        let mut connection = Connection::new(Target::new(&url, "Bearer t".into()).unwrap());
        assert!(connection.send("GET", "/x", None).await.is_err());
        assert!(connection.stream.is_none());
    }

    #[test]
    fn only_plain_http_urls_are_accepted() {
        assert_eq!(Target::new("http://127.0.0.1:8080/", String::new()).unwrap().authority, "127.0.0.1:8080");
        assert_eq!(Target::new("http://localhost", String::new()).unwrap().authority, "localhost:80");
        assert!(Target::new("https://example.com", String::new()).is_err());
        assert!(Target::new("http://example.com/api", String::new()).is_err());
    }
}
