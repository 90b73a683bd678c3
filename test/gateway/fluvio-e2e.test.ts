/**
 * Fluvio end to end: `cluster-sim --fluvio-metadata DIR` writes the SC's
 * metadata files; `cluster-gateway` with only a fluvio section reads them;
 * `cluster-check` through it reports what it reports against the simulator.
 * Repairs are compare-and-swaps on the files: a file another writer changed
 * is refused and left as that writer made it.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterClient } from '../../src/cluster/client';
import { decodePartitionFile } from '../../src/codecs/fluvio';
import { scWrite as scWriteOf } from './fluvio-sc';
import { startSim, type RunningSim } from '../server/sim';
import { cli } from '../cli/cliProcess';
import { startGateway } from './gateway';
import { SCENARIO_RULES } from '../scenarioRules';
import { testSecret } from '../secrets';

/** The gateway's token (test/secrets.ts: a whole test run is searched for it). */
const TOKEN = testSecret('gateway');

async function report(url: string, token: string): Promise<{ findings: Array<{ rule: string; samples?: unknown }> }> {
  const run = await cli([url, '--token', token, '--format', 'json']);
  return JSON.parse(run.stdout) as { findings: Array<{ rule: string }> };
}
const rules = (r: { findings: Array<{ rule: string }> }) => [...new Set(r.findings.map((f) => f.rule))].sort();

function files(dir: string): Map<string, string> {
  const p = join(dir, 'Partition');
  return new Map(
    readdirSync(p)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => [f, readFileSync(join(p, f), 'utf8')]),
  );
}

/** Partition files Online whose leader SPU's disk is full and which it reported OutOfStorage (what the rule flags). */
function targets(dir: string): string[] {
  const storage = new Map<number, { freeBytes: number; outOfStorage: string[] }>();
  for (const f of readdirSync(join(dir, '.cluster-sim'))) {
    storage.set(
      Number(/spu-(\d+)/.exec(f)![1]),
      JSON.parse(readFileSync(join(dir, '.cluster-sim', f), 'utf8')) as { freeBytes: number; outOfStorage: string[] },
    );
  }
  return [...files(dir)]
    .filter(([, text]) => {
      const d = decodePartitionFile(text);
      const s = d.ok ? storage.get(d.entity.leader.spu) : undefined;
      return d.ok && d.entity.resolution === 'Online' && s?.freeBytes === 0 && s.outOfStorage.includes(d.entity.key);
    })
    .map(([f]) => f)
    .sort();
}

