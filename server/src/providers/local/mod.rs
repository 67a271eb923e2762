//! Provider `local`: a quantized llama-family GGUF model run inside the server process on the
//! CPU, with no network and no key.
//!
//! [`Local::start`] reads the GGUF header (metadata, tokenizer, tensor table) on the calling
//! thread, so a missing, corrupt or unsupported file is a configuration error at once; the
//! weights load on the model thread, which then serves requests one at a time. Each request's
//! deltas stream into its [`TextSink`]; the model thread checks the sink before every token, so
//! dropping the [`TextStream`] stops generation within one token, and a newer request for the
//! same session supersedes an older one still queued or running.

mod template;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use spark_local_model::{Config, Engine, Flow, Header, Model, Params, Tokenizer};

use super::{ModelRequest, Provider, ProviderError, TextSink, TextStream};
use template::Template;

pub use spark_local_model::Stats;

/// The model used when `provider.modelPath` is unset, in [`default_model_dir`].
pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// `$XDG_CACHE_HOME/spark-lsp/models`, else `~/.cache/spark-lsp/models`.
pub fn default_model_dir() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(cache.join("spark-lsp").join("models"))
}

/// The default model's path, whether or not it exists.
pub fn default_model_path() -> Option<PathBuf> {
    default_model_dir().map(|d| d.join(DEFAULT_MODEL_FILE))
}

/// Worker threads when `provider.threads` is unset: the cores, at most 4 (decoding a small
/// model is bound by memory bandwidth; more threads mostly take cores from the editor).
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(2)
        .clamp(1, 4)
}

struct Job {
    request: ModelRequest,
    sink: TextSink,
    seq: u64,
    warm_only: bool,
}

/// The prompt budget for the in-process model: prefill on 2 CPU threads runs at a few hundred
/// tokens a second, so a quarter of the default budget keeps the first answer near a second.
const LOCAL_PROMPT_TOKENS: usize = 512;

/// The embedded model behind the [`Provider`] trait.
pub struct Local {
    name: String,
    jobs: Mutex<mpsc::Sender<Job>>,
    seq: AtomicU64,
    /// The newest request per session; older ones still queued or running give way.
    latest: Arc<Mutex<HashMap<String, u64>>>,
    stats: Arc<Stats>,
}

impl Local {
    /// Validates the GGUF at `path` and starts the model thread, which loads the weights.
    pub fn start(path: &Path, threads: usize) -> Result<Self, ProviderError> {
        let (header, config, tokenizer) = spark_local_model::open(path)
            .map_err(|e| ProviderError::Config(format!("local model {e}")))?;
        let tokenizer = Arc::new(tokenizer);
        let template = Template::detect(&tokenizer, header.str("tokenizer.chat_template"));
        let name = format!(
            "local ({})",
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        );
        let stats = Arc::new(Stats::default());
        let latest = Arc::new(Mutex::new(HashMap::new()));
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = ModelThread {
            path: path.to_owned(),
            threads: threads.max(1),
            template,
            latest: Arc::clone(&latest),
            stats: Arc::clone(&stats),
        };
        std::thread::Builder::new()
            .name("spark-local-model".into())
            .spawn(move || thread.run(header, config, tokenizer, rx))
            .map_err(|e| {
                ProviderError::Unavailable(format!("cannot start the model thread: {e}"))
            })?;
        tracing::info!(model = %path.display(), threads, fim = template.fim.is_some(), "local model starting");
        Ok(Self {
            name,
            jobs: Mutex::new(tx),
            seq: AtomicU64::new(0),
            latest,
            stats,
        })
    }

    /// Counters of prefilled, reused and generated tokens.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    fn submit(&self, request: ModelRequest, warm_only: bool) -> TextStream {
        let (sink, stream) = TextStream::channel();
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(session) = &request.session {
            lock(&self.latest).insert(session.clone(), seq);
        }
        let job = Job {
            request,
            sink,
            seq,
            warm_only,
        };
        if let Err(mpsc::SendError(job)) = lock(&self.jobs).send(job) {
            let _ = job.sink.try_send(Err(ProviderError::Unavailable(
                "the local model thread has stopped; see the log".into(),
            )));
        }
        stream
    }
}

