//! How a [`ModelRequest`] becomes the local model's tokens: the model's own chat template
//! (ChatML, detected from its vocabulary and `tokenizer.chat_template`), or its
//! fill-in-the-middle tokens when the vocabulary has them (Qwen2.5-Coder's `<|fim_prefix|>`,
//! StarCoder's `<fim_prefix>`), else the prefix alone as text to continue. Special tokens are
//! placed by id, never parsed out of user text.

use super::super::prompt::{instructions, user_text};
use super::super::{ExtraFile, ModelInput, ModelRequest};
use spark_local_model::{TokenId, Tokenizer};

/// The model's fill-in-the-middle tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FimTokens {
    pub prefix: TokenId,
    pub suffix: TokenId,
    pub middle: TokenId,
    /// Separates other files given as context (`<|file_sep|>`), where the model has one.
    pub file_sep: Option<TokenId>,
}

/// How chat input is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chat {
    /// `<|im_start|>role\n…<|im_end|>\n`.
    ChatMl { start: TokenId, end: TokenId },
    /// No template known: the instructions and the message as plain text.
    Plain,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Template {
    pub chat: Chat,
    pub fim: Option<FimTokens>,
}

impl Template {
    pub fn detect(tokenizer: &Tokenizer, chat_template: Option<&str>) -> Self {
        let fim = ["<|fim_{}|>", "<fim_{}>"].iter().find_map(|pattern| {
            let token = |part: &str| tokenizer.token(&pattern.replace("{}", part));
            Some(FimTokens {
                prefix: token("prefix")?,
                suffix: token("suffix")?,
                middle: token("middle")?,
                file_sep: tokenizer
                    .token("<|file_sep|>")
                    .or_else(|| tokenizer.token("<file_sep>")),
            })
        });
        let chatml = chat_template.is_none_or(|t| t.contains("<|im_start|>"));
        let chat = match (
            tokenizer.token("<|im_start|>"),
            tokenizer.token("<|im_end|>"),
        ) {
            (Some(start), Some(end)) if chatml => Chat::ChatMl { start, end },
            _ => Chat::Plain,
        };
        Self { chat, fim }
    }

    /// The prompt's tokens for `request`, and the bytes the answer must begin with (token
    /// healing: see [`spark_local_model::Params::heal`]).
    pub fn render(&self, tokenizer: &Tokenizer, request: &ModelRequest) -> (Vec<TokenId>, Vec<u8>) {
        if let (
            Some(fim),
            ModelInput::Fim {
                prefix,
                suffix,
                extra,
            },
        ) = (self.fim, &request.input)
        {
            return (
                render_fim(tokenizer, fim, prefix, suffix, extra),
                Vec::new(),
            );
        }
        match &request.input {
            ModelInput::Fim { prefix, .. } => return continuation(tokenizer, prefix),
            // A next-edit model's own prompt ends where its answer starts: nothing to heal.
            ModelInput::Completion { prompt } => return (tokenizer.encode(prompt), Vec::new()),
            ModelInput::Chat { .. } => {}
        }
        let system = instructions(request);
        let user = user_text(&request.input);
        match self.chat {
            Chat::ChatMl { start, end } => {
                let mut out = Vec::new();
                let newline = tokenizer.encode("\n");
                let mut turn = |role: &str, text: &str, close: bool| {
                    out.push(start);
                    out.extend(tokenizer.encode(&format!("{role}\n{text}")));
                    if close {
                        out.push(end);
                        out.extend(&newline);
                    }
                };
                if !system.trim().is_empty() {
                    turn("system", &system, true);
                }
                turn("user", &user, true);
                turn("assistant", "", false);
                (out, Vec::new())
            }
            Chat::Plain => {
                let mut text = system.into_owned();
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str(&user);
                (tokenizer.encode(&text), Vec::new())
            }
        }
    }
}

/// Fill-in-the-middle input for a model without FIM tokens: the prefix alone, continued as
/// plain text (the way the model read code in pre-training). A small instruct model follows
/// the code far better than a chat question about it, and the prompt only grows at its end as
/// the user types, so the KV cache keeps all but the last few tokens. What it writes past the
/// cursor's line or block, or over the suffix, post-processing trims. The last token is taken
/// back and healed: the cursor often cuts a word or a run of spaces short.
fn continuation(tokenizer: &Tokenizer, prefix: &str) -> (Vec<TokenId>, Vec<u8>) {
    let mut tokens = tokenizer.encode(prefix);
    let heal = match tokens.len() {
        0 | 1 => Vec::new(),
        _ => tokens
            .pop()
            .map(|last| tokenizer.bytes(last))
            .unwrap_or_default(),
    };
    (tokens, heal)
}

fn render_fim(
    tokenizer: &Tokenizer,
    fim: FimTokens,
    prefix: &str,
    suffix: &str,
    extra: &[ExtraFile],
) -> Vec<TokenId> {
    let mut out = Vec::new();
    if let Some(sep) = fim.file_sep {
        for file in extra {
            out.push(sep);
            out.extend(tokenizer.encode(&format!("{}\n{}\n", file.path, file.text)));
        }
    }
    out.push(fim.prefix);
    out.extend(tokenizer.encode(prefix));
    out.push(fim.suffix);
    out.extend(tokenizer.encode(suffix));
    out.push(fim.middle);
    out
}
