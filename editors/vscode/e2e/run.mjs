// The VS Code extension end to end in a real VS Code (code-server 4.99.4 = VS Code 1.99.3 OSS):
// the packaged .vsix, the real spark-lsp binary and the reference model server. Each test works
// in its own file of one workspace (the workspace-trust test in a VS Code of its own) and asserts
// on what VS Code shows and on the file on disk; a failure keeps a screenshot and the spark-lsp
// log under the output folder.
//
// Usage (scripts/test-vscode-e2e sets it up):
//   node e2e/run.mjs --code-server DIR --spark-lsp BIN --model-server BIN --vsix FILE --out DIR [--only REGEX]

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CodeServer, ModelServer, launchBrowser, userSettings } from "./harness.mjs";
import { CORPUS, TESTS } from "./tests.mjs";
import { Workbench } from "./workbench.mjs";

/** The test's server log, or "" when the server never wrote one. */
function serverLogOf(ctx) {
  try {
    return ctx.serverLog();
  } catch {
    return "";
  }
}

const { values: args } = parseArgs({
  options: {
    "code-server": { type: "string" },
    "spark-lsp": { type: "string" },
    "model-server": { type: "string" },
    vsix: { type: "string" },
    out: { type: "string" },
    only: { type: "string" },
  },
});
for (const required of ["code-server", "spark-lsp", "model-server", "vsix", "out"]) {
  if (!args[required]) {
    console.error(`missing --${required}`);
    process.exit(2);
  }
}

// Only this run's screenshots and logs in the output folder.
rmSync(args.out, { recursive: true, force: true });
mkdirSync(args.out, { recursive: true });
const corpusFile = join(args.out, "corpus.txt");
writeFileSync(corpusFile, CORPUS);

const model = await ModelServer.start(args["model-server"], corpusFile);
const serverLog = join(args.out, "spark-server.log");
const settings = userSettings(args["spark-lsp"], model.url, serverLog);
const code = await CodeServer.start(args["code-server"], args.vsix, settings);
const browser = await launchBrowser(args["code-server"]);
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const workbench = new Workbench(page);
const failures = [];
try {
  await workbench.open(code.url, code.workspace);
  for (const test of TESTS) {
    if (args.only && !new RegExp(args.only).test(test.name)) continue;
    const started = Date.now();
    model.clear();
    // A test that needs its own VS Code (e.g. with Workspace Trust on) replaces page, code and
    // serverLog with its own, so that a failure keeps its screenshot and logs, and registers in
    // `cleanups` what to stop once they are kept.
    const ctx = {
      workbench, page, model, code, settings, browser, args, cleanups: [],
      file: (name, text) => writeFileSync(join(code.workspace, name), text),
      path: (name) => join(code.workspace, name),
      serverLog: () => readFileSync(serverLog, "utf8"),
    };
    try {
      await test.run(ctx);
      console.log(`ok    ${test.name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (error) {
      const slug = test.name.replace(/[^a-z0-9]+/gi, "-");
      const shot = join(args.out, `${slug}.png`);
      await ctx.page.screenshot({ path: shot }).catch(() => {});
      writeFileSync(join(args.out, `${slug}.log`), ctx.code.sparkLog());
      writeFileSync(join(args.out, `${slug}.server.log`), serverLogOf(ctx));
      failures.push(test.name);
      console.log(`FAIL  ${test.name}: ${error?.stack ?? error}\n      screenshot: ${shot}`);
    } finally {
      for (const cleanup of ctx.cleanups.reverse()) {
        await Promise.resolve()
          .then(cleanup)
          .catch((error) => console.error(`cleanup after ${test.name}: ${error}`));
      }
      // Leave no dialog, palette or dirty editor behind for the next test.
      await page.keyboard.press("Escape").catch(() => {});
      await page.keyboard.press("Escape").catch(() => {});
      await workbench.command("View: Revert and Close Editor").catch(() => {});
    }
  }
} finally {
  writeFileSync(join(args.out, "spark-lsp.log"), code.sparkLog());
  await browser.close().catch(() => {});
  code.stop();
  model.stop();
  // The logs are in the output folder; the user data and workspace go.
  code.remove();
}

if (failures.length > 0) {
  console.log(`${failures.length} VS Code test(s) failed: ${failures.join(", ")} (output in ${args.out})`);
  process.exit(1);
}
console.log("all VS Code tests passed");
