/** Settings → server configuration, and the settings schema against the server's keys. */

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { CLIENT_KEYS, Inspected, SERVER_KEYS, changedSettings, serverConfig } from "../src/config";
import { packageJson } from "./helpers";

const inspector = (values: Record<string, Inspected>) => (key: string) => values[key];

test("only the settings the user set are sent, nested and camelCase", () => {
  const config = serverConfig(
    inspector({
      "provider.kind": { defaultValue: "openai-responses", globalValue: "openai-chat" },
      "provider.baseUrl": { defaultValue: "https://api.openai.com/v1", workspaceValue: "http://127.0.0.1:8080/v1" },
      "provider.model": { defaultValue: "gpt-5.3-codex-spark" },
      "provider.headers": { defaultValue: {}, globalValue: { "X-Team": "editor" } },
      "syntax.maxTrees": { defaultValue: 8, globalValue: 16 },
      "log.level": { defaultValue: null, globalValue: null },
    }),
  );
  assert.deepEqual(config, {
    provider: { kind: "openai-chat", baseUrl: "http://127.0.0.1:8080/v1", headers: { "X-Team": "editor" } },
    syntax: { maxTrees: 16 },
  });
});

test("the most specific scope wins", () => {
  const config = serverConfig(
    inspector({ "provider.model": { globalValue: "a", workspaceValue: "b", workspaceFolderValue: "c" } }),
  );
  assert.deepEqual(config, { provider: { model: "c" } });
});

test("a setting removed since start-up is sent with its default", () => {
  const atStart = { provider: { model: "m", kind: "openai-chat" } };
  const settings = changedSettings(
    inspector({
      "provider.kind": { defaultValue: "openai-responses", globalValue: "openai-chat" },
      "provider.model": { defaultValue: "gpt-5.3-codex-spark" },
      "provider.temperature": { defaultValue: null, globalValue: 0.2 },
    }),
    atStart,
  );
  assert.deepEqual(settings, {
    spark: { provider: { kind: "openai-chat", model: "gpt-5.3-codex-spark", temperature: 0.2 } },
  });
});

test("package.json declares exactly the server's keys plus the client's own", () => {
  const declared = Object.keys(packageJson.contributes.configuration.properties).map((k) => k.replace(/^spark\./, ""));
  assert.deepEqual([...declared].sort(), [...SERVER_KEYS, ...CLIENT_KEYS].sort());
});

// tests/tests/editor_settings.rs checks the settings against the server's schema itself.
test("every key docs/configuration.md documents is a setting, with the same default", () => {
  const doc = fs.readFileSync(path.join(__dirname, "../../../../docs/configuration.md"), "utf8");
  const rows = [...doc.matchAll(/^\| `([a-zA-Z.]+)` \| (?:[^|\\]|\\\|)+ \| ((?:[^|\\]|\\\|)+) \|/gm)];
  const documented = new Map(rows.map((m) => [m[1], m[2].trim()]));
  assert.ok(documented.size >= 18, "the tables were found");
  for (const key of documented.keys()) assert.ok((SERVER_KEYS as readonly string[]).includes(key), key);
  const properties = packageJson.contributes.configuration.properties;
  for (const [key, docDefault] of documented) {
    const ours = properties[`spark.${key}`].default;
    // Documented defaults look like `"openai-responses"`, `10000`, `[]`, `{}`, or say "unset".
    const literal = docDefault.match(/^`([^`]+)`/);
    if (!literal || docDefault.startsWith("unset")) {
      assert.equal(ours ?? null, null, `${key}: documented as ${docDefault}`);
    } else {
      assert.deepEqual(ours, JSON.parse(literal[1]), `${key}: documented as ${docDefault}`);
    }
  }
});
