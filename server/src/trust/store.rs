//! The record of trusted workspace files: `$XDG_STATE_HOME/spark-lsp/trusted.json` (else
//! `~/.local/state/spark-lsp/`), each file by canonical path and the SHA-256 of its bytes.
//!
//! The record is rewritten whole, atomically (a temporary file in the same directory, then a
//! rename), readable by the user only. A file whose bytes changed since it was trusted is
//! untrusted again, like direnv's `allow` or Neovim's `:trust`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file name of the record inside the state directory.
const RECORD_FILE: &str = "trusted.json";

/// What the record says about one file with given bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustState {
    /// Trusted with exactly these bytes.
    Trusted,
    /// Trusted once, but its bytes changed since: untrusted until trusted again.
    Changed,
    /// Never trusted (or revoked).
    Untrusted,
}

/// One trusted file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The canonical path of the file.
    pub path: PathBuf,
    /// The lowercase hex SHA-256 of its bytes when it was trusted.
    pub sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    version: u32,
    trusted: Vec<Entry>,
}

/// The trust record in one state directory.
#[derive(Clone, Debug)]
pub struct TrustStore {
    dir: PathBuf,
}

impl TrustStore {
    /// The store in `dir` (tests); the user's is [`TrustStore::for_user`].
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The user's store: `$XDG_STATE_HOME/spark-lsp` when that is absolute, else
    /// `$HOME/.local/state/spark-lsp`. `None` when neither variable is usable.
    pub fn for_user() -> Option<Self> {
        let absolute = |var: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .filter(|path| path.is_absolute())
        };
        let base = absolute("XDG_STATE_HOME")
            .or_else(|| Some(absolute("HOME")?.join(".local").join("state")))?;
        Some(Self::in_dir(base.join("spark-lsp")))
    }

    /// Where the record is kept.
    pub fn path(&self) -> PathBuf {
        self.dir.join(RECORD_FILE)
    }

    /// Every trusted file. A missing record is empty.
    pub fn entries(&self) -> Result<Vec<Entry>, String> {
        Ok(self.read()?.trusted)
    }

    /// Whether `path` (canonical) with the SHA-256 `digest` is trusted. A record that cannot be
    /// read trusts nothing.
    pub fn state(&self, path: &Path, digest: &str) -> TrustState {
        let entries = match self.entries() {
            Ok(entries) => entries,
            Err(err) => {
                tracing::warn!("{err}");
                return TrustState::Untrusted;
            }
        };
        match entries.iter().find(|entry| entry.path == path) {
            Some(entry) if entry.sha256 == digest => TrustState::Trusted,
            Some(_) => TrustState::Changed,
            None => TrustState::Untrusted,
        }
    }

    /// Records `path` (canonical) as trusted with `digest`, replacing an older entry for it.
    pub fn trust(&self, path: &Path, digest: &str) -> Result<(), String> {
        if path.to_str().is_none() {
            return Err(format!(
                "cannot trust {}: its path is not valid utf-8",
                path.display()
            ));
        }
        let mut record = self.read()?;
        record.trusted.retain(|entry| entry.path != path);
        record.trusted.push(Entry {
            path: path.to_owned(),
            sha256: digest.to_owned(),
        });
        self.write(&mut record)
    }

    /// Forgets `path`; returns whether it was trusted.
    pub fn revoke(&self, path: &Path) -> Result<bool, String> {
        let mut record = self.read()?;
        let before = record.trusted.len();
        record.trusted.retain(|entry| entry.path != path);
        if record.trusted.len() == before {
            return Ok(false);
        }
        self.write(&mut record)?;
        Ok(true)
    }

    fn read(&self) -> Result<Record, String> {
        let path = self.path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Record::default()),
            Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
        };
        serde_json::from_str(&text).map_err(|err| {
            format!(
                "cannot parse {}: {err}; fix or delete it (it only lists trusted files)",
                path.display()
            )
        })
    }

    fn write(&self, record: &mut Record) -> Result<(), String> {
        record.version = 1;
        record.trusted.sort_by(|a, b| a.path.cmp(&b.path));
        let mut text = serde_json::to_vec_pretty(record).map_err(|err| err.to_string())?;
        text.push(b'\n');
        let shown = self.dir.display();
        create_private_dir(&self.dir).map_err(|err| format!("cannot create {shown}: {err}"))?;
        // Unique per process and write, so concurrent writers never share a temporary file.
        static WRITES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let temp = self
            .dir
            .join(format!(".{RECORD_FILE}.{}.{n}.tmp", std::process::id()));
        let written =
            write_private(&temp, &text).and_then(|()| std::fs::rename(&temp, self.path()));
        written.map_err(|err| {
            let _ = std::fs::remove_file(&temp);
            format!("cannot write {}: {err}", self.path().display())
        })
    }
}

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Writes a new file only the user can read, and flushes it to disk before the rename.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let _ = std::fs::remove_file(path);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("spark-lsp-trust-{}-{tag}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn sha256_matches_the_standard_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn trust_change_and_revoke() {
        let dir = TempDir::new("cycle");
        let store = TrustStore::in_dir(dir.0.join("state/spark-lsp"));
        let file = Path::new("/w/spark-lsp.toml");
        assert_eq!(store.state(file, "aa"), TrustState::Untrusted);
        store.trust(file, "aa").expect("trust");
        assert_eq!(store.state(file, "aa"), TrustState::Trusted);
        assert_eq!(store.state(file, "bb"), TrustState::Changed);
        assert_eq!(
            store.state(Path::new("/x/spark-lsp.toml"), "aa"),
            TrustState::Untrusted
        );
        store.trust(file, "bb").expect("re-trust");
        assert_eq!(store.entries().expect("entries").len(), 1);
        assert_eq!(store.state(file, "bb"), TrustState::Trusted);
        assert!(store.revoke(file).expect("revoke"));
        assert!(!store.revoke(file).expect("revoke again"));
        assert_eq!(store.state(file, "bb"), TrustState::Untrusted);
    }

    #[cfg(unix)]
    #[test]
    fn the_record_is_private_and_no_temporary_file_is_left() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new("mode");
        let store = TrustStore::in_dir(&dir.0);
        store
            .trust(Path::new("/w/spark-lsp.toml"), "aa")
            .expect("trust");
        let mode = std::fs::metadata(store.path())
            .expect("record")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let names: Vec<_> = std::fs::read_dir(&dir.0)
            .expect("dir")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(RECORD_FILE)]);
    }

    #[test]
    fn a_corrupt_record_trusts_nothing_and_is_not_overwritten() {
        let dir = TempDir::new("corrupt");
        let store = TrustStore::in_dir(&dir.0);
        std::fs::create_dir_all(&dir.0).expect("dir");
        std::fs::write(store.path(), "{not json").expect("write");
        assert_eq!(store.state(Path::new("/w/a"), "aa"), TrustState::Untrusted);
        let err = store.trust(Path::new("/w/a"), "aa").expect_err("refused");
        assert!(err.contains("fix or delete it"), "{err}");
        assert_eq!(
            std::fs::read_to_string(store.path()).expect("kept"),
            "{not json"
        );
    }
}
