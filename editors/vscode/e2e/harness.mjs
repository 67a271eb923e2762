// The processes of the real-VS-Code tests: the reference model server (answers scripted over its
// stdin, else continued from a corpus), code-server with its own user data and extensions
// folders and the freshly packaged .vsix installed, and headless Debian chromium driven by
// playwright-core. Everything listens on 127.0.0.1 and lives under one temporary folder.

import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, readdirSync, existsSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

/** Starts a child process whose first stdout/stderr line matching `pattern` gives `match[1]`. */
function startAnnouncing(command, args, options, pattern, what) {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], ...options });
  const lines = [];
  const found = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start in 60 s:\n${lines.join("\n")}`)), 60_000);
    const onLine = (line) => {
      lines.push(line);
      if (lines.length > 200) lines.shift();
      const match = pattern.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    createInterface({ input: child.stdout }).on("line", onLine);
    createInterface({ input: child.stderr }).on("line", onLine);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}):\n${lines.join("\n")}`));
    });
  });
  return { child, found, lines };
}

export class ModelServer {
  static async start(bin, corpusFile) {
    const server = new ModelServer();
    const { child, found } = startAnnouncing(bin, ["--corpus", corpusFile], {}, /^(http:\/\/\S+)$/, "spark-model-server");
    server.child = child;
    server.url = await found;
    return server;
  }

  /** Queues `text` as the next answer, ahead of corpus mode. */
  answer(text) {
    this.child.stdin.write(`${JSON.stringify({ answer: text })}\n`);
  }

  /** Holds the next response back for `ms`. */
  stall(ms) {
    this.child.stdin.write(`${JSON.stringify({ stall_ms: ms })}\n`);
  }

  /** Fails the next response with HTTP `status`. */
  serverError(status) {
    this.child.stdin.write(`${JSON.stringify({ server_error: status })}\n`);
  }

  /** Drops answers and faults still queued (a test that failed may leave some). */
  clear() {
    this.child.stdin.write(`${JSON.stringify({ clear: true })}\n`);
  }

  stop() {
    this.child.kill();
  }
}

/**
 * The user settings every test starts from: the README's quick start (spark-lsp against a local
 * OpenAI-compatible server, which needs no key) plus what makes typing deterministic.
 */
export function userSettings(sparkBin, modelUrl, serverLog) {
  return {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "security.workspace.trust.enabled": false,
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "update.mode": "none",
    "telemetry.telemetryLevel": "off",
    "files.autoSave": "off",
    // What is typed lands on disk as typed: no closing brackets or suggest widget on top.
    "editor.autoClosingBrackets": "never",
    "editor.autoClosingQuotes": "never",
    "editor.autoIndent": "none",
    "editor.quickSuggestions": { other: "off", comments: "off", strings: "off" },
    "editor.suggestOnTriggerCharacters": false,
    "editor.wordBasedSuggestions": "off",
    "editor.inlineSuggest.enabled": true,
    "spark.server.path": sparkBin,
    "spark.log.level": "debug",
    // The server's own log (debug level) next to the test output; the output channel shows
    // info and above.
    "spark.log.file": serverLog,
    "spark.provider.kind": "openai-chat",
    "spark.provider.baseUrl": modelUrl,
    "spark.provider.model": "reference",
  };
}

/**
 * A loopback HTTP endpoint that must stay unused: it records every request and fails it (503),
 * so a test can tell whether anything was sent where a hostile file pointed.
 */
export class RecordingEndpoint {
  static async start() {
    const endpoint = new RecordingEndpoint();
    endpoint.requests = [];
    endpoint.server = createServer((request, response) => {
      endpoint.requests.push(`${request.method} ${request.url}`);
      request.resume();
      response.writeHead(503).end();
    });
    await new Promise((resolve) => endpoint.server.listen(0, "127.0.0.1", resolve));
    endpoint.url = `http://127.0.0.1:${endpoint.server.address().port}/v1`;
    return endpoint;
  }

  stop() {
    this.server.closeAllConnections();
    this.server.close();
  }
}

export class CodeServer {
  /**
   * Installs `vsix` into a fresh extensions folder and starts code-server on a free loopback
   * port; `settings` go into the user's settings.json. VS Code's Workspace Trust is off unless
   * `workspaceTrust` (then the settings decide, and every folder starts untrusted).
   */
  static async start(codeServerDir, vsix, settings, { workspaceTrust = false } = {}) {
    const server = new CodeServer();
    server.home = mkdtempSync(join(tmpdir(), "spark-vscode-e2e-"));
    server.userData = join(server.home, "user-data");
    server.extensions = join(server.home, "extensions");
    server.workspace = join(server.home, "workspace");
    for (const dir of [join(server.userData, "User"), server.extensions, server.workspace]) mkdirSync(dir, { recursive: true });
    server.writeSettings(settings);
    const entry = join(codeServerDir, "node_modules/code-server/out/node/entry.js");
    // code-server writes its config and state under XDG folders, and so does spark-lsp (its
    // user spark-lsp.toml, its record of trusted files): keep them in the temp home.
    const env = {
      ...process.env,
      XDG_CONFIG_HOME: join(server.home, "config"),
      XDG_DATA_HOME: join(server.home, "data"),
      XDG_STATE_HOME: join(server.home, "state"),
    };
    const dirs = ["--user-data-dir", server.userData, "--extensions-dir", server.extensions];
    const install = spawnSync(process.execPath, [entry, ...dirs, "--install-extension", vsix], { env, encoding: "utf8" });
    if (install.status !== 0 || !/successfully installed/.test(install.stdout + install.stderr)) {
      throw new Error(`installing ${vsix} failed:\n${install.stdout}\n${install.stderr}`);
    }
    const args = [entry, "--auth", "none", "--bind-addr", "127.0.0.1:0", "--disable-telemetry", "--disable-update-check", ...(workspaceTrust ? [] : ["--disable-workspace-trust"]), ...dirs];
    const { child, found, lines } = startAnnouncing(process.execPath, args, { env }, /HTTP server listening on (http:\/\/127\.0\.0\.1:\d+)/, "code-server");
    server.child = child;
    server.lines = lines;
    server.url = await found;
    return server;
  }

  /** Writes the user's own spark-lsp.toml (under the temp home's XDG_CONFIG_HOME). */
  writeUserToml(text) {
    const dir = join(this.home, "config", "spark-lsp");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "spark-lsp.toml"), text);
  }

  writeSettings(settings) {
    writeFileSync(join(this.userData, "User", "settings.json"), JSON.stringify(settings, null, 2));
  }

  /** The "spark-lsp" output channel as VS Code logged it (one file per extension host). */
  sparkLog() {
    const logs = join(this.userData, "logs");
    if (!existsSync(logs)) return "";
    let text = "";
    for (const session of readdirSync(logs)) {
      for (const host of readdirSync(join(logs, session))) {
        const file = join(logs, session, host, "spark-lsp.spark-lsp", "spark-lsp.log");
        if (existsSync(file)) text += readFileSync(file, "utf8");
      }
    }
    return text;
  }

  stop() {
    this.child.kill();
  }

  /** Removes the temporary home (code-server may still be writing there as it exits). */
  remove() {
    try {
      rmSync(this.home, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (error) {
      console.error(`could not remove ${this.home}: ${error}`);
    }
  }
}

/** Headless Debian chromium through playwright-core (which never downloads a browser here). */
export async function launchBrowser(codeServerDir) {
  const require = createRequire(join(codeServerDir, "package.json"));
  const { chromium } = require("playwright-core");
  return chromium.launch({ executablePath: process.env.SPARK_CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
}
