//! What the clients tell the server about its suggestions: shown (`spark/didShow`, Copilot's
//! `textDocument/didShowCompletion`), rejected (`spark/didReject`), accepted in part (Copilot's
//! `textDocument/didPartiallyAcceptCompletion`). The accept signals with ids are parsed here too
//! (`spark/didAccept`'s `kind`/`id`, the accept commands' second argument). Each goes to the
//! engine's next-edit controller; an unknown id is logged and ignored.

use serde_json::Value;
use spark_protocol::{
    EchoedItem, PartialAcceptParams, ShownCompletionParams, SignalParams, SuggestionKind, commands,
};

use super::Backend;
use crate::engine::AcceptSignal;

impl Backend {
    /// `spark/didShow`.
    pub(super) async fn did_show(&self, params: SignalParams) {
        let uri = &params.text_document.uri;
        tracing::debug!(uri, kind = ?params.kind, id = ?params.id, "didShow");
        self.engine
            .controller()
            .shown(uri, params.kind, params.id.as_deref());
    }

    /// `spark/didReject`.
    pub(super) async fn did_reject(&self, params: SignalParams) {
        let uri = &params.text_document.uri;
        tracing::debug!(uri, kind = ?params.kind, id = ?params.id, "didReject");
        self.engine
            .controller()
            .rejected(uri, params.kind, params.id.as_deref());
    }

    /// `textDocument/didShowCompletion`: the item's command says which suggestion.
    pub(super) async fn did_show_completion(&self, params: ShownCompletionParams) {
        let Some(echo) = Echo::of(&params.item) else {
            tracing::debug!("didShowCompletion for an item without our command; ignored");
            return;
        };
        self.engine
            .controller()
            .shown(&echo.uri, echo.kind, echo.id.as_deref());
    }

    /// `textDocument/didPartiallyAcceptCompletion`: `acceptedLength` UTF-16 code units of the
    /// item's text were accepted (all of it counts as a whole accept).
    pub(super) async fn did_partially_accept_completion(&self, params: PartialAcceptParams) {
        let Some(echo) = Echo::of(&params.item) else {
            tracing::debug!("didPartiallyAcceptCompletion for an item without our command");
            return;
        };
        let text = insert_text(&params.item).unwrap_or_default();
        let accepted = utf16_prefix(&text, params.accepted_length as usize);
        let whole = accepted.len() == text.len();
        match echo.kind {
            SuggestionKind::Inline => {
                self.accepted(&echo.uri, AcceptSignal::Explicit, Some(accepted));
            }
            SuggestionKind::NextEdit if whole => self.accepted_next_edit(&echo.uri),
            SuggestionKind::NextEdit => {}
        }
        self.engine
            .controller()
            .accepted(&echo.uri, echo.kind, echo.id.as_deref(), !whole);
    }

    /// `spark/didAccept`: a ghost-text accept (the engine's next suggestion starts) or, with
    /// `kind: "nextEdit"`, a next edit's.
    pub(super) async fn did_accept(&self, params: spark_protocol::DidAcceptParams) {
        let uri = &params.text_document.uri;
        let kind = params.kind.unwrap_or_default();
        let controller = self.engine.controller();
        let id = params.id.as_deref();
        // Less than the text still suggested is a partial accept.
        let partial = controller
            .suggested_text(uri, kind, id)
            .zip(params.insert_text.as_deref())
            .is_some_and(|(suggested, inserted)| inserted.len() < suggested.len());
        match kind {
            SuggestionKind::Inline => {
                self.accepted(uri, AcceptSignal::Explicit, params.insert_text.as_deref());
            }
            SuggestionKind::NextEdit => self.accepted_next_edit(uri),
        }
        controller.accepted(uri, kind, id, partial);
    }

