/**
 * The packaged bundle (dist/extension.js, what the .vsix ships) loads with its dependencies
 * inlined and activates: without a binary it reports the problem instead of throwing.
 */

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { loadDefaults } from "./helpers";
import * as vscode from "./stub/vscode";

const bundle = path.join(__dirname, "../../dist/extension.js");

/** The stub, with any API it lacks answered by an inert stand-in (the languageclient library
 * touches many at load time). */
function inert(): any {
  const fn = function () {
    return inert();
  };
  return new Proxy(fn, {
    get: (_target, prop) => (prop === Symbol.toPrimitive ? () => "" : prop === "then" ? undefined : inert()),
    construct: () => inert(),
  });
}
const vscodeModule = new Proxy(vscode as Record<string, unknown>, {
  get: (target, prop: string) => (prop in target ? target[prop] : inert()),
});

test("the bundle loads and activates; a missing binary is reported", { skip: !fs.existsSync(bundle) && "run npm run build first" }, async () => {
  vscode.reset();
  loadDefaults();
  vscode.state.settings.set("server.path", "/nonexistent/spark-lsp");
  const Module = require("node:module");
  const load = Module._load;
  Module._load = function (request: string, ...rest: unknown[]) {
    return request === "vscode" ? vscodeModule : load.call(this, request, ...rest);
  };
  try {
    const extension = require(bundle);
    const context = { subscriptions: [] as { dispose(): void }[] };
    await extension.activate(context);
    assert.match(vscode.state.errorMessages[0] ?? "", /spark\.server\.path is set to \/nonexistent\/spark-lsp/);
    assert.ok(vscode.state.commands.has("spark.restart"), "commands registered");
    assert.ok(context.subscriptions.length > 0);
    await extension.deactivate();
  } finally {
    Module._load = load;
  }
});
