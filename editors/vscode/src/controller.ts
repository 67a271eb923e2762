/**
 * The extension's state: one client at a time, the status bar item, the commands. `restart` is
 * the single (re)start path; configuration changes either restart (client settings) or are sent
 * to the running server (`workspace/didChangeConfiguration`).
 */

import * as vscode from "vscode";
import { ClientFactory, REWRITE, STATUS, SparkClient } from "./client";
import { CLIENT_KEYS, changedSettings, serverConfig } from "./config";
import { DiagnosticsForwarder } from "./diagnostics";
import { GhostTexts } from "./ghostText";
import { NextEdits } from "./nextEdit";
import { resolveServerPath } from "./serverPath";
import { ClientState, StatusParams, statusView } from "./status";
import { trustOptions, trustWorkspaceConfig } from "./trust";

export const COMMANDS = [
  "spark.enable",
  "spark.disable",
  "spark.restart",
  "spark.showLog",
  "spark.rewriteSelection",
  "spark.showNextEdit",
  "spark.acceptNextEdit",
  "spark.dismissNextEdit",
  "spark.goToNextEdit",
  "spark.dismissInlineSuggestion",
  "spark.trustWorkspaceConfiguration",
] as const;

export class Controller implements vscode.Disposable {
  private client?: SparkClient;
  private state: ClientState = "stopped";
  private status?: StatusParams;
  private failure?: string;
  private startOptions: Record<string, unknown> = {};
  private readonly item: vscode.StatusBarItem;
  private readonly subscriptions: vscode.Disposable[] = [];
  private clientSubscriptions: vscode.Disposable[] = [];
  readonly nextEdits: NextEdits;
  readonly ghostTexts: GhostTexts;
  private readonly diagnostics: DiagnosticsForwarder;
  /** Serialises start/stop so that quick restarts never run two servers. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly factory: ClientFactory,
    readonly output: vscode.LogOutputChannel,
  ) {
    this.item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
    this.item.name = "spark-lsp";
    const running = () => (this.state === "running" ? this.client : undefined);
    this.nextEdits = new NextEdits(running);
    this.ghostTexts = new GhostTexts(running);
    // Other servers' diagnostics are where next edits jump to.
    this.diagnostics = new DiagnosticsForwarder(running);
    this.render();
    this.item.show();
    this.subscriptions.push(
      this.item,
      this.nextEdits,
      this.diagnostics,
      vscode.workspace.onDidChangeConfiguration((e) => this.configurationChanged(e)),
      // Restricted Mode ended: the server must learn it, and it only reads it at start.
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.restart()),
      ...this.registerCommands(),
    );
  }

  private registerCommands(): vscode.Disposable[] {
    const handlers: Record<(typeof COMMANDS)[number], () => unknown> = {
      "spark.enable": () => this.settings().update("enable", true, vscode.ConfigurationTarget.Global),
      "spark.disable": () => this.settings().update("enable", false, vscode.ConfigurationTarget.Global),
      "spark.restart": () => this.restart(),
      "spark.showLog": () => this.output.show(true),
      "spark.rewriteSelection": () => this.rewriteSelection(),
      "spark.showNextEdit": () => this.withEditor((editor) => this.nextEdits.show(editor)),
      "spark.acceptNextEdit": () => this.withEditor((editor) => this.nextEdits.accept(editor)),
      "spark.dismissNextEdit": () => this.nextEdits.dismiss("rejected"),
      "spark.goToNextEdit": () => this.withEditor((editor) => this.nextEdits.goTo(editor)),
      "spark.dismissInlineSuggestion": () => this.ghostTexts.dismiss(vscode.window.activeTextEditor),
      "spark.trustWorkspaceConfiguration": () => trustWorkspaceConfig(this.state === "running" ? this.client : undefined),
    };
    return COMMANDS.map((command) => vscode.commands.registerCommand(command, handlers[command]));
  }

  private settings(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration("spark");
  }

  get currentState(): ClientState {
    return this.state;
  }

  get currentClient(): SparkClient | undefined {
    return this.client;
  }

  /** Stops the running server (if any) and starts one with the current settings. */
  restart(): Promise<void> {
    this.queue = this.queue.then(async () => {
      await this.stopNow();
      await this.startNow();
    });
    return this.queue;
  }

  stop(): Promise<void> {
    this.queue = this.queue.then(() => this.stopNow());
    return this.queue;
  }

