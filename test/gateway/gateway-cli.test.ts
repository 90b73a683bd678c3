/**
 * `cluster-gateway` as a user runs it, with no store behind it: an empty config serves a cluster
 * where every subsystem is "not configured" (cluster-check: no findings, exit 0); a store it cannot
 * reach makes only that subsystem unavailable; a bad config is one line and exit 2.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterClient } from '../../src/cluster/client';
import { cli } from '../cli/cliProcess';
import { startGateway } from './gateway';
import { removeTestDir, testSecret } from '../secrets';

const TOKEN = testSecret('gateway');
/** The token from the environment, as a user may give it. */
const ENV = { env: { CLUSTER_GATEWAY_TOKEN: TOKEN } };

describe('cluster-gateway (no stores)', () => {
  let dir: string;
  const stops: Array<() => Promise<void>> = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-cli-'));
  });
  after(() => removeTestDir(dir));
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  function config(name: string, value: unknown): string {
    const file = join(dir, name);
    writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
    return file;
  }

  it('--config {}: every subsystem not configured, read-only; cluster-check finds nothing and exits 0', async () => {
    const gw = await startGateway({}, ENV);
    stops.push(gw.stop);
    assert.match(gw.stdout(), /^read-only$/m);
    const run = await cli([gw.url, '--token', TOKEN]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    for (const s of ['shards', 'wal', 'ddl', 'regions', 'partitions'])
      assert.match(run.stdout, new RegExp(`^not checked: ${s}: not configured \\(no \\w+ section`, 'm'));
    assert.match(run.stdout, /^read-only: the cluster refuses every repair$/m);
    assert.match(run.stdout, /No findings/);
    const json = JSON.parse((await cli([gw.url, '--token', TOKEN, '--format', 'json'])).stdout);
    assert.deepEqual(json.findings, []);
    assert.equal(json.readOnly, true);
    assert.equal(json.subsystems.ddl.state, 'not-configured');
  });

  it('a store it cannot reach: that subsystem is unavailable with the reason, the others are served', async () => {
    const gw = await startGateway(
      {
        greptime: { etcd: { endpoints: ['http://127.0.0.1:9'] } },
        quickwit: { postgres: 'postgres://nobody@127.0.0.1:9/metastore', node: 'http://127.0.0.1:9' },
      },
      ENV,
    );
    stops.push(gw.stop);
    const client = await ClusterClient.connect({ url: gw.url, token: TOKEN, clientName: 'test' });
    try {
      // Its first read may still be under way: wait (with a deadline) until the source has given up on the store.
      const deadline = Date.now() + 30_000;
      let status = await client.request('cluster.status', {});
      while (status.subsystems?.ddl?.reason === 'starting' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        status = await client.request('cluster.status', {});
      }
      for (const s of ['ddl', 'shards'] as const) {
        assert.equal(status.subsystems?.[s]?.state, 'unavailable', `${s}: ${JSON.stringify(status.subsystems?.[s])}`);
        assert.ok((status.subsystems?.[s]?.reason ?? '').length > 0, `${s} says why`);
        assert.notEqual(status.subsystems?.[s]?.reason, 'starting');
      }
      assert.equal(status.subsystems?.wal?.state, 'not-configured');
      assert.equal(status.readOnly, true);
    } finally {
      client.close();
    }
    const run = await cli([gw.url, '--token', TOKEN]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^not checked: ddl: unavailable \(.+\)$/m);
    assert.match(run.stdout, /^not checked: shards: unavailable \(.+\)$/m);
  });

  it('a bad config or bad flags: one line on stderr and exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [[], /--config FILE is required/],
      [['--config', join(dir, 'missing.json')], /cannot read .*missing\.json: ENOENT/],
      [['--config', config('broken.json', '{ "repairs": ')], /cannot read .*broken\.json/],
      [['--config', config('unknown.json', { repairs: false, bogus: 1 })], /unknown\.json is not a gateway config: .*bogus/],
      [['--config', config('typo.json', { fluvio: { metadataDir: 3 } })], /typo\.json is not a gateway config: .*fluvio/],
      [['--config', config('ok.json', {}), '--port', 'x'], /--port must be/],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args, {}, 30_000, 'cluster-gateway');
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      const lines = run.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `${args.join(' ')}: one line, got ${run.stderr}`);
      assert.match(lines[0], /^cluster-gateway: /);
      assert.match(lines[0], message);
      assert.equal(run.stdout, '');
    }
  });
});
