//! `spark-lsp trust [DIR]`, `spark-lsp trust --list`, `spark-lsp trust --revoke [DIR]`: the
//! user's way to let a workspace `spark-lsp.toml` set its sensitive keys, from any editor.
//!
//! Returns the text to print instead of printing it: `main.rs` is the only file that writes to
//! stdout.

use std::path::{Path, PathBuf};

use super::{
    TrustState, TrustStore, TrustedFile, config_file_in, sha256_hex, trust_file, untrusted_layer,
};

pub const HELP: &str = "\
Usage: spark-lsp trust [DIR | FILE]
       spark-lsp trust --revoke [DIR | FILE]
       spark-lsp trust --list

Trusts the spark-lsp.toml in DIR (default: the current directory), so that its sensitive
settings (programs, hosts, credentials, files) apply. Until then spark-lsp applies only its
safe settings. Trust is recorded with the file's SHA-256: after any change to the file it is
untrusted again until you trust it again. Restart the language server to apply a change.

The record is $XDG_STATE_HOME/spark-lsp/trusted.json (default ~/.local/state/spark-lsp/).
";

enum Action {
    Trust(PathBuf),
    Revoke(PathBuf),
    List,
    Help,
}

/// Runs the subcommand with the arguments after `trust`; `Ok` is the text for stdout, `Err` a
/// lowercase message for stderr.
pub fn run(args: impl IntoIterator<Item = String>) -> Result<String, String> {
    let action = parse(args)?;
    if matches!(action, Action::Help) {
        return Ok(HELP.to_owned());
    }
    let store = TrustStore::for_user()
        .ok_or("cannot find the state directory: set XDG_STATE_HOME or HOME to an absolute path")?;
    match action {
        Action::Trust(target) => trust(&store, &target),
        Action::Revoke(target) => revoke(&store, &target),
        Action::List => list(&store),
        Action::Help => Ok(HELP.to_owned()),
    }
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Action, String> {
    let mut revoke = false;
    let mut list = false;
    let mut target = None;
    for arg in args {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Action::Help),
            "--revoke" => revoke = true,
            "--list" => list = true,
            other if other.starts_with('-') => {
                return Err(format!(
                    "unknown option {other:?}; see spark-lsp trust --help"
                ));
            }
            other if target.is_none() => target = Some(PathBuf::from(other)),
            other => return Err(format!("unexpected argument {other:?}; give one directory")),
        }
    }
    let target = target.unwrap_or_else(|| PathBuf::from("."));
    match (list, revoke) {
        (true, true) => Err("--list and --revoke do not go together".to_owned()),
        (true, false) => Ok(Action::List),
        (false, true) => Ok(Action::Revoke(target)),
        (false, false) => Ok(Action::Trust(target)),
    }
}

fn trust(store: &TrustStore, target: &Path) -> Result<String, String> {
    let TrustedFile {
        path,
        sha256,
        bytes,
    } = trust_file(store, &config_file_in(target))?;
    let mut out = format!("trusted {} (sha256 {sha256})\n", path.display());
    let parsed = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| toml::from_str::<serde_json::Value>(text).ok());
    match parsed.map(|value| untrusted_layer(&value).1) {
        Some(keys) if keys.is_empty() => out.push_str("it sets no sensitive settings\n"),
        Some(keys) => out.push_str(&format!(
            "its sensitive settings now apply: {}\n",
            keys.join(", ")
        )),
        None => out.push_str("it does not parse yet; the server will report why\n"),
    }
    out.push_str("restart the language server for the change to take effect\n");
    Ok(out)
}

fn revoke(store: &TrustStore, target: &Path) -> Result<String, String> {
    let file = config_file_in(target);
    // A deleted file can still be revoked by the path it had.
    let path = std::fs::canonicalize(&file)
        .or_else(|_| std::path::absolute(&file))
        .map_err(|err| format!("cannot resolve {}: {err}", file.display()))?;
    if store.revoke(&path)? {
        Ok(format!("revoked trust in {}\n", path.display()))
    } else {
        Ok(format!("{} was not trusted\n", path.display()))
    }
}

fn list(store: &TrustStore) -> Result<String, String> {
    let entries = store.entries()?;
    if entries.is_empty() {
        return Ok("no trusted spark-lsp.toml files\n".to_owned());
    }
    let mut out = String::new();
    for entry in entries {
        let state = match std::fs::read(&entry.path) {
            Ok(bytes) => match store.state(&entry.path, &sha256_hex(&bytes)) {
                TrustState::Trusted => "trusted",
                _ => "changed since trusted (untrusted)",
            },
            Err(_) => "missing",
        };
        out.push_str(&format!("{}\t{state}\n", entry.path.display()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<Action, String> {
        parse(args.iter().map(|arg| (*arg).to_owned()))
    }

    #[test]
    fn arguments() {
        assert!(matches!(parsed(&[]), Ok(Action::Trust(dir)) if dir == Path::new(".")));
        assert!(matches!(parsed(&["/w"]), Ok(Action::Trust(dir)) if dir == Path::new("/w")));
        assert!(
            matches!(parsed(&["--revoke", "/w"]), Ok(Action::Revoke(dir)) if dir == Path::new("/w"))
        );
        assert!(matches!(parsed(&["--list"]), Ok(Action::List)));
        assert!(matches!(parsed(&["--help"]), Ok(Action::Help)));
        assert!(parsed(&["--list", "--revoke"]).is_err());
        assert!(parsed(&["a", "b"]).is_err());
        assert!(parsed(&["--force"]).is_err());
    }
}