  private async startNow(): Promise<void> {
    const settings = this.settings();
    if (!settings.get<boolean>("enable", true)) {
      this.setState("disabled");
      return;
    }
    const resolved = resolveServerPath(settings.get<string>("server.path"));
    if ("error" in resolved) {
      this.fail(resolved.error);
      return;
    }
    this.startOptions = serverConfig((key) => settings.inspect(key));
    const client = this.factory({
      command: resolved.path,
      args: settings.get<string[]>("server.extraArgs", []),
      initializationOptions: { ...this.startOptions, ...trustOptions() },
      output: this.output,
      fillRewriteArgs: (args) => this.fillRewriteArgs(args),
      inlineAnswered: (document, position, result) => this.ghostTexts.answered(document, position, result),
    });
    this.client = client;
    this.status = undefined;
    this.setState("starting");
    this.clientSubscriptions.push(
      client.onNotification(STATUS, (params: StatusParams) => {
        this.status = params;
        this.render();
      }),
    );
    try {
      this.output.appendLine(`starting ${resolved.path}`);
      await client.start();
      this.setState("running");
      this.diagnostics.resendAll();
    } catch (error) {
      this.client = undefined;
      this.fail(`${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async stopNow(): Promise<void> {
    this.nextEdits.dismiss();
    const client = this.client;
    this.client = undefined;
    for (const d of this.clientSubscriptions) d.dispose();
    this.clientSubscriptions = [];
    if (client) {
      try {
        await client.stop();
      } catch (error) {
        this.output.appendLine(`stopping spark-lsp: ${String(error)}`);
      }
    }
    this.setState("stopped");
  }

  private fail(message: string): void {
    this.failure = message;
    this.output.appendLine(message);
    this.setState("failed");
    void vscode.window.showErrorMessage(`spark-lsp: ${message}`, "Show Log").then((choice) => {
      if (choice === "Show Log") this.output.show(true);
    });
  }

  private setState(state: ClientState): void {
    this.state = state;
    void vscode.commands.executeCommand("setContext", "spark.running", state === "running");
    this.render();
  }

  private render(): void {
    const view = statusView(this.state, this.status, this.failure);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.command = view.command;
    this.item.backgroundColor = view.background ? new vscode.ThemeColor(view.background) : undefined;
  }

  /** The status bar as shown, for tests. */
  get statusBar(): { text: string; tooltip: unknown; command: unknown; background?: string } {
    const background = this.item.backgroundColor as unknown as { id?: string } | undefined;
    return { text: this.item.text, tooltip: this.item.tooltip, command: this.item.command, background: background?.id };
  }

  private configurationChanged(e: vscode.ConfigurationChangeEvent): void {
    if (!e.affectsConfiguration("spark")) return;
    if (CLIENT_KEYS.some((key) => e.affectsConfiguration(`spark.${key}`))) {
      void this.restart();
      return;
    }
    const client = this.client;
    if (!client || this.state !== "running") return;
    const settings = this.settings();
    void client.sendNotification("workspace/didChangeConfiguration", {
      settings: changedSettings((key) => settings.inspect(key), this.startOptions),
    });
  }

  /** "Rewrite selection…": asks for the instruction, then runs `spark.rewrite` on the server. */
  async rewriteSelection(): Promise<boolean> {
    const editor = vscode.window.activeTextEditor;
    const client = this.client;
    if (!editor || !client || this.state !== "running") return false;
    const instruction = await vscode.window.showInputBox({
      title: "Rewrite selection",
      prompt: "What should the model do with the selected code?",
      placeHolder: "e.g. handle the error instead of unwrapping",
    });
    if (!instruction || instruction.trim() === "") return false;
    const { start, end } = editor.selection;
    await client.sendRequest("workspace/executeCommand", {
      command: REWRITE,
      arguments: [
        {
          uri: editor.document.uri.toString(),
          range: { start: { line: start.line, character: start.character }, end: { line: end.line, character: end.character } },
          instruction: instruction.trim(),
          version: editor.document.version,
        },
      ],
    });
    return true;
  }

  /** The server's "Rewrite with instruction…" action sends `spark.rewrite` without one. */
  private async fillRewriteArgs(args: unknown[]): Promise<unknown[] | undefined> {
    const first = (args[0] ?? {}) as Record<string, unknown>;
    if (typeof first.instruction === "string" && first.instruction.trim() !== "") return args;
    const instruction = await vscode.window.showInputBox({ title: "Rewrite with instruction", prompt: "What should the model do?" });
    if (!instruction || instruction.trim() === "") return undefined;
    return [{ ...first, instruction: instruction.trim() }, ...args.slice(1)];
  }

  private async withEditor(run: (editor: vscode.TextEditor) => Promise<unknown>): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    if (editor && this.state === "running") await run(editor);
  }

  dispose(): void {
    for (const d of this.subscriptions) d.dispose();
  }
}
