//! What every provider needs from the configuration, resolved once: the endpoint, the model,
//! the API key (from the environment or a command, never logged), headers, timeouts and TLS.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::config::ProviderConfig;

use super::{ProviderError, tls};

/// An API key. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The key itself, for the one header that carries it to its provider.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A provider's resolved settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The base URL without a trailing slash, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<Secret>,
    /// Extra headers; values may hold credentials, so they are never logged.
    pub headers: Vec<(String, Secret)>,
    /// The longest a request may take from sending to the first byte of the answer.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub tls: Arc<rustls::ClientConfig>,
    /// How much a reasoning model may think (`providers::reasoning`).
    pub reasoning: crate::config::Reasoning,
}

impl Settings {
    /// Resolves the configuration: reads the key from `apiKeyCommand` or `apiKeyEnv` (a missing
    /// key is not an error here: local servers need none; the provider reports `Auth` if the
    /// service asks for one) and builds the TLS configuration.
    pub fn resolve(config: &ProviderConfig) -> Result<Self, ProviderError> {
        let api_key = match &config.api_key_command {
            Some(argv) => Some(key_from_command(argv)?),
            None => std::env::var(&config.api_key_env)
                .ok()
                .filter(|k| !k.trim().is_empty())
                .map(|k| Secret::new(k.trim())),
        };
        if api_key.is_none() {
            tracing::info!(env = config.api_key_env, "no API key in the environment");
        }
        Ok(Self {
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            model: config.model.clone(),
            api_key,
            headers: config
                .headers
                .0
                .iter()
                .map(|(k, v)| (k.clone(), Secret::new(v.clone())))
                .collect(),
            timeout: Duration::from_millis(config.timeout_ms),
            connect_timeout: Duration::from_millis(config.connect_timeout_ms),
            tls: tls::client_config(config.ca_cert_file.as_deref())?,
            reasoning: config.reasoning,
        })
    }
}

/// Runs `apiKeyCommand` (argv, no shell) and takes the first line of its stdout as the key.
fn key_from_command(argv: &[String]) -> Result<Secret, ProviderError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(ProviderError::Config(
            "provider.apiKeyCommand is empty".into(),
        ));
    };
    let output = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|err| {
            ProviderError::Config(format!(
                "provider.apiKeyCommand {program:?} failed to start: {err}"
            ))
        })?;
    if !output.status.success() {
        return Err(ProviderError::Config(format!(
            "provider.apiKeyCommand {program:?} exited with {}",
            output.status
        )));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let key = stdout.lines().next().unwrap_or("").trim();
    if key.is_empty() {
        return Err(ProviderError::Config(format!(
            "provider.apiKeyCommand {program:?} printed no key"
        )));
    }
    Ok(Secret::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let settings_key = Secret::new("sk-very-secret");
        assert_eq!(format!("{settings_key:?}"), "Secret(<redacted>)");
        assert_eq!(settings_key.expose(), "sk-very-secret");
    }

    #[test]
    fn the_key_command_takes_the_first_line_and_reports_failures() {
        let argv = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let key = key_from_command(&argv(&["printf", "sk-1\\nignored"])).expect("runs");
        assert_eq!(key.expose(), "sk-1");
        assert!(matches!(
            key_from_command(&argv(&["false"])),
            Err(ProviderError::Config(_))
        ));
        assert!(matches!(
            key_from_command(&argv(&["/nonexistent/spark"])),
            Err(ProviderError::Config(_))
        ));
        assert!(matches!(
            key_from_command(&[]),
            Err(ProviderError::Config(_))
        ));
    }
}
