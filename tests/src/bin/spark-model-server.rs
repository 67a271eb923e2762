//! `spark-model-server`: runs the reference model server until killed, for benchmarks and
//! demos with no network. Prints the base URL as the first line of stdout (for scripts) and
//! `listening on URL` to stderr.
//!
//! ```text
//! spark-model-server [--port N] [--corpus FILE] [--decode-tps N] [--prefill-tps N]
//!                    [--base-latency-ms N] [--api-key-env NAME] [--tls-cert PEM --tls-key PEM]
//!                    [--answer TEXT]... [--max-tokens N]
//! ```
//!
//! While it runs, each line on stdin is a JSON command for what the next requests get, so that
//! a driver (the VS Code end-to-end tests) can script answers and faults step by step:
//! `{"answer": "TEXT"}` queues an answer (ahead of corpus mode), `{"stall_ms": N}` delays the
//! next response, `{"server_error": 503}` fails it, `{"clear": true}` drops what is still queued.
//! A bad line is reported on stderr and skipped.

use std::io::BufRead;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use spark_tests::model_server::{Fault, ModelServer, ModelServerConfig, TlsFiles};

const USAGE: &str = "usage: spark-model-server [--port N] [--corpus FILE] [--decode-tps N] \
[--prefill-tps N] [--base-latency-ms N] [--api-key-env NAME] [--tls-cert PEM --tls-key PEM] \
[--answer TEXT]... [--max-tokens N]";

struct Args {
    config: ModelServerConfig,
    answers: Vec<String>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let mut config = ModelServerConfig::default();
    let mut answers = Vec::new();
    let (mut cert, mut key) = (None, None);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--port" => config.bind = SocketAddr::from(([127, 0, 0, 1], value()?.parse()?)),
            "--corpus" => {
                let path = value()?;
                config.corpus = Some(
                    std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?,
                );
            }
            "--decode-tps" => config.cost.decode_tps = value()?.parse()?,
            "--prefill-tps" => config.cost.prefill_tps = value()?.parse()?,
            "--base-latency-ms" => {
                config.cost.base_latency = Duration::from_millis(value()?.parse()?)
            }
            "--max-tokens" => config.default_max_tokens = value()?.parse()?,
            "--api-key-env" => {
                let name = value()?;
                config.api_key = Some(
                    std::env::var(&name)
                        .with_context(|| format!("environment variable {name} is not set"))?,
                );
            }
            "--tls-cert" => cert = Some(value()?.into()),
            "--tls-key" => key = Some(value()?.into()),
            "--answer" => answers.push(value()?),
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    config.tls = match (cert, key) {
        (Some(cert_pem), Some(key_pem)) => Some(TlsFiles { cert_pem, key_pem }),
        (None, None) => None,
        _ => bail!("--tls-cert and --tls-key go together"),
    };
    Ok(Args { config, answers })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = parse_args(std::env::args().skip(1))?;
    let server = Arc::new(ModelServer::start(args.config).await?);
    for answer in args.answers {
        server.push_answer(answer);
    }
    announce(&server.http_base());
    let control = server.clone();
    // A plain thread: stdin is blocking, and the runtime must keep serving meanwhile.
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if let Err(error) = command(&control, &line) {
                report(&format!("control line {line:?}: {error:#}"));
            }
        }
    });
    std::future::pending::<()>().await;
    Ok(())
}

/// Applies one stdin control line (see the module doc).
fn command(server: &ModelServer, line: &str) -> anyhow::Result<()> {
    if line.trim().is_empty() {
        return Ok(());
    }
    let value: serde_json::Value = serde_json::from_str(line)?;
    if let Some(answer) = value["answer"].as_str() {
        server.push_answer(answer);
    } else if let Some(ms) = value["stall_ms"].as_u64() {
        server.push_fault(Fault::Stall(Duration::from_millis(ms)));
    } else if value["clear"] == serde_json::Value::Bool(true) {
        server.clear_scripts();
    } else if let Some(status) = value["server_error"].as_u64() {
        server.push_fault(Fault::ServerError(u16::try_from(status)?));
    } else {
        bail!("expected answer, stall_ms, server_error or clear");
    }
    Ok(())
}

#[allow(clippy::print_stderr)]
fn report(message: &str) {
    eprintln!("{message}");
}

/// The only place that writes to stdout: scripts read the URL from the first line.
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn announce(url: &str) {
    println!("{url}");
    eprintln!("listening on {url}");
}
