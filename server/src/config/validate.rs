//! Checks that types alone cannot express (ranges, URL shape, names), applied after
//! deserializing. A failing field is reported and reset to its default; the others are kept.

use super::{Config, ConfigIssue, FimApi, ProviderKind};

pub(super) fn validate(config: &mut Config, issues: &mut Vec<ConfigIssue>) {
    let defaults = Config::default();
    let (p, d) = (&mut config.provider, &defaults.provider);
    check(
        issues,
        "provider.baseUrl",
        &mut p.base_url,
        &d.base_url,
        |url| {
            is_bad_url(url).then_some(
                "expected an http(s) or ws(s) url with a host, such as https://api.openai.com/v1",
            )
        },
    );
    check(issues, "provider.model", &mut p.model, &d.model, |model| {
        model.trim().is_empty().then_some("must not be empty")
    });
    check(
        issues,
        "provider.apiKeyEnv",
        &mut p.api_key_env,
        &d.api_key_env,
        |name| {
            (!is_env_var_name(name)).then_some(
            "expected the name of an environment variable (letters, digits and _), not the key itself",
        )
        },
    );
    let command = &mut p.api_key_command;
    check(issues, "provider.apiKeyCommand", command, &None, |argv| {
        let program = argv.as_ref().map(|argv| argv.first().map(|p| p.trim()));
        matches!(program, Some(None | Some("")))
            .then_some("expected a non-empty array: the program, then its arguments")
    });
    check(
        issues,
        "provider.timeoutMs",
        &mut p.timeout_ms,
        &d.timeout_ms,
        |ms| (*ms == 0).then_some("must be greater than 0"),
    );
    let connect = &mut p.connect_timeout_ms;
    check(
        issues,
        "provider.connectTimeoutMs",
        connect,
        &d.connect_timeout_ms,
        |ms| (*ms == 0).then_some("must be greater than 0"),
    );
    for (key, field, default) in [
        (
            "provider.reconnectMinMs",
            &mut p.reconnect_min_ms,
            d.reconnect_min_ms,
        ),
        (
            "provider.reconnectMaxMs",
            &mut p.reconnect_max_ms,
            d.reconnect_max_ms,
        ),
    ] {
        check(issues, key, field, &default, |ms| {
            (!(1..=3_600_000).contains(ms)).then_some("must be from 1 to 3600000")
        });
    }
    let tokens = &mut p.max_output_tokens;
    check(
        issues,
        "provider.maxOutputTokens",
        tokens,
        &d.max_output_tokens,
        |n| (!(1..=32_768).contains(n)).then_some("must be from 1 to 32768"),
    );
    check(
        issues,
        "provider.temperature",
        &mut p.temperature,
        &None,
        |t| {
            t.is_some_and(|t| !(0.0..=2.0).contains(&t))
                .then_some("must be from 0 to 2")
        },
    );
    check(issues, "provider.threads", &mut p.threads, &None, |n| {
        n.is_some_and(|n| !(1..=64).contains(&n))
            .then_some("must be from 1 to 64")
    });
    check(
        issues,
        "provider.modelPath",
        &mut p.model_path,
        &None,
        |path| {
            path.as_ref()
                .is_some_and(|p| p.as_os_str().is_empty())
                .then_some("expected the path of a GGUF file")
        },
    );
    p.headers.0.retain(|name, value| {
        let Some(problem) = header_problem(name, value) else {
            return true;
        };
        let key = format!("spark.provider.headers.{name}");
        issues.push(ConfigIssue::error(key, format!("{problem}; ignored")));
        false
    });
    if p.kind == ProviderKind::Fim && p.fim_api.is_none() {
        p.fim_api = Some(FimApi::default());
    }

    let trees = &mut config.syntax.max_trees;
    check(
        issues,
        "syntax.maxTrees",
        trees,
        &defaults.syntax.max_trees,
        |n| (*n == 0).then_some("must be at least 1"),
    );
    check(
        issues,
        "completion.maxInFlight",
        &mut config.completion.max_in_flight,
        &defaults.completion.max_in_flight,
        |n| (!(1..=64).contains(n)).then_some("must be from 1 to 64"),
    );
    check(
        issues,
        "completion.itemBudgetMs",
        &mut config.completion.item_budget_ms,
        &defaults.completion.item_budget_ms,
        |n| {
            n.filter(|n| !(1..=60_000).contains(n))
                .map(|_| "must be from 1 to 60000")
        },
    );
    check(
        issues,
        "nextEdit.cooldownMs",
        &mut config.next_edit.cooldown_ms,
        &defaults.next_edit.cooldown_ms,
        |n| (*n > 600_000).then_some("must be from 0 to 600000"),
    );
    check(issues, "log.level", &mut config.log.level, &None, |level| {
        let level = level.as_deref()?;
        tracing_subscriber::EnvFilter::try_new(level)
            .is_err()
            .then_some("expected a tracing filter such as info, debug or spark_lsp=trace")
    });
}

/// Resets `field` to `default` and records an issue when `problem` finds one.
fn check<T: Clone>(
    issues: &mut Vec<ConfigIssue>,
    key: &str,
    field: &mut T,
    default: &T,
    problem: impl FnOnce(&T) -> Option<&'static str>,
) {
    let Some(problem) = problem(field) else {
        return;
    };
    let message = format!("{problem}; using the default");
    issues.push(ConfigIssue::error(format!("spark.{key}"), message));
    *field = default.clone();
}

/// True when `url` is not `scheme://host...` with an http(s) or ws(s) scheme. Checked by hand:
/// the client library parses it properly later, this only catches typos early.
fn is_bad_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = ["https://", "http://", "wss://", "ws://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme));
    let Some(rest) = rest else {
        return true;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match host_port.strip_prefix('[') {
        Some(ipv6) => ipv6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// HTTP header names are RFC 9110 tokens; values must not break the header line.
fn header_problem(name: &str, value: &str) -> Option<&'static str> {
    let token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token_char) {
        return Some("expected a header name made of letters, digits and -");
    }
    let bad_value = value.chars().any(|c| c.is_control() && c != '\t');
    bad_value.then_some("expected a header value without line breaks or control characters")
}
