/**
 * A small fake of the `vscode` module, so that unit tests drive the extension's own logic (tree
 * providers, command flows) without VS Code, as vscode-python-environments' unit tests do.
 * scripts/build.mjs bundles every test under test/unit/ with `vscode` aliased to this file: a
 * module under test that imports `vscode` gets these classes, and a test imports `fake` from here
 * to script the user's answers and read what was shown.
 *
 * It holds what the extension's modules use, no more; what it leaves out (webviews, tree views, the
 * language client) stays for the integration suites, which run in the real extension host. The
 * enums carry VS Code's values, so a test may compare with `vscode.TreeItemCollapsibleState.…`.
 */

/** One call of `window.show…`, `commands.executeCommand`, …: its name and its arguments. */
export interface FakeCall {
  readonly fn: string;
  readonly args: readonly unknown[];
}

/** An answer for `fake.answer`: a value, or a function of the call's arguments (e.g. picking among the items). */
export type FakeAnswer = unknown | ((...args: unknown[]) => unknown);

export const fake = {
  /** Every recorded call, in order. */
  calls: [] as FakeCall[],
  /** What the next calls of each function answer, first in, first out; none left: undefined (the user pressed Escape). */
  answers: new Map<string, FakeAnswer[]>(),
  /** The `clusterDebugger.*` settings (and any other section), by full key, e.g. `clusterDebugger.clusters`. */
  settings: new Map<string, unknown>(),
  /** Queues the answers of the next calls of `fn` (e.g. `window.showQuickPick`). */
  answer(fn: string, ...answers: FakeAnswer[]): void {
    this.answers.set(fn, [...(this.answers.get(fn) ?? []), ...answers]);
  },
  /** The arguments of each recorded call of `fn`. */
  callsOf(fn: string): (readonly unknown[])[] {
    return this.calls.filter((c) => c.fn === fn).map((c) => c.args);
  },
  reset(): void {
    this.calls.length = 0;
    this.answers.clear();
    this.settings.clear();
  },
};

/** Records the call and returns its queued answer. */
function record(fn: string, args: unknown[]): unknown {
  fake.calls.push({ fn, args });
  const next = fake.answers.get(fn)?.shift();
  return typeof next === 'function' ? (next as (...a: unknown[]) => unknown)(...args) : next;
}

function recordAsync(fn: string, args: unknown[]): Promise<unknown> {
  return Promise.resolve(record(fn, args));
}

// ------------------------------------------------------------------- enums --

export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2,
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export enum ViewColumn {
  Active = -1,
  Beside = -2,
  One = 1,
  Two = 2,
  Three = 3,
}

export enum QuickPickItemKind {
  Separator = -1,
  Default = 0,
}

// ----------------------------------------------------------------- classes --

type Listener<T> = (e: T) => unknown;

export class Disposable {
  constructor(private readonly callOnDispose: () => unknown = () => undefined) {}

  static from(...items: { dispose(): unknown }[]): Disposable {
    return new Disposable(() => items.forEach((d) => d.dispose()));
  }

  dispose(): void {
    this.callOnDispose();
  }
}

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];

  readonly event = (listener: Listener<T>): Disposable => {
    this.listeners.push(listener);
    return new Disposable(() => (this.listeners = this.listeners.filter((l) => l !== listener)));
  };

  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }

  dispose(): void {
    this.listeners = [];
  }
}

export class CancellationTokenSource {
  private readonly cancelled = new EventEmitter<void>();
  readonly token = {
    isCancellationRequested: false,
    onCancellationRequested: this.cancelled.event,
  };

  cancel(): void {
    if (this.token.isCancellationRequested) return;
    this.token.isCancellationRequested = true;
    this.cancelled.fire();
  }

  dispose(): void {
    this.cancelled.dispose();
  }
}

export class CancellationError extends Error {
  constructor() {
    super('Canceled');
    this.name = 'Canceled';
  }
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class ThemeIcon {
  constructor(
    readonly id: string,
    readonly color?: ThemeColor,
  ) {}
}

/** Appends as given: the escaping VS Code does in `appendText` is left out. */
export class MarkdownString {
  constructor(
    public value = '',
    public supportThemeIcons = false,
  ) {}

  appendMarkdown(value: string): this {
    this.value += value;
    return this;
  }

  appendText(value: string): this {
    this.value += value;
    return this;
  }

  appendCodeblock(code: string, language = ''): this {
    this.value += `\n\`\`\`${language}\n${code}\n\`\`\`\n`;
    return this;
  }
}

export class TreeItem {
  id?: string;
  description?: string | boolean;
  tooltip?: string | MarkdownString;
  iconPath?: ThemeIcon;
  contextValue?: string;
  command?: { command: string; title: string; arguments?: unknown[] };
  resourceUri?: Uri;

