/** Workspace Trust: Restricted Mode reaches the server, and the trust command. */

import * as assert from "node:assert/strict";
import { beforeEach, test } from "node:test";
import { Controller } from "../src/controller";
import { statusView } from "../src/status";
import { TRUST_WORKSPACE_CONFIG } from "../src/trust";
import { fakeBinary, loadDefaults, logChannel, packageJson, recordingFactory, settle } from "./helpers";
import * as vscode from "./stub/vscode";

beforeEach(() => {
  vscode.reset();
  loadDefaults();
});

async function started(configure?: Parameters<typeof recordingFactory>[0]) {
  vscode.state.settings.set("server.path", fakeBinary());
  const { clients, factory } = recordingFactory(configure);
  const controller = new Controller(factory, logChannel());
  await controller.restart();
  return { controller, clients };
}

test("package.json declares limited support in untrusted workspaces, with the restricted settings", () => {
  const untrusted = packageJson.capabilities.untrustedWorkspaces;
  assert.equal(untrusted.supported, "limited");
  assert.match(untrusted.description, /Restricted Mode/);
  const settings = Object.keys(packageJson.contributes.configuration.properties);
  for (const key of untrusted.restrictedConfigurations) assert.ok(settings.includes(key), key);
  for (const key of ["spark.server.path", "spark.provider.apiKeyCommand", "spark.provider.baseUrl", "spark.log.file"]) {
    assert.ok(untrusted.restrictedConfigurations.includes(key), key);
  }
  const commands = packageJson.contributes.commands.map((c: { command: string }) => c.command);
  assert.ok(commands.includes("spark.trustWorkspaceConfiguration"));
  // vscode-languageclient registers the server's own commands; a clash would fail its start.
  assert.ok(!commands.includes(TRUST_WORKSPACE_CONFIG));
});

test("a trusted workspace sends only the user's settings", async () => {
  vscode.state.settings.set("provider.model", "m");
  const { clients } = await started();
  assert.deepEqual(clients[0].options.initializationOptions, { provider: { model: "m" } });
});

test("Restricted Mode tells the server, and granting trust restarts it without the flag", async () => {
  vscode.workspace.isTrusted = false;
  vscode.state.settings.set("provider.model", "m");
  const { clients } = await started();
  assert.deepEqual(clients[0].options.initializationOptions, { provider: { model: "m" }, workspaceTrusted: false });
  vscode.grantWorkspaceTrust();
  await settle();
  assert.equal(clients.length, 2);
  assert.equal(clients[0].stopped, 1);
  assert.deepEqual(clients[1].options.initializationOptions, { provider: { model: "m" } });
});

test("the trust command asks the server to trust the workspace file", async () => {
  const { clients } = await started();
  const trusted = await vscode.commands.executeCommand("spark.trustWorkspaceConfiguration");
  assert.equal(trusted, true);
  assert.deepEqual(clients[0].requests, [
    { method: "workspace/executeCommand", params: { command: TRUST_WORKSPACE_CONFIG, arguments: [] } },
  ]);
  assert.deepEqual(vscode.state.errorMessages, []);
});

test("the server's refusal is shown", async () => {
  const { clients } = await started((client) => {
    client.sendRequest = async () => {
      throw new Error("cannot trust /w/spark-lsp.toml: No such file or directory (os error 2)");
    };
  });
  assert.equal(await vscode.commands.executeCommand("spark.trustWorkspaceConfiguration"), false);
  assert.equal(clients.length, 1);
  assert.match(vscode.state.errorMessages[0], /^spark-lsp: cannot trust \/w\/spark-lsp.toml/);
});

test("in Restricted Mode the trust command points to VS Code's trust first and asks nothing of the server", async () => {
  vscode.workspace.isTrusted = false;
  const { clients } = await started();
  let managed = 0;
  vscode.commands.registerCommand("workbench.trust.manage", () => managed++);
  vscode.state.warningAnswers.push("Manage Workspace Trust");
  assert.equal(await vscode.commands.executeCommand("spark.trustWorkspaceConfiguration"), false);
  assert.match(vscode.state.warningMessages[0], /Restricted Mode/);
  assert.equal(managed, 1);
  assert.deepEqual(clients[0].requests, []);
});

test("the status tooltip names the ignored settings and the command that trusts them", () => {
  const view = statusView("running", {
    busy: false,
    kind: "Normal",
    message: "spark-lsp: openai-chat",
    untrustedConfig: { file: "/w/spark-lsp.toml", keys: ["log.file", "provider.baseUrl"], reason: "untrusted", message: "…" },
  });
  assert.equal(
    view.tooltip,
    "spark-lsp: openai-chat\nIgnored until trusted: log.file, provider.baseUrl (Spark: Trust Workspace Configuration)",
  );
});
