/** The status bar item from `spark/status` and the client's state. */

import * as assert from "node:assert/strict";
import { test } from "node:test";
import { statusView } from "../src/status";

test("normal and idle shows the last latency and the provider in the tooltip", () => {
  const view = statusView("running", {
    busy: false,
    kind: "Normal",
    message: "ready",
    provider: "openai-chat",
    lastLatencyMs: 42.4,
  });
  assert.equal(view.text, "$(sparkle) Spark 42 ms");
  assert.equal(view.tooltip, "ready\nProvider: openai-chat\nLast suggestion: 42 ms");
  assert.equal(view.background, undefined);
});

test("busy spins", () => {
  assert.equal(statusView("running", { busy: true, kind: "Normal", message: "" }).text, "$(loading~spin) Spark");
});

test("warnings and errors are coloured and say what to do", () => {
  const warning = statusView("running", { busy: false, kind: "Warning", message: "rate limited; retrying" });
  assert.equal(warning.text, "$(warning) Spark");
  assert.equal(warning.background, "statusBarItem.warningBackground");
  const error = statusView("running", { busy: false, kind: "Error", message: "no API key: set OPENAI_API_KEY" });
  assert.equal(error.background, "statusBarItem.errorBackground");
  assert.equal(error.tooltip, "no API key: set OPENAI_API_KEY");
  assert.equal(error.command, "spark.showLog");
});

test("offline shows a disconnected item and when the provider is tried next", () => {
  const retryAt = Date.UTC(2026, 0, 2, 3, 4, 5);
  const view = statusView("running", {
    busy: false,
    kind: "Warning",
    message: "offline (cannot reach http://127.0.0.1:8080: connection refused); retrying by itself",
    provider: "openai-chat",
    offline: true,
    retryAt,
  });
  assert.equal(view.text, "$(debug-disconnect) Spark");
  assert.equal(view.background, "statusBarItem.warningBackground");
  assert.match(view.tooltip, /connection refused/);
  assert.ok(view.tooltip.endsWith(`Offline: retrying at ${new Date(retryAt).toLocaleTimeString()}`), view.tooltip);
});

test("inactive, disabled, stopped and failed", () => {
  assert.equal(statusView("running", { busy: false, kind: "Inactive", message: "no provider" }).text, "$(circle-slash) Spark");
  assert.equal(statusView("disabled").command, "spark.enable");
  assert.equal(statusView("stopped").command, "spark.restart");
  const failed = statusView("failed", undefined, "spark-lsp was not found on PATH");
  assert.match(failed.tooltip, /not found on PATH/);
  assert.equal(failed.background, "statusBarItem.errorBackground");
});
