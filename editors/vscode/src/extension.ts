/**
 * Entry point: builds the real `LanguageClient` and hands it to the controller. Inline
 * completion (ghost text, accept by word or line, cycling) is built into vscode-languageclient 11.
 */

import * as vscode from "vscode";
import type { ClientCapabilities, FeatureState, StaticFeature } from "vscode-languageclient";
import { LanguageClient, TransportKind } from "vscode-languageclient/node";
import { ClientFactory, REWRITE } from "./client";
import { Controller } from "./controller";
import { ServerLog } from "./serverLog";

let controller: Controller | undefined;

/** Tells the server this client prompts for the instruction of "Rewrite with instruction…". */
class RewriteInstructionFeature implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    const experimental = (capabilities.experimental ?? {}) as Record<string, unknown>;
    capabilities.experimental = { ...experimental, spark: { rewriteInstruction: true } };
  }
  getState(): FeatureState {
    return { kind: "static" };
  }
  initialize(): void {}
  clear(): void {}
}

const createClient: ClientFactory = (options) => {
  const client = new LanguageClient(
    "spark",
    "spark-lsp",
    { command: options.command, args: options.args, transport: TransportKind.stdio },
    {
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
      initializationOptions: options.initializationOptions,
      outputChannel: options.output,
      // stdout carries JSON-RPC (stdio transport); stderr is the server's log, by level.
      stdioOptions: {
        stdout: () => {},
        stderr: ServerLog.pipe,
      },
      middleware: {
        executeCommand: async (command, args, next) => {
          if (command !== REWRITE) return next(command, args);
          const filled = await options.fillRewriteArgs(args);
          return filled ? next(command, filled) : undefined;
        },
        provideInlineCompletionItems: async (document, position, context, token, next) => {
          const result = await next(document, position, context, token);
          options.inlineAnswered(document, position, result);
          return result;
        },
      },
    },
  );
  client.registerFeature(new RewriteInstructionFeature());
  return client;
};

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("spark-lsp", { log: true });
  controller = new Controller(createClient, output);
  context.subscriptions.push(controller, output);
  await controller.restart();
}

export async function deactivate(): Promise<void> {
  await controller?.stop();
}
