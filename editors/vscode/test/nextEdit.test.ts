/** Next edits elsewhere (named, jumped to, applied), their signals, and forwarded diagnostics,
 * against the protocol's answers (docs/protocol.md) from a fake client. */

import * as assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { Controller } from "../src/controller";
import { DiagnosticsForwarder, toLsp } from "../src/diagnostics";
import { NextEditResult, where } from "../src/nextEdit";
import { editorAt, fakeBinary, FakeClient, loadDefaults, logChannel, recordingFactory, settle } from "./helpers";
import * as vscode from "./stub/vscode";

const URI = "file:///w/jump.rs";
const realNow = Date.now;

beforeEach(() => {
  vscode.reset();
  loadDefaults();
});
afterEach(() => {
  Date.now = realNow;
});

function suggestion(id: string, line: number, jump?: boolean, uri = URI, version = 3): NextEditResult {
  const range = { start: { line, character: 4 }, end: { line, character: 7 } };
  return {
    edits: [{ range, newText: "w42", textDocument: { uri, version } }],
    command: { title: "Accept next edit", command: "spark.didAcceptNextEdit", arguments: [uri, id] },
    id,
    intent: "high",
    location: { uri, range },
    jump,
  };
}

async function started(answers: unknown[]) {
  vscode.state.settings.set("server.path", fakeBinary());
  const { clients, factory } = recordingFactory();
  const controller = new Controller(factory, logChannel());
  await controller.restart();
  const client = clients[0];
  const send = client.sendRequest.bind(client);
  client.sendRequest = async <R>(method: string, params: unknown): Promise<R> => {
    if (method === "spark/nextEdit") {
      client.requests.push({ method, params });
      return answers.shift() as R;
    }
    return send<R>(method, params);
  };
  return { controller, client };
}

function notified(client: FakeClient, method: string) {
  return client.notifications.filter((n) => n.method === method).map((n) => n.params);
}

/** The texts of the `after` decorations the editor shows now. */
function afterTexts(editor: ReturnType<typeof editorAt>): string[] {
  return [...editor.decorations.values()].flat().map((d) => (d as { renderOptions?: { after?: { contentText?: string } } }).renderOptions?.after?.contentText ?? "").filter((t) => t !== "");
}

test("a jump is named at the cursor and its line marked; Go to Next Edit reveals and previews it, again applies it", async () => {
  const { client } = await started([suggestion("ne-1", 41, true), suggestion("ne-9", 2)]);
  const editor = editorAt(URI, 3, [0, 0, 0, 0]);
  vscode.window.activeTextEditor = editor;
  await vscode.commands.executeCommand("spark.goToNextEdit");
  assert.deepEqual(afterTexts(editor).sort(), ["  next edit: line 42", "  ← next edit"]);
  assert.equal(vscode.state.context.get("spark.nextEditVisible"), true);
  assert.deepEqual(notified(client, "spark/didShow"), [{ textDocument: { uri: URI }, kind: "nextEdit", id: "ne-1" }]);
  assert.deepEqual(vscode.state.builtinCommands, [["editor.action.inlineSuggest.hide"]], "the ghost text gives way");

  await vscode.commands.executeCommand("spark.goToNextEdit");
  assert.deepEqual(editor.selection.active, new vscode.Position(41, 4), "the cursor at the edit");
  assert.equal(editor.revealed.length, 1, "revealed");
  assert.deepEqual(afterTexts(editor), [" → w42"], "previewed");
  assert.equal(vscode.state.appliedEdits.length, 0, "nothing applied yet");

  await vscode.commands.executeCommand("spark.goToNextEdit");
  assert.equal(vscode.state.appliedEdits.length, 1, "applied");
  assert.deepEqual(client.requests.at(-2), {
    method: "workspace/executeCommand",
    params: { command: "spark.didAcceptNextEdit", arguments: [URI, "ne-1"] },
  });
  // The chain: the next one is asked for at once and shown (on screen: previewed).
  assert.deepEqual(client.requests.at(-1)?.params, { textDocument: { uri: URI, version: 3 }, position: { line: 41, character: 4 } });
  assert.deepEqual(afterTexts(editor), [" → w42"]);
  assert.deepEqual(notified(client, "spark/didShow").map((p) => p.id), ["ne-1", "ne-9"]);
  assert.deepEqual(notified(client, "spark/didReject"), [], "an accepted edit is not rejected");
});

test("an edit off screen is named even without jump; Tab (Accept) jumps first", async () => {
  await started([suggestion("ne-2", 80)]);
  const editor = editorAt(URI, 3, [10, 0, 10, 0], [0, 40]);
  vscode.window.activeTextEditor = editor;
  await vscode.commands.executeCommand("spark.showNextEdit");
  assert.ok(afterTexts(editor).includes("  next edit: line 81"));
  await vscode.commands.executeCommand("spark.acceptNextEdit");
  assert.equal(vscode.state.appliedEdits.length, 0, "the first press jumps");
  assert.deepEqual(editor.selection.active, new vscode.Position(80, 4));
  await vscode.commands.executeCommand("spark.acceptNextEdit");
  assert.equal(vscode.state.appliedEdits.length, 1, "the second applies");
});

