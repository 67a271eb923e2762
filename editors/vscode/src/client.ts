/**
 * The part of `vscode-languageclient`'s `LanguageClient` the extension uses, so the controller
 * can be tested with a fake client and the real one is built in one place (extension.ts).
 */

import type { Disposable, LogOutputChannel } from "vscode";

export interface SparkClient {
  start(): Promise<void>;
  stop(): Promise<void>;
  isRunning(): boolean;
  onNotification(method: string, handler: (params: any) => void): Disposable;
  sendRequest<R>(method: string, params: unknown): Promise<R>;
  sendNotification(method: string, params: unknown): Promise<void>;
}

export interface ClientOptions {
  command: string;
  args: string[];
  initializationOptions: Record<string, unknown>;
  output: LogOutputChannel;
  /**
   * Called before `workspace/executeCommand` for `spark.rewrite` whose instruction is empty
   * (the server's "Rewrite with instruction…" action): fills it in, or undefined to cancel.
   */
  fillRewriteArgs: (args: unknown[]) => Promise<unknown[] | undefined>;
  /** Called with every inline completion result the server gives (ghost text, see ghostText.ts). */
  inlineAnswered: (document: { uri: { toString(): string }; version: number }, position: { line: number; character: number }, result: unknown) => void;
}

export type ClientFactory = (options: ClientOptions) => SparkClient;

/** Custom methods and commands (protocol/src/lib.rs). */
export const STATUS = "spark/status";
export const NEXT_EDIT = "spark/nextEdit";
export const DID_SHOW = "spark/didShow";
export const DID_REJECT = "spark/didReject";
export const DID_CHANGE_DIAGNOSTICS = "spark/didChangeDiagnostics";
export const REWRITE = "spark.rewrite";
