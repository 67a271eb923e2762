//! Model-backed code actions: "Fix this diagnostic", "Add documentation", "Complete this
//! implementation", "Simplify", and the `spark.rewrite` command ("Rewrite with instruction…").
//!
//! Listing (`textDocument/codeAction`) never calls the model: every action carries its
//! [`spark_protocol::ActionData`] and no edit. `codeAction/resolve` runs the model and fills in a
//! minimal `WorkspaceEdit`; `workspace/executeCommand spark.rewrite` (also the path for clients
//! that cannot resolve edits) runs it and sends the edit with `workspace/applyEdit`. Both show
//! `$/progress` while the model works and never send an edit for a document that moved on.

use serde_json::Value;
use spark_protocol::{ActionData, ActionKind, RewriteParams, commands};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, Command, Diagnostic,
    ProgressToken, Range, WorkspaceEdit,
};

use super::client_support::ClientSupport;
use super::{Backend, convert};
use crate::documents::Snapshot;
use crate::engine::refactor::{self, Task};

/// The longest diagnostic message shown in a "Fix" title.
const TITLE_MESSAGE_CHARS: usize = 60;

/// One listed action before it is turned into LSP.
struct Listed {
    title: String,
    kind: ActionKind,
    region: std::ops::Range<usize>,
    diagnostic: Option<Diagnostic>,
}

