/** Start/restart, configuration changes, status handling and command wiring of the controller. */

import * as assert from "node:assert/strict";
import * as path from "node:path";
import { beforeEach, test } from "node:test";
import { COMMANDS, Controller } from "../src/controller";
import { editorAt, fakeBinary, loadDefaults, logChannel, packageJson, recordingFactory, settle } from "./helpers";
import * as vscode from "./stub/vscode";

beforeEach(() => {
  vscode.reset();
  loadDefaults();
});

async function started(configure?: Parameters<typeof recordingFactory>[0]) {
  const binary = fakeBinary();
  vscode.state.settings.set("server.path", binary);
  const { clients, factory } = recordingFactory(configure);
  const controller = new Controller(factory, logChannel());
  await controller.restart();
  return { controller, clients, binary };
}

test("starts the configured binary with the user's settings as initializationOptions", async () => {
  vscode.state.settings.set("provider.kind", "openai-chat");
  vscode.state.settings.set("provider.baseUrl", "http://127.0.0.1:8080/v1");
  vscode.state.settings.set("server.extraArgs", ["--log-file", "/tmp/spark.log"]);
  const { controller, clients, binary } = await started();
  assert.equal(clients.length, 1);
  assert.equal(clients[0].options.command, binary);
  assert.deepEqual(clients[0].options.args, ["--log-file", "/tmp/spark.log"]);
  assert.deepEqual(clients[0].options.initializationOptions, {
    provider: { kind: "openai-chat", baseUrl: "http://127.0.0.1:8080/v1" },
  });
  assert.equal(controller.currentState, "running");
  assert.equal(vscode.state.context.get("spark.running"), true);
  assert.equal(controller.statusBar.text, "$(sparkle) Spark");
});

test("without a path setting the binary is found on PATH", async () => {
  const binary = fakeBinary();
  const saved = process.env.PATH;
  process.env.PATH = `${path.dirname(binary)}${path.delimiter}${saved}`;
  try {
    const { clients, factory } = recordingFactory();
    const controller = new Controller(factory, logChannel());
    await controller.restart();
    assert.equal(clients[0].options.command, binary);
    assert.equal(controller.currentState, "running");
  } finally {
    process.env.PATH = saved;
  }
});

test("a missing binary is reported, not started", async () => {
  vscode.state.settings.set("server.path", "/nonexistent/spark-lsp");
  const { clients, factory } = recordingFactory();
  const controller = new Controller(factory, logChannel());
  await controller.restart();
  assert.equal(clients.length, 0);
  assert.equal(controller.currentState, "failed");
  assert.match(vscode.state.errorMessages[0], /spark\.server\.path is set to \/nonexistent\/spark-lsp/);
  assert.equal(controller.statusBar.background, "statusBarItem.errorBackground");
});

test("a server that fails to start is reported", async () => {
  const { controller } = await started((client) => (client.failStart = new Error("exec format error")));
  assert.equal(controller.currentState, "failed");
  assert.match(vscode.state.errorMessages[0], /exec format error/);
});

test("restart stops the running client before starting a new one", async () => {
  const { controller, clients } = await started();
  await Promise.all([controller.restart(), controller.restart()]);
  assert.equal(clients.length, 3);
  assert.deepEqual(
    clients.map((c) => [c.started, c.stopped]),
    [
      [1, 1],
      [1, 1],
      [1, 0],
    ],
  );
  assert.equal(clients.filter((c) => c.running).length, 1, "one server at a time");
});

test("disable stops the server, enable starts it again", async () => {
  const { controller, clients } = await started();
  await vscode.commands.executeCommand("spark.disable");
  await settle();
  assert.equal(controller.currentState, "disabled");
  assert.equal(clients[0].running, false);
  assert.equal(controller.statusBar.command, "spark.enable");
  await vscode.commands.executeCommand("spark.enable");
  await settle();
  assert.equal(controller.currentState, "running");
  assert.equal(clients.length, 2);
});

