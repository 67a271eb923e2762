/**
 * Next-edit suggestions (`spark/nextEdit`): asked for on demand, shown, applied with one key.
 * One near the cursor is previewed in place (nextEditView.ts). One elsewhere (the server says
 * `jump`, it is in another document, or off screen) is named at the cursor ("next edit: line
 * 42") with its line marked; "Go to Next Edit" (or Tab) reveals it and previews it, a second
 * press applies it. The server hears what became of it: `spark/didShow`, `spark/didReject`
 * (Escape, replaced, the cursor leaving it after it was seen), `spark.didAcceptNextEdit [uri, id]`,
 * after which the next one is asked for at once (the server has it ready).
 *
 * VS Code's stable API (1.91) has no inline-edit preview: `InlineCompletionItem` only inserts at
 * the cursor's line and the inline-edit API is a proposal, which a packaged extension cannot use.
 * So the preview is decorations, and the server's "Apply suggested edit" code action covers the
 * lightbulb path.
 */

import * as vscode from "vscode";
import { DID_REJECT, DID_SHOW, NEXT_EDIT, SparkClient } from "./client";
import { LspEdit, LspRange, NextEditView, toRange } from "./nextEditView";

export { preview, toRange } from "./nextEditView";
export type { LspRange } from "./nextEditView";

export interface NextEditResult {
  edits: LspEdit[];
  command?: { title: string; command: string; arguments?: unknown[] };
  id?: string;
  intent?: "low" | "medium" | "high";
  location?: { uri: string; range: LspRange };
  jump?: boolean;
}

/** A rejection by moving on counts once the suggestion was on screen this long (docs/protocol.md). */
const SEEN_MS = 1000;

interface Pending {
  editor: vscode.TextEditor;
  version: number;
  result: NextEditResult;
  stage: "jump" | "preview";
  /** Lines the cursor may move in without leaving the suggestion. */
  lines: [number, number];
  shownAt: number;
}

/** Whether `result` holds edits that can be shown (the server's answer is checked, not trusted). */
export function wellFormed(result: unknown): result is NextEditResult {
  if (typeof result !== "object" || result === null) return false;
  const r = result as NextEditResult;
  const position = (p: unknown) =>
    typeof p === "object" && p !== null && typeof (p as { line: unknown }).line === "number" && typeof (p as { character: unknown }).character === "number";
  return (
    Array.isArray(r.edits) &&
    r.edits.length > 0 &&
    r.edits.every((e) => typeof e === "object" && e !== null && typeof e.newText === "string" && position(e.range?.start) && position(e.range?.end)) &&
    (r.id === undefined || typeof r.id === "string")
  );
}

/** The document the edits are in (their own, else the one asked about). */
function targetUri(result: NextEditResult, asked: string): string {
  return result.edits[0].textDocument?.uri ?? asked;
}

/** "next edit: line 42", or "next edit: lib.rs:42" in another document. */
export function where(result: NextEditResult, asked: string): string {
  const uri = targetUri(result, asked);
  const line = result.edits[0].range.start.line + 1;
  if (uri === asked) return `next edit: line ${line}`;
  return `next edit: ${decodeURIComponent(uri.split("/").pop() ?? uri)}:${line}`;
}

