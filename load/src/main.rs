//! `frontdesk-load`: drives a running Frontdesk server over HTTP at a given
//! concurrency and prints throughput and latency percentiles.
//!
//! ```text
//! frontdesk-load --url http://127.0.0.1:8080 --token "$(cat data/admin.token)" \
//!     --connections 64 --duration 10s --mix creates
//! ```
//!
//! `--mix creates` sends only case creations; `--mix realistic` sends, per
//! connection, a loop of: create a case (with a customer message), get it,
//! add a customer message, reply, change its status, list cases.
//! `--mix reads` sends only reads to a server that already holds cases: five
//! gets of random cases out of all of them, then a listing of the newest 20.
//! `--mix signals --plugin NAME` posts usage signals for one customer per
//! connection to a health plugin, to run beside another load: a failing
//! plugin's answers (502, 503) count as answered, not as failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use serde_json::{Value, json};

mod client;

use client::{Answer, Connection, Target};

/// mimalloc, as in the server: the generator shares the machine with the
/// server, and glibc's malloc was about a tenth of its CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Load generator arguments.
#[derive(Debug, Parser)]
#[command(name = "frontdesk-load", version, about)]
struct Args {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Bearer token (admin or agent).
    #[arg(long)]
    token: String,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// How long to run (`10s`, `1m`).
    #[arg(long, default_value = "10s", value_parser = parse_secs)]
    duration: Duration,
    /// Request mix.
    #[arg(long, value_enum, default_value_t = Mix::Creates)]
    mix: Mix,
    /// Threads of the generator's own runtime. One thread keeps its CPU (and
    /// so its share of a small machine) lowest; raise it when the generator
    /// runs on a machine of its own.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// The health plugin `--mix signals` calls.
    #[arg(long, default_value = "health")]
    plugin: String,
    /// Stop each connection after this many rounds (one loop of
    /// `realistic`, one request of the other mixes), even before `--duration`
    /// ends: a fixed request sequence, for counting the server's
    /// instructions (`benches/e2e/callgrind.sh`), where time says little.
    #[arg(long)]
    rounds: Option<u64>,
}

/// Which requests to send.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mix {
    /// Only `POST /cases`.
    Creates,
    /// Create, get, customer message, reply, status change, list.
    Realistic,
    /// Only reads: gets of random existing cases and listings.
    Reads,
    /// Only `POST /customers/{id}/signals?plugin=...`.
    Signals,
}

fn parse_secs(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number.parse().map_err(|_| format!("invalid duration {text:?}"))?;
    match unit {
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("invalid duration {text:?} (use 10s or 2m)")),
    }
}

struct Shared {
    target: Target,
    errors: AtomicU64,
    deadline: Instant,
    plugin: String,
    /// The highest case id when the run started (`--mix reads`).
    newest_case: u64,
    /// Rounds per connection (`--rounds`; unbounded without it).
    rounds: u64,
}

impl Shared {
    /// Whether a connection that has run `done` rounds goes on.
    fn more(&self, done: u64) -> bool {
        done < self.rounds && Instant::now() < self.deadline
    }
}

