//! Files that must never reach a model: environment files, keys, credentials, plus the user's
//! own globs (`secrets.extraGlobs`), and the path a document is shown under.
//!
//! Matching is deliberately generous: names are compared without regard to case (a `.ENV` on a
//! case-insensitive file system is the same file), percent-escapes in URIs are decoded first, and
//! any glob may match a path's last component or, when it names directories, the path's end.

/// Built-in secret file names, matched against the last path component.
const BUILTIN: &[&str] = &[
    ".env",
    ".env.*",
    ".envrc",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_ed25519*",
    "*.p12",
    "*.pfx",
    "credentials",
    "credentials.json",
    ".npmrc",
    ".pypirc",
    ".netrc",
    "*.keystore",
];

/// Whether the document at `path` (a path or a `file://` URI) looks like a secret, by the
/// built-in list or one of `extra_globs`. Globs support `*` (within a component), `?` (one
/// character) and `**` (any number of components); a glob without `/` matches the file name, one
/// with `/` matches the end of the path (or the whole path when it starts with `/`).
pub fn is_secret_path(path: &str, extra_globs: &[String]) -> bool {
    let path = decode(strip_scheme(path)).replace('\\', "/").to_lowercase();
    let name = path.rsplit('/').next().unwrap_or(&path);
    let builtin = BUILTIN
        .iter()
        .any(|glob| glob_match(glob.as_bytes(), name.as_bytes()));
    builtin
        || extra_globs.iter().any(|glob| {
            let glob = glob.trim().replace('\\', "/").to_lowercase();
            match glob.strip_prefix('/') {
                _ if glob.is_empty() => false,
                Some(anchored) => {
                    glob_match(anchored.as_bytes(), path.trim_start_matches('/').as_bytes())
                }
                None if glob.contains('/') => {
                    let floating = format!("**/{glob}");
                    glob_match(floating.as_bytes(), path.trim_start_matches('/').as_bytes())
                }
                None => glob_match(glob.as_bytes(), name.as_bytes()),
            }
        })
}

/// The document's path as the model sees it: the URI without `file://`, decoded, without the
/// leading `/`, so it reads like a path relative to some root.
pub fn display_path(uri: &str) -> String {
    decode(strip_scheme(uri)).trim_start_matches('/').to_owned()
}

fn strip_scheme(uri: &str) -> &str {
    uri.strip_prefix("file://").unwrap_or(uri)
}

