/**
 * VS Code's `spark.*` settings → the server's configuration object.
 *
 * Only values the user set are sent (with `inspect`), so a `spark-lsp.toml` still applies to
 * every key the user left alone in VS Code: `initializationOptions` outrank the file.
 */

/** Every server key, as in docs/configuration.md; VS Code settings carry a `spark.` prefix. */
export const SERVER_KEYS = [
  "provider.kind",
  "provider.transport",
  "provider.baseUrl",
  "provider.model",
  "provider.apiKeyEnv",
  "provider.apiKeyCommand",
  "provider.headers",
  "provider.fimApi",
  "provider.timeoutMs",
  "provider.connectTimeoutMs",
  "provider.reconnectMinMs",
  "provider.reconnectMaxMs",
  "provider.caCertFile",
  "provider.maxOutputTokens",
  "provider.temperature",
  "provider.reasoning",
  "provider.modelPath",
  "provider.threads",
  "documents.maxFileBytes",
  "syntax.maxTrees",
  "secrets.extraGlobs",
  "log.level",
  "log.file",
  "completion.maxInFlight",
  "completion.itemBudgetMs",
  "nextEdit.format",
  "nextEdit.eagerness",
  "nextEdit.cooldownMs",
  "nextEdit.jumps",
  "nextEdit.modelJump",
] as const;

/** Settings that are the client's own: changing one restarts the server instead. */
export const CLIENT_KEYS = ["enable", "server.path", "server.extraArgs"] as const;

/** What `WorkspaceConfiguration.inspect` tells about one key. */
export interface Inspected {
  defaultValue?: unknown;
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/** The value the user set for a key, the most specific scope first; undefined when unset. */
export function userValue(inspected: Inspected | undefined): unknown {
  if (!inspected) return undefined;
  for (const value of [inspected.workspaceFolderValue, inspected.workspaceValue, inspected.globalValue]) {
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

/** Sets `dotted` (e.g. `provider.baseUrl`) in a nested object. */
function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== "object" || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

/** The server configuration from the user's settings: nested, camelCase, unset keys left out. */
export function serverConfig(inspect: (key: string) => Inspected | undefined): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const key of SERVER_KEYS) {
    const value = userValue(inspect(key));
    if (value !== undefined) setPath(config, key, value);
  }
  return config;
}

/**
 * The settings for `workspace/didChangeConfiguration`. The server keeps `initializationOptions`
 * under the settings, so a key the user set at start and has since removed is sent with its
 * default: otherwise the start-up value would stay in force until a restart.
 */
export function changedSettings(
  inspect: (key: string) => Inspected | undefined,
  atStart: Record<string, unknown>,
): { spark: Record<string, unknown> } {
  const spark = serverConfig(inspect);
  for (const key of SERVER_KEYS) {
    const wasSet = getPath(atStart, key) !== undefined;
    if (wasSet && getPath(spark, key) === undefined) {
      setPath(spark, key, inspect(key)?.defaultValue ?? null);
    }
  }
  return { spark };
}

function getPath(source: Record<string, unknown>, dotted: string): unknown {
  let node: unknown = source;
  for (const part of dotted.split(".")) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}
