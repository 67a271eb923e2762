// Workspace trust (issue 10) in a VS Code of its own with Workspace Trust on: a folder whose
// spark-lsp.toml points provider.baseUrl at a loopback endpoint that records requests opens in
// Restricted Mode; the extension tells the server, the server ignores the key and says so, and
// suggestions keep coming from the user's own provider. Once the user trusts the folder in VS
// Code and then the file with the Spark command, the key applies.

import * as assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CodeServer, RecordingEndpoint } from "./harness.mjs";
import { Workbench, waitFor } from "./workbench.mjs";

export const TRUST_TEST = {
  name: "workspace trust: Restricted Mode ignores the file's provider.baseUrl; trusting applies it",
  async run(ctx) {
    const { args, model } = ctx;
    const hostile = await RecordingEndpoint.start();
    ctx.cleanups.push(() => hostile.stop());

    // The user's provider comes from their own spark-lsp.toml, not from a VS Code setting: VS
    // Code settings outrank a workspace file, so only there would a trust bug let the file win.
    const log = join(args.out, "spark-server-trust.log");
    const settings = {
      ...ctx.settings,
      "security.workspace.trust.enabled": true,
      "security.workspace.trust.startupPrompt": "never",
      "spark.log.file": log,
    };
    delete settings["spark.provider.baseUrl"];
    const code = await CodeServer.start(args["code-server"], args.vsix, settings, { workspaceTrust: true });
    ctx.cleanups.push(() => code.remove(), () => code.stop());
    code.writeUserToml(`[provider]\nbaseUrl = "${model.url}"\n`);
    // What a cloned repository could carry: the safe key applies, the sensitive one must not.
    writeFileSync(join(code.workspace, "spark-lsp.toml"), `[provider]\nbaseUrl = "${hostile.url}"\ntimeoutMs = 20000\n`);
    writeFileSync(join(code.workspace, "restricted.py"), "def greet(name):\n    ");

    const page = await ctx.browser.newPage({ viewport: { width: 1280, height: 800 } });
    ctx.cleanups.push(() => page.close());
    Object.assign(ctx, { page, code, serverLog: () => readFileSync(log, "utf8") });
    const workbench = new Workbench(page);
    await workbench.open(code.url, code.workspace);
    await page.locator(".statusbar-item", { hasText: "Restricted Mode" }).waitFor({ state: "visible" });

    // The status bar item's tooltip names the ignored key.
    const status = await workbench.waitForStatus((s) => s.label.includes("Ignored until trusted"), "the ignored key in the tooltip");
    assert.match(status.label, /Ignored until trusted: provider\.baseUrl \(Spark: Trust Workspace Configuration\)/);
    assert.doesNotMatch(status.label, /timeoutMs/, "the safe key is not reported as ignored");

    // So does the warning, which says why: the editor's Restricted Mode (the extension sent
    // workspaceTrusted: false), not only spark-lsp's own record.
    await workbench.command("Notifications: Show Notifications");
    const warning = page.locator(".notifications-center .notification-list-item", { hasText: "restricted mode" });
    await warning.waitFor({ state: "visible" });
    const text = await warning.textContent();
    assert.match(text, /the settings provider\.baseUrl of \S*spark-lsp\.toml are ignored/, `the warning: ${text}`);
    await page.keyboard.press("Escape");

    // Suggestions come from the user's provider (the reference model server's corpus), and
    // nothing was sent where the file pointed.
    await workbench.openFile("restricted.py");
    await workbench.command("Trigger Inline Suggestion");
    await workbench.waitForGhostText('message = "hello " + name');
    assert.deepEqual(hostile.requests, [], "no request reached the workspace file's baseUrl");
    await page.keyboard.press("Escape");

    // Trusting the folder in VS Code ends Restricted Mode (the extension restarts the server,
    // which now goes by its own record: the file is not trusted yet)...
    await workbench.command("Workspaces: Manage Workspace Trust");
    await page.locator(".workspace-trust-editor .monaco-button", { hasText: /^Trust$/ }).click();
    await page.locator(".statusbar-item", { hasText: "Restricted Mode" }).waitFor({ state: "detached" });
    await workbench.command("Notifications: Show Notifications");
    await page.locator(".notifications-center .notification-list-item", { hasText: "is not trusted, so its settings provider.baseUrl are ignored" }).waitFor({ state: "visible" });
    await workbench.command("Notifications: Clear All Notifications");
    assert.deepEqual(hostile.requests, [], "still nothing sent to the file's baseUrl");

    // ...and "Spark: Trust Workspace Configuration" records the file (in the test's own state
    // folder) and applies its key at once: the next suggestion goes where the file points.
    await workbench.command("Spark: Trust Workspace Configuration");
    await workbench.waitForStatus((s) => /Provider: openai-chat/.test(s.label) && !s.label.includes("Ignored until trusted"), "the file trusted");
    const record = readFileSync(join(code.home, "state", "spark-lsp", "trusted.json"), "utf8");
    assert.ok(record.includes(code.workspace), `the trust is recorded: ${record}`);
    await workbench.command("View: Close Editor");
    await workbench.openFile("restricted.py");
    await workbench.command("Trigger Inline Suggestion");
    await waitFor(() => hostile.requests.length > 0, "a request at the file's baseUrl once it is trusted");
  },
};
