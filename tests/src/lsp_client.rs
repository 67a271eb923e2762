//! A test LSP client with real `Content-Length` framing, over the real binary's stdio or over an
//! in-process duplex pipe.
//!
//! The reader checks that the server's output is nothing but well-formed frames; every test ends
//! by asserting that no framing error was seen, so a stray log line on stdout fails the suite.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// How long a test waits for one message before it fails instead of hanging.
pub const MESSAGE_TIMEOUT: Duration = Duration::from_secs(60);

pub struct LspClient {
    writer: Box<dyn AsyncWrite + Unpin + Send>,
    /// Each message with the time its frame's last byte was read, before it was parsed.
    incoming: mpsc::UnboundedReceiver<(Instant, Value)>,
    /// Server → client requests and notifications seen while waiting for responses.
    pub received: Vec<Value>,
    /// When the last message taken off the pipe was read (its frame's last byte, before
    /// parsing): benchmarks measure the server up to here, not the client's own JSON work.
    pub last_read_at: Option<Instant>,
    framing_errors: Arc<Mutex<Vec<String>>>,
    next_id: i64,
    child: Option<Child>,
    /// The child's stderr, drained continuously so that a chatty log never blocks the server.
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_reader: Option<tokio::task::JoinHandle<()>>,
    /// Server requests are answered (`workspace/applyEdit` with `applied: true`, the rest with
    /// `null`) unless this is false.
    pub answer_server_requests: bool,
}

/// The `spark-lsp` binary: `SPARK_LSP_BIN`, else built once with cargo.
pub fn server_binary() -> Result<PathBuf> {
    static BIN: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| build_binary().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!(e))
}

fn build_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("SPARK_LSP_BIN") {
        return Ok(PathBuf::from(path));
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "spark-lsp",
            "--bin",
            "spark-lsp",
            "--message-format=json",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build for spark-lsp")?;
    if !output.status.success() {
        bail!("cargo build -p spark-lsp failed");
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "spark-lsp")
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .context("cargo did not report the spark-lsp executable")
}

/// The user's cache directory, where `scripts/fetch-model` put the embedded model:
/// `$XDG_CACHE_HOME`, else `~/.cache`.
pub fn user_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
}

/// The user's cache directory, after checking that `scripts/fetch-model` put the embedded
/// model there (tests of the local model fail with this instruction when it is missing).
pub fn cache_with_model() -> Result<PathBuf> {
    let cache = user_cache_dir().context("neither XDG_CACHE_HOME nor HOME is set")?;
    let model = cache
        .join("spark-lsp/models")
        .join(spark_lsp::providers::local::DEFAULT_MODEL_FILE);
    if !model.is_file() {
        bail!(
            "the local model {} is missing: run scripts/fetch-model (scripts/test does)",
            model.display()
        );
    }
    Ok(cache)
}

impl LspClient {
    /// Starts the real binary with `args` and extra environment variables.
    pub async fn spawn(args: &[&str], env: &[(&str, &str)]) -> Result<Self> {
        let mut command = Command::new(server_binary()?);
        // Hermetic: no real key can make a test dial a cloud service, no user config file
        // leaks into the settings, no workspace trust is read or recorded for the user, and the embedded model is not found (a test that wants it
        // passes `XDG_CACHE_HOME` from [`user_cache_dir`]).
        command
            .env_remove("OPENAI_API_KEY")
            .env(
                "XDG_CONFIG_HOME",
                std::env::temp_dir().join("spark-lsp-tests-no-config"),
            )
            .env(
                "XDG_CACHE_HOME",
                std::env::temp_dir().join("spark-lsp-tests-no-cache"),
            )
            .env(
                "XDG_STATE_HOME",
                std::env::temp_dir().join("spark-lsp-tests-no-state"),
            )
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().context("spawning spark-lsp")?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut stderr = child.stderr.take().context("stderr")?;
        let mut client = Self::over(stdout, stdin);
        let sink = client.stderr.clone();
        client.stderr_reader = Some(tokio::spawn(async move {
            let mut buf = [0u8; 8192];
            while let Ok(n @ 1..) = stderr.read(&mut buf).await {
                if let Ok(mut sink) = sink.lock() {
                    sink.extend_from_slice(&buf[..n]);
                }
            }
        }));
        client.child = Some(child);
        Ok(client)
    }

