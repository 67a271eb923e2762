// The tests, in the order they run. Inline suggestions come from corpus mode (the model server
// continues the prompt's code from CORPUS, so any request at any point gets the answer a perfect
// model would give); refactors and next edits get a scripted answer queued just before the
// action that asks for it.

import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { waitFor } from "./workbench.mjs";

export const CORPUS = `def add(a, b):
    total = a + b
    return total


def greet(name):
    message = "hello " + name
    return message
`;

const disk = (ctx, name) => readFileSync(ctx.path(name), "utf8");

/** Saves the active editor and checks that `name` on disk reads `expected`. */
async function onDisk(ctx, name, expected) {
  await ctx.workbench.save();
  assert.equal(disk(ctx, name), expected, `${name} on disk`);
}

/** Opens a new workspace file holding `text`, with the cursor at its end. */
async function open(ctx, name, text) {
  ctx.file(name, text);
  await ctx.workbench.openFile(name);
}

export const TESTS = [
  {
    name: "ghost text appears while typing and Tab accepts it",
    async run(ctx) {
      const { workbench } = ctx;
      await open(ctx, "typing.py", "def add(a, b):\n");
      await workbench.type("    tot");
      const shown = await workbench.waitForGhostText("al = a + b");
      assert.ok(shown.startsWith("al = a + b"), `the ghost text continues the line: ${JSON.stringify(shown)}`);
      await workbench.press("Tab");
      await waitFor(async () => !(await workbench.ghostText()).startsWith("al"), "the accepted ghost text to go");
      await onDisk(ctx, "typing.py", "def add(a, b):\n    total = a + b");
    },
  },
  {
    name: "ghost text appears when invoked",
    async run(ctx) {
      const { workbench } = ctx;
      await open(ctx, "invoked.py", "def greet(name):\n    ");
      await workbench.command("Trigger Inline Suggestion");
      const shown = await workbench.waitForGhostText('message = "hello " + name');
      assert.ok(shown.includes("return message"), `invoked, the whole suggestion shows: ${JSON.stringify(shown)}`);
      await workbench.press("Tab");
      await onDisk(ctx, "invoked.py", 'def greet(name):\n    message = "hello " + name\n    return message');
    },
  },
  {
    name: "typing through the suggestion keeps it",
    async run(ctx) {
      const { workbench } = ctx;
      await open(ctx, "through.py", "def add(a, b):\n");
      await workbench.type("    tot");
      await workbench.waitForGhostText("al = a + b");
      await workbench.type("al =");
      const rest = await workbench.waitForGhostText(" a + b");
      assert.ok(rest.startsWith(" a + b"), `what is left of it: ${JSON.stringify(rest)}`);
      await workbench.press("Tab");
      await onDisk(ctx, "through.py", "def add(a, b):\n    total = a + b");
    },
  },
  {
    name: "accept the suggestion word by word",
    async run(ctx) {
      const { workbench } = ctx;
      await open(ctx, "words.py", "def greet(name):\n");
      await workbench.type("    mes");
      await workbench.waitForGhostText('sage = "hello " + name');
      // editor.action.inlineSuggest.acceptNextWord (the palette would hide the suggestion).
      await workbench.press("Control+ArrowRight");
      const rest = await workbench.waitForGhostText('"hello " + name');
      assert.ok(!rest.startsWith("sage"), `the first word went into the text: ${JSON.stringify(rest)}`);
      await onDisk(ctx, "words.py", "def greet(name):\n    message");
    },
  },
];