/// Decodes `%XX` escapes; malformed escapes and escapes that do not form UTF-8 are kept as is.
fn decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// Matches `text` against `glob`: `**` crosses `/`, `*` and `?` do not, and `**/` also matches
/// nothing (`**/a` matches `a`). Iterative with one backtrack point per star kind, so it is
/// linear-ish and never recurses deeply on hostile globs.
fn glob_match(glob: &[u8], text: &[u8]) -> bool {
    let (mut g, mut t) = (0, 0);
    // Where to resume after a `*` (glob index after it, text index it has eaten up to).
    let mut star: Option<(usize, usize)> = None;
    // The same for `**`, and whether it was `**/`, which resumes only at a component start.
    let mut globstar: Option<(usize, usize, bool)> = None;
    while t < text.len() {
        if glob[g..].starts_with(b"**") {
            let slash = glob.get(g + 2) == Some(&b'/');
            let next = g + 2 + usize::from(slash);
            globstar = Some((next, t, slash));
            star = None;
            g = next;
            continue;
        }
        match glob.get(g) {
            Some(b'*') => {
                star = Some((g + 1, t));
                g += 1;
                continue;
            }
            Some(b'?') if text[t] != b'/' => {
                g += 1;
                t += char_len(text[t]).min(text.len() - t);
                continue;
            }
            Some(&c) if c == text[t] => {
                g += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        // Mismatch: let the innermost star eat one more byte (not a `/`), else the globstar.
        if let Some((sg, st)) = star
            && text[st] != b'/'
        {
            star = Some((sg, st + 1));
            (g, t) = (sg, st + 1);
        } else if let Some((gg, gt, slash)) = globstar {
            let resume = if slash {
                match text[gt..].iter().position(|&b| b == b'/') {
                    Some(i) => gt + i + 1,
                    None => return false,
                }
            } else {
                gt + 1
            };
            star = None;
            globstar = Some((gg, resume, slash));
            (g, t) = (gg, resume);
        } else {
            return false;
        }
    }
    glob[g..].iter().all(|&c| c == b'*')
}

/// The byte length of the UTF-8 character starting with `lead`, so `?` eats whole characters.
fn char_len(lead: u8) -> usize {
    match lead {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_paths() {
        let user = [
            "config/*.secret.toml".to_owned(),
            "**/private/**".to_owned(),
            "tok?n.txt".to_owned(),
        ];
        let table: &[(&str, bool)] = &[
            ("file:///home/u/app/.env", true),
            ("/app/.env.local", true),
            ("/app/.ENV", true),
            ("/app/.envrc", true),
            ("/app/env.rs", false),
            ("/app/.environment.ts", false),
            ("file:///k/server.pem", true),
            ("/k/tls.key", true),
            ("/k/keys.rs", false),
            ("/home/u/.ssh/id_rsa", true),
            ("/home/u/.ssh/id_rsa.pub", true),
            ("/home/u/.ssh/id_ed25519", true),
            ("/c/cert.p12", true),
            ("/c/cert.PFX", true),
            ("/aws/credentials", true),
            ("/gcp/credentials.json", true),
            ("/x/credentials.rs", false),
            ("/u/.npmrc", true),
            ("/u/.pypirc", true),
            ("/u/.netrc", true),
            ("/android/release.keystore", true),
            ("file:///app/%2Eenv", true),
            ("C:\\app\\.env", true),
            // User globs: a directory glob matches the path's end, `*` stays in its component.
            ("/repo/config/db.secret.toml", true),
            ("/repo/config/sub/db.secret.toml", false),
            ("/repo/a/b/private/notes.md", true),
            ("/private/x.rs", true),
            ("/repo/privateer/x.rs", false),
            ("/repo/token.txt", true),
            ("/repo/tokéén.txt", false),
            ("/repo/tokén.txt", true),
            ("/repo/src/main.rs", false),
        ];
        for &(path, secret) in table {
            assert_eq!(is_secret_path(path, &user), secret, "{path}");
        }
        assert!(!is_secret_path("/repo/config/db.secret.toml", &[]));
        assert!(is_secret_path("/repo/a.txt", &["/repo/*.txt".to_owned()]));
        assert!(!is_secret_path(
            "/other/repo/a.txt",
            &["/repo/*.txt".to_owned()]
        ));
        assert!(!is_secret_path(
            "/repo/a.txt",
            &[String::new(), "  ".to_owned()]
        ));
    }

    #[test]
    fn globs() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*.rs", "a.rs", true),
            ("*.rs", "a/b.rs", false),
            ("**", "a/b/c", true),
            ("**/c", "c", true),
            ("**/c", "a/b/c", true),
            ("**/c", "abc", false),
            ("**/c", "a/bc", false),
            ("a/**/c", "a/c", true),
            ("a/**/c", "a/x/y/c", true),
            ("a/**", "a/x/y", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("?", "/", false),
            ("***", "a/b", true),
        ];
        for &(glob, text, expected) in cases {
            assert_eq!(
                glob_match(glob.as_bytes(), text.as_bytes()),
                expected,
                "{glob} {text}"
            );
        }
    }

    #[test]
    fn display_paths_read_like_relative_paths() {
        assert_eq!(
            display_path("file:///home/u/src/main.rs"),
            "home/u/src/main.rs"
        );
        assert_eq!(display_path("file:///C:/src/a%20b.rs"), "C:/src/a b.rs");
        assert_eq!(display_path("untitled:Untitled-1"), "untitled:Untitled-1");
    }
}