    /// A client over any byte pipe (the in-process server uses a duplex).
    pub fn over(
        reader: impl AsyncRead + Unpin + Send + 'static,
        writer: impl AsyncWrite + Unpin + Send + 'static,
    ) -> Self {
        let (tx, incoming) = mpsc::unbounded_channel();
        let framing_errors = Arc::new(Mutex::new(Vec::new()));
        tokio::spawn(read_frames(
            BufReader::new(reader),
            tx,
            framing_errors.clone(),
        ));
        Self {
            writer: Box::new(writer),
            incoming,
            received: Vec::new(),
            last_read_at: None,
            framing_errors,
            next_id: 0,
            child: None,
            stderr: Arc::default(),
            stderr_reader: None,
            answer_server_requests: true,
        }
    }

    /// An in-process server on a duplex pipe, with `options` (e.g. a fake provider).
    pub fn in_process(options: spark_lsp::lsp::ServerOptions) -> Self {
        let (client_side, server_side) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_side);
        tokio::spawn(spark_lsp::lsp::serve(server_read, server_write, options));
        let (read, write) = tokio::io::split(client_side);
        Self::over(read, write)
    }

    pub async fn send(&mut self, message: &Value) -> Result<()> {
        let body = serde_json::to_vec(message)?;
        self.writer
            .write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
            .await?;
        self.writer.write_all(&body).await?;
        self.writer.flush().await?;
        Ok(())
    }

    /// Writes `bytes` as they are, framing included (tests of malformed input).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.writer.write_all(bytes).await?;
        self.writer.flush().await?;
        Ok(())
    }

    pub async fn notify(&mut self, method: &str, params: Value) -> Result<()> {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await
    }

    /// Sends a request and returns its id without waiting.
    pub async fn start_request(&mut self, method: &str, params: Value) -> Result<i64> {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        Ok(id)
    }

    /// Sends a request and waits for its whole response message.
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.start_request(method, params).await?;
        self.response(id).await
    }

    /// Waits for the response to request `id`, keeping everything else in `received`.
    pub async fn response(&mut self, id: i64) -> Result<Value> {
        if let Some(pos) = self.received.iter().position(|m| is_response_to(m, id)) {
            return Ok(self.received.remove(pos));
        }
        loop {
            let message = self.next_message().await?;
            if is_response_to(&message, id) {
                return Ok(message);
            }
            self.received.push(message);
        }
    }

    /// The next message from the server, answering server requests as configured.
    pub async fn next_message(&mut self) -> Result<Value> {
        let (read_at, message) = tokio::time::timeout(MESSAGE_TIMEOUT, self.incoming.recv())
            .await
            .context("timed out waiting for the server")?
            .context("the server closed its output")?;
        self.last_read_at = Some(read_at);
        if message.get("method").is_some()
            && message.get("id").is_some()
            && self.answer_server_requests
        {
            // An edit is reported applied (the test applies it to its own copy); the rest
            // take `null`.
            let result = if message["method"] == "workspace/applyEdit" {
                json!({"applied": true})
            } else {
                Value::Null
            };
            let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": result});
            self.send(&reply).await?;
        }
        Ok(message)
    }

    /// Waits for a notification with `method`, returning its params.
    pub async fn notification(&mut self, method: &str) -> Result<Value> {
        if let Some(pos) = self
            .received
            .iter()
            .position(|m| m["method"] == method && m.get("id").is_none())
        {
            return Ok(self.received.remove(pos)["params"].take());
        }
        loop {
            let mut message = self.next_message().await?;
            if message["method"] == method && message.get("id").is_none() {
                return Ok(message["params"].take());
            }
            self.received.push(message);
        }
    }

    /// `initialize` + `initialized` with the given client capabilities and options.
    pub async fn initialize(
        &mut self,
        capabilities: Value,
        initialization_options: Value,
    ) -> Result<Value> {
        let params = json!({
            "processId": null,
            "rootUri": null,
            "capabilities": capabilities,
            "initializationOptions": initialization_options,
        });
        let response = self.request("initialize", params).await?;
        self.notify("initialized", json!({})).await?;
        Ok(response)
    }

    pub async fn open(
        &mut self,
        uri: &str,
        language_id: &str,
        version: i32,
        text: &str,
    ) -> Result<()> {
        let doc = json!({"uri": uri, "languageId": language_id, "version": version, "text": text});
        self.notify("textDocument/didOpen", json!({"textDocument": doc}))
            .await
    }

    /// `shutdown` then `exit`; returns the process's exit code when it is a child process.
    pub async fn shutdown_and_exit(mut self) -> Result<Option<i32>> {
        let response = self.request("shutdown", Value::Null).await?;
        if response.get("error").is_some() {
            bail!("shutdown failed: {response}");
        }
        self.notify("exit", Value::Null).await?;
        self.finish().await
    }

    /// Waits for the child to exit and checks that stdout held only frames.
    pub async fn finish(mut self) -> Result<Option<i32>> {
        let code = match self.child.take() {
            Some(mut child) => {
                let status = tokio::time::timeout(MESSAGE_TIMEOUT, child.wait())
                    .await
                    .context("server did not exit")??;
                status.code()
            }
            None => None,
        };
        // Drain what is left so framing errors at the very end are seen too.
        while let Ok(Some((_, message))) =
            tokio::time::timeout(Duration::from_millis(200), self.incoming.recv()).await
        {
            self.received.push(message);
        }
        self.assert_clean_framing()?;
        Ok(code)
    }

    pub fn assert_clean_framing(&self) -> Result<()> {
        let errors = self
            .framing_errors
            .lock()
            .map_err(|_| anyhow!("poisoned"))?;
        if !errors.is_empty() {
            bail!("stdout held non-JSON-RPC output: {errors:?}");
        }
        Ok(())
    }

    /// Everything the child wrote to stderr: waits (up to [`MESSAGE_TIMEOUT`]) for it to exit,
    /// so send `exit` first.
    pub async fn take_stderr(&mut self) -> Option<String> {
        if let Some(child) = self.child.as_mut() {
            // Once the child has exited, the reader reaches end of file with every line read.
            let _ = tokio::time::timeout(MESSAGE_TIMEOUT, child.wait()).await;
            if let Some(reader) = self.stderr_reader.take() {
                let _ = tokio::time::timeout(MESSAGE_TIMEOUT, reader).await;
            }
        }
        let bytes = std::mem::take(&mut *self.stderr.lock().ok()?);
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}

