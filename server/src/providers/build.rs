//! Builds the configured provider: the one place that maps `provider.kind` and
//! `provider.transport` onto a wire protocol.

use std::sync::Arc;

use crate::config::{ProviderConfig, ProviderKind, Transport};

use super::openai_ws::OpenAiWebSocket;
use super::{Anthropic, Fim, OpenAiChat, OpenAiResponsesHttp, Provider, ProviderError, Settings};

/// The provider for `config`, connected (or connecting) ahead of the first request.
///
/// A remote endpoint without an API key is a configuration error rather than a provider that
/// fails on every keystroke: the server never dials a service it cannot use. Endpoints on this
/// machine (llama.cpp, Ollama, LM Studio, the reference model server) need no key.
pub fn build(config: &ProviderConfig) -> Result<Arc<dyn Provider>, ProviderError> {
    let settings = Settings::resolve(config)?;
    if settings.api_key.is_none() && !is_local(&settings.base_url) {
        return Err(ProviderError::Config(format!(
            "no API key for {}: set the environment variable {} (provider.apiKeyEnv) or provider.apiKeyCommand",
            settings.base_url, config.api_key_env
        )));
    }
    let provider: Arc<dyn Provider> = match config.kind {
        ProviderKind::OpenaiResponses => match config.transport {
            Transport::Http => Arc::new(OpenAiResponsesHttp::new(settings)?),
            Transport::Websocket => {
                // The WebSocket session falls back to HTTP streaming if the server refuses the
                // upgrade (426), as Codex does.
                let fallback = Arc::new(OpenAiResponsesHttp::new(settings.clone())?);
                OpenAiWebSocket::start(settings, fallback)
            }
        },
        ProviderKind::OpenaiChat => Arc::new(OpenAiChat::new(settings)?),
        ProviderKind::Fim => Arc::new(Fim::new(settings, config.fim_api.unwrap_or_default())?),
        ProviderKind::Anthropic => Arc::new(Anthropic::new(settings)?),
        ProviderKind::Local => {
            return Err(ProviderError::Config(
                "provider.kind \"local\" needs the embedded model, which this build does not include yet; choose another provider.kind".into(),
            ));
        }
    };
    tracing::info!(
        provider = provider.name(),
        model = config.model,
        "provider ready"
    );
    Ok(provider)
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
            ..ProviderConfig::default()
        };
        let err = build(&config)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("SPARK_TEST_NO_SUCH_KEY_VAR"), "{err}");
    }

    #[test]
    fn local_kind_says_what_to_do() {
        let config = ProviderConfig {
            kind: ProviderKind::Local,
            base_url: "http://127.0.0.1:1".into(),
            ..ProviderConfig::default()
        };
        assert!(matches!(build(&config), Err(ProviderError::Config(_))));
    }
}
