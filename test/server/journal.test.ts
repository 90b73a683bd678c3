/**
 * The editor's path: the language server journals every repair to the file the
 * extension names (`clusterDebugger/setJournal`), lists it newest first
 * (`clusterDebugger/repairHistory`) and undoes from it (`clusterDebugger.undoRepair`).
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LspCommands,
  LspMethods,
  MAX_REPAIR_TARGETS,
  type ApplyRepairResult,
  type ClusterInfo,
  type FindingSummary,
  type RepairHistoryResult,
} from '../../src/protocol';
import { parseJournal } from '../../src/engine/journal';
import { entityState } from '../cli/state';
import { BatchGate } from './batchGate';
import { LspHarness } from './lsp';
import { startSim, type RunningSim } from './sim';
import { removeTestDir } from '../secrets';

describe('language server: repair journal, history and undo', function () {
  this.timeout(120_000);
  let sim: RunningSim | undefined;
  let lsp: LspHarness | undefined;
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'journal-lsp-'))));
  afterEach(async () => {
    await lsp?.stop();
    await sim?.stop();
    removeTestDir(dir);
  });

  it('journals Repair All Safe, lists it newest first with its batches, and undoes it back to the state before', async () => {
    sim = await startSim(['--scenario', 'fluvio-out-of-space-reverted', '--seed', '2']);
    const client = await sim.client();
    const state = () => entityState((c) => client.listAll(c));
    const before = await state();
    lsp = await LspHarness.start();
    const journal = join(dir, 'nested', 'repairs.jsonl');
    await lsp.request(LspMethods.setJournal, { path: journal });
    const info = await lsp.request<ClusterInfo>(LspMethods.connect, { name: 'sim', url: sim.url, token: sim.token });
    assert.equal(info.state, 'live');
    const repaired = await lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyAllSafe,
      arguments: [{ cluster: 'sim' }],
    });
    assert.ok(repaired.applied > 0, repaired.summary);

    const history = await lsp.request<RepairHistoryResult>(LspMethods.repairHistory, {});
    assert.equal(history.path, journal);
    assert.deepEqual(history.problems, []);
    const [entry] = history.entries;
    assert.equal(entry.source, 'editor');
    assert.match(entry.run ?? '', /^[0-9a-f-]{36}$/, 'journalled as one of a Repair All run (the History lists a run as one row)');
    assert.equal(entry.undoable, true, entry.undoNote);
    assert.deepEqual(
      entry.batches.map((b) => [b.command, b.state]),
      [['fluvio.restoreFromSpuReport', 'applied']],
    );

    const undone = await lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.undoRepair,
      arguments: [{ id: entry.id }],
    });
    assert.equal(undone.ok, true, undone.summary);
    assert.equal(undone.applied, repaired.applied);
    assert.deepEqual(await state(), before);
    const after = await lsp.request<RepairHistoryResult>(LspMethods.repairHistory, {});
    assert.equal(after.entries[0].undoOf, entry.id, 'the undo is listed first');
    assert.equal(after.entries[1].undoneBy, after.entries[0].id, 'the repair says which undo took it back');
    const again = await lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.undoRepair,
      arguments: [{ id: entry.id }],
    });
    assert.equal(again.ok, false);
    assert.match(again.summary, /cannot be undone: already undone/);
  });

  it('a repair of an earlier run of the cluster (another incarnation) is listed as not undoable before anyone asks', async () => {
    sim = await startSim(['--scenario', 'fluvio-out-of-space-reverted', '--seed', '2']);
    lsp = await LspHarness.start();
    await lsp.request(LspMethods.setJournal, { path: join(dir, 'repairs.jsonl') });
    await lsp.request<ClusterInfo>(LspMethods.connect, { name: 'sim', url: sim.url, token: sim.token });
    const repaired = await lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyAllSafe,
      arguments: [{ cluster: 'sim' }],
    });
    assert.ok(repaired.applied > 0, repaired.summary);
    const [fresh] = (await lsp.request<RepairHistoryResult>(LspMethods.repairHistory, {})).entries;
    assert.equal(fresh.undoable, true, fresh.undoNote);
    const reset = await (await sim.client()).request('sim.reset', { scenario: 'fluvio-out-of-space-reverted', seed: 2 });
    await lsp.waitFor('the server to resync on the new incarnation', () =>
      lsp!.didChanges.some(
        (c) => c.cluster === 'sim' && c.state === 'live' && c.clusters.some((x) => x.status?.incarnation === reset.incarnation),
      ),
    );
    const [old] = (await lsp.request<RepairHistoryResult>(LspMethods.repairHistory, {})).entries;
    assert.equal(old.id, fresh.id);
    assert.equal(old.undoable, false);
    assert.match(old.undoNote ?? '', /^the cluster restarted since/);
  });

  it('a language server killed halfway through a bulk repair leaves a journal that the restarted server reads: which batches were applied', async () => {
    // Three batches; the third is held at a gate between the server and the cluster, and the server dies then.
    const dangling = 2 * MAX_REPAIR_TARGETS + 2_000;
    sim = await startSim(['--scenario', 'quickwit-dangling-shards', '--seed', '5', '--dangling-shards', String(dangling)]);
    const gate = await BatchGate.start(sim.url, { holdRepair: 3 });
    const journal = join(dir, 'repairs.jsonl');
    const first = await LspHarness.start();
    try {
      await first.request(LspMethods.setJournal, { path: journal });
      await first.request<ClusterInfo>(LspMethods.connect, { name: 'sim', url: gate.url, token: sim.token });
      const { findings } = await first.request<{ findings: FindingSummary[] }>(LspMethods.findings, { cluster: 'sim' });
      const finding = findings.find((f) => f.rule === 'shards/dangling');
      assert.ok(finding, 'shards/dangling is found');
      const repairing = first.request<ApplyRepairResult>('workspace/executeCommand', {
        command: LspCommands.applyRepair,
        arguments: [{ cluster: 'sim', findingId: finding.id, repairId: 'delete-uninitialised' }],
      });
      repairing.catch(() => undefined); // it never answers: the process is killed
      await gate.held();
      const exited = new Promise((r) => first.process.once('exit', r));
      first.process.kill('SIGKILL');
      await exited;
      first.connection.dispose();
    } finally {
      await gate.close();
    }

    // A new language server, as after the editor restarts it, on the same journal file.
    lsp = await LspHarness.start();
    await lsp.request(LspMethods.setJournal, { path: journal });
    const history = await lsp.request<RepairHistoryResult>(LspMethods.repairHistory, {});
    assert.deepEqual(history.problems, []);
    const [entry] = history.entries;
    assert.ok(entry, 'the interrupted repair is in the history');
    assert.equal(entry.finished, false, 'no end line: the server died');
    assert.deepEqual(
      entry.batches.map((b) => [b.command, b.targets, b.state]),
      [
        ['quickwit.deleteShards', MAX_REPAIR_TARGETS, 'applied'],
        ['quickwit.deleteShards', MAX_REPAIR_TARGETS, 'applied'],
        ['quickwit.deleteShards', 2_000, 'unknown'],
      ],
      'two batches answered; the third was sent (its intent is on disk) and never answered',
    );
    // What the journal says was applied is what the cluster shows.
    const client = await sim.client();
    const read = parseJournal(readFileSync(journal, 'utf8'));
    assert.deepEqual(read.problems, []);
    const lines = read.lines;
    const results = lines.filter((l) => l.type === 'result');
    assert.equal(results.length, 2);
    for (const r of results) {
      const { items } = await client.request('cluster.get', { collection: 'quickwit.metastore.shards', keys: r.applied.map((a) => a.key) });
      assert.equal(items.length, 0, `the keys batch ${r.batch + 1} says were applied are gone`);
    }
    // The unanswered batch went all the way or not at all (the gate let it through when it closed, or dropped it): a re-read tells.
    const intent = lines.filter((l) => l.type === 'intent').at(-1);
    assert.ok(intent && intent.type === 'intent');
    const { items } = await client.request('cluster.get', {
      collection: 'quickwit.metastore.shards',
      keys: intent.before.map((b) => b.key),
    });
    assert.ok(
      items.length === 0 || items.length === intent.before.length,
      `batch 3 is all or nothing (${items.length} of ${intent.before.length} still there)`,
    );
  });
});
