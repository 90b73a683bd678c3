// Where the real-VS-Code drivers find things. Shared by the integration driver (run.ts) and
// the UI test, which are both bundled three levels below the repo root (out/test/<dir>/*.js).
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repo root: out/test/<dir>/x.js → ../../.. (also right for test/<dir>/x.ts under ts-node). */
export const repoRoot = resolve(__dirname, '..', '..', '..');

/** Installed by scripts/vscode-host/setup.sh (see there for why it lives in .cache/). */
export const codeServerBin = join(repoRoot, '.cache', 'vscode-host', 'code-server', 'node_modules', '.bin', 'code-server');
export const setupScript = join(repoRoot, 'scripts', 'vscode-host', 'setup.sh');

/** Debian's Chromium; never a browser downloaded by a test tool (docs/vscode-host.md). */
export const chromiumBin = '/usr/bin/chromium';

export const artifactsRoot = join(repoRoot, '.test-artifacts');

/** A fresh, uniquely named folder for one run, e.g. .test-artifacts/vscode-host/20260123-091500-4242. */
export function newRunDir(kind: string): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp =
    `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-` +
    `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const parent = join(artifactsRoot, kind);
  const dir = join(parent, `${stamp}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  pruneOldRuns(parent);
  return dir;
}

/** Each run leaves a few MB (user data, logs, screenshots): keep the newest few, not all. */
const KEEP_RUNS = 8;

function pruneOldRuns(parent: string): void {
  const runs = readdirSync(parent)
    .filter((name) => /^\d{8}-\d{6}-\d+$/.test(name))
    .sort(); // the names start with a timestamp
  for (const old of runs.slice(0, Math.max(0, runs.length - KEEP_RUNS))) {
    rmSync(join(parent, old), { recursive: true, force: true });
  }
}

/** Fails with the command to run instead of a cryptic ENOENT later. */
export function assertHostInstalled(): void {
  const missing = [codeServerBin, chromiumBin].filter((p) => !existsSync(p));
  if (missing.length) {
    throw new Error(`not installed: ${missing.join(', ')}. Run: npm run setup:vscode-host`);
  }
}
