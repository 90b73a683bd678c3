// Starts and stops one code-server (VS Code 1.100.3 served to a browser) for one test run.
// Every folder it writes to is fresh and inside the run's folder, so runs never share state
// and nothing leaks into ~/.config, ~/.local/share, ~/.cache or /tmp (docs/vscode-host.md).
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeServerBin } from './paths';

export interface CodeServerOptions {
  /** Folder for this run; user data, extensions, XDG folders and the log go below it. */
  runDir: string;
  /** A packaged extension to install before starting. */
  vsix?: string;
  /** Extra user settings, merged over the quiet defaults below. */
  settings?: Record<string, unknown>;
  /** Progress lines ("installing…", "listening on…"). */
  log?: (line: string) => void;
}

/** User settings that keep the workbench quiet and deterministic for tests. */
const quietSettings: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'security.workspace.trust.startupPrompt': 'never',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'window.dialogStyle': 'custom',
};

const flags = [
  '--auth',
  'none',
  '--disable-telemetry',
  '--disable-update-check',
  '--disable-workspace-trust',
  '--disable-getting-started-override',
  '--ignore-last-opened',
];

const listeningLine = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)\//;
const startDeadlineMs = 30_000;

export class CodeServer {
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly logFile: string,
    private readonly runtimeDir: string,
  ) {
    child.once('exit', () => (this.exited = true));
    // Last resort: if the driver dies without calling stop(), take code-server with it.
    process.once('exit', () => {
      this.killNow();
      removeDir(this.runtimeDir);
    });
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** A path on this machine as the workbench sees it. The authority must match the page's host:port. */
  remoteUri(absPath: string): string {
    return `vscode-remote://127.0.0.1:${this.port}${absPath}`;
  }

  /** The workbench URL opening `folder`, with an optional test `payload` (extension development/tests paths). */
  workbenchUrl(folder: string, payload?: Array<[string, string]>): string {
    const query = new URLSearchParams({ folder });
    if (payload) query.set('payload', JSON.stringify(payload));
    return `${this.origin}/?${query.toString()}`;
  }

  static async start(opts: CodeServerOptions): Promise<CodeServer> {
    const log = opts.log ?? (() => {});
    const dirs = prepareDirs(opts.runDir, opts.settings);
    const env = serverEnv(dirs);
    const common = ['--user-data-dir', dirs.userData, '--extensions-dir', dirs.extensions];

    if (opts.vsix) {
      log(`installing ${opts.vsix}`);
      await installExtension(opts.vsix, common, env);
    }

    const logFile = join(opts.runDir, 'code-server.log');
    const logStream = createWriteStream(logFile);
    // Port 0: code-server picks a free port and prints it, so two runs never race for one.
    const child = spawn(codeServerBin, ['--bind-addr', '127.0.0.1:0', ...flags, ...common], {
      env,
      cwd: opts.runDir,
      detached: true, // own process group: stop() kills code-server and every process it started
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(logStream, { end: false });
    child.stderr!.pipe(logStream, { end: false });

    const port = await new Promise<number>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => fail(`code-server did not print its port within ${startDeadlineMs / 1000} s`), startDeadlineMs);
      const onData = (chunk: Buffer) => {
        seen += chunk.toString();
        const m = listeningLine.exec(seen);
        if (m) done(Number(m[1]));
      };
      const onExit = (code: number | null, signal: string | null) =>
        fail(`code-server exited during start-up (code ${code}, signal ${signal})`);
      const cleanup = () => {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        child.off('error', onError);
      };
      const onError = (err: Error) => fail(`could not start ${codeServerBin}: ${err.message}`);
      function done(p: number) {
        cleanup();
        resolve(p);
      }
      function fail(msg: string) {
        cleanup();
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        removeDir(dirs.xdg.runtime);
        reject(new Error(`${msg}. Log: ${logFile}\n${seen.split('\n').slice(-15).join('\n')}`));
      }
      child.stdout!.on('data', onData);
      child.once('exit', onExit);
      child.once('error', onError);
    });

    const server = new CodeServer(child, port, logFile, dirs.xdg.runtime);
    await server.waitHealthy(Date.now() + startDeadlineMs);
    log(`code-server listening on ${server.origin} (log: ${logFile})`);
    return server;
  }

  /** /healthz answers 200 once the server accepts workbench connections. */
  private async waitHealthy(deadline: number): Promise<void> {
    let last = '';
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`code-server exited before it was healthy. Log: ${this.logFile}`);
      try {
        const res = await fetch(`${this.origin}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100)); // polling interval, bounded by the deadline
    }
    throw new Error(`code-server /healthz did not answer 200 in time (last: ${last}). Log: ${this.logFile}`);
  }

  /** Stops the whole process group: SIGTERM, then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    if (!this.exited && this.child.pid) {
      const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
      try {
        process.kill(-this.child.pid, 'SIGTERM');
        const timer = setTimeout(() => this.killNow(), 5000);
        await exited;
        clearTimeout(timer);
      } catch {
        /* already gone */
      }
    }
    this.killNow(); // helpers (extension host, file watcher) that ignored SIGTERM
    removeDir(this.runtimeDir);
  }

  private killNow(): void {
    if (!this.child.pid) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      /* group already gone */
    }
  }
}

interface RunDirs {
  userData: string;
  extensions: string;
  xdg: { config: string; data: string; cache: string; runtime: string };
  tmp: string;
}

function prepareDirs(runDir: string, settings?: Record<string, unknown>): RunDirs {
  const dirs: RunDirs = {
    userData: join(runDir, 'user-data'),
    extensions: join(runDir, 'extensions'),
    xdg: {
      config: join(runDir, 'xdg', 'config'),
      data: join(runDir, 'xdg', 'data'),
      cache: join(runDir, 'xdg', 'cache'),
      // Sockets live here and a socket path may not exceed 107 bytes: keep it short, in /tmp.
      runtime: mkdtempSync(join(tmpdir(), 'vscode-host-')),
    },
    tmp: join(runDir, 'tmp'),
  };
  for (const d of [dirs.extensions, dirs.tmp, dirs.xdg.config, dirs.xdg.data, dirs.xdg.cache]) {
    mkdirSync(d, { recursive: true });
  }
  chmodSync(dirs.xdg.runtime, 0o700); // XDG requires it private
  mkdirSync(join(dirs.userData, 'User'), { recursive: true });
  writeFileSync(join(dirs.userData, 'User', 'settings.json'), JSON.stringify({ ...quietSettings, ...settings }, null, 2));
  return dirs;
}

function serverEnv(dirs: RunDirs): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Drop variables that make code-server act as a CLI for an outer VS Code (run from its
  // terminal) or make Electron binaries behave as Node.
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(VSCODE_|ELECTRON_)/.test(k)) env[k] = v;
  }
  return {
    ...env,
    XDG_CONFIG_HOME: dirs.xdg.config,
    XDG_DATA_HOME: dirs.xdg.data,
    XDG_CACHE_HOME: dirs.xdg.cache,
    XDG_RUNTIME_DIR: dirs.xdg.runtime,
    TMPDIR: dirs.tmp,
    // An empty gallery: no marketplace look-ups that cannot succeed offline.
    EXTENSIONS_GALLERY: '{"serviceUrl":""}',
  };
}

function installExtension(vsix: string, common: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(codeServerBin, ['--install-extension', vsix, ...common], { env, timeout: 120_000 }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`;
      if (err || !/successfully installed/i.test(out)) {
        reject(new Error(`code-server --install-extension ${vsix} failed: ${err?.message ?? ''}\n${out.trim()}`));
      } else {
        resolve();
      }
    });
  });
}

function removeDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* best effort: it is in /tmp */
  }
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
