/**
 * `cluster-sim --metrics-port` (#20 item 1: the gateway and the simulator serve /metrics alike):
 * by default `/metrics` is on the simulator's own port; with the flag it is on a port of its own,
 * and no longer on the main one, as the gateway's flag does. The built CLI, over real sockets.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

// Bundled to out/test/sim/metrics-port.test.js; the CLI is out/cluster-sim.js.
const CLI = join(__dirname, '..', '..', 'cluster-sim.js');

interface Started {
  child: ChildProcess;
  /** `listening ws://…` */
  url: string;
  /** `metrics http://…/metrics` */
  metrics: string;
}

/** Starts the CLI and reads its lines up to `listening` (the metrics line comes before it). */
async function startCli(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [CLI, '--port', '0', '--token', 'metrics-port-test', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 30 s: ${lines.join('\n')}${stderr}`)), 30_000);
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        const m = /^listening (ws:\/\/127\.0\.0\.1:\d+)$/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before listening: ${stderr}`));
    });
  });
  const metrics = lines.find((l) => l.startsWith('metrics '))?.slice('metrics '.length);
  assert.ok(metrics, `a metrics line in ${JSON.stringify(lines)}`);
  return { child, url, metrics };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** The ddl/backlog finding series, as the scenario makes it. */
const BACKLOG = /^cluster_debugger_findings\{[^}]*rule="ddl\/backlog"[^}]*\} [1-9]\d*$/m;

describe('cluster-sim --metrics-port', function () {
  this.timeout(60_000);
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) await stop(c);
  });

  it('default: /metrics on the simulator’s own port, which the metrics line names', async () => {
    const sim = await startCli(['--scenario', 'greptime-ddl-backlog']);
    children.push(sim.child);
    const http = sim.url.replace(/^ws:/, 'http:');
    assert.equal(sim.metrics, `${http}/metrics`);
    const res = await fetch(sim.metrics);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await res.text(), BACKLOG);
  });

  it('--metrics-port 0: /metrics on a port of its own, and no longer on the main port', async () => {
    const sim = await startCli(['--scenario', 'greptime-ddl-backlog', '--metrics-port', '0']);
    children.push(sim.child);
    const http = sim.url.replace(/^ws:/, 'http:');
    const own = new URL(sim.metrics);
    assert.equal(own.pathname, '/metrics');
    assert.equal(own.hostname, '127.0.0.1');
    assert.notEqual(own.port, new URL(http).port, 'a port of its own');
    const res = await fetch(sim.metrics);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, BACKLOG);
    assert.match(text, /^cluster_debugger_entities\{[^}]*collection="greptime\.procedures"[^}]*\} [1-9]\d*$/m);
    assert.ok(!text.includes('metrics-port-test'), 'no token in /metrics');
    assert.equal((await fetch(`${own.origin}/pd/api/v1/stores`)).status, 404, 'only /metrics there');
    // The main port serves its routes as before, but /metrics is not one of them any more (as the gateway's flag).
    assert.equal((await fetch(`${http}/metrics`)).status, 426);
    assert.equal((await fetch(`${http}/pd/api/v1/stores`)).status, 200);
  });

  it('a metrics port that is taken: exit 1 naming it; a bad value: exit 2, one line', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (busy.address() as AddressInfo).port;
      const child = spawn(process.execPath, [CLI, '--port', '0', '--token', 't', '--metrics-port', String(port)], { stdio: 'pipe' });
      children.push(child);
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      assert.equal(code, 1, stderr);
      assert.match(stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
    } finally {
      busy.close();
    }
    const r = spawnSync(process.execPath, [CLI, '--metrics-port', '70000'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /--metrics-port must be between 0 and 65535, got 70000/);
  });
});
