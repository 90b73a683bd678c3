/** The built `cluster-sim` CLI: its ready line, its token line, SIGTERM, usage errors. */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ClusterClient } from '../../src/cluster/client';

// Bundled to out/test/sim/cli.test.js; the CLI is out/cluster-sim.js.
const CLI = join(__dirname, '..', '..', 'cluster-sim.js');

describe('cluster-sim CLI', () => {
  it('prints its token and "listening ws://HOST:PORT", serves, and exits 0 on SIGTERM, even mid-run', async () => {
    const env = { ...process.env };
    delete env.CLUSTER_SIM_TOKEN;
    const child = spawn(process.execPath, [CLI, '--scenario', 'tikv-stale-prepared-region', '--port', '0', '--seed', '3'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const lines: string[] = [];
      const url = await new Promise<string>((resolve, reject) => {
        let buf = '';
        child.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          const parts = buf.split('\n');
          buf = parts.pop()!;
          for (const line of parts) {
            lines.push(line);
            const m = /^listening (ws:\/\/127\.0\.0\.1:\d+)$/.exec(line);
            if (m) resolve(m[1]);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited ${code} before listening`)));
      });
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
