/**
 * The repair journal and undo, through `cluster-check` against the simulator:
 * a repair then its undo gives back the cluster it had (entity by entity, same
 * fields); an entity someone changed since is refused and left alone; a journal
 * that cannot be written stops the repair before anything is sent; a process
 * killed between batches leaves a journal that says which batches were applied.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JournalLine } from '../../src/protocol';
import { parseJournal, repairHistory } from '../../src/engine/journal';
import { BatchGate } from '../server/batchGate';
import { OUT, startSim, type RunningSim } from '../server/sim';
import { cli } from './cliProcess';
import { entityState, type State } from './state';
import { removeTestDir } from '../secrets';

async function simState(sim: RunningSim): Promise<State> {
  const client = await sim.client();
  return entityState((c) => client.listAll(c));
}

export function journalLines(path: string): JournalLine[] {
  const read = parseJournal(readFileSync(path, 'utf8'));
  assert.deepEqual(read.problems, []);
  return read.lines;
}

describe('repair journal and undo (cluster-check, simulator)', function () {
  this.timeout(120_000);
  let dir: string;
  const sims: RunningSim[] = [];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'journal-'))));
  afterEach(async () => {
    for (const s of sims.splice(0)) await s.stop();
    removeTestDir(dir);
  });
  async function sim(args: string[]): Promise<RunningSim> {
    const s = await startSim(args);
    sims.push(s);
    return s;
  }

  for (const [scenario, rule] of [
    ['quickwit-dangling-shards', 'shards/dangling'],
    ['fluvio-out-of-space-reverted', 'partitions/online-out-of-space'],
  ] as const) {
    it(`${scenario}: a repair and its undo return the cluster to its state before`, async () => {
      const s = await sim(['--scenario', scenario, '--seed', '5']);
      const before = await simState(s);
      const journal = join(dir, 'repairs.jsonl');
      const repair = await cli([s.url, '--token', s.token, '--repair', rule, '--yes', '--journal', journal]);
      assert.ok(repair.code === 0 || repair.code === 1, repair.stderr);
      assert.match(repair.stdout, /\[safe\], .*, can be undone$/m, 'the plan says it can be undone before it runs');
      const repaired = await simState(s);
      assert.notDeepEqual(repaired, before, 'the repair changed the cluster');

      const lines = journalLines(journal);
      assert.equal(lines[0].type, 'repair');
      const intents = lines.filter((l) => l.type === 'intent');
      assert.ok(intents.length > 0);
      for (const i of intents) for (const b of i.before) assert.ok(b.entity, `before-image of ${b.key}`);
      assert.equal(lines.filter((l) => l.type === 'result').length, intents.length, 'every batch has its result');
      const [entry] = repairHistory(lines);
      assert.equal(entry.undoable, true, entry.undoNote);

      const undo = await cli(['undo', '--journal', journal, '--last', '--token', s.token, '--yes']);
      assert.equal(undo.code, 0, undo.stdout + undo.stderr);
      assert.deepEqual(await simState(s), before, 'every entity is back, with the same fields');
      const after = repairHistory(journalLines(journal));
      assert.equal(after[0].undoOf, entry.id, 'the undo is journalled too');
      assert.equal(after[1].undoable, false, 'and the repair is not offered again');
    });
  }

  it('an undo leaves an entity someone changed since alone, and reports it refused', async () => {
    const s = await sim(['--scenario', 'fluvio-out-of-space-reverted', '--seed', '5']);
    const before = await simState(s);
    const journal = join(dir, 'repairs.jsonl');
    const repair = await cli([s.url, '--token', s.token, '--repair', 'partitions/online-out-of-space', '--yes', '--journal', journal]);
    assert.ok(repair.code === 0 || repair.code === 1, repair.stderr);
    // Another writer: the SC loses its link to the SPU and rewrites the partitions it leads.
    const client = await s.client();
    await client.request('sim.inject', { fault: 'fluvio.scSpuLinkFlap' });
    const moved = await simState(s);
    const undo = await cli(['undo', '--journal', journal, '--last', '--token', s.token, '--yes']);
    assert.equal(undo.code, 1, undo.stdout);
    assert.match(undo.stdout, /refused [^:]+: partition \S+ moved on/);
    const after = await simState(s);
    const partitions = (st: State) => st['fluvio.partitions'];
    for (const [key, p] of Object.entries(partitions(moved))) {
      if ((p as { resolution: string }).resolution === 'LeaderOffline')
        assert.deepEqual(partitions(after)[key], p, `${key} was left as the other writer made it`);
    }
    assert.notDeepEqual(after, before);
  });

  it('a journal that cannot be written stops the repair before anything is sent', async () => {
    const s = await sim(['--scenario', 'quickwit-dangling-shards', '--seed', '5']);
    const before = await simState(s);
    const notADir = join(dir, 'file');
    writeFileSync(notADir, '');
    const repair = await cli([
      s.url,
      '--token',
      s.token,
      '--repair',
      'shards/dangling',
      '--yes',
      '--journal',
      join(notADir, 'repairs.jsonl'),
    ]);
    assert.match(repair.stdout, /could not be written/);
    assert.match(repair.stdout, /nothing more sent/);
    assert.deepEqual(await simState(s), before, 'nothing reached the cluster');
  });

  it('a cluster-check killed between batches leaves a journal that says which batches were applied', async () => {
    const s = await sim(['--scenario', 'quickwit-dangling-shards', '--seed', '5', '--dangling-shards', '12000']);
    const gate = await BatchGate.start(s.url, { holdRepair: 3 });
    const journal = join(dir, 'repairs.jsonl');
    const child = spawn(
      process.execPath,
      [join(OUT, 'cluster-check.js'), gate.url, '--token', s.token, '--repair', 'shards/dangling', '--yes', '--journal', journal],
      {
        stdio: 'ignore',
      },
    );
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await gate.held();
      child.kill('SIGKILL');
      await exited;
    } finally {
      await gate.close();
    }
    const lines = journalLines(journal);
    const [entry] = repairHistory(lines);
    assert.equal(entry.finished, false, 'no end line: the process died');
    assert.deepEqual(
      entry.batches.map((b) => b.state),
      ['applied', 'applied', 'unknown'],
      'two batches answered, the third sent (intent on disk) with no answer',
    );
    const client = await s.client();
    const results = lines.filter((l) => l.type === 'result');
    for (const r of results) {
      const { items } = await client.request('cluster.get', { collection: 'quickwit.metastore.shards', keys: r.applied.map((a) => a.key) });
      assert.equal(items.length, 0, `the keys batch ${r.batch + 1} says were applied are gone`);
    }
  });
});

describe('cluster-check --save', function () {
  this.timeout(60_000);
  let sim: RunningSim | undefined;
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'save-'))));
  afterEach(async () => {
    await sim?.stop();
    removeTestDir(dir);
  });

  it('saves the live cluster as a snapshot that diffs identical against it, and shows a repair against it afterwards', async () => {
    sim = await startSim(['--scenario', 'fluvio-out-of-space-reverted', '--seed', '4']);
    const file = join(dir, 'before.clustersnap');
    const save = await cli([sim.url, '--token', sim.token, '--save', file]);
    assert.equal(save.code, 1, save.stderr);
    assert.match(save.stdout, /Saved a snapshot of .* to .*before\.clustersnap/);
    const same = await cli(['diff', file, sim.url, '--token', sim.token]);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    await cli([sim.url, '--token', sim.token, '--repair', 'partitions/online-out-of-space', '--yes']);
    const after = await cli(['diff', file, sim.url, '--token', sim.token, '--format', 'json']);
    assert.equal(after.code, 1, after.stderr);
    const diff = JSON.parse(after.stdout) as {
      collections: Record<string, { changed: number; added: number; removed: number }>;
      findings: { resolved: unknown[] };
    };
    assert.deepEqual(Object.keys(diff.collections), ['fluvio.partitions'], 'only what the repair changed');
    assert.ok(diff.collections['fluvio.partitions'].changed > 0);
    assert.ok(diff.findings.resolved.length > 0);
    const bad = await cli([join(dir, 'x.clustersnap'), '--save', join(dir, 'y.clustersnap')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--save writes a snapshot of a live cluster/);
  });
});
