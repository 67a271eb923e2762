//! Shared set-up: one [`Case`] per provider/API (how to build it against a server and which
//! endpoint it hits), settings with a test key, requests, and stream collection with guards.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use spark_lsp::config::FimApi;
use spark_lsp::providers::{
    Anthropic, Fim, ModelInput, ModelRequest, OpenAiChat, OpenAiResponsesHttp, Provider,
    ProviderError, Secret, Settings, TextStream, client_config,
};
use spark_tests::model_server::{CostModel, Endpoint, ModelServer, ModelServerConfig};

/// Guards every wait so that a broken provider fails the test instead of hanging it.
pub const GUARD: Duration = Duration::from_secs(10);

/// The API key the tests use; it must never appear in a log.
pub const KEY: &str = "sk-spark-test-7f3a9c1e5b";

/// One provider/API under test.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    pub name: &'static str,
    pub endpoint: Endpoint,
    /// Whether the reference server checks the key on this endpoint (Ollama has no keys).
    pub checks_key: bool,
    build: fn(Settings) -> Result<AnyProvider, ProviderError>,
    base: fn(&ModelServer) -> String,
}

impl Case {
    pub fn provider(&self, settings: Settings) -> AnyProvider {
        (self.build)(settings).unwrap()
    }

    pub fn base_url(&self, server: &ModelServer) -> String {
        (self.base)(server)
    }

    /// The provider against `server` with the test key and `timeout`.
    pub fn against(&self, server: &ModelServer, timeout: Duration) -> AnyProvider {
        let mut settings = settings(&self.base_url(server), Some(KEY));
        settings.timeout = timeout;
        self.provider(settings)
    }
}

pub const CASES: [Case; 7] = [
    Case {
        name: "openai-chat",
        endpoint: Endpoint::ChatCompletions,
        checks_key: true,
        build: |s| OpenAiChat::new(s).map(|p| AnyProvider::Chat(Arc::new(p))),
        base: ModelServer::http_base,
    },
    Case {
        name: "openai-responses (http)",
        endpoint: Endpoint::ResponsesHttp,
        checks_key: true,
        build: |s| OpenAiResponsesHttp::new(s).map(|p| AnyProvider::Responses(Arc::new(p))),
        base: ModelServer::http_base,
    },
    Case {
        name: "fim (llama-cpp)",
        endpoint: Endpoint::LlamaInfill,
        checks_key: true,
        build: |s| Fim::new(s, FimApi::LlamaCpp).map(|p| AnyProvider::Fim(Arc::new(p))),
        base: ModelServer::root_url,
    },
    Case {
        name: "fim (ollama)",
        endpoint: Endpoint::OllamaGenerate,
        checks_key: false,
        build: |s| Fim::new(s, FimApi::Ollama).map(|p| AnyProvider::Fim(Arc::new(p))),
        base: ModelServer::root_url,
    },
    Case {
        name: "fim (codestral)",
        endpoint: Endpoint::CodestralFim,
        checks_key: true,
        build: |s| Fim::new(s, FimApi::Codestral).map(|p| AnyProvider::Fim(Arc::new(p))),
        base: ModelServer::http_base,
    },
    Case {
        name: "fim (deepseek)",
        endpoint: Endpoint::DeepSeekFim,
        checks_key: true,
        build: |s| Fim::new(s, FimApi::Deepseek).map(|p| AnyProvider::Fim(Arc::new(p))),
        base: |server| format!("{}/beta", server.root_url()),
    },
    Case {
        name: "anthropic",
        endpoint: Endpoint::AnthropicMessages,
        checks_key: true,
        build: |s| Anthropic::new(s).map(|p| AnyProvider::Anthropic(Arc::new(p))),
        base: ModelServer::http_base,
    },
];

pub fn case(name: &str) -> Case {
    *CASES.iter().find(|c| c.name == name).unwrap()
}

/// Any of the providers, with the test hooks that are not on the `Provider` trait.
#[derive(Clone)]
pub enum AnyProvider {
    Chat(Arc<OpenAiChat>),
    Responses(Arc<OpenAiResponsesHttp>),
    Fim(Arc<Fim>),
    Anthropic(Arc<Anthropic>),
}

/// Runs `$body` with `$p` bound to the concrete provider.
macro_rules! each {
    ($self:expr, $p:ident => $body:expr) => {
        match $self {
            AnyProvider::Chat($p) => $body,
            AnyProvider::Responses($p) => $body,
            AnyProvider::Fim($p) => $body,
            AnyProvider::Anthropic($p) => $body,
        }
    };
}

impl AnyProvider {
    pub fn name(&self) -> String {
        each!(self, p => p.name().to_owned())
    }

    pub fn stream(&self, request: ModelRequest) -> TextStream {
        each!(self, p => p.stream(request))
    }

    pub fn prewarm(&self, request: ModelRequest) {
        each!(self, p => p.prewarm(request))
    }

    pub fn in_flight(&self) -> usize {
        each!(self, p => p.in_flight())
    }