impl Backend {
    /// `textDocument/codeAction`: the refactors over the selection and one fix per diagnostic,
    /// without calling the model.
    pub(super) fn list_actions(&self, params: CodeActionParams) -> Vec<CodeActionOrCommand> {
        let uri = params.text_document.uri;
        let Some(snapshot) = self.usable_snapshot(uri.as_str()) else {
            return Vec::new();
        };
        let encoding = self.encoding();
        let start = convert::byte_of(&snapshot.rope, params.range.start, encoding);
        let end = convert::byte_of(&snapshot.rope, params.range.end, encoding);
        let selection = refactor::region(&snapshot, start, end, false);
        let listed = &params.context.diagnostics;
        self.diagnostics
            .merge_listed(uri.as_str(), &snapshot.rope, listed, encoding);
        let mut listed: Vec<Listed> = params
            .context
            .diagnostics
            .iter()
            .filter(|d| overlaps(&d.range, &params.range))
            .map(|d| {
                let start = convert::byte_of(&snapshot.rope, d.range.start, encoding);
                let end = convert::byte_of(&snapshot.rope, d.range.end, encoding);
                Listed {
                    title: fix_title(&d.message),
                    kind: ActionKind::FixDiagnostic,
                    region: refactor::region(&snapshot, start, end, true),
                    diagnostic: Some(d.clone()),
                }
            })
            .collect();
        let listed_fixes = listed.len();
        for (title, kind) in [
            ("Add documentation", ActionKind::Document),
            ("Complete this implementation", ActionKind::Complete),
            ("Simplify", ActionKind::Simplify),
        ] {
            listed.push(Listed {
                title: title.into(),
                kind,
                region: selection.clone(),
                diagnostic: None,
            });
        }
        let support = self.client_support();
        let mut actions: Vec<CodeActionOrCommand> = listed
            .into_iter()
            .map(|item| CodeActionOrCommand::CodeAction(self.action(&snapshot, item, support)))
            .collect();
        if support.resolves_edit {
            let action = self.next_edit_action(&snapshot, start);
            actions.insert(listed_fixes, CodeActionOrCommand::CodeAction(action));
        }
        if support.prompts_instruction {
            let range = convert::range_of(&snapshot.rope, selection.start, selection.end, encoding);
            let args = RewriteParams {
                uri: snapshot.uri.to_string(),
                range: convert::protocol_range(range),
                instruction: String::new(),
                version: Some(snapshot.version),
            };
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: "Rewrite with instruction…".into(),
                kind: Some(CodeActionKind::REFACTOR_REWRITE),
                command: Some(rewrite_command("Rewrite with instruction…", &args)),
                ..CodeAction::default()
            }));
        }
        actions.retain(|action| wanted(action, params.context.only.as_deref()));
        actions
    }

    fn action(&self, snapshot: &Snapshot, item: Listed, support: ClientSupport) -> CodeAction {
        let range = convert::range_of(
            &snapshot.rope,
            item.region.start,
            item.region.end,
            self.encoding(),
        );
        let message = item.diagnostic.as_ref().map(|d| d.message.clone());
        let data = ActionData {
            uri: snapshot.uri.to_string(),
            version: snapshot.version,
            range: convert::protocol_range(range),
            kind: item.kind,
            message: message.clone(),
        };
        // A client that cannot resolve edits runs the same rewrite as a command instead.
        let command = (!support.resolves_edit).then(|| {
            let args = RewriteParams {
                uri: data.uri.clone(),
                range: data.range,
                instruction: task(item.kind, message).describe(),
                version: Some(data.version),
            };
            rewrite_command(&item.title, &args)
        });
        CodeAction {
            title: item.title,
            kind: Some(match item.kind {
                ActionKind::FixDiagnostic => CodeActionKind::QUICKFIX,
                _ => CodeActionKind::REFACTOR_REWRITE,
            }),
            diagnostics: item.diagnostic.map(|d| vec![d]),
            command,
            data: serde_json::to_value(&data).ok(),
            ..CodeAction::default()
        }
    }

    /// `codeAction/resolve`: runs the model and fills in the edit, unless the document moved on.
    pub(super) async fn resolve_action(&self, mut action: CodeAction) -> CodeAction {
        let Some(data) = action
            .data
            .clone()
            .and_then(|data| serde_json::from_value::<ActionData>(data).ok())
        else {
            tracing::warn!(
                title = action.title,
                "codeAction/resolve without spark data"
            );
            return action;
        };
        tracing::debug!(title = action.title, uri = data.uri, "codeAction/resolve");
        if data.kind == ActionKind::NextEdit {
            // Run after the edit is applied (Helix and VS Code do): the chain to the edit after.
            if let Some((edit, id)) = self.resolve_next_edit(&data).await {
                action.edit = Some(edit);
                let command = super::next_edit::accept_command(&data.uri, &id);
                action.command = Some(Command::new(
                    command.title,
                    command.command,
                    Some(command.arguments),
                ));
            }
            return action;
        }
        let task = task(data.kind, data.message.clone());
        let Some(edit) = self
            .rewrite(&data.uri, data.range, Some(data.version), &task, None)
            .await
        else {
            return action;
        };
        action.edit = Some(edit);
        action
    }

    /// `workspace/executeCommand spark.rewrite`: runs the model and applies the edit with
    /// `workspace/applyEdit`.
    pub(super) async fn rewrite_command(
        &self,
        arguments: Vec<Value>,
        token: Option<ProgressToken>,
    ) -> Result<Option<Value>> {
        let params = arguments
            .into_iter()
            .next()
            .and_then(|arg| serde_json::from_value::<RewriteParams>(arg).ok())
            .filter(|params| !params.instruction.trim().is_empty())
            .ok_or_else(|| {
                Error::invalid_params(
                    "spark.rewrite takes one argument {uri, range, instruction} with a non-empty instruction",
                )
            })?;
        let task = Task::Instruction(params.instruction);
        let Some(edit) = self
            .rewrite(&params.uri, params.range, params.version, &task, token)
            .await
        else {
            return Ok(None);
        };
        match self.client.apply_edit(edit).await {
            Ok(response) if response.applied => {}
            Ok(response) => tracing::warn!(
                uri = params.uri,
                reason = response.failure_reason.as_deref().unwrap_or(""),
                "the client did not apply the rewrite"
            ),
            Err(err) => tracing::warn!(uri = params.uri, "workspace/applyEdit failed: {err}"),
        }
        Ok(None)
    }

    /// Runs the model over `range` of `uri` and returns the minimal edit, or `None` when there
    /// is none to give: an unknown, secret or inactive document, a version other than
    /// `version` (before or after the model ran), a provider failure (shown to the user) or an
    /// empty answer.
    async fn rewrite(
        &self,
        uri: &str,
        range: spark_protocol::Range,
        version: Option<i32>,
        task: &Task,
        token: Option<ProgressToken>,
    ) -> Option<WorkspaceEdit> {
        let snapshot = self.usable_snapshot(uri)?;
        if version.is_some_and(|version| version != snapshot.version) {
            tracing::info!(
                uri,
                ?version,
                current = snapshot.version,
                "rewrite for a stale version; no edit"
            );
            return None;
        }
        let encoding = self.encoding();
        let range = convert::lsp_range(range);
        let start = convert::byte_of(&snapshot.rope, range.start, encoding);
        let end = convert::byte_of(&snapshot.rope, range.end, encoding).max(start);
        let region = refactor::region(&snapshot, start, end, false);
        let settings = self.request_settings();
        let progress = self.begin_progress(token).await;
        let result = self
            .engine
            .refactor(&snapshot, region, task, &settings)
            .await;
        if let Some(progress) = progress {
            progress.finish().await;
        }
        let edits = match result {
            Ok(edits) => {
                self.provider_recovered();
                edits?
            }
            Err(err) => {
                tracing::warn!(uri, "rewrite failed: {err}");
                self.report_provider_error(&err).await;
                return None;
            }
        };
        let current = self.documents.snapshot(uri).map(|s| s.version);
        if current != Some(snapshot.version) {
            tracing::info!(
                uri,
                listed = snapshot.version,
                ?current,
                "document changed during the rewrite; no edit"
            );
            return None;
        }
        tracing::debug!(uri, edits = edits.len(), "rewrite ready");
        Some(self.workspace_edit(&snapshot, &edits))
    }
}