test("changing a server setting is sent to the running server, not a restart", async () => {
  vscode.state.settings.set("provider.model", "first");
  const { clients } = await started();
  vscode.setSetting("provider.model", undefined);
  vscode.setSetting("provider.temperature", 0.5);
  await settle();
  assert.equal(clients.length, 1);
  assert.deepEqual(clients[0].notifications.at(-1), {
    method: "workspace/didChangeConfiguration",
    params: { settings: { spark: { provider: { model: "gpt-5.3-codex-spark", temperature: 0.5 } } } },
  });
});

test("changing the server path restarts", async () => {
  const { controller, clients } = await started();
  vscode.setSetting("server.path", fakeBinary());
  await settle();
  assert.equal(clients.length, 2);
  assert.equal(clients[0].running, false);
  assert.equal(controller.currentState, "running");
});

test("spark/status drives the status bar", async () => {
  const { controller, clients } = await started();
  clients[0].emit("spark/status", { busy: true, kind: "Normal", message: "asking openai-chat" });
  assert.equal(controller.statusBar.text, "$(loading~spin) Spark");
  clients[0].emit("spark/status", { busy: false, kind: "Error", message: "authentication failed: check SPARK_KEY" });
  assert.equal(controller.statusBar.text, "$(error) Spark");
  assert.equal(controller.statusBar.tooltip, "authentication failed: check SPARK_KEY");
  assert.equal(controller.statusBar.background, "statusBarItem.errorBackground");
  // A restarted server starts from a clean status.
  await controller.restart();
  assert.equal(controller.statusBar.text, "$(sparkle) Spark");
});

test("every contributed command is registered, and only those", async () => {
  await started();
  const contributed = packageJson.contributes.commands.map((c: { command: string }) => c.command).sort();
  assert.deepEqual(contributed, [...COMMANDS].sort());
  assert.deepEqual([...vscode.state.commands.keys()].sort(), contributed);
});

test("Rewrite selection… asks for the instruction and runs spark.rewrite on the selection", async () => {
  const { clients } = await started();
  vscode.window.activeTextEditor = editorAt("file:///w/add.rs", 3, [1, 4, 1, 11]);
  vscode.state.inputBoxAnswers.push("  implement it ");
  await vscode.commands.executeCommand("spark.rewriteSelection");
  assert.deepEqual(clients[0].requests.at(-1), {
    method: "workspace/executeCommand",
    params: {
      command: "spark.rewrite",
      arguments: [
        {
          uri: "file:///w/add.rs",
          range: { start: { line: 1, character: 4 }, end: { line: 1, character: 11 } },
          instruction: "implement it",
          version: 3,
        },
      ],
    },
  });
  // Cancelling the input box sends nothing.
  const before = clients[0].requests.length;
  vscode.state.inputBoxAnswers.push(undefined);
  await vscode.commands.executeCommand("spark.rewriteSelection");
  assert.equal(clients[0].requests.length, before);
});

test("the server's Rewrite with instruction… action gets its instruction from an input box", async () => {
  const { clients } = await started();
  const fill = clients[0].options.fillRewriteArgs;
  const args = [{ uri: "file:///w/a.rs", range: {}, instruction: "" }];
  vscode.state.inputBoxAnswers.push("use iterators");
  assert.deepEqual(await fill(args), [{ uri: "file:///w/a.rs", range: {}, instruction: "use iterators" }]);
  vscode.state.inputBoxAnswers.push(undefined);
  assert.equal(await fill(args), undefined, "cancelled");
  const complete = [{ uri: "file:///w/a.rs", range: {}, instruction: "simplify" }];
  assert.deepEqual(await fill(complete), complete, "no prompt when the server filled it in");
});

const NEXT_EDIT = {
  edits: [
    {
      range: { start: { line: 4, character: 8 }, end: { line: 4, character: 11 } },
      newText: "total",
      textDocument: { uri: "file:///w/add.rs", version: 3 },
    },
  ],
  command: { title: "Accepted", command: "spark.didAcceptNextEdit", arguments: ["file:///w/add.rs"] },
};

