/** Where the spark-lsp binary is: the `spark.server.path` setting, else `spark-lsp` on PATH. */

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const BINARY = process.platform === "win32" ? "spark-lsp.exe" : "spark-lsp";

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The binary to run, or an error message saying what to do. A configured path must exist (a
 * typo should not silently pick another binary from PATH); `~` is expanded.
 */
export function resolveServerPath(
  configured: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { path: string } | { error: string } {
  if (configured && configured.trim() !== "") {
    const expanded = configured.startsWith("~") ? path.join(os.homedir(), configured.slice(1)) : configured;
    if (isExecutable(expanded)) return { path: expanded };
    return { error: `spark.server.path is set to ${configured}, which is not an executable file` };
  }
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, BINARY);
    if (isExecutable(candidate)) return { path: candidate };
  }
  return {
    error: `${BINARY} was not found on PATH; install it (cargo install --path server) or set spark.server.path`,
  };
}
