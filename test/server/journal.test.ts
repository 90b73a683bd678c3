/**
 * The editor's path: the language server journals every repair to the file the
 * extension names (`clusterDebugger/setJournal`), lists it newest first
 * (`clusterDebugger/repairHistory`) and undoes from it (`clusterDebugger.undoRepair`).
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LspCommands, LspMethods, type ApplyRepairResult, type ClusterInfo, type RepairHistoryResult } from '../../src/protocol';
import { entityState } from '../cli/state';
import { LspHarness } from './lsp';
import { startSim, type RunningSim } from './sim';

describe('language server: repair journal, history and undo', function () {
  this.timeout(120_000);
  let sim: RunningSim | undefined;
  let lsp: LspHarness | undefined;
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'journal-lsp-'))));
  afterEach(async () => {
    await lsp?.stop();
    await sim?.stop();
    rmSync(dir, { recursive: true, force: true });
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
    const repaired = await lsp.request<ApplyRepairResult>('workspace/executeCommand', { command: LspCommands.applyAllSafe, arguments: [{ cluster: 'sim' }] });
    assert.ok(repaired.applied > 0, repaired.summary);

    const history = await lsp.request<RepairHistoryResult>(LspMethods.repairHistory, {});
    assert.equal(history.path, journal);
    assert.deepEqual(history.problems, []);
    const [entry] = history.entries;
    assert.equal(entry.source, 'editor');
    assert.equal(entry.undoable, true, entry.undoNote);
    assert.deepEqual(entry.batches.map((b) => [b.command, b.state]), [['fluvio.restoreFromSpuReport', 'applied']]);

    const undone = await lsp.request<ApplyRepairResult>('workspace/executeCommand', { command: LspCommands.undoRepair, arguments: [{ id: entry.id }] });
    assert.equal(undone.ok, true, undone.summary);
    assert.equal(undone.applied, repaired.applied);
    assert.deepEqual(await state(), before);
    const after = await lsp.request<RepairHistoryResult>(LspMethods.repairHistory, {});
    assert.equal(after.entries[0].undoOf, entry.id, 'the undo is listed first');
    const again = await lsp.request<ApplyRepairResult>('workspace/executeCommand', { command: LspCommands.undoRepair, arguments: [{ id: entry.id }] });
    assert.equal(again.ok, false);
    assert.match(again.summary, /cannot be undone: already undone/);
  });
});
