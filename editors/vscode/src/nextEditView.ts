/**
 * How a next edit looks in the editor: a preview (the replaced range struck through, the new text
 * after it), or, for one elsewhere, the target line marked and the cursor's line naming it
 * ("next edit: line 42").
 */

import * as vscode from "vscode";

export interface LspRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

export interface LspEdit {
  range: LspRange;
  newText: string;
  textDocument?: { uri: string; version: number };
}

export function toRange(range: LspRange): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

/** One line of the new text for the `after` decoration. */
export function preview(newText: string): string {
  const lines = newText.split("\n");
  const first = lines[0] === "" && lines.length > 1 ? lines[1] : lines[0];
  const more = lines.filter((l) => l !== "").length > 1 ? " …" : "";
  return `→ ${first.trim()}${more}`;
}

export class NextEditView implements vscode.Disposable {
  private readonly removed = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor("diffEditor.removedTextBackground"),
    textDecoration: "line-through",
  });
  private readonly added = vscode.window.createTextEditorDecorationType({});
  private readonly target = vscode.window.createTextEditorDecorationType({
    isWholeLine: true,
    backgroundColor: new vscode.ThemeColor("diffEditor.insertedLineBackground"),
    overviewRulerColor: new vscode.ThemeColor("editorOverviewRuler.addedForeground"),
    overviewRulerLane: vscode.OverviewRulerLane.Full,
  });
  private readonly hint = vscode.window.createTextEditorDecorationType({});
  private editor?: vscode.TextEditor;

  /** The edits' preview in `editor`. */
  showPreview(editor: vscode.TextEditor, edits: LspEdit[]): void {
    this.clear();
    this.editor = editor;
    editor.setDecorations(this.removed, edits.map((e) => toRange(e.range)));
    editor.setDecorations(
      this.added,
      edits.map((e) => ({
        range: toRange(e.range),
        renderOptions: {
          after: {
            contentText: ` ${preview(e.newText)}`,
            backgroundColor: new vscode.ThemeColor("diffEditor.insertedTextBackground"),
          },
        },
      })),
    );
  }

  /** `where` at the end of the cursor's line, and the target line marked when it is in `editor`. */
  showJump(editor: vscode.TextEditor, cursorLine: number, where: string, targetLine?: number): void {
    this.clear();
    this.editor = editor;
    if (targetLine !== undefined) {
      editor.setDecorations(this.target, [
        { range: new vscode.Range(targetLine, 0, targetLine, 0), renderOptions: { after: { contentText: "  ← next edit" } } },
      ]);
    }
    editor.setDecorations(this.hint, [
      {
        range: new vscode.Range(cursorLine, Number.MAX_SAFE_INTEGER, cursorLine, Number.MAX_SAFE_INTEGER),
        renderOptions: { after: { contentText: `  ${where}`, color: new vscode.ThemeColor("editorHint.foreground") } },
      },
    ]);
  }

  clear(): void {
    const editor = this.editor;
    this.editor = undefined;
    if (!editor) return;
    for (const type of [this.removed, this.added, this.target, this.hint]) editor.setDecorations(type, []);
  }

  dispose(): void {
    this.clear();
    for (const type of [this.removed, this.added, this.target, this.hint]) type.dispose();
  }
}
