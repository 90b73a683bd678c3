/**
 * Drives the real language server process (`node out/server.js --stdio`)
 * over LSP, recording what it publishes so tests can wait on it with a
 * deadline instead of sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type CancellationToken,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type { Diagnostic, PublishDiagnosticsParams } from 'vscode-languageserver/node';
import type { DidChangeParams } from '../../src/protocol';
import { OUT, type RunningSim } from './sim';
import { keepChildOutput } from '../secrets';

export class LspHarness {
  readonly diagnostics = new Map<string, Diagnostic[]>();
  readonly didChanges: DidChangeParams[] = [];
  readonly logs: string[] = [];
  /** `$/progress` notifications, in order (for a `workDoneToken` we gave, or one the server created). */
  readonly progress: Array<{ token: string | number; value: { kind: string; message?: string; percentage?: number } }> = [];
  /** Tokens of the work-done progress the server created (`window/workDoneProgress/create`). */
  readonly createdProgress: Array<string | number> = [];
  /** The server's answer to `initialize` (its capabilities). */
  initializeResult: unknown;
  private readonly waiters: Array<() => void> = [];

  private constructor(
    readonly process: ChildProcess,
    readonly connection: MessageConnection,
  ) {}

  /**
   * `textDocument` is the client's textDocument capabilities; the default declares what VS Code
   * does for code actions (disabledSupport: disabled quick fixes are sent, with their reason).
   */
  static async start(
    initializationOptions: unknown = {},
    textDocument: object = { codeAction: { disabledSupport: true } },
  ): Promise<LspHarness> {
    const child = spawn(process.execPath, [join(OUT, 'server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    // Everything the server says (its LSP messages: statuses, errors, logs) is an output of the run (test/secrets.ts).
    keepChildOutput(child, 'language-server');
    const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const h = new LspHarness(child, connection);
    connection.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      h.diagnostics.set(p.uri, p.diagnostics);
      h.wake();
    });
    connection.onNotification('clusterDebugger/didChange', (p: DidChangeParams) => {
      h.didChanges.push(p);
      h.wake();
    });
    connection.onNotification('window/logMessage', (p: { message: string }) => {
      h.logs.push(p.message);
      h.wake();
    });
    connection.onRequest('window/workDoneProgress/create', (p: { token: string | number }) => {
      h.createdProgress.push(p.token);
      h.wake();
      return null;
    });
    // jsonrpc routes `$/progress` to per-token handlers; with none registered, every token lands here.
    connection.onUnhandledProgress((p) => {
      h.progress.push(p as LspHarness['progress'][number]);
      h.wake();
    });
    connection.listen();
    h.initializeResult = await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: null,
      capabilities: { window: { workDoneProgress: true }, workspace: { configuration: false }, textDocument },
      initializationOptions,
    });
    await connection.sendNotification('initialized', {});
    return h;
  }

  request<R>(method: string, params: unknown, token?: CancellationToken): Promise<R> {
    // Not `sendRequest(method, params, undefined)`: jsonrpc would send the undefined as a second parameter.
    return (token ? this.connection.sendRequest(method, params, token) : this.connection.sendRequest(method, params)) as Promise<R>;
  }

  notify(method: string, params: unknown): Promise<void> {
    return this.connection.sendNotification(method, params);
  }

  /** Resolves with `probe()`'s value once it is truthy (re-checked on every notification); rejects at the deadline. */
  waitFor<T>(what: string, probe: () => T | undefined | null | false, deadlineMs = 20_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v: T | undefined | null | false;
        try {
          v = probe();
        } catch (e) {
          reject(e);
          return true;
        }
        if (v) {
          clearTimeout(timer);
          resolve(v);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`timed out after ${deadlineMs} ms waiting for ${what}; last log lines:\n${this.logs.slice(-8).join('\n')}`));
      }, deadlineMs);
      const waiter = () => {
        if (check()) this.waiters.splice(this.waiters.indexOf(waiter), 1);
      };
      if (!check()) this.waiters.push(waiter);
    });
  }

  /** Waits for diagnostics on `uri` that satisfy `test`. */
  waitForDiagnostics(uri: string, test: (d: Diagnostic[]) => boolean, what = `diagnostics on ${uri}`): Promise<Diagnostic[]> {
    return this.waitFor(what, () => {
      const d = this.diagnostics.get(uri);
      return d && test(d) ? d : undefined;
    });
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null) return;
    const exited = new Promise((r) => this.process.once('exit', r));
    try {
      await Promise.race([this.connection.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
      await this.connection.sendNotification('exit');
    } catch {
      // already gone
    }
    this.connection.dispose();
    setTimeout(() => this.process.kill(), 2000).unref();
    await exited;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/**
 * A fresh language server for each test, and the simulators the test starts
 * (push them on `sims`), all stopped after it. A test may replace `lsp` (to
 * start one with other options); the last one is stopped.
 */
export function useLanguageServer(): { lsp: LspHarness; readonly sims: RunningSim[] } {
  const ctx = { sims: [] as RunningSim[] } as { lsp: LspHarness; sims: RunningSim[] };
  beforeEach(async () => {
    ctx.lsp = await LspHarness.start();
  });
  afterEach(async () => {
    await ctx.lsp?.stop();
    for (const s of ctx.sims.splice(0)) await s.stop();
  });
  return ctx;
}
