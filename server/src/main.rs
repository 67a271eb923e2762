//! The `spark-lsp` binary: command line, logging, and LSP on stdio.
//!
//! stdout carries only JSON-RPC: logs go to stderr or to `--log-file`. This is the only file
//! that writes to stdout directly (for `--help` and `--version`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use spark_lsp::lsp::{LogControl, ServerOptions, serve};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const HELP: &str = "\
spark-lsp: real-time AI edits for every LSP editor

Usage: spark-lsp [OPTIONS]
       spark-lsp trust [DIR] | --list | --revoke [DIR]

Serves the Language Server Protocol on stdin/stdout. `trust` lets the spark-lsp.toml of a
workspace set its sensitive settings (see `spark-lsp trust --help`).

Options:
  --log-file PATH   write logs to PATH (appending) instead of stderr
  --stdio           serve on stdio (the default; accepted for editors that pass it)
  -V, --version     print the version and exit
  -h, --help        print this help and exit

Environment:
  SPARK_LSP_LOG     log filter, e.g. `debug` or `spark_lsp=trace` (default `info`);
                    when set it takes precedence over the `log.level` setting
";

enum Command {
    Serve { log_file: Option<PathBuf> },
    Print(String),
    Trust(Vec<String>),
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut log_file = None;
    let mut args = args.peekable();
    if args.peek().is_some_and(|arg| arg == "trust") {
        return Ok(Command::Trust(args.skip(1).collect()));
    }
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Print(HELP.into())),
            "-V" | "--version" => {
                return Ok(Command::Print(format!(
                    "spark-lsp {}\n",
                    env!("CARGO_PKG_VERSION")
                )));
            }
            "--stdio" => {}
            "--log-file" => {
                let path = args.next().ok_or("--log-file needs a path")?;
                log_file = Some(PathBuf::from(path));
            }
            other => match other.strip_prefix("--log-file=") {
                Some(path) => log_file = Some(PathBuf::from(path)),
                None => return Err(format!("unknown argument {other:?}; see --help")),
            },
        }
    }
    Ok(Command::Serve { log_file })
}

fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "spark-lsp: {err}");
            return ExitCode::from(2);
        }
    };
    let log_file = match command {
        Command::Print(text) => {
            let _ = std::io::stdout().write_all(text.as_bytes());
            return ExitCode::SUCCESS;
        }
        Command::Trust(args) => {
            return match spark_lsp::trust::cli::run(args) {
                Ok(text) => {
                    let _ = std::io::stdout().write_all(text.as_bytes());
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    let _ = writeln!(std::io::stderr(), "spark-lsp trust: {err}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Serve { log_file } => log_file,
    };
    let logging = match init_logging(log_file.as_ref()) {
        Ok(logging) => logging,
        Err(err) => {
            let _ = writeln!(
                std::io::stderr(),
                "spark-lsp: cannot open the log file: {err}"
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let options = ServerOptions {
        log: Some(Box::new(logging)),
        ..ServerOptions::default()
    };
    let clean = runtime.block_on(serve(tokio::io::stdin(), tokio::io::stdout(), options));
    // Serving can end while stdin is still open (`exit`, or the editor process is gone), and
    // tokio reads stdin with a blocking read that cannot be cancelled: waiting for the runtime's
    // threads would hang until the client writes or closes it.
    runtime.shutdown_background();
    // The specification: exit code 0 if `shutdown` came before `exit`, else 1.
    tracing::info!(clean, "exiting");
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Logs to stderr or a file, never stdout. `SPARK_LSP_LOG` and `--log-file` take precedence over
/// the `log.level` and `log.file` settings.
struct Logging {
    filter: tracing_subscriber::reload::Handle<EnvFilter, tracing_subscriber::Registry>,
    target: Arc<Mutex<Box<dyn Write + Send>>>,
    filter_from_env: bool,
    file_from_args: bool,
}

impl LogControl for Logging {
    fn set_filter(&self, filter: &str) -> Result<(), String> {
        if self.filter_from_env {
            return Ok(());
        }
        let filter = EnvFilter::try_new(filter).map_err(|e| e.to_string())?;
        self.filter.reload(filter).map_err(|e| e.to_string())
    }

    fn set_file(&self, path: &Path) -> Result<(), String> {
        if self.file_from_args {
            return Ok(());
        }
        let file = open_log(path).map_err(|e| e.to_string())?;
        *self.target.lock().unwrap_or_else(|e| e.into_inner()) = Box::new(file);
        Ok(())
    }
}

/// A log writer whose destination can be switched while the server runs.
#[derive(Clone)]
struct SharedWriter(Arc<Mutex<Box<dyn Write + Send>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

fn open_log(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

fn init_logging(log_file: Option<&PathBuf>) -> std::io::Result<Logging> {
    let from_env = std::env::var("SPARK_LSP_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let filter = EnvFilter::try_new(from_env.as_deref().unwrap_or("info"))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = tracing_subscriber::reload::Layer::new(filter);
    let target: Box<dyn Write + Send> = match log_file {
        Some(path) => Box::new(open_log(path)?),
        None => Box::new(std::io::stderr()),
    };
    let target = Arc::new(Mutex::new(target));
    let writer = SharedWriter(target.clone());
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || writer.clone())
                .with_ansi(false),
        )
        .init();
    Ok(Logging {
        filter: handle,
        target,
        filter_from_env: from_env.is_some(),
        file_from_args: log_file.is_some(),
    })
}
