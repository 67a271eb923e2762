//! `spark-model-server`: runs the reference model server until killed, for benchmarks and
//! demos with no network. Prints the base URL as the first line of stdout (for scripts) and
//! `listening on URL` to stderr.
//!
//! ```text
//! spark-model-server [--port N] [--corpus FILE] [--decode-tps N] [--prefill-tps N]
//!                    [--base-latency-ms N] [--api-key-env NAME] [--tls-cert PEM --tls-key PEM]
//!                    [--answer TEXT]... [--max-tokens N]
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use spark_tests::model_server::{ModelServer, ModelServerConfig, TlsFiles};

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
    let server = ModelServer::start(args.config).await?;
    for answer in args.answers {
        server.push_answer(answer);
    }
    announce(&server.http_base());
    std::future::pending::<()>().await;
    Ok(())
}

/// The only place that writes to stdout: scripts read the URL from the first line.
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn announce(url: &str) {
    println!("{url}");
    eprintln!("listening on {url}");
}