export class NextEdits implements vscode.Disposable {
  private pending?: Pending;
  private readonly view = new NextEditView();
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly client: () => SparkClient | undefined) {
    this.subscriptions = [
      // Any edit to the document makes the suggestion stale; the server sees the edit itself.
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (this.pending && e.document === this.pending.editor.document) this.dismiss();
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => this.selectionChanged(e)),
    ];
  }

  /** Asks the server for the next edit at the cursor and shows it; false when there is none. */
  async show(editor: vscode.TextEditor): Promise<boolean> {
    const client = this.client();
    if (!client) return false;
    const document = editor.document;
    const version = document.version;
    const uri = document.uri.toString();
    const position = editor.selection.active;
    const result = await client.sendRequest<unknown>(NEXT_EDIT, {
      textDocument: { uri, version },
      position: { line: position.line, character: position.character },
    });
    const current = (e: LspEdit) => e.textDocument === undefined || e.textDocument.uri !== uri || e.textDocument.version === version;
    if (!wellFormed(result) || document.version !== version || !result.edits.every(current)) return false;
    if (this.pending && sameSuggestion(this.pending.result, result)) return true;
    this.dismiss("rejected");
    // One suggestion at the cursor: the ghost text gives way.
    await vscode.commands.executeCommand("editor.action.inlineSuggest.hide");
    const shownAt = Date.now();
    if (isJump(editor, result, uri)) {
      const target = targetUri(result, uri) === uri ? result.edits[0].range.start.line : undefined;
      this.view.showJump(editor, position.line, where(result, uri), target);
      this.pending = { editor, version, result, stage: "jump", lines: [position.line, position.line], shownAt };
    } else {
      this.preview(editor, result, shownAt);
    }
    void client.sendNotification(DID_SHOW, { textDocument: { uri }, kind: "nextEdit", id: result.id });
    await vscode.commands.executeCommand("setContext", "spark.nextEditVisible", true);
    return true;
  }

  private preview(editor: vscode.TextEditor, result: NextEditResult, shownAt: number): void {
    this.view.showPreview(editor, result.edits);
    const cursor = editor.selection.active.line;
    const first = result.edits[0].range.start.line;
    const last = result.edits[result.edits.length - 1].range.end.line;
    this.pending = {
      editor,
      version: editor.document.version,
      result,
      stage: "preview",
      lines: [Math.min(cursor, first), Math.max(cursor, last)],
      shownAt,
    };
  }

  /** "Go to Next Edit": reveals a named edit and previews it; applies a previewed one; asks for
   * one when none is shown. */
  async goTo(editor: vscode.TextEditor): Promise<boolean> {
    if (!this.pending || this.pending.editor.document !== editor.document) return this.show(editor);
    if (this.pending.stage === "jump") return this.jump(this.pending);
    return this.accept(editor);
  }

  private async jump(pending: Pending): Promise<boolean> {
    const { result } = pending;
    const asked = pending.editor.document.uri.toString();
    const uri = targetUri(result, asked);
    const range = toRange(result.edits[0].range);
    this.view.clear();
    this.pending = undefined;
    let editor = pending.editor;
    if (uri !== asked) {
      editor = await vscode.window.showTextDocument(vscode.Uri.parse(uri), { selection: new vscode.Range(range.start.line, range.start.character, range.start.line, range.start.character) });
      const version = result.edits[0].textDocument?.version;
      if (version !== undefined && editor.document.version !== version) return this.hidden();
    } else {
      if (editor.document.version !== pending.version) return this.hidden();
      editor.selection = new vscode.Selection(range.start, range.start);
      editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
    this.preview(editor, result, pending.shownAt);
    return true;
  }

  private async hidden(): Promise<boolean> {
    await vscode.commands.executeCommand("setContext", "spark.nextEditVisible", false);
    return false;
  }

  /** Applies the previewed edit (jumping to a named one first), or asks for one and applies it;
   * false when nothing applied. */
  async accept(editor: vscode.TextEditor): Promise<boolean> {
    if (!this.pending || this.pending.editor.document !== editor.document) {
      if (!(await this.show(editor))) return false;
    }
    if (this.pending?.stage === "jump") return this.jump(this.pending);
    const pending = this.pending;
    this.dismiss();
    if (!pending || pending.editor.document.version !== pending.version) return false;
    const edit = new vscode.WorkspaceEdit();
    for (const e of pending.result.edits) edit.replace(pending.editor.document.uri, toRange(e.range), e.newText);
    if (!(await vscode.workspace.applyEdit(edit))) return false;
    const uri = pending.editor.document.uri.toString();
    const command = pending.result.command ?? { command: "spark.didAcceptNextEdit", arguments: [uri, pending.result.id] };
    const client = this.client();
    if (client) {
      await client.sendRequest("workspace/executeCommand", { command: command.command, arguments: command.arguments ?? [] });
      // The server prepares the edit after this one at once: ask for it (Tab, Tab, Tab).
      await this.show(pending.editor);
    }
    return true;
  }

  /** Hides the suggestion. "rejected" (Escape, replaced) tells the server at once, "moved" (the
   * cursor left it) once it was seen; without a reason (the document changed) nothing is sent. */
  dismiss(reason?: "rejected" | "moved"): void {
    const pending = this.pending;
    if (!pending) return;
    this.view.clear();
    this.pending = undefined;
    void vscode.commands.executeCommand("setContext", "spark.nextEditVisible", false);
    if (reason === "rejected" || (reason === "moved" && Date.now() - pending.shownAt >= SEEN_MS)) {
      const params = { textDocument: { uri: pending.editor.document.uri.toString() }, kind: "nextEdit", id: pending.result.id };
      void this.client()?.sendNotification(DID_REJECT, params);
    }
  }

  private selectionChanged(e: vscode.TextEditorSelectionChangeEvent): void {
    const pending = this.pending;
    if (!pending || e.textEditor.document !== pending.editor.document) return;
    const line = e.selections[0]?.active.line;
    if (line !== undefined && (line < pending.lines[0] || line > pending.lines[1])) this.dismiss("moved");
  }

  get visible(): boolean {
    return this.pending !== undefined;
  }

  dispose(): void {
    this.dismiss();
    for (const d of this.subscriptions) d.dispose();
    this.view.dispose();
  }
}

function sameSuggestion(a: NextEditResult, b: NextEditResult): boolean {
  if (a.id !== undefined || b.id !== undefined) return a.id === b.id;
  return JSON.stringify(a.edits) === JSON.stringify(b.edits);
}

/** Shown by name: the server says it is a jump, it is in another document, or off screen. */
function isJump(editor: vscode.TextEditor, result: NextEditResult, uri: string): boolean {
  if (result.jump === true || targetUri(result, uri) !== uri) return true;
  const first = result.edits[0].range.start.line;
  const last = result.edits[result.edits.length - 1].range.end.line;
  const visible = editor.visibleRanges ?? [];
  return visible.length > 0 && !visible.some((r) => r.start.line <= first && last <= r.end.line);
}
