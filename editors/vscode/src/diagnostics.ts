/**
 * Forwards the diagnostics other extensions and language servers report for open documents to
 * spark-lsp (`spark/didChangeDiagnostics`), so a next edit can go where the errors are.
 * Debounced per document, sent only when they changed, at most 1,000 per document.
 */

import * as vscode from "vscode";
import { DID_CHANGE_DIAGNOSTICS, SparkClient } from "./client";

/** The server keeps at most this many per document (docs/protocol.md). */
const MAX = 1000;
/** spark-lsp's own (it publishes none today; never send them back). */
const OWN_SOURCES = new Set(["spark-lsp", "spark"]);

export interface LspDiagnostic {
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  severity: number;
  message: string;
  source?: string;
  code?: string | number;
}

/** A VS Code diagnostic as an LSP one (positions are UTF-16 on both sides). */
export function toLsp(d: vscode.Diagnostic): LspDiagnostic {
  const code = typeof d.code === "object" && d.code !== null ? d.code.value : d.code;
  const out: LspDiagnostic = {
    range: {
      start: { line: d.range.start.line, character: d.range.start.character },
      end: { line: d.range.end.line, character: d.range.end.character },
    },
    // VS Code counts from Error = 0, LSP from Error = 1.
    severity: d.severity + 1,
    message: String(d.message),
  };
  if (typeof d.source === "string") out.source = d.source;
  if (typeof code === "string" || typeof code === "number") out.code = code;
  return out;
}

export class DiagnosticsForwarder implements vscode.Disposable {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** What was last sent per document, as JSON. */
  private readonly sent = new Map<string, string>();
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly client: () => SparkClient | undefined,
    private readonly delayMs = 200,
  ) {
    this.subscription = vscode.languages.onDidChangeDiagnostics((e) => {
      for (const uri of e.uris) this.schedule(uri);
    });
  }

  /** A new server knows nothing: everything open is sent again. */
  resendAll(): void {
    this.sent.clear();
    for (const document of vscode.workspace.textDocuments) this.schedule(document.uri);
  }

  private schedule(uri: vscode.Uri): void {
    const key = uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.send(uri);
      }, this.delayMs),
    );
  }

  /** Sends `uri`'s diagnostics from other sources when they differ from the last ones sent. */
  send(uri: vscode.Uri): void {
    const client = this.client();
    const key = uri.toString();
    if (!client || !vscode.workspace.textDocuments.some((d) => d.uri.toString() === key)) return;
    const diagnostics = vscode.languages
      .getDiagnostics(uri)
      .filter((d) => !OWN_SOURCES.has(d.source ?? ""))
      .sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character)
      .slice(0, MAX)
      .map(toLsp);
    const json = JSON.stringify(diagnostics);
    if ((this.sent.get(key) ?? "[]") === json) return;
    this.sent.set(key, json);
    void client.sendNotification(DID_CHANGE_DIAGNOSTICS, { textDocument: { uri: key }, diagnostics });
  }

  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.subscription.dispose();
  }
}