describe("fluvio through cluster-gateway (the SC's metadata files)", function () {
  this.timeout(120_000);
  let sim: RunningSim | undefined;
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await sim?.stop();
    sim = undefined;
  });

  async function setup(repairs: boolean) {
    const dir = join(mkdtempSync(join(tmpdir(), 'fluvio-meta-')), 'metadata');
    sim = await startSim(['--scenario', 'fluvio-out-of-space-reverted', '--seed', '1', '--fluvio-metadata', dir]);
    const spuStorage = readdirSync(join(dir, '.cluster-sim')).map((f) => ({
      spuId: Number(/spu-(\d+)/.exec(f)![1]),
      file: join(dir, '.cluster-sim', f),
      fullBelowBytes: 0,
    }));
    const gw = await startGateway({ fluvio: { metadataDir: dir, spuStorage }, repairs, pollMs: 200 }, { token: TOKEN });
    stops.push(gw.stop);
    return { dir, gw };
  }

  it('fluvio-out-of-space-reverted: same rule ids as the simulator; --repair all clears it; a file the SC changed meanwhile is refused and survives', async () => {
    const { dir, gw } = await setup(true);
    const expected = [...SCENARIO_RULES['fluvio-out-of-space-reverted']].sort();
    assert.deepEqual(rules(await report(sim!.url, sim!.token)), expected);
    assert.deepEqual(rules(await report(gw.url, TOKEN)), expected, gw.output());

    const planned = targets(dir);
    assert.ok(planned.length >= 2, `targets: ${planned.join(', ')}`);
    const before = files(dir);
    const moved = planned[0]!;
    const d = decodePartitionFile(before.get(moved)!);
    assert.ok(d.ok);
    const scWrite = scWriteOf(before.get(moved)!, 'LeaderOffline');
    const client = await ClusterClient.connect({ url: gw.url, token: TOKEN, clientName: 'fluvio-e2e' });
    try {
      // Plan from the versions the gateway shows, then let "the SC" change one target before the write.
      const plannedKeys = planned.map((f) => f.replace(/\.yaml$/, ''));
      const shown = await client.request('cluster.get', { collection: 'fluvio.partitions', keys: plannedKeys });
      const versionOf = new Map((shown.items as { key: string; version: number }[]).map((e) => [e.key, e.version]));
      const expectations = plannedKeys.map((key) => ({ key, version: versionOf.get(key)! }));
      assert.ok(
        expectations.every((e) => e.version !== undefined),
        JSON.stringify(shown.items),
      );
      writeFileSync(join(dir, 'Partition', moved), scWrite);
      const { incarnation } = await client.request('cluster.status', {});
      const result = await client.request('repair', {
        requestId: 'fluvio-cas-1',
        incarnation: incarnation!,
        repair: { command: 'fluvio.restoreFromSpuReport', targets: expectations },
      });
      const byKey = new Map(result.items.map((i) => [i.key, i]));
      assert.equal(byKey.get(expectations[0]!.key)!.status, 'refused', JSON.stringify(result.items));
      assert.match(byKey.get(expectations[0]!.key)!.message, /changed/);
      for (const e of expectations.slice(1)) assert.equal(byKey.get(e.key)!.status, 'applied', JSON.stringify(byKey.get(e.key)));
    } finally {
      client.close();
    }
    const after = files(dir);
    assert.equal(after.get(moved), scWrite, "the SC's write survives");
    for (const f of planned.slice(1)) {
      const e = decodePartitionFile(after.get(f)!);
      assert.ok(e.ok && e.entity.resolution === 'OutOfStorage', f);
    }
    for (const [f, text] of before) if (!planned.includes(f)) assert.equal(after.get(f), text, `${f} untouched`);

    // Put one target back to Online (the SC's election again): cluster-check --repair all --yes clears the finding.
    const again = decodePartitionFile(after.get(planned[1]!)!);
    assert.ok(again.ok);
    writeFileSync(join(dir, 'Partition', planned[1]!), scWriteOf(after.get(planned[1]!)!, 'Online'));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && rules(await report(gw.url, TOKEN)).length === 0) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(rules(await report(gw.url, TOKEN)), expected);
    const run = await cli([gw.url, '--token', TOKEN, '--repair', 'all', '--yes']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual((await report(gw.url, TOKEN)).findings, []);
    const fixed = decodePartitionFile(readFileSync(join(dir, 'Partition', planned[1]!), 'utf8'));
    assert.ok(fixed.ok && fixed.entity.resolution === 'OutOfStorage');
  });

  it('with "repairs": false every repair is refused and no file changes', async () => {
    const { dir, gw } = await setup(false);
    const before = files(dir);
    const run = await cli([gw.url, '--token', TOKEN, '--repair', 'all', '--yes']);
    assert.notEqual(run.code, 0);
    assert.match(run.stdout + run.stderr, /read-only/);
    assert.deepEqual(files(dir), before);
    assert.deepEqual(rules(await report(gw.url, TOKEN)), [...SCENARIO_RULES['fluvio-out-of-space-reverted']].sort());
  });

  it('a metadata folder that cannot be read makes partitions unavailable with the reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fluvio-bad-'));
    const gw = await startGateway({ fluvio: { metadataDir: join(dir, 'missing') }, pollMs: 200 }, { token: TOKEN });
    stops.push(gw.stop);
    assert.match(gw.output(), /partitions: unavailable \(cannot read the SC's metadata folder/);
  });
});
