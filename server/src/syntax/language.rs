//! The languages spark-lsp can parse, and how a document is mapped to one.
//!
//! Detection trusts the client's `languageId` first (the editor knows best,
//! e.g. a shebang script without an extension) and falls back to the file
//! name, so an unknown or generic id ("plaintext") still gets a grammar.

/// A language with a bundled tree-sitter grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    Rust,
    Python,
    TypeScript,
    Tsx,
    JavaScript,
    Go,
    C,
    Cpp,
    Java,
    Lua,
    Json,
    Bash,
    Toml,
}

impl Language {
    /// Every language, in declaration order; handy for tables and tests.
    pub const ALL: [Language; 13] = [
        Language::Rust,
        Language::Python,
        Language::TypeScript,
        Language::Tsx,
        Language::JavaScript,
        Language::Go,
        Language::C,
        Language::Cpp,
        Language::Java,
        Language::Lua,
        Language::Json,
        Language::Bash,
        Language::Toml,
    ];

    /// Maps an LSP `languageId` (VS Code's identifiers, which Neovim's
    /// filetypes and Helix's ids mostly share) to a language.
    pub fn from_language_id(id: &str) -> Option<Language> {
        // Ids are case-sensitive in the spec, but some clients send "Rust".
        let id = id.trim().to_ascii_lowercase();
        let language = match id.as_str() {
            "rust" => Language::Rust,
            "python" => Language::Python,
            "typescript" => Language::TypeScript,
            "typescriptreact" | "tsx" => Language::Tsx,
            // The JavaScript grammar parses JSX too.
            "javascript" | "javascriptreact" | "jsx" => Language::JavaScript,
            "go" => Language::Go,
            "c" => Language::C,
            "cpp" | "c++" | "cuda-cpp" => Language::Cpp,
            "java" => Language::Java,
            "lua" => Language::Lua,
            // tree-sitter-json accepts comments, so JSON with comments parses.
            "json" | "jsonc" => Language::Json,
            "shellscript" | "bash" | "sh" => Language::Bash,
            "toml" => Language::Toml,
            _ => return None,
        };
        Some(language)
    }

    /// Maps a file path or a URI's path to a language by its file name or
    /// extension. Query strings and fragments are ignored.
    pub fn from_path(path: &str) -> Option<Language> {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        let file_name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        if let Some(language) = Self::from_file_name(file_name) {
            return Some(language);
        }
        // A bare ".tsx" is accepted as an extension on purpose: callers pass
        // extensions as well as names, and dotfiles such as ".bashrc" were
        // matched whole above, so they never reach the extension table.
        let (_stem, extension) = file_name.rsplit_once('.')?;
        Self::from_extension(&extension.to_ascii_lowercase())
    }

    /// `languageId` first, then the path's file name or extension.
    pub fn detect(language_id: &str, path: &str) -> Option<Language> {
        Self::from_language_id(language_id).or_else(|| Self::from_path(path))
    }

    /// A stable lowercase name, for logs and configuration keys.
    pub fn name(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::JavaScript => "javascript",
            Language::Go => "go",
            Language::C => "c",
            Language::Cpp => "cpp",
            Language::Java => "java",
            Language::Lua => "lua",
            Language::Json => "json",
            Language::Bash => "bash",
            Language::Toml => "toml",
        }
    }

    /// The tree-sitter grammar. Cheap: it wraps a static pointer.
    pub fn ts_language(self) -> tree_sitter::Language {
        match self {
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
            Language::C => tree_sitter_c::LANGUAGE.into(),
            Language::Cpp => tree_sitter_cpp::LANGUAGE.into(),
            Language::Java => tree_sitter_java::LANGUAGE.into(),
            Language::Lua => tree_sitter_lua::LANGUAGE.into(),
            Language::Json => tree_sitter_json::LANGUAGE.into(),
            Language::Bash => tree_sitter_bash::LANGUAGE.into(),
            Language::Toml => tree_sitter_toml_ng::LANGUAGE.into(),
        }
    }

    /// Whole file names that say more than their extension (or have none).
    fn from_file_name(file_name: &str) -> Option<Language> {
        let language = match file_name {
            "Cargo.lock" | "Pipfile" | "poetry.lock" | "uv.lock" => Language::Toml,
            ".bashrc" | ".bash_profile" | ".bash_login" | ".bash_logout" | ".profile"
            | "PKGBUILD" | "APKBUILD" => Language::Bash,
            "SConstruct" | "SConscript" => Language::Python,
            _ => return None,
        };
        Some(language)
    }

    /// `extension` is lowercase and without the dot.
    fn from_extension(extension: &str) -> Option<Language> {
        let language = match extension {
            "rs" => Language::Rust,
            "py" | "pyi" | "pyw" => Language::Python,
            "ts" | "mts" | "cts" => Language::TypeScript,
            "tsx" => Language::Tsx,
            "js" | "mjs" | "cjs" | "jsx" => Language::JavaScript,
            "go" => Language::Go,
            // A bare ".h" is far more often C than C++; clients that know
            // better send languageId "cpp", which wins in `detect`.
            "c" | "h" => Language::C,
            "cc" | "cpp" | "cxx" | "c++" | "hh" | "hpp" | "hxx" | "h++" | "ipp" | "inl" | "cu" => {
                Language::Cpp
            }
            "java" => Language::Java,
            "lua" => Language::Lua,
            "json" | "jsonc" => Language::Json,
            "sh" | "bash" => Language::Bash,
            "toml" => Language::Toml,
            _ => return None,
        };
        Some(language)
    }
}
