/** The server's stderr keeps its levels in the log channel. */

import * as assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import type { LogOutputChannel } from "vscode";
import { ServerLog, parseLogLine } from "../src/serverLog";

function recorder(): { channel: LogOutputChannel; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string) => lines.push(`[${level}] ${message}`);
  const channel = {
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  } as unknown as LogOutputChannel;
  return { channel, lines };
}

test("a tracing line gives its level and loses the time stamp", () => {
  assert.deepEqual(parseLogLine("2026-12-02T12:08:51.123456Z  INFO spark_lsp::lsp::server: initialize client=\"Visual Studio Code\""), {
    level: "info",
    message: 'spark_lsp::lsp::server: initialize client="Visual Studio Code"',
  });
  assert.equal(parseLogLine("2026-12-02T12:08:51.123456Z  WARN spark_lsp: x")?.level, "warn");
  assert.equal(parseLogLine("2026-12-02T12:08:51.123456Z ERROR spark_lsp: x")?.level, "error");
  assert.equal(parseLogLine("2026-12-02T12:08:51.123456Z DEBUG spark_lsp: x")?.level, "debug");
  assert.equal(parseLogLine("2026-12-02T12:08:51.123456Z TRACE spark_lsp: x")?.level, "trace");
  assert.equal(parseLogLine("thread 'main' panicked at server/src/main.rs:1:1:"), undefined);
  assert.equal(parseLogLine("INFO alone"), undefined);
});

test("lines reach the channel at their own level, continuation lines at the one before", () => {
  const { channel, lines } = recorder();
  const log = new ServerLog(channel);
  log.line("panic before any log line");
  log.line("2026-12-02T12:08:51.1Z  INFO spark_lsp::lsp::server: initialize");
  log.line("2026-12-02T12:08:51.2Z  WARN spark_lsp::config: unknown key foo");
  log.line("  continued");
  log.line("2026-12-02T12:08:51.3Z ERROR spark_lsp::providers: 401 from the provider");
  assert.deepEqual(lines, [
    "[info] panic before any log line",
    "[info] spark_lsp::lsp::server: initialize",
    "[warn] spark_lsp::config: unknown key foo",
    "[warn]   continued",
    "[error] spark_lsp::providers: 401 from the provider",
  ]);
});

test("the stderr pipe splits chunks into lines", async () => {
  const { channel, lines } = recorder();
  const input = new PassThrough();
  ServerLog.pipe(input, channel);
  input.write("2026-12-02T12:08:51.1Z  DEBUG spark_lsp: a");
  input.write("b\n2026-12-02T12:08:51.2Z  INFO spark_lsp: c\n");
  input.end();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(lines, ["[debug] spark_lsp: ab", "[info] spark_lsp: c"]);
});