    /// Waits (guarded) until no call, prewarm or preconnection is running.
    pub async fn settled(&self) {
        let settled = async { each!(self, p => p.settled().await) };
        tokio::time::timeout(GUARD, settled)
            .await
            .expect("provider tasks did not settle");
    }
}

pub fn settings(base_url: &str, key: Option<&str>) -> Settings {
    Settings {
        base_url: base_url.to_owned(),
        model: "spark-test-model".to_owned(),
        api_key: key.map(Secret::new),
        headers: Vec::new(),
        timeout: GUARD,
        connect_timeout: Duration::from_secs(3),
        tls: client_config(None).unwrap(),
        reasoning: spark_lsp::config::Reasoning::Least,
    }
}

/// A server without latency; `key` makes it check keys.
pub async fn start(key: Option<&str>) -> ModelServer {
    start_with(key, CostModel::instant()).await
}

pub async fn start_with(key: Option<&str>, cost: CostModel) -> ModelServer {
    let config = ModelServerConfig {
        cost,
        api_key: key.map(str::to_owned),
        ..ModelServerConfig::default()
    };
    ModelServer::start(config).await.unwrap()
}

/// A fill-in-the-middle request with every optional field set.
pub fn fim_request() -> ModelRequest {
    ModelRequest {
        instructions: String::new(),
        input: ModelInput::Fim {
            prefix: "fn add(a: i32, b: i32) -> i32 {\n    ".into(),
            suffix: "\n}\n".into(),
            extra: vec![spark_lsp::providers::ExtraFile {
                path: "src/lib.rs".into(),
                text: "pub mod add;".into(),
            }],
        },
        stop: vec!["\n\n\n".into()],
        max_output_tokens: 64,
        temperature: Some(0.0),
        prediction: Some("a + b".into()),
        session: Some("file:///work/project/src/add.rs".into()),
    }
}

/// A chat request: instructions, cacheable context and the query.
pub fn chat_request() -> ModelRequest {
    ModelRequest {
        instructions: "Complete the code at <|cursor|>.".into(),
        input: ModelInput::Chat {
            context: "// file: add.rs\n".into(),
            query: "fn add(a: i32, b: i32) -> i32 { <|cursor|> }".into(),
        },
        ..fim_request()
    }
}

/// Every delta until the end, or the first error; fails if the stream does not end in time
/// or goes on after an error.
pub async fn collect(mut stream: TextStream) -> (String, Option<ProviderError>) {
    let mut text = String::new();
    loop {
        match tokio::time::timeout(GUARD, stream.next())
            .await
            .expect("stream hung")
        {
            None => return (text, None),
            Some(Ok(delta)) => text.push_str(&delta),
            Some(Err(err)) => {
                let after = tokio::time::timeout(GUARD, stream.next())
                    .await
                    .expect("stream hung");
                assert!(after.is_none(), "the stream must end after an error");
                return (text, Some(err));
            }
        }
    }
}

/// The whole answer; panics on an error.
pub async fn answer(provider: &AnyProvider, request: ModelRequest) -> String {
    match collect(provider.stream(request)).await {
        (text, None) => text,
        (_, Some(err)) => panic!("{}: {err:?}", provider.name()),
    }
}

/// The one error of a stream.
pub async fn error(provider: &AnyProvider, request: ModelRequest) -> ProviderError {
    let (_, err) = collect(provider.stream(request)).await;
    err.unwrap_or_else(|| panic!("{}: expected an error", provider.name()))
}

/// Runs the ignored test `test` alone in a fresh copy of this test binary, with the base URL
/// in `SPARK_CHILD_BASE`, `env` set and no proxy variables inherited; fails if it fails.
/// For what a shared test process cannot do: set the environment, own the log subscriber.
pub async fn run_child(test: &str, base_url: &str, env: &[(&str, &str)]) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", test, "--ignored", "--test-threads=1"])
        .env("SPARK_CHILD_BASE", base_url);
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"] {
        command.env_remove(name).env_remove(name.to_lowercase());
    }
    command.envs(env.iter().copied());
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        output.status.success(),
        "the child test {test} failed:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// No latency before the first token, then `tokens_per_second`.
pub fn decoding(tokens_per_second: f64) -> CostModel {
    CostModel {
        base_latency: Duration::ZERO,
        prefill_tps: f64::INFINITY,
        decode_tps: tokens_per_second,
    }
}

/// Starts a request whose answer is `tokens` tokens and returns its stream once the first delta
/// arrived: the caller drops it, as the engine does when a suggestion is complete early or
/// superseded.
pub async fn after_first_delta(
    provider: &AnyProvider,
    server: &ModelServer,
    case: &Case,
    tokens: usize,
) -> TextStream {
    server.push_answer_for(case.endpoint, "tok ".repeat(tokens));
    let mut request = fim_request();
    request.max_output_tokens = 2 * tokens as u32;
    let mut stream = provider.stream(request);
    let first = tokio::time::timeout(GUARD, stream.next()).await.unwrap();
    assert_eq!(first, Some(Ok("tok".to_owned())), "{}", case.name);
    stream
}
