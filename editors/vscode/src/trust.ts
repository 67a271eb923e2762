/**
 * Workspace Trust. A repository's own `spark-lsp.toml` may set only safe keys until the user
 * trusts it; in VS Code's Restricted Mode the server is told (`workspaceTrusted: false` in
 * `initializationOptions`, docs/configuration.md) and then ignores the file's sensitive keys
 * even if it was trusted before. "Spark: Trust Workspace Configuration" asks the running server
 * (`spark.trustWorkspaceConfig`), which records the trust exactly as `spark-lsp trust` does and
 * applies the file at once, without a restart.
 */

import * as vscode from "vscode";
import type { SparkClient } from "./client";

/** The server command (protocol/src/lib.rs). vscode-languageclient registers every command the
 * server advertises under its own name, so the extension's command is `spark.trustWorkspaceConfiguration`. */
export const TRUST_WORKSPACE_CONFIG = "spark.trustWorkspaceConfig";

/** What the server must know about VS Code's trust in this workspace, merged into the
 * `initializationOptions`: nothing when trusted, so the options stay the user's settings. */
export function trustOptions(): Record<string, unknown> {
  return vscode.workspace.isTrusted ? {} : { workspaceTrusted: false };
}

/**
 * "Spark: Trust Workspace Configuration". In Restricted Mode VS Code's own trust comes first;
 * the server would refuse anyway. Returns whether the server recorded the trust.
 */
export async function trustWorkspaceConfig(client: SparkClient | undefined): Promise<boolean> {
  if (!vscode.workspace.isTrusted) {
    const manage = "Manage Workspace Trust";
    const choice = await vscode.window.showWarningMessage(
      "spark-lsp: this workspace is in Restricted Mode; trust it in VS Code first, then run this command again.",
      manage,
    );
    if (choice === manage) await vscode.commands.executeCommand("workbench.trust.manage");
    return false;
  }
  if (!client) {
    void vscode.window.showErrorMessage("spark-lsp: the server is not running.");
    return false;
  }
  try {
    // The server answers with the file and shows "trusted <file>" itself.
    await client.sendRequest("workspace/executeCommand", { command: TRUST_WORKSPACE_CONFIG, arguments: [] });
    return true;
  } catch (error) {
    void vscode.window.showErrorMessage(`spark-lsp: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}