fn is_response_to(message: &Value, id: i64) -> bool {
    message.get("method").is_none() && message["id"] == id
}

/// Reads `Content-Length` frames; anything else is a framing error.
async fn read_frames<R: AsyncRead + Unpin>(
    mut reader: BufReader<R>,
    tx: mpsc::UnboundedSender<(Instant, Value)>,
    errors: Arc<Mutex<Vec<String>>>,
) {
    let record = |e: String| {
        if let Ok(mut errors) = errors.lock() {
            errors.push(e);
        }
    };
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line).await {
                Ok(0) => return,
                Ok(_) => {}
                Err(err) => return record(format!("read error: {err}")),
            }
            if line == "\r\n" {
                break;
            }
            let Some(header) = line.strip_suffix("\r\n") else {
                return record(format!("header line without CRLF: {line:?}"));
            };
            match header.split_once(": ") {
                Some(("Content-Length", n)) => length = n.parse::<usize>().ok(),
                Some(("Content-Type", _)) => {}
                _ => return record(format!("not a header: {header:?}")),
            }
        }
        let Some(length) = length else {
            return record("frame without Content-Length".into());
        };
        let mut body = vec![0; length];
        if let Err(err) = reader.read_exact(&mut body).await {
            return record(format!("truncated frame: {err}"));
        }
        let read_at = Instant::now();
        match serde_json::from_slice::<Value>(&body) {
            Ok(message) if message["jsonrpc"] == "2.0" => {
                if tx.send((read_at, message)).is_err() {
                    return;
                }
            }
            _ => {
                return record(format!(
                    "frame is not JSON-RPC: {}",
                    String::from_utf8_lossy(&body)
                ));
            }
        }
    }
}
