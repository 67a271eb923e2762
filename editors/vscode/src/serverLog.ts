/**
 * The server's stderr into the "spark-lsp" log channel at each line's own level. spark-lsp logs
 * with `tracing`'s default format (`2026-12-02T12:00:00.123456Z  INFO target: message`); the
 * channel adds its own time stamp and level, so a line loses both and keeps the rest. Lines
 * without a level (a panic message, a multi-line field) keep the level of the line before.
 */

import type { Readable } from "node:stream";
import * as readline from "node:readline";
import type { LogOutputChannel } from "vscode";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

const LINE = /^\S+\s+(TRACE|DEBUG|INFO|WARN|ERROR)\s(.*)$/;

/** The level and the rest of one `tracing` line, or undefined when it is not one. */
export function parseLogLine(line: string): { level: LogLevel; message: string } | undefined {
  const match = LINE.exec(line);
  if (!match) return undefined;
  return { level: match[1].toLowerCase() as LogLevel, message: match[2].trimStart() };
}

/** Writes stderr lines to `channel` at their level; unparsed lines follow the line before. */
export class ServerLog {
  private level: LogLevel = "info";

  constructor(private readonly channel: LogOutputChannel) {}

  line(line: string): void {
    const parsed = parseLogLine(line);
    if (parsed) this.level = parsed.level;
    this.channel[this.level](parsed ? parsed.message : line);
  }

  /** The `stdioOptions.stderr` handler of vscode-languageclient. */
  static pipe(input: Readable, channel: LogOutputChannel): void {
    const log = new ServerLog(channel);
    readline
      .createInterface({ input, crlfDelay: Infinity, terminal: false, historySize: 0 })
      .on("line", (line) => log.line(line));
  }
}
