/**
 * `cluster-check diff` as a user runs it, against the real simulator: a snapshot taken
 * before a repair and one taken after it show exactly the repair's operations.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLLECTION_NAMES, type AnyEntity, type CollectionName } from '../../src/protocol';
import { modelFrom, renderSnapshot } from '../../src/analysis';
import { startSim, type RunningSim } from '../server/sim';
import { cli } from './cliProcess';
import { testSecret } from '../secrets';

interface DiffJson {
  identical: boolean;
  totals: { added: number; removed: number; changed: number; versionOnly: number };
  status: Record<string, { from: unknown; to: unknown }>;
  collections: Record<
    string,
    {
      added: number;
      removed: number;
      changed: number;
      versionOnly: number;
      truncated: boolean;
      entities: { removed: AnyEntity[]; added: AnyEntity[] };
    }
  >;
  findings: {
    appeared: Array<{ id: string; rule: string }>;
    resolved: Array<{ id: string; rule: string; count: number }>;
    changed: unknown[];
  };
}

/** The live cluster as a snapshot file, read entity by entity over the protocol (not through cluster-check). */
async function saveSnapshot(sim: RunningSim, file: string): Promise<void> {
  const client = await sim.client();
  const status = await client.request('cluster.status', {});
  const entities = new Map<CollectionName, AnyEntity[]>();
  for (const c of COLLECTION_NAMES) {
    const all: AnyEntity[] = [];
    for await (const page of client.listAll(c)) all.push(...page);
    entities.set(c, all);
  }
  writeFileSync(file, renderSnapshot(modelFrom(status, (c) => entities.get(c) as never)));
}

describe('cluster-check diff (real CLI, real simulator)', function () {
  this.timeout(90_000);
  const sims: RunningSim[] = [];
  afterEach(async () => {
    for (const s of sims.splice(0)) await s.stop();
  });
  async function sim(scenario: string, extra: string[] = []): Promise<RunningSim> {
    const s = await startSim(['--scenario', scenario, '--seed', '1', ...extra]);
    sims.push(s);
    return s;
  }

  it('before and after a repair: exactly the deleted shards are removed, and the repaired finding is resolved', async () => {
    const s = await sim('quickwit-dangling-shards');
    const dir = mkdtempSync(join(tmpdir(), 'cluster-diff-'));
    const before = join(dir, 'before.clustersnap');
    const after = join(dir, 'after.clustersnap');
    await saveSnapshot(s, before);
    const check = await cli([before, '--format', 'json']);
    const dangling = (JSON.parse(check.stdout).findings as Array<{ id: string; rule: string; count: number }>).filter(
      (f) => f.rule === 'shards/dangling',
    );
    assert.ok(dangling.length > 0, check.stdout);

    const same = await cli(['diff', before, s.url, '--token', s.token]);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    assert.match(same.stdout, /No differences/);

    const repair = await cli([s.url, '--token', s.token, '--repair', 'shards/dangling', '--yes']);
    assert.ok(repair.code === 0 || repair.code === 1, repair.stdout + repair.stderr);
    await saveSnapshot(s, after);

    const run = await cli(['diff', before, after, '--format', 'json', '--all']);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stderr, '');
    const diff = JSON.parse(run.stdout) as DiffJson;
    const deleted = dangling.reduce((n, f) => n + f.count, 0);
    assert.deepEqual(Object.keys(diff.collections), ['quickwit.metastore.shards'], run.stdout.slice(0, 2000));
    const shards = diff.collections['quickwit.metastore.shards'];
    assert.deepEqual([shards.removed, shards.added, shards.changed, shards.versionOnly], [deleted, 0, 0, 0]);
    assert.equal(shards.entities.removed.length, deleted);
    assert.equal(shards.truncated, false);
    assert.deepEqual(diff.status, {});
    assert.deepEqual(diff.findings.resolved.map((f) => f.id).sort(), dangling.map((f) => f.id).sort());
    assert.deepEqual(diff.findings.appeared, []);
    assert.deepEqual(diff.findings.changed, []);

    // The same comparison against the live cluster (B live, A the file), in text: capped, with counts.
    const live = await cli(['diff', before, s.url], { CLUSTER_SIM_TOKEN: s.token });
    assert.equal(live.code, 1, live.stderr);
    assert.match(live.stdout, new RegExp(`quickwit\\.metastore\\.shards: ${deleted.toLocaleString('en-US')} removed`));
    assert.match(live.stdout, /^ {2}- shard /m);
    assert.match(live.stdout, /resolved {2}shards\/dangling:/);
    assert.match(
      live.stdout,
      /^Differences: 0 added, [\d,]+ removed, 0 changed in 1 collection; findings: 0 appeared, \d+ resolved, 0 changed count\.$/m,
    );
    if (deleted > 20) assert.match(live.stdout, /… and [\d,]+ more removed \(--all shows every one\)/);

    // SARIF: the findings of B new since A; there are none after a repair, and all of A's the other way round.
    const sarif = JSON.parse((await cli(['diff', before, after, '--format', 'sarif'])).stdout);
    assert.equal(sarif.version, '2.1.0');
    assert.deepEqual(sarif.runs[0].results, []);
    const back = JSON.parse((await cli(['diff', after, before, '--format', 'sarif'])).stdout);
    assert.deepEqual(
      back.runs[0].results.map((r: { partialFingerprints: { findingId: string } }) => r.partialFingerprints.findingId).sort(),
      dangling.map((f) => f.id).sort(),
    );
    for (const r of back.runs[0].results)
      assert.match(r.locations[0].physicalLocation.artifactLocation.uri, /^file:.*before\.clustersnap$/);
  });

  it('two live clusters with two tokens: --token-a and --token-b', async () => {
    const a = await sim('incident-all', ['--token', testSecret('sim-a')]);
    const b = await sim('incident-all', ['--token', testSecret('sim-b')]);
    const same = await cli(['diff', a.url, b.url, '--token-a', a.token, '--token-b', b.token]);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    await (
      await b.client()
    ).request('sim.setBugs', { bugs: { shards: 'buggy', wal: 'buggy', ddl: 'buggy', regions: 'buggy', partitions: 'fixed' } });
    const differ = await cli(['diff', a.url, b.url, '--token-a', a.token, '--token-b', b.token, '--format', 'json']);
    assert.equal(differ.code, 1, differ.stderr);
    assert.deepEqual((JSON.parse(differ.stdout) as DiffJson).status['bugs.partitions'], { from: 'buggy', to: 'fixed' });
    const wrong = await cli(['diff', a.url, b.url, '--token', a.token]);
    assert.equal(wrong.code, 2);
    assert.equal(wrong.stderr.trim().split('\n').length, 1, wrong.stderr);
    assert.match(wrong.stderr, /^cluster-check: cannot read B ws:/);
  });

  it('exits 2 with one line on usage errors and unreadable files', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cluster-diff-')), 'garbage.clustersnap');
    writeFileSync(file, 'not a snapshot\n');
    for (const args of [
      ['diff'],
      ['diff', 'a.clustersnap'],
      ['diff', 'a', 'b', 'c'],
      ['diff', 'a', 'b', '--limit', 'x'],
      ['diff', '/nonexistent.clustersnap', file],
      ['diff', file, file],
    ]) {
      const run = await cli(args);
      assert.equal(run.code, 2, args.join(' '));
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.equal(run.stdout, '');
    }
    const help = await cli(['diff', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--token-a/);
  });
});
