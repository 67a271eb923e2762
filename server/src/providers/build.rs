//! Builds the configured provider: the one place that maps `provider.kind` and
//! `provider.transport` onto a wire protocol.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{ProviderConfig, ProviderKind, Transport};

use super::breaker::{Breaker, Guarded, Mode, Policy};
use super::local::{self, Local};
use super::openai_ws::{OpenAiWebSocket, WsOptions};
use super::{Anthropic, Fim, OpenAiChat, OpenAiResponsesHttp, Provider, ProviderError, Settings};

/// The provider for `config`, connected (or connecting) ahead of the first request.
///
/// A remote endpoint without an API key is a configuration error rather than a provider that
/// fails on every keystroke: the server never dials a service it cannot use. Endpoints on this
/// machine (llama.cpp, Ollama, LM Studio, the reference model server) need no key.
///
/// With no `provider.kind` configured anywhere and no key for the default cloud provider, the
/// embedded local model is used when its file is present (zero configuration).
pub fn build(config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
    if config.kind == ProviderKind::Local {
        return build_local(config);
    }
    let settings = Settings::resolve(config)?;
    if settings.api_key.is_none() && !is_local(&settings.base_url) {
        if !config.kind_configured {
            return zero_configuration(config);
        }
        return Err(ProviderError::Config(format!(
            "no API key for {}: set the environment variable {} (provider.apiKeyEnv) or provider.apiKeyCommand",
            settings.base_url, config.api_key_env
        )));
    }
    let policy = Policy {
        min: Duration::from_millis(config.reconnect_min_ms),
        max: Duration::from_millis(config.reconnect_max_ms),
        ..Policy::default()
    };
    let wire: Arc<dyn Provider> = match config.kind {
        ProviderKind::OpenaiResponses => match config.transport {
            Transport::Http => Arc::new(OpenAiResponsesHttp::new(settings)?),
            Transport::Websocket => {
                // The WebSocket session falls back to HTTP streaming if the server refuses the
                // upgrade (426), as Codex does; it connects only then.
                let fallback = Arc::new(OpenAiResponsesHttp::on_demand(settings.clone())?);
                let options = WsOptions {
                    reconnect: policy,
                    ..WsOptions::default()
                };
                let session = OpenAiWebSocket::start_with(settings, fallback, options);
                // Its supervisor feeds the breaker: one backoff, one retry time.
                let breaker = session.breaker();
                return Ok(ready(Guarded::new(session, breaker), config));
            }
        },
        ProviderKind::OpenaiChat => Arc::new(OpenAiChat::new(settings)?),
        ProviderKind::Fim => Arc::new(Fim::new(settings, config.fim_api.unwrap_or_default())?),
        ProviderKind::Anthropic => Arc::new(Anthropic::new(settings)?),
        ProviderKind::Local => return build_local(config),
    };
    let breaker = Breaker::new(policy, Mode::Requests);
    Ok(ready(Guarded::new(wire, breaker), config))
}

/// Every remote provider is behind a breaker, the one place that stops dialling an endpoint
/// that cannot be reached.
fn ready(provider: Arc<Guarded>, config: &ProviderConfig) -> Arc<dyn Provider> {
    tracing::info!(
        provider = provider.name(),
        model = config.model,
        "provider ready"
    );
    provider
}

/// Provider `local` on `provider.modelPath`, else on the default model in the cache directory.
fn build_local(config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
    let path = model_path(config)?;
    if !path.is_file() {
        let hint = if config.model_path.is_some() {
            "check provider.modelPath"
        } else {
            "run scripts/fetch-model to download it, or set provider.modelPath to a GGUF file"
        };
        return Err(ProviderError::Config(format!(
            "the local model {} does not exist: {hint}",
            path.display()
        )));
    }
    let threads = config.threads.unwrap_or_else(local::default_threads);
    let provider = Local::start(&path, threads)?;
    tracing::info!(provider = provider.name(), threads, "provider ready");
    Ok(Arc::new(provider))
}

fn model_path(config: &ProviderConfig) -> Result<PathBuf, ProviderError> {
    config
        .model_path
        .clone()
        .or_else(local::default_model_path)
        .ok_or_else(|| {
            ProviderError::Config(
                "no cache directory for the local model (set HOME or XDG_CACHE_HOME, or provider.modelPath)".into(),
            )
        })
}

/// No provider configured and no key for the default one: the local model if it is there,
/// else a message saying how to configure either.
fn zero_configuration(config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
    let path = model_path(config)?;
    if path.is_file() {
        tracing::info!(
            "no provider configured and no {} key: using the local model",
            config.api_key_env
        );
        return build_local(config);
    }
    Err(ProviderError::Config(format!(
        "no provider configured: set provider.kind (and its key, e.g. the environment variable {}), or run scripts/fetch-model to use the embedded local model ({})",
        config.api_key_env,
        path.display()
    )))
}

/// Whether `base_url` points at this machine.
fn is_local(base_url: &str) -> bool {
    let rest = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if host.starts_with('[') {
        host.split_once(']')
            .map_or(host, |(h, _)| h)
            .trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or(host)
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Why building `config` fails (empty if it does not).
    fn build_error(config: &ProviderConfig) -> String {
        build(config)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn loopback_endpoints_are_local() {
        for url in [
            "http://127.0.0.1:8080/v1",
            "http://localhost:11434",
            "ws://[::1]:9/v1",
            "http://127.9.9.9",
        ] {
            assert!(is_local(url), "{url}");
        }
        for url in [
            "https://api.openai.com/v1",
            "http://10.0.0.1:8080",
            "http://localhost.evil.com",
            "http://u:p@host/",
        ] {
            assert!(!is_local(url), "{url}");
        }
    }

    #[test]
    fn a_cloud_endpoint_without_a_key_is_a_configuration_error() {
        let config = ProviderConfig {
            api_key_env: "SPARK_TEST_NO_SUCH_KEY_VAR".into(),
            kind_configured: true,
            ..ProviderConfig::default()
        };
        let err = build_error(&config);
        assert!(err.contains("SPARK_TEST_NO_SUCH_KEY_VAR"), "{err}");
    }

    #[test]
    fn a_missing_local_model_says_what_to_do() {
        let config = ProviderConfig {
            kind: ProviderKind::Local,
            model_path: Some("/nonexistent/model.gguf".into()),
            ..ProviderConfig::default()
        };
        let err = build_error(&config);
        assert!(
            err.contains("/nonexistent/model.gguf") && err.contains("provider.modelPath"),
            "{err}"
        );
    }

    #[test]
    fn nothing_configured_and_no_model_says_how_to_configure() {
        let config = ProviderConfig {
            api_key_env: "SPARK_TEST_NO_SUCH_KEY_VAR".into(),
            model_path: Some("/nonexistent/model.gguf".into()),
            ..ProviderConfig::default()
        };
        let err = build_error(&config);
        assert!(
            err.contains("no provider configured") && err.contains("scripts/fetch-model"),
            "{err}"
        );
    }
}