  constructor(
    public label: string,
    public collapsibleState: TreeItemCollapsibleState = TreeItemCollapsibleState.None,
  ) {}
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly authority: string,
    readonly path: string,
    readonly query: string,
    readonly fragment: string,
  ) {}

  static from(c: { scheme: string; authority?: string; path?: string; query?: string; fragment?: string }): Uri {
    return new Uri(c.scheme, c.authority ?? '', c.path ?? '', c.query ?? '', c.fragment ?? '');
  }

  static parse(value: string): Uri {
    const m = /^([^:/?#]+):(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/.exec(value);
    if (!m) throw new Error(`fake vscode: cannot parse URI ${value}`);
    return new Uri(m[1], m[2] ?? '', decodeURIComponent(m[3] ?? ''), m[4] ?? '', m[5] ?? '');
  }

  static file(path: string): Uri {
    return new Uri('file', '', path, '', '');
  }

  static joinPath(base: Uri, ...segments: string[]): Uri {
    return base.with({ path: [base.path.replace(/\/$/, ''), ...segments].join('/') });
  }

  get fsPath(): string {
    return this.path;
  }

  with(change: { scheme?: string; authority?: string; path?: string; query?: string; fragment?: string }): Uri {
    return new Uri(
      change.scheme ?? this.scheme,
      change.authority ?? this.authority,
      change.path ?? this.path,
      change.query ?? this.query,
      change.fragment ?? this.fragment,
    );
  }

  toString(): string {
    return `${this.scheme}:${this.authority || this.scheme === 'file' ? `//${this.authority}` : ''}${this.path}${this.query ? `?${this.query}` : ''}${this.fragment ? `#${this.fragment}` : ''}`;
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  constructor(
    readonly start: Position,
    readonly end: Position,
  ) {}
}

export class Selection extends Range {
  constructor(
    readonly anchor: Position,
    readonly active: Position,
  ) {
    super(anchor, active);
  }
}

export class CodeLens {
  constructor(
    readonly range: Range,
    readonly command?: { command: string; title: string; arguments?: unknown[] },
  ) {}
}

export class RelativePattern {
  constructor(
    readonly base: unknown,
    readonly pattern: string,
  ) {}
}

// -------------------------------------------------------------- namespaces --

const noop = new Disposable();

export const window = {
  activeTextEditor: undefined as unknown,
  showInformationMessage: (...args: unknown[]) => recordAsync('window.showInformationMessage', args),
  showWarningMessage: (...args: unknown[]) => recordAsync('window.showWarningMessage', args),
  showErrorMessage: (...args: unknown[]) => recordAsync('window.showErrorMessage', args),
  showQuickPick: (...args: unknown[]) => recordAsync('window.showQuickPick', args),
  showInputBox: (...args: unknown[]) => recordAsync('window.showInputBox', args),
  showSaveDialog: (...args: unknown[]) => recordAsync('window.showSaveDialog', args),
  showTextDocument: (...args: unknown[]) => recordAsync('window.showTextDocument', args),
  /** Runs the task at once, with a progress that records its reports and a token nobody cancels. */
  withProgress: <R>(
    options: unknown,
    task: (progress: { report(value: unknown): void }, token: CancellationTokenSource['token']) => PromiseLike<R>,
  ) => {
    record('window.withProgress', [options]);
    return task({ report: (value) => record('progress.report', [value]) }, new CancellationTokenSource().token);
  },
};

export const workspace = {
  isTrusted: true,
  workspaceFolders: undefined as unknown,
  textDocuments: [] as unknown[],
  getConfiguration: (section?: string) => ({
    get: <T>(key: string, defaultValue?: T): T | undefined => {
      const full = section ? `${section}.${key}` : key;
      return fake.settings.has(full) ? (fake.settings.get(full) as T) : defaultValue;
    },
  }),
  registerTextDocumentContentProvider: () => noop,
  onDidChangeConfiguration: () => noop,
  fs: { writeFile: (...args: unknown[]) => recordAsync('workspace.fs.writeFile', args) },
};

export const commands = {
  registerCommand: (id: string) => {
    record('commands.registerCommand', [id]);
    return noop;
  },
  executeCommand: (...args: unknown[]) => recordAsync('commands.executeCommand', args),
};

export const env = {
  clipboard: { writeText: (...args: unknown[]) => recordAsync('env.clipboard.writeText', args) },
};

export const languages = {
  registerCodeLensProvider: () => noop,
};
