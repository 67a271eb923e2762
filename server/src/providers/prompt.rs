//! How a [`ModelRequest`] becomes text for wires that have no fill-in-the-middle fields:
//! chat models (OpenAI Chat, Responses, Anthropic) get one user message, FIM endpoints get a
//! prefix and a suffix. Kept in one place so that every provider asks the same question.

use std::borrow::Cow;

use super::{CURSOR_MARKER, ExtraFile, ModelInput, ModelRequest};

/// Used when FIM input goes to a chat model and the request brings no instructions: without
/// them a chat model would explain the code instead of completing it.
pub(crate) const FIM_INSTRUCTIONS: &str = "You complete code. The user message is a file with \
the marker <|cursor|> where the cursor is. Reply with only the text to insert at the marker: \
no explanation, no code fences, nothing that is already before or after it.";

/// The system prompt: the request's instructions, else [`FIM_INSTRUCTIONS`] for FIM input.
pub(crate) fn instructions(request: &ModelRequest) -> Cow<'_, str> {
    match &request.input {
        ModelInput::Fim { .. } if request.instructions.trim().is_empty() => {
            Cow::Borrowed(FIM_INSTRUCTIONS)
        }
        _ => Cow::Borrowed(&request.instructions),
    }
}

/// The user message. Chat input is `context` then `query` as given (the context builder owns
/// the separators, and the stable part first keeps provider prompt caches warm); FIM input is
/// the other files, then the prefix, the cursor marker and the suffix.
pub(crate) fn user_text(input: &ModelInput) -> String {
    match input {
        ModelInput::Chat { context, query } => format!("{context}{query}"),
        ModelInput::Completion { prompt } => prompt.clone(),
        ModelInput::Fim {
            prefix,
            suffix,
            extra,
        } => {
            let mut text = String::new();
            for ExtraFile { path, text: body } in extra {
                text.push_str(&format!("<file path=\"{path}\">\n{body}\n</file>\n\n"));
            }
            text.push_str(prefix);
            text.push_str(CURSOR_MARKER);
            text.push_str(suffix);
            text
        }
    }
}

/// Prefix, suffix and other files for a FIM endpoint; chat input completes after its text.
pub(crate) fn fim_parts(input: &ModelInput) -> (String, &str, &[ExtraFile]) {
    match input {
        ModelInput::Chat { context, query } => (format!("{context}{query}"), "", &[]),
        ModelInput::Completion { prompt } => (prompt.clone(), "", &[]),
        ModelInput::Fim {
            prefix,
            suffix,
            extra,
        } => (prefix.clone(), suffix, extra),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fim_input_becomes_one_message_with_the_marker() {
        let input = ModelInput::Fim {
            prefix: "fn a() {".into(),
            suffix: "}".into(),
            extra: vec![ExtraFile {
                path: "lib.rs".into(),
                text: "mod a;".into(),
            }],
        };
        assert_eq!(
            user_text(&input),
            "<file path=\"lib.rs\">\nmod a;\n</file>\n\nfn a() {<|cursor|>}"
        );
        let request = ModelRequest {
            input,
            ..ModelRequest::default()
        };
        assert_eq!(instructions(&request), FIM_INSTRUCTIONS);
    }

    #[test]
    fn chat_input_keeps_its_instructions_and_order() {
        let request = ModelRequest {
            instructions: String::new(),
            input: ModelInput::Chat {
                context: "ctx\n".into(),
                query: "q".into(),
            },
            ..ModelRequest::default()
        };
        assert_eq!(instructions(&request), "");
        assert_eq!(user_text(&request.input), "ctx\nq");
        assert_eq!(fim_parts(&request.input).0, "ctx\nq");
    }
}
