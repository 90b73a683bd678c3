/**
 * A bundled program (`out/cluster-sim.js`, `out/cluster-gateway.js`) as a child process of the
 * extension host, listening on a free loopback port with a fresh token.
 *
 * Pure Node (no `vscode` import). `child_process.fork` runs the script with
 * `process.execPath` (with `ELECTRON_RUN_AS_NODE` when that is the Electron
 * editor binary), so this works in desktop VS Code, in code-server's plain-Node
 * extension host, and in plain mocha alike, with no `node` on PATH.
 */
import { ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

export interface ProcessLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface BundledProcessOptions {
  /** Absolute path of the bundle. */
  script: string;
  /** Its flags (`--port 0 --host 127.0.0.1` are added). */
  args: readonly string[];
  /** The environment variable the program reads its token from. */
  tokenEnv: string;
  /** Prefix of its log lines, and its name in errors: `simulator`, `gateway`. */
  label: string;
  /** What the start line of the log adds, e.g. `scenario incident-all`. */
  describe?: string;
  /** How long to wait for the `listening ws://…` line. */
  startTimeoutMs?: number;
  log: ProcessLogger;
}

const LISTENING = /^listening (wss?:\/\/\S+)\s*$/;
/** Lines of stderr kept to explain a failed start. */
const STDERR_TAIL = 20;

export class BundledProcess {
  private exited = false;
  private readonly exitListeners: ((code: number | null, signal: NodeJS.Signals | null) => void)[] = [];

  protected constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly token: string,
  ) {
    child.on('exit', (code, signal) => {
      this.exited = true;
      for (const l of this.exitListeners) l(code, signal);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.exited;
  }

  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    this.exitListeners.push(listener);
  }

  /** Spawns the program; resolves once it prints `listening ws://…` (with its URL and token). */
  protected static spawn(opts: BundledProcessOptions): Promise<{ child: ChildProcess; url: string; token: string }> {
    // 32 random bytes: the token is the only thing between other local users' processes and the cluster.
    const token = randomBytes(32).toString('base64url');
    // The token goes in the environment, not in `--token`: other local users can read a
    // process's command line (ps, /proc/PID/cmdline) but not its environment. (An argument would
    // also be misread by the CLI's parser whenever the token starts with "-".)
    const child = fork(opts.script, ['--port', '0', '--host', '127.0.0.1', ...opts.args], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Not the extension host's flags: an inherited `--inspect` would fight over the debug port.
      execArgv: [],
      // In desktop VS Code `process.execPath` is the Electron binary: make it behave as Node, as
      // vscode-languageclient does for the server. Harmless under plain Node.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', ELECTRON_NO_ASAR: '1', [opts.tokenEnv]: token },
    });
    const { log, label } = opts;
    const stderrTail: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      log.warn(`[${label}] ${line}`);
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
    });
    const timeoutMs = opts.startTimeoutMs ?? 20_000;

    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        const tail = stderrTail.length ? `\n${stderrTail.join('\n')}` : '';
        reject(new Error(`The bundled ${label} did not start: ${why}${tail}`));
      };
      const timer = setTimeout(() => fail(`no "listening ws://…" line within ${timeoutMs / 1000} s`), timeoutMs);
      child.on('error', (err) => fail(err.message));
      child.on('exit', (code, signal) => fail(`it exited (${signal ?? `code ${code}`})`));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = LISTENING.exec(line.trim());
        if (!m || settled) {
          log.info(`[${label}] ${line}`);
          return;
        }
        settled = true;
        clearTimeout(timer);
        log.info(`[${label}] pid ${child.pid} listening on ${m[1]}${opts.describe ? ` (${opts.describe})` : ''}`);
        resolve({ child, url: m[1], token });
      });
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs = 3000): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      this.onExit(() => {
        clearTimeout(timer);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }
}
