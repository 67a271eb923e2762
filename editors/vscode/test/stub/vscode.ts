/**
 * A stub of the `vscode` module, just enough for the extension's code paths, with hooks for the
 * tests: settings, input box answers, the active editor, and records of what the code did.
 * The test bundles alias `vscode` to this file.
 */

type Listener<T> = (value: T) => unknown;

export class Disposable {
  constructor(private readonly onDispose: () => void = () => {}) {}
  dispose(): void {
    this.onDispose();
  }
}

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  event = (listener: Listener<T>): Disposable => {
    this.listeners.push(listener);
    return new Disposable(() => (this.listeners = this.listeners.filter((l) => l !== listener)));
  };
  fire(value: T): void {
    for (const listener of [...this.listeners]) listener(value);
  }
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(l0: number, c0: number, l1: number, c1: number) {
    this.start = new Position(l0, c0);
    this.end = new Position(l1, c1);
  }
}

export class Selection extends Range {
  readonly active: Position;
  readonly anchor: Position;
  constructor(anchor: Position, active: Position) {
    super(anchor.line, anchor.character, active.line, active.character);
    this.anchor = anchor;
    this.active = active;
  }
}

export const Uri = {
  parse(value: string) {
    return { toString: () => value, fsPath: value.replace(/^file:\/\//, "") };
  },
};

export enum TextEditorRevealType {
  Default = 0,
  InCenter = 1,
  InCenterIfOutsideViewport = 2,
  AtTop = 3,
}

export enum OverviewRulerLane {
  Left = 1,
  Center = 2,
  Right = 4,
  Full = 7,
}

export enum DiagnosticSeverity {
  Error = 0,
  Warning = 1,
  Information = 2,
  Hint = 3,
}

export class WorkspaceEdit {
  readonly replacements: { uri: unknown; range: Range; newText: string }[] = [];
  replace(uri: unknown, range: Range, newText: string): void {
    this.replacements.push({ uri, range, newText });
  }
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export enum ConfigurationTarget {
  Global = 1,
  Workspace = 2,
  WorkspaceFolder = 3,
}

/** What the tests set and read. */
export const state = {
  /** User settings (global scope), keyed without the `spark.` prefix. */
  settings: new Map<string, unknown>(),
  /** The `default` of each setting, from package.json. */
  defaults: new Map<string, unknown>(),
  inputBoxAnswers: [] as (string | undefined)[],
  errorMessages: [] as string[],
  warningMessages: [] as string[],
  /** What the next warning message's buttons answer. */
  warningAnswers: [] as (string | undefined)[],
  context: new Map<string, unknown>(),
  appliedEdits: [] as WorkspaceEdit[],
  applyEditResult: true,
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  statusItems: [] as StatusBarItem[],
  decorations: [] as { type: number; ranges: unknown[] }[],
  /** Diagnostics per document URI, as `languages.getDiagnostics` returns them. */
  diagnostics: new Map<string, unknown[]>(),
  /** Documents open in the workspace. */
  textDocuments: [] as { uri: { toString(): string } }[],
  /** Editors `window.showTextDocument` returns, by URI. */
  editors: new Map<string, unknown>(),
  /** Commands executed that have no handler (VS Code's own), with their arguments. */
  builtinCommands: [] as unknown[][],
};

const configurationChanged = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();
const textDocumentChanged = new EventEmitter<{ document: unknown }>();
const workspaceTrustGranted = new EventEmitter<void>();
const diagnosticsChanged = new EventEmitter<{ uris: unknown[] }>();
const selectionChanged = new EventEmitter<{ textEditor: unknown; selections: { active: Position }[] }>();

/** Another extension reports diagnostics for `uri`, as VS Code announces them. */
export function setDiagnostics(uri: { toString(): string }, diagnostics: unknown[]): void {
  state.diagnostics.set(uri.toString(), diagnostics);
  diagnosticsChanged.fire({ uris: [uri] });
}

/** The user moves the cursor of `editor` to `line`. */
export function moveCursor(editor: { selection: unknown }, line: number): void {
  const position = new Position(line, 0);
  editor.selection = new Selection(position, position);
  selectionChanged.fire({ textEditor: editor, selections: [{ active: position }] });
}

/** Leaves Restricted Mode, as the user does in VS Code's trust dialog. */
export function grantWorkspaceTrust(): void {
  workspace.isTrusted = true;
  workspaceTrustGranted.fire();
}

/** Sets (or with undefined, removes) a user setting and fires the change event, as VS Code does. */
export function setSetting(key: string, value: unknown): void {
  if (value === undefined) state.settings.delete(key);
  else state.settings.set(key, value);
  const full = `spark.${key}`;
  configurationChanged.fire({
    affectsConfiguration: (section) => full === section || full.startsWith(`${section}.`),
  });
}

export function changeDocument(document: unknown): void {
  textDocumentChanged.fire({ document });
}

export function reset(): void {
  state.settings.clear();
  state.inputBoxAnswers = [];
  state.errorMessages = [];
  state.warningMessages = [];
  state.warningAnswers = [];
  workspace.isTrusted = true;
  state.context.clear();
  state.appliedEdits = [];
  state.applyEditResult = true;
  state.commands.clear();
  state.statusItems = [];
  state.decorations = [];
  state.diagnostics.clear();
  state.textDocuments = [];
  state.editors.clear();
  state.builtinCommands = [];
  window.activeTextEditor = undefined;
}

export class StatusBarItem {
  text = "";
  tooltip: unknown;
  command: unknown;
  name = "";
  backgroundColor: ThemeColor | undefined;
  visible = false;
  show(): void {
    this.visible = true;
  }
  dispose(): void {}
}

let decorationTypes = 0;

export const window = {
  activeTextEditor: undefined as unknown,
  onDidChangeTextEditorSelection: selectionChanged.event,
  async showTextDocument(uri: { toString(): string }): Promise<unknown> {
    const editor = state.editors.get(uri.toString());
    if (!editor) throw new Error(`no editor for ${uri.toString()}`);
    window.activeTextEditor = editor;
    return editor;
  },
  createStatusBarItem(): StatusBarItem {
    const item = new StatusBarItem();
    state.statusItems.push(item);
    return item;
  },
  createOutputChannel(name: string) {
    return { name, lines: [] as string[], appendLine(line: string) { this.lines.push(line); }, show() {}, dispose() {} };
  },
  createTextEditorDecorationType() {
    const id = ++decorationTypes;
    return { key: id, dispose() {} };
  },
  async showInputBox(): Promise<string | undefined> {
    return state.inputBoxAnswers.shift();
  },
  async showErrorMessage(message: string): Promise<string | undefined> {
    state.errorMessages.push(message);
    return undefined;
  },
  async showWarningMessage(message: string): Promise<string | undefined> {
    state.warningMessages.push(message);
    return state.warningAnswers.shift();
  },
};

export const languages = {
  onDidChangeDiagnostics: diagnosticsChanged.event,
  getDiagnostics(uri: { toString(): string }): unknown[] {
    return state.diagnostics.get(uri.toString()) ?? [];
  },
};

export const workspace = {
  isTrusted: true,
  get textDocuments() {
    return state.textDocuments;
  },
  onDidGrantWorkspaceTrust: workspaceTrustGranted.event,
  getConfiguration(section: string) {
    if (section !== "spark") throw new Error(`unexpected section ${section}`);
    return {
      get<T>(key: string, fallback?: T): T | undefined {
        return (state.settings.has(key) ? state.settings.get(key) : (state.defaults.get(key) ?? fallback)) as T;
      },
      inspect(key: string) {
        return { key, defaultValue: state.defaults.get(key), globalValue: state.settings.get(key) };
      },
      async update(key: string, value: unknown): Promise<void> {
        setSetting(key, value);
      },
    };
  },
  onDidChangeConfiguration: configurationChanged.event,
  onDidChangeTextDocument: textDocumentChanged.event,
  async applyEdit(edit: WorkspaceEdit): Promise<boolean> {
    state.appliedEdits.push(edit);
    return state.applyEditResult;
  },
};

export const commands = {
  registerCommand(name: string, handler: (...args: unknown[]) => unknown): Disposable {
    if (state.commands.has(name)) throw new Error(`command ${name} already registered`);
    state.commands.set(name, handler);
    return new Disposable(() => state.commands.delete(name));
  },
  async executeCommand(name: string, ...args: unknown[]): Promise<unknown> {
    if (name === "setContext") {
      state.context.set(args[0] as string, args[1]);
      return undefined;
    }
    const handler = state.commands.get(name);
    if (!handler && name.startsWith("editor.")) {
      state.builtinCommands.push([name, ...args]);
      return undefined;
    }
    if (!handler) throw new Error(`command ${name} not found`);
    return handler(...args);
  },
};
