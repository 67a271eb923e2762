/**
 * Ghost text dismissed with Escape, told to the server. VS Code's stable API has no event for a
 * shown or dismissed inline suggestion (those hooks are proposed API), so the extension binds
 * Escape while an inline suggestion is visible: it sends `spark/didReject` for spark's last
 * ghost text when that is the one at the cursor (same document, version and position), then
 * hides the suggestion as Escape does. Ghost text from another extension is only hidden. The
 * server remembers the rejection and does not answer the same ghost text there again.
 */

import * as vscode from "vscode";
import { DID_REJECT, SparkClient } from "./client";

/** Where spark answered ghost text last, and its id (the item command's second argument). */
export interface InlineAnswer {
  uri: string;
  version: number;
  line: number;
  character: number;
  id: string;
}

export class GhostTexts {
  private last?: InlineAnswer;

  constructor(private readonly client: () => SparkClient | undefined) {}

  /** The items spark answered at `position` of `document` (languageclient's result). */
  answered(document: { uri: { toString(): string }; version: number }, position: { line: number; character: number }, result: unknown): void {
    const id = firstId(result);
    this.last = id === undefined ? undefined : { uri: document.uri.toString(), version: document.version, line: position.line, character: position.character, id };
  }

  /** Escape on visible ghost text: rejected if it is spark's, hidden whoever's it is. */
  async dismiss(editor: vscode.TextEditor | undefined): Promise<void> {
    const last = this.last;
    const client = this.client();
    if (editor && last && client) {
      const cursor = editor.selection.active;
      const document = editor.document;
      const here = document.uri.toString() === last.uri && document.version === last.version && cursor.line === last.line && cursor.character === last.character;
      if (here) {
        this.last = undefined;
        void client.sendNotification(DID_REJECT, { textDocument: { uri: last.uri }, kind: "inline", id: last.id });
      }
    }
    await vscode.commands.executeCommand("editor.action.inlineSuggest.hide");
  }
}

/** The id of the first item (`["uri", "in-7"]` as its command's arguments), if any. */
function firstId(result: unknown): string | undefined {
  const items = Array.isArray(result) ? result : (result as { items?: unknown[] } | null | undefined)?.items;
  const first = Array.isArray(items) ? (items[0] as { command?: { arguments?: unknown[] } } | undefined) : undefined;
  const id = first?.command?.arguments?.[1];
  return typeof id === "string" && id.startsWith("in-") ? id : undefined;
}