fn task(kind: ActionKind, message: Option<String>) -> Task {
    match kind {
        ActionKind::FixDiagnostic => Task::FixDiagnostic(message.unwrap_or_default()),
        ActionKind::Document => Task::Document,
        ActionKind::Complete => Task::Complete,
        ActionKind::Simplify => Task::Simplify,
        // Resolved by `resolve_next_edit`, never as a refactor command.
        ActionKind::NextEdit => Task::Simplify,
    }
}

fn rewrite_command(title: &str, args: &RewriteParams) -> Command {
    Command::new(
        title.into(),
        commands::REWRITE.into(),
        serde_json::to_value(args).ok().map(|arg| vec![arg]),
    )
}

fn fix_title(message: &str) -> String {
    let first_line = message.lines().next().unwrap_or("").trim();
    let mut short: String = first_line.chars().take(TITLE_MESSAGE_CHARS).collect();
    if first_line.chars().count() > TITLE_MESSAGE_CHARS {
        short.push('…');
    }
    format!("Fix this diagnostic: {short}")
}

/// Whether two LSP ranges share a position (touching counts, as for a cursor at a word's end).
fn overlaps(a: &Range, b: &Range) -> bool {
    let key = |p: tower_lsp_server::ls_types::Position| (p.line, p.character);
    key(a.start) <= key(b.end) && key(b.start) <= key(a.end)
}

/// Whether `action`'s kind is one the client asked for (`context.only`).
fn wanted(action: &CodeActionOrCommand, only: Option<&[CodeActionKind]>) -> bool {
    let Some(only) = only else {
        return true;
    };
    let CodeActionOrCommand::CodeAction(action) = action else {
        return true;
    };
    let kind = action.kind.as_ref().map_or("", |kind| kind.as_str());
    only.iter().any(|wanted| {
        let wanted = wanted.as_str();
        kind == wanted
            || kind
                .strip_prefix(wanted)
                .is_some_and(|rest| rest.starts_with('.'))
    })
}
