/**
 * `spark/status` → what the status bar item shows. A pure function, so the tests need no editor.
 */

/** Params of the server's `spark/status` notification (protocol/src/lib.rs `StatusParams`). */
export interface StatusParams {
  busy: boolean;
  kind: "Normal" | "Warning" | "Error" | "Inactive";
  message: string;
  provider?: string;
  lastLatencyMs?: number;
  /** The provider cannot be reached; suggestions are empty until `retryAt`. */
  offline?: boolean;
  /** While offline: the next try, in milliseconds since the Unix epoch. */
  retryAt?: number;
  /** Settings of the workspace's spark-lsp.toml ignored until the user trusts it. */
  untrustedConfig?: { file: string; keys: string[]; reason: "untrusted" | "changed" | "restricted"; message: string };
}

/** The client's own state around the server's. */
export type ClientState = "starting" | "running" | "stopped" | "disabled" | "failed";

export interface StatusView {
  text: string;
  tooltip: string;
  /** A theme color id for the item's background, for warnings and errors. */
  background?: "statusBarItem.warningBackground" | "statusBarItem.errorBackground";
  /** Clicking the item runs this command. */
  command: string;
}

export function statusView(state: ClientState, status?: StatusParams, detail?: string): StatusView {
  switch (state) {
    case "disabled":
      return { text: "$(circle-slash) Spark", tooltip: "spark-lsp is disabled; click to enable", command: "spark.enable" };
    case "starting":
      return { text: "$(loading~spin) Spark", tooltip: "spark-lsp is starting", command: "spark.showLog" };
    case "stopped":
      return { text: "$(debug-stop) Spark", tooltip: "spark-lsp is not running; click to restart", command: "spark.restart" };
    case "failed":
      return {
        text: "$(error) Spark",
        tooltip: `spark-lsp could not start: ${detail ?? "see the log"}`,
        background: "statusBarItem.errorBackground",
        command: "spark.showLog",
      };
    case "running":
      break;
  }
  if (!status) return { text: "$(sparkle) Spark", tooltip: "spark-lsp is running", command: "spark.showLog" };
  const lines = [status.message];
  if (status.provider) lines.push(`Provider: ${status.provider}`);
  if (status.lastLatencyMs !== undefined) lines.push(`Last suggestion: ${formatMs(status.lastLatencyMs)}`);
  if (status.offline && status.retryAt !== undefined) {
    lines.push(`Offline: retrying at ${new Date(status.retryAt).toLocaleTimeString()}`);
  }
  if (status.untrustedConfig) {
    const { keys } = status.untrustedConfig;
    lines.push(`Ignored until trusted: ${keys.join(", ")} (Spark: Trust Workspace Configuration)`);
  }
  const tooltip = lines.filter((line) => line.length > 0).join("\n");
  const latency = status.lastLatencyMs !== undefined ? ` ${formatMs(status.lastLatencyMs)}` : "";
  switch (status.kind) {
    case "Error":
      return { text: "$(error) Spark", tooltip, background: "statusBarItem.errorBackground", command: "spark.showLog" };
    case "Warning":
      if (status.offline) {
        return { text: "$(debug-disconnect) Spark", tooltip, background: "statusBarItem.warningBackground", command: "spark.showLog" };
      }
      return { text: "$(warning) Spark", tooltip, background: "statusBarItem.warningBackground", command: "spark.showLog" };
    case "Inactive":
      return { text: "$(circle-slash) Spark", tooltip, command: "spark.showLog" };
    default:
      return {
        text: status.busy ? "$(loading~spin) Spark" : `$(sparkle) Spark${latency}`,
        tooltip,
        command: "spark.showLog",
      };
  }
}

function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}
