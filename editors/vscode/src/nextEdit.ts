/**
 * Next-edit suggestions (`spark/nextEdit`): asked for on demand, previewed with decorations (the
 * replaced range struck through, the new text after it), applied with one key.
 *
 * VS Code's stable API (1.91) has no inline-edit preview: `InlineCompletionItem` only inserts at
 * the cursor's line and the inline-edit API is a proposal, which a packaged extension cannot use.
 * So the preview is decorations, and the server's "Apply suggested edit" code action covers the
 * lightbulb path.
 */

import * as vscode from "vscode";
import { NEXT_EDIT, SparkClient } from "./client";

export interface LspRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

export interface NextEditResult {
  edits: { range: LspRange; newText: string; textDocument: { uri: string; version: number } }[];
  command?: { title: string; command: string; arguments?: unknown[] };
}

interface Pending {
  editor: vscode.TextEditor;
  version: number;
  result: NextEditResult;
}

export function toRange(range: LspRange): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

export class NextEdits implements vscode.Disposable {
  private pending?: Pending;
  private readonly removed = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor("diffEditor.removedTextBackground"),
    textDecoration: "line-through",
  });
  private readonly added = vscode.window.createTextEditorDecorationType({});
  private readonly onChange: vscode.Disposable;

  constructor(private readonly client: () => SparkClient | undefined) {
    // Any edit to the document makes the preview stale.
    this.onChange = vscode.workspace.onDidChangeTextDocument((e) => {
      if (this.pending && e.document === this.pending.editor.document) this.dismiss();
    });
  }

  /** Asks the server for the next edit at the cursor and previews it; false when there is none. */
  async show(editor: vscode.TextEditor): Promise<boolean> {
    const client = this.client();
    if (!client) return false;
    const document = editor.document;
    const version = document.version;
    const position = editor.selection.active;
    const result = await client.sendRequest<NextEditResult | null>(NEXT_EDIT, {
      textDocument: { uri: document.uri.toString(), version },
      position: { line: position.line, character: position.character },
    });
    const current = (e: NextEditResult["edits"][number]) => e.textDocument.version === document.version;
    if (!result || result.edits.length === 0 || document.version !== version || !result.edits.every(current)) {
      this.dismiss();
      return false;
    }
    this.pending = { editor, version, result };
    editor.setDecorations(this.removed, result.edits.map((e) => toRange(e.range)));
    editor.setDecorations(
      this.added,
      result.edits.map((e) => ({
        range: toRange(e.range),
        renderOptions: {
          after: {
            contentText: ` ${preview(e.newText)}`,
            backgroundColor: new vscode.ThemeColor("diffEditor.insertedTextBackground"),
          },
        },
      })),
    );
    await vscode.commands.executeCommand("setContext", "spark.nextEditVisible", true);
    return true;
  }

  /** Applies the previewed edit, or asks for one and applies it; false when nothing applied. */
  async accept(editor: vscode.TextEditor): Promise<boolean> {
    if (!this.pending || this.pending.editor.document !== editor.document) {
      if (!(await this.show(editor))) return false;
    }
    const pending = this.pending;
    this.dismiss();
    if (!pending || pending.editor.document.version !== pending.version) return false;
    const edit = new vscode.WorkspaceEdit();
    for (const e of pending.result.edits) edit.replace(editor.document.uri, toRange(e.range), e.newText);
    if (!(await vscode.workspace.applyEdit(edit))) return false;
    const command = pending.result.command;
    const client = this.client();
    if (command && client) {
      await client.sendRequest("workspace/executeCommand", { command: command.command, arguments: command.arguments ?? [] });
    }
    return true;
  }

  dismiss(): void {
    if (!this.pending) return;
    this.pending.editor.setDecorations(this.removed, []);
    this.pending.editor.setDecorations(this.added, []);
    this.pending = undefined;
    void vscode.commands.executeCommand("setContext", "spark.nextEditVisible", false);
  }

  get visible(): boolean {
    return this.pending !== undefined;
  }

  dispose(): void {
    this.dismiss();
    this.onChange.dispose();
    this.removed.dispose();
    this.added.dispose();
  }
}

/** One line of the new text for the `after` decoration. */
export function preview(newText: string): string {
  const lines = newText.split("\n");
  const first = lines[0] === "" && lines.length > 1 ? lines[1] : lines[0];
  const more = lines.filter((l) => l !== "").length > 1 ? " …" : "";
  return `→ ${first.trim()}${more}`;
}
