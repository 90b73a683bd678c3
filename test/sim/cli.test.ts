/**
 * The built `cluster-sim` CLI: its ready line, its token line, SIGTERM, usage errors; and
 * `--metrics-port` (#20 item 1: the gateway and the simulator serve /metrics alike): by default
 * `/metrics` is on the simulator's own port; with the flag it is on a port of its own, and no longer
 * on the main one, as the gateway's flag does.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ClusterClient } from '../../src/cluster/client';
import { testSecret } from '../secrets';

// Bundled to out/test/sim/cli.test.js; the CLI is out/cluster-sim.js.
const CLI = join(__dirname, '..', '..', 'cluster-sim.js');

interface Started {
  child: ChildProcess;
  /** Resolves with its exit code. */
  exited: Promise<number | null>;
  /** `listening ws://…` */
  url: string;
  /** Its stdout lines up to `listening` (the others come before it). */
  lines: string[];
}

/** Starts the CLI and reads its lines up to `listening ws://127.0.0.1:PORT`; rejects if it exits first. */
async function startCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Started> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines: string[] = [];
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const parts = buf.split('\n');
        buf = parts.pop()!;
        for (const line of parts) {
          lines.push(line);
          const m = /^listening (ws:\/\/127\.0\.0\.1:\d+)$/.exec(line);
          if (m) resolve(m[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`exited ${code} before listening`)));
    });
    return { child, exited, url, lines };
  } catch (e) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw e;
  }
}

describe('cluster-sim CLI', () => {
  it('prints its token and "listening ws://HOST:PORT", serves, and exits 0 on SIGTERM, even mid-run', async () => {
    const env = { ...process.env };
    delete env.CLUSTER_SIM_TOKEN;
    const { child, exited, url, lines } = await startCli(['--scenario', 'tikv-stale-prepared-region', '--port', '0', '--seed', '3'], env);
    try {
      const tokenLine = lines.find((l) => l.startsWith('token: '));
      assert.ok(tokenLine, `a token line in ${JSON.stringify(lines)}`);
      // The HTTP address for a gateway's config is printed, and serves the upstream routes (PD's, here).
      const httpLine = lines.find((l) => l.startsWith('http: '));
      assert.equal(httpLine?.split(' ')[1], url.replace(/^ws/, 'http'), `an http line in ${JSON.stringify(lines)}`);
      const stores = await fetch(`${url.replace(/^ws/, 'http')}/pd/api/v1/stores`);
      assert.equal(stores.status, 200);
      assert.ok(((await stores.json()) as { count: number }).count > 0);
      const client = await ClusterClient.connect({ url, token: tokenLine.slice('token: '.length), clientName: 'cli-test' });
      assert.equal(client.init.status.scenario, 'tikv-stale-prepared-region');
      assert.equal(client.init.status.seed, 3);
      // SIGTERM in the middle of a long clock run still shuts down at once: the run is cut short, not finished first.
      await client.request('sim.reset', { scenario: 'greptime-ddl-backlog' });
      await client.request('sim.inject', { fault: 'greptime.remoteWalUnavailable' });
      const run = client.request('sim.tick', { ticks: 10_000 }).then(
        () => 'finished',
        () => 'cut short',
      );
      // Replies keep request order per connection: a second connection shows the server is up while the run goes on.
      const other = await ClusterClient.connect({ url, token: tokenLine.slice('token: '.length), clientName: 'cli-test-2' });
      await other.request('cluster.status', {});
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.equal(await run, 'cut short');
      client.close();
      other.close();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('exits 2 with one line on a usage error', () => {
    const r = spawnSync(process.execPath, [CLI, '--bugs', 'maybe'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /--bugs must be buggy or fixed/);
  });
});

describe('cluster-sim --metrics-port', function () {
  this.timeout(60_000);
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  });

  /** The simulator, and the address its `metrics http://…/metrics` line names. */
  async function startSim(...args: string[]): Promise<{ http: string; metrics: string }> {
    const sim = await startCli(['--port', '0', '--token', testSecret('metrics-port'), '--scenario', 'greptime-ddl-backlog', ...args]);
    children.push(sim.child);
    const metrics = sim.lines.find((l) => l.startsWith('metrics '))?.slice('metrics '.length);
    assert.ok(metrics, `a metrics line in ${JSON.stringify(sim.lines)}`);
    return { http: sim.url.replace(/^ws:/, 'http:'), metrics };
  }

  /** The ddl/backlog finding series, as the scenario makes it. */
  const BACKLOG = /^cluster_debugger_findings\{[^}]*rule="ddl\/backlog"[^}]*\} [1-9]\d*$/m;

  it('default: /metrics on the simulator’s own port, which the metrics line names', async () => {
    const { http, metrics } = await startSim();
    assert.equal(metrics, `${http}/metrics`);
    const res = await fetch(metrics);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(await res.text(), BACKLOG);
  });

  it('--metrics-port 0: /metrics on a port of its own, and no longer on the main port', async () => {
    const { http, metrics } = await startSim('--metrics-port', '0');
    const own = new URL(metrics);
    assert.equal(own.pathname, '/metrics');
    assert.equal(own.hostname, '127.0.0.1');
    assert.notEqual(own.port, new URL(http).port, 'a port of its own');
    const res = await fetch(metrics);
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
      const r = spawnSync(
        process.execPath,
        [CLI, '--port', '0', '--token', testSecret('metrics-port-busy'), '--metrics-port', String(port)],
        {
          encoding: 'utf8',
          timeout: 30_000, // it must exit by itself; a hang is a failure, not a stuck suite
        },
      );
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
    } finally {
      busy.close();
    }
    const r = spawnSync(process.execPath, [CLI, '--metrics-port', '70000'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /--metrics-port must be between 0 and 65535, got 70000/);
  });
});