    /// The accept commands (`spark.didAccept`, `spark.didAcceptNextEdit`): `[uri, id?]`.
    pub(super) fn accept_command(&self, kind: SuggestionKind, arguments: &[Value]) -> bool {
        let Some(uri) = arguments.first().and_then(Value::as_str) else {
            return false;
        };
        let id = arguments.get(1).and_then(Value::as_str);
        match kind {
            SuggestionKind::Inline => self.accepted(uri, AcceptSignal::Explicit, None),
            SuggestionKind::NextEdit => self.accepted_next_edit(uri),
        }
        self.engine.controller().accepted(uri, kind, id, false);
        true
    }
}

/// Which suggestion an echoed item is, from its command: `spark.didAccept` is ghost text,
/// `spark.didAcceptNextEdit` a next edit; arguments `[uri, id?]`.
struct Echo {
    kind: SuggestionKind,
    uri: String,
    id: Option<String>,
}

impl Echo {
    fn of(item: &EchoedItem) -> Option<Self> {
        let command = item.command.as_ref()?;
        let kind = match command.get("command")?.as_str()? {
            commands::DID_ACCEPT => SuggestionKind::Inline,
            commands::DID_ACCEPT_NEXT_EDIT => SuggestionKind::NextEdit,
            _ => return None,
        };
        let arguments = command.get("arguments")?.as_array()?;
        Some(Self {
            kind,
            uri: arguments.first()?.as_str()?.to_owned(),
            id: arguments.get(1).and_then(Value::as_str).map(str::to_owned),
        })
    }
}

/// An item's `insertText`: a string, or a snippet `{value}`.
fn insert_text(item: &EchoedItem) -> Option<String> {
    match item.insert_text.as_ref()? {
        Value::String(text) => Some(text.clone()),
        other => Some(other.get("value")?.as_str()?.to_owned()),
    }
}

/// The start of `text` that is `units` UTF-16 code units long (all of it when it is shorter; a
/// count ending inside a surrogate pair stops before that character).
fn utf16_prefix(text: &str, units: usize) -> &str {
    let mut counted = 0;
    for (at, c) in text.char_indices() {
        counted += c.len_utf16();
        if counted > units {
            return &text[..at];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_lengths_cut_at_characters() {
        assert_eq!(utf16_prefix("let x", 3), "let");
        assert_eq!(utf16_prefix("let x", 99), "let x");
        assert_eq!(utf16_prefix("é😀b", 1), "é");
        // Half of the emoji's surrogate pair is not a character.
        assert_eq!(utf16_prefix("é😀b", 2), "é");
        assert_eq!(utf16_prefix("é😀b", 3), "é😀");
        assert_eq!(utf16_prefix("", 4), "");
    }

    #[test]
    fn an_echoed_item_names_its_kind_document_and_id() {
        let item = |command: Value| EchoedItem {
            insert_text: Some(Value::String("x".into())),
            command: Some(command),
        };
        let echo = Echo::of(&item(serde_json::json!({
            "title": "t", "command": "spark.didAcceptNextEdit", "arguments": ["file:///a", "ne-3"]
        })));
        let echo = echo.map(|e| (e.kind, e.uri, e.id));
        assert_eq!(
            echo,
            Some((
                SuggestionKind::NextEdit,
                "file:///a".into(),
                Some("ne-3".into())
            ))
        );
        // Old items without an id, other servers' commands, and junk.
        let echo = Echo::of(&item(
            serde_json::json!({"command": "spark.didAccept", "arguments": ["file:///a"]}),
        ));
        assert!(echo.is_some_and(|e| e.kind == SuggestionKind::Inline && e.id.is_none()));
        let other = serde_json::json!({"command": "other.accept", "arguments": ["file:///a"]});
        assert!(Echo::of(&item(other)).is_none());
        assert!(Echo::of(&item(serde_json::json!({"command": 5}))).is_none());
        assert!(Echo::of(&item(serde_json::json!("x"))).is_none());
        let snippet = EchoedItem {
            insert_text: Some(serde_json::json!({"kind": "snippet", "value": "a$0"})),
            command: None,
        };
        assert_eq!(insert_text(&snippet).as_deref(), Some("a$0"));
    }
}
