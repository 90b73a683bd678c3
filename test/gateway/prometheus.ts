/**
 * Prometheus for the tests (Debian's `prometheus` package: scripts/setup-test-deps.sh): promtool and the
 * shipped rules' paths, and a real Prometheus on 127.0.0.1 (a free port, a temporary TSDB) scraping a target.
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../server/sim';
import { freePort } from './etcd';
import { keepChildOutput, removeTestDir } from '../secrets';

export const PROMTOOL = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
export const RULES_DIR = join(ROOT, 'deploy', 'prometheus');
export const RULES_FILE = join(RULES_DIR, 'cluster-debugger.rules.yml');

/** The rules file's alerts, read line by line (its shape is fixed: `- alert:`, `expr:`, `runbook_url:`). */
export function alertsOf(text: string): { alert: string; expr: string; runbook: string }[] {
  const out: { alert: string; expr: string; runbook: string }[] = [];
  for (const line of text.split('\n')) {
    const alert = /^\s*- alert: (\S+)$/.exec(line);
    if (alert) out.push({ alert: alert[1]!, expr: '', runbook: '' });
    const expr = /^\s*expr: (.+)$/.exec(line);
    if (expr && out.length) out[out.length - 1]!.expr = expr[1]!;
    const runbook = /^\s*runbook_url: (\S+)$/.exec(line);
    if (runbook && out.length) out[out.length - 1]!.runbook = runbook[1]!;
  }
  return out;
}

export const PROMETHEUS = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

export interface RunningPrometheus {
  url: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Prometheus on 127.0.0.1 (a free port, a temporary TSDB), scraping `target` every second with `rules`. */
export async function startPrometheus(target: string, rules: string, deadlineMs = 30_000): Promise<RunningPrometheus> {
  assert.ok(
    existsSync(PROMETHEUS),
    `${PROMETHEUS} is missing: scripts/setup-test-deps.sh installs Debian's prometheus (or set PROMETHEUS_BIN)`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'cluster-debugger-prometheus-'));
  writeFileSync(join(dir, 'rules.yml'), rules);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'rule_files: [rules.yml]',
      'scrape_configs:',
      '  - job_name: cluster-debugger',
      `    static_configs: [{ targets: ['${target}'] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  keepChildOutput(child, 'prometheus');
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill();
      await exited;
    }
    removeTestDir(dir);
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await until(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${out}`);
        const res = await fetch(`${url}/-/ready`).catch(() => undefined);
        return res?.ok === true;
      },
      'Prometheus ready',
      deadlineMs,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, process: child, output: () => out, stop };
}

/** Waits until `ok` holds, polling every 250 ms, or fails saying what was not seen within the deadline. */
export async function until<T>(ok: () => Promise<T | false | undefined>, what: string, deadlineMs = 30_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const v = await ok();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`${what}: not seen within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