impl Provider for Local {
    fn name(&self) -> &str {
        &self.name
    }

    fn stream(&self, request: ModelRequest) -> TextStream {
        self.submit(request, false)
    }

    /// Completions come as prefix and suffix: through the model's FIM tokens where it has
    /// them, else as a continuation of the prefix (see `template`).
    fn wants_fim(&self) -> bool {
        true
    }

    fn prompt_tokens(&self) -> Option<usize> {
        Some(LOCAL_PROMPT_TOKENS)
    }

    fn prewarm(&self, request: ModelRequest) {
        drop(self.submit(request, true));
    }
}

struct ModelThread {
    path: PathBuf,
    threads: usize,
    template: Template,
    latest: Arc<Mutex<HashMap<String, u64>>>,
    stats: Arc<Stats>,
}

impl ModelThread {
    fn run(
        self,
        header: Header,
        config: Config,
        tokenizer: Arc<Tokenizer>,
        jobs: mpsc::Receiver<Job>,
    ) {
        let started = std::time::Instant::now();
        let mut engine = match Model::load(&self.path, &header, config) {
            Ok(model) => Engine::new(model, tokenizer, self.threads, Arc::clone(&self.stats)),
            Err(e) => {
                let message = format!("local model {}: {e}", self.path.display());
                tracing::error!("{message}");
                for job in jobs {
                    let _ = job
                        .sink
                        .blocking_send(Err(ProviderError::Config(message.clone())));
                }
                return;
            }
        };
        drop(header);
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "local model loaded"
        );
        for job in jobs {
            self.serve(&mut engine, job);
        }
    }

    fn superseded(&self, job: &Job) -> bool {
        job.request.session.as_ref().is_some_and(|s| {
            lock(&self.latest)
                .get(s)
                .is_some_and(|&newest| newest > job.seq)
        })
    }

    fn serve(&self, engine: &mut Engine, job: Job) {
        if !job.warm_only && (job.sink.is_closed() || self.superseded(&job)) {
            return;
        }
        let started = std::time::Instant::now();
        let (prompt, heal) = self.template.render(&engine.tokenizer, &job.request);
        tracing::trace!(prompt = %engine.tokenizer.decode(&prompt), "local model prompt");
        let params = Params {
            max_tokens: if job.warm_only {
                0
            } else {
                (job.request.max_output_tokens as usize).max(1)
            },
            stop: job.request.stop.clone(),
            temperature: job.request.temperature,
            heal,
        };
        let mut first_token_ms = None;
        let mut emit = |text: &str| {
            if job.warm_only {
                return if self.superseded(&job) {
                    Flow::Stop
                } else {
                    Flow::Continue
                };
            }
            if job.sink.is_closed() || self.superseded(&job) {
                return Flow::Stop;
            }
            if text.is_empty() {
                return Flow::Continue;
            }
            first_token_ms.get_or_insert_with(|| started.elapsed().as_millis() as u64);
            match job.sink.blocking_send(Ok(text.to_owned())) {
                Ok(()) => Flow::Continue,
                Err(_) => Flow::Stop,
            }
        };
        let before = (
            self.stats.prefilled.load(Ordering::Relaxed),
            self.stats.generated.load(Ordering::Relaxed),
        );
        engine.generate(&prompt, &params, &mut emit);
        tracing::debug!(
            prompt_tokens = prompt.len(),
            prefilled = self.stats.prefilled.load(Ordering::Relaxed) - before.0,
            generated = self.stats.generated.load(Ordering::Relaxed) - before.1,
            first_token_ms,
            elapsed_ms = started.elapsed().as_millis() as u64,
            warm_only = job.warm_only,
            "local model request"
        );
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests;