/// Sends one request with a JSON body. The answer's body is parsed only by
/// callers that need it: the generator shares the machine with the server,
/// so its own CPU is kept small.
async fn send(connection: &mut Connection, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Answer> {
    let bytes = body.map(|b| serde_json::to_vec(b).expect("json"));
    connection.send(method, path, bytes.as_deref()).await
}

/// One connection's loop; returns its latency histogram (µs).
async fn worker(shared: Arc<Shared>, mix: Mix, worker: usize) -> Histogram<u64> {
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
    let mut n = 0u64;
    let mut connection = Connection::new(shared.target.clone());
    let mut record = |result: anyhow::Result<Answer>, ok: &[u16]| -> Option<Vec<u8>> {
        match result {
            Ok(Answer { status, body, latency }) if ok.contains(&status) => {
                let _ = histogram.record(latency.as_micros().max(1) as u64);
                Some(body)
            }
            _ => {
                shared.errors.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    };
    if let Mix::Reads = mix {
        let mut rng = fastrand::Rng::with_seed(worker as u64);
        while shared.more(n) {
            n += 1;
            if n.is_multiple_of(6) {
                record(send(&mut connection, "GET", "/api/v1/cases?limit=20", None).await, &[200]);
            } else {
                let path = format!("/api/v1/cases/{}", rng.u64(1..=shared.newest_case));
                record(send(&mut connection, "GET", &path, None).await, &[200]);
            }
        }
        return histogram;
    }
    if let Mix::Signals = mix {
        let customer = json!({"email": format!("signals-{worker}@example.com")});
        let Some(customer) =
            record(send(&mut connection, "POST", "/api/v1/customers", Some(&customer)).await, &[200, 201])
        else {
            return histogram;
        };
        let path = format!("/api/v1/customers/{}/signals?plugin={}", id_of(&customer), shared.plugin);
        let signals = json!({"signals": {"score": 50, "logins_30d": 12}});
        while shared.more(n) {
            n += 1;
            record(send(&mut connection, "POST", &path, Some(&signals)).await, &[200, 502, 503]);
        }
        return histogram;
    }
    while shared.more(n) {
        n += 1;
        let create = json!({
            "subject": format!("Load case {worker}-{n}"),
            "customer": {"email": format!("load-{worker}-{}@example.com", n % 50)},
            "channel": "api",
            "message": {"body": "The printer is on fire again."}
        });
        let Some(case) = record(send(&mut connection, "POST", "/api/v1/cases", Some(&create)).await, &[201]) else {
            continue;
        };
        if let Mix::Creates = mix {
            continue;
        }
        let id = id_of(&case);
        if id.is_empty() {
            continue;
        }
        let path = format!("/api/v1/cases/{id}");
        record(send(&mut connection, "GET", &path, None).await, &[200]);
        let message = json!({"type": "customer", "body": "Any news?"});
        record(send(&mut connection, "POST", &format!("{path}/messages"), Some(&message)).await, &[201]);
        let reply = json!({"type": "reply", "body": "A technician is on the way."});
        record(send(&mut connection, "POST", &format!("{path}/messages"), Some(&reply)).await, &[201]);
        record(send(&mut connection, "PATCH", &path, Some(&json!({"status": "pending"}))).await, &[200]);
        record(send(&mut connection, "GET", "/api/v1/cases?status=new&limit=20", None).await, &[200]);
    }
    histogram
}

/// The `id` field of a JSON response body, or "" if it has none.
fn id_of(body: &[u8]) -> String {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    value["id"].as_str().unwrap_or_default().to_owned()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = match args.threads {
        0 | 1 => tokio::runtime::Builder::new_current_thread().enable_all().build()?,
        n => tokio::runtime::Builder::new_multi_thread().worker_threads(n).enable_all().build()?,
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let target = Target::new(&args.url, format!("Bearer {}", args.token.trim()))?;
    let mut connection = Connection::new(target.clone());
    let mut shared = Shared {
        target,
        errors: AtomicU64::new(0),
        deadline: Instant::now() + args.duration,
        plugin: args.plugin.clone(),
        newest_case: 0,
        rounds: args.rounds.unwrap_or(u64::MAX),
    };
    let Answer { status, .. } =
        send(&mut connection, "GET", "/healthz", None).await.context("the server does not answer")?;
    anyhow::ensure!(status == 200, "GET /healthz answered {status}");
    // A refused token fails here, not as every request of the run.
    let Answer { status, body, .. } = send(&mut connection, "GET", "/api/v1/cases?limit=1", None).await?;
    anyhow::ensure!(status == 200, "GET /api/v1/cases answered {status} (is --token right?)");
    if let Mix::Reads = args.mix {
        let newest: Value = serde_json::from_slice(&body)?;
        shared.newest_case = newest["cases"][0]["id"].as_str().and_then(|id| id.parse().ok()).unwrap_or(0);
        anyhow::ensure!(
            shared.newest_case > 0,
            "--mix reads needs cases to read; fill the server with --mix creates first"
        );
    }
    let shared = Arc::new(shared);
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.connections).map(|w| tokio::spawn(worker(shared.clone(), args.mix, w))).collect();
    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for task in tasks {
        total.add(task.await?)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let count = total.len();
    println!("mix: {:?}, connections: {}, duration: {:.1} s", args.mix, args.connections, elapsed);
    println!("requests: {count} ok, {} failed", shared.errors.load(Ordering::Relaxed));
    println!("throughput: {:.0} requests/s", count as f64 / elapsed);
    println!(
        "latency (ms): p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        total.value_at_quantile(0.50) as f64 / 1000.0,
        total.value_at_quantile(0.90) as f64 / 1000.0,
        total.value_at_quantile(0.99) as f64 / 1000.0,
        total.value_at_quantile(0.999) as f64 / 1000.0,
        total.max() as f64 / 1000.0
    );
    Ok(())
}