test("Show next edit previews it; Accept next edit applies it and tells the server", async () => {
  const { clients } = await started((client) => client.responses.set("spark/nextEdit", NEXT_EDIT));
  const editor = editorAt("file:///w/add.rs", 3, [2, 0, 2, 0]);
  vscode.window.activeTextEditor = editor;
  await vscode.commands.executeCommand("spark.showNextEdit");
  assert.deepEqual(clients[0].requests[0], {
    method: "spark/nextEdit",
    params: { textDocument: { uri: "file:///w/add.rs", version: 3 }, position: { line: 2, character: 0 } },
  });
  assert.equal(vscode.state.context.get("spark.nextEditVisible"), true);
  const shown = vscode.state.decorations.filter((d) => d.ranges.length > 0);
  assert.equal(shown.length, 2, "the replaced range and the new text");
  await vscode.commands.executeCommand("spark.acceptNextEdit");
  assert.equal(vscode.state.appliedEdits.length, 1);
  const [replacement] = vscode.state.appliedEdits[0].replacements;
  assert.deepEqual([replacement.range.start, replacement.range.end, replacement.newText], [
    new vscode.Position(4, 8),
    new vscode.Position(4, 11),
    "total",
  ]);
  assert.deepEqual(clients[0].requests.at(-2), {
    method: "workspace/executeCommand",
    params: { command: "spark.didAcceptNextEdit", arguments: ["file:///w/add.rs"] },
  });
  assert.equal(clients[0].requests.at(-1)?.method, "spark/nextEdit", "the edit after it is asked for at once");
});

test("a preview whose document changed is dropped, not applied", async () => {
  await started((client) => client.responses.set("spark/nextEdit", NEXT_EDIT));
  const editor = editorAt("file:///w/add.rs", 3, [2, 0, 2, 0]);
  vscode.window.activeTextEditor = editor;
  await vscode.commands.executeCommand("spark.showNextEdit");
  vscode.changeDocument(editor.document);
  assert.equal(vscode.state.context.get("spark.nextEditVisible"), false);
  editor.document.version = 4;
  await vscode.commands.executeCommand("spark.acceptNextEdit");
  assert.equal(vscode.state.appliedEdits.length, 0, "the server's edit is for version 3");
});

test("Escape on spark's ghost text at the cursor rejects it and hides it; elsewhere it only hides", async () => {
  const { clients } = await started();
  const document = { uri: { toString: () => "file:///w/add.rs" }, version: 3 };
  const items = [{ insertText: "a + b", command: { command: "spark.didAcceptSuggestion", arguments: ["file:///w/add.rs", "in-4"] } }];
  clients[0].options.inlineAnswered(document, { line: 1, character: 4 }, items);
  vscode.window.activeTextEditor = editorAt("file:///w/add.rs", 3, [1, 4, 1, 4]);
  await vscode.commands.executeCommand("spark.dismissInlineSuggestion");
  assert.deepEqual(clients[0].notifications.at(-1), {
    method: "spark/didReject",
    params: { textDocument: { uri: "file:///w/add.rs" }, kind: "inline", id: "in-4" },
  });
  assert.deepEqual(vscode.state.builtinCommands.at(-1), ["editor.action.inlineSuggest.hide"]);

  // The cursor moved (the visible ghost text is not spark's answer there): hidden, not rejected.
  const sent = clients[0].notifications.length;
  clients[0].options.inlineAnswered(document, { line: 1, character: 4 }, { items });
  vscode.window.activeTextEditor = editorAt("file:///w/add.rs", 3, [2, 0, 2, 0]);
  await vscode.commands.executeCommand("spark.dismissInlineSuggestion");
  // A newer version of the document: not the answer's either.
  vscode.window.activeTextEditor = editorAt("file:///w/add.rs", 4, [1, 4, 1, 4]);
  await vscode.commands.executeCommand("spark.dismissInlineSuggestion");
  assert.equal(clients[0].notifications.length, sent);
  assert.equal(vscode.state.builtinCommands.filter((c) => c[0] === "editor.action.inlineSuggest.hide").length, 3);

  // The Escape binding is spark's only while an inline suggestion is visible and no next edit is.
  const binding = packageJson.contributes.keybindings.find((k: { command: string }) => k.command === "spark.dismissInlineSuggestion");
  assert.equal(binding.key, "escape");
  assert.match(binding.when, /inlineSuggestionVisible/);
  assert.match(binding.when, /!spark\.nextEditVisible/);
});