test("Escape and a replacing suggestion reject at once; leaving it rejects once it was seen", async () => {
  const { client } = await started([suggestion("ne-3", 5), suggestion("ne-4", 6), suggestion("ne-5", 7), suggestion("ne-6", 8)]);
  const editor = editorAt(URI, 3, [5, 0, 5, 0]);
  vscode.window.activeTextEditor = editor;
  const rejected = () => notified(client, "spark/didReject").map((p) => p.id);
  await vscode.commands.executeCommand("spark.showNextEdit");
  await vscode.commands.executeCommand("spark.dismissNextEdit");
  assert.deepEqual(rejected(), ["ne-3"], "Escape");
  await vscode.commands.executeCommand("spark.showNextEdit");
  await vscode.commands.executeCommand("spark.showNextEdit");
  assert.deepEqual(rejected(), ["ne-3", "ne-4"], "replaced by ne-5");

  // Leaving it at once is not a rejection (it was not seen); after a second it is.
  vscode.moveCursor(editor, 30);
  assert.equal(vscode.state.context.get("spark.nextEditVisible"), false);
  assert.deepEqual(rejected(), ["ne-3", "ne-4"]);
  vscode.moveCursor(editor, 8);
  await vscode.commands.executeCommand("spark.showNextEdit");
  const shownAt = Date.now();
  Date.now = () => shownAt + 1500;
  vscode.moveCursor(editor, 30);
  assert.deepEqual(rejected(), ["ne-3", "ne-4", "ne-6"]);
  assert.equal(notified(client, "spark/didShow").length, 4);
});

test("malformed answers are ignored, not shown", async () => {
  const bad = [{ edits: [{ range: { start: { line: "x" } }, newText: 3 }] }, { edits: [] }, "nonsense", { ...suggestion("ne-7", 2), id: 7 }];
  const { client } = await started(bad);
  const editor = editorAt(URI, 3, [2, 0, 2, 0]);
  vscode.window.activeTextEditor = editor;
  for (let i = 0; i < bad.length; i++) await vscode.commands.executeCommand("spark.showNextEdit");
  assert.equal(vscode.state.context.get("spark.nextEditVisible"), undefined);
  assert.deepEqual(notified(client, "spark/didShow"), []);
});

test("a next edit in another document is named by file and opened on the jump", async () => {
  const other = "file:///w/lib%20x.rs";
  await started([suggestion("ne-8", 9, true, other, 7)]);
  const editor = editorAt(URI, 3, [0, 0, 0, 0]);
  const target = editorAt(other, 7, [0, 0, 0, 0]);
  vscode.state.editors.set(other, target);
  vscode.window.activeTextEditor = editor;
  await vscode.commands.executeCommand("spark.goToNextEdit");
  assert.deepEqual(afterTexts(editor), ["  next edit: lib x.rs:10"]);
  await vscode.commands.executeCommand("spark.goToNextEdit");
  assert.deepEqual(afterTexts(target), [" → w42"], "previewed in the other document");
  assert.equal(where(suggestion("x", 0), URI), "next edit: line 1");
});

test("other sources' diagnostics of open documents are forwarded, debounced, once per change", async () => {
  const client = new FakeClient({} as never);
  const forwarder = new DiagnosticsForwarder(() => client, 5);
  const uri = vscode.Uri.parse(URI);
  vscode.state.textDocuments.push({ uri });
  const range = new vscode.Range(2, 8, 2, 14);
  const warning = { range, message: "unused variable", severity: vscode.DiagnosticSeverity.Warning, source: "rustc", code: { value: "unused_variables", target: uri } };
  const own = { range, message: "ours", severity: vscode.DiagnosticSeverity.Hint, source: "spark-lsp" };
  vscode.setDiagnostics(uri, [own, warning]);
  vscode.setDiagnostics(uri, [own, warning]);
  vscode.setDiagnostics(vscode.Uri.parse("file:///w/closed.rs"), [warning]);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(client.notifications, [
    {
      method: "spark/didChangeDiagnostics",
      params: {
        textDocument: { uri: URI },
        diagnostics: [{ range: { start: { line: 2, character: 8 }, end: { line: 2, character: 14 } }, severity: 2, message: "unused variable", source: "rustc", code: "unused_variables" }],
      },
    },
  ]);
  vscode.setDiagnostics(uri, [own]);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(client.notifications.at(-1)?.params.diagnostics, [], "gone: the empty list");
  assert.equal(client.notifications.length, 2);
  assert.equal(toLsp({ range, message: "m", severity: vscode.DiagnosticSeverity.Error } as never).severity, 1);
  forwarder.dispose();
  await settle();
});
