/** Test helpers: a fake language client, settings defaults from package.json, a fake binary. */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ClientOptions, SparkClient } from "../src/client";
import * as vscode from "./stub/vscode";

export const packageJson = JSON.parse(fs.readFileSync(path.join(__dirname, "../../package.json"), "utf8"));

/** Loads the `default` of every `spark.*` setting into the stub, as VS Code does. */
export function loadDefaults(): void {
  vscode.state.defaults.clear();
  for (const [key, schema] of Object.entries<{ default?: unknown }>(packageJson.contributes.configuration.properties)) {
    vscode.state.defaults.set(key.replace(/^spark\./, ""), schema.default);
  }
}

export class FakeClient implements SparkClient {
  running = false;
  started = 0;
  stopped = 0;
  failStart?: Error;
  requests: { method: string; params: any }[] = [];
  notifications: { method: string; params: any }[] = [];
  responses = new Map<string, unknown>();
  private handlers = new Map<string, (params: any) => void>();

  constructor(readonly options: ClientOptions) {}

  async start(): Promise<void> {
    this.started++;
    if (this.failStart) throw this.failStart;
    this.running = true;
  }
  async stop(): Promise<void> {
    this.stopped++;
    this.running = false;
  }
  isRunning(): boolean {
    return this.running;
  }
  onNotification(method: string, handler: (params: any) => void) {
    this.handlers.set(method, handler);
    return { dispose: () => this.handlers.delete(method) };
  }
  /** The server sends a notification. */
  emit(method: string, params: unknown): void {
    this.handlers.get(method)?.(params);
  }
  async sendRequest<R>(method: string, params: unknown): Promise<R> {
    this.requests.push({ method, params });
    return (this.responses.get(method) ?? null) as R;
  }
  async sendNotification(method: string, params: unknown): Promise<void> {
    this.notifications.push({ method, params });
  }
}

/** A factory that records every client it makes. */
export function recordingFactory(configure: (client: FakeClient) => void = () => {}) {
  const clients: FakeClient[] = [];
  const factory = (options: ClientOptions) => {
    const client = new FakeClient(options);
    configure(client);
    clients.push(client);
    return client;
  };
  return { clients, factory };
}

/** An executable file standing in for the spark-lsp binary, in a fresh directory. */
export function fakeBinary(name = "spark-lsp"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "spark-vscode-test-"));
  const file = path.join(dir, name);
  fs.writeFileSync(file, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  return file;
}

export function logChannel(): any {
  return vscode.window.createOutputChannel("spark-lsp");
}

/** Lets queued promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A text editor on `uri` at `version` with `selection` (line, character, line, character),
 * showing lines `visible` (first, last); it records its decorations and reveals. */
export function editorAt(uri: string, version: number, selection: [number, number, number, number], visible: [number, number] = [0, 50]) {
  const document = { uri: { toString: () => uri }, version };
  const [l0, c0, l1, c1] = selection;
  const editor = {
    document,
    selection: new vscode.Selection(new vscode.Position(l0, c0), new vscode.Position(l1, c1)) as { active: vscode.Position },
    visibleRanges: [new vscode.Range(visible[0], 0, visible[1], 0)],
    revealed: [] as unknown[],
    decorations: new Map<number, unknown[]>(),
    setDecorations: (type: { key: number }, ranges: unknown[]) => {
      editor.decorations.set(type.key, ranges);
      vscode.state.decorations.push({ type: type.key, ranges });
    },
    revealRange: (range: unknown) => editor.revealed.push(range),
  };
  return editor;
}
