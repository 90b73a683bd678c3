// Cancelling a long repair from inside the editor: the extension's public API (the same server
// requests the repair commands run under their cancellable progress), a vscode.CancellationTokenSource, the real
// language server, and the bundled simulator with four batches of dangling shards. A BatchGate
// between server and simulator holds batch 2 until a round trip proves the server has the cancel,
// so exactly two batches reach the cluster, whatever the timing; no sleeps.
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { MAX_REPAIR_TARGETS } from '../../src/protocol/methods';
import type { FindingSummary } from '../../src/protocol/lsp';
import type { ClusterDebuggerApi, RepairProgress } from '../../src/extension/api/extensionApi';
import { BundledSimulator } from '../../src/extension/processes/simulator';
import { BatchGate } from '../server/batchGate';
import { EXTENSION_ID, activateExtension, describeRules, extensionLog, rulesPresent, waitFor } from './helpers';

const CLUSTER = 'cancel';
/** Four full batches, all deletable. */
const DANGLING = 4 * MAX_REPAIR_TARGETS;

type Progress = RepairProgress;

/** What the extension's log (the Output view's "Cluster Debugger") gains from now on: its own lines and the server's. */
function recordLog(): { lines(): string[] } {
  const from = extensionLog().length;
  return { lines: () => extensionLog().slice(from).split('\n').filter(Boolean) };
}

/** Waits until a new line of the log matches `re` (the log is written asynchronously). */
async function logSays(log: ReturnType<typeof recordLog>, re: RegExp, what: string): Promise<void> {
  await waitFor(what, () => log.lines().some((l) => re.test(l)), {
    timeoutMs: 20_000,
    describe: () => log.lines().slice(-6).join('\n'),
  });
}

describe('Cancelling a long repair through the extension’s public API', function () {
  this.timeout(120_000);
  let api: ClusterDebuggerApi;
  let sim: BundledSimulator | undefined;
  let gate: BatchGate | undefined;
  let log: ReturnType<typeof recordLog> | undefined;

  before(async () => {
    api = await activateExtension();
  });

  beforeEach(async () => {
    const script = join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'out', 'cluster-sim.js');
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    sim = await BundledSimulator.start({
      script,
      scenario: 'quickwit-dangling-shards',
      extraArgs: ['--dangling-shards', String(DANGLING)],
      log: quiet,
    });
    gate = await BatchGate.start(sim.url, { holdRepair: 2 });
    await vscode.commands.executeCommand('clusterDebugger.connect', { url: gate.url, name: CLUSTER, token: sim.token });
    await waitFor(`shards/dangling on cluster://${CLUSTER}`, () => rulesPresent(CLUSTER).has('shards/dangling'), {
      describe: () => describeRules(CLUSTER),
    });
    log = recordLog();
  });

  afterEach(async () => {
    gate?.release();
    if (api.clusters().some((c) => c.name === CLUSTER)) {
      await vscode.commands.executeCommand('clusterDebugger.disconnect', CLUSTER);
      await waitFor(`${CLUSTER} to leave the list`, () => !api.clusters().some((c) => c.name === CLUSTER));
    }
    await gate?.close();
    await sim?.stop();
  });

  async function danglingFinding(): Promise<FindingSummary | undefined> {
    return (await api.findings({ cluster: CLUSTER })).find((f) => f.rule === 'shards/dangling');
  }

  /** Lets the held batch through once the server has certainly read the cancel (its messages are read in order): a request after it has its answer. */
  async function releaseAfterCancelArrived(): Promise<void> {
    await api.findings({ cluster: CLUSTER });
    gate!.release();
  }

  it('applyRepair: cancelled on its first progress report, it sends no batch after the one in flight', async () => {
    const finding = await danglingFinding();
    assert.ok(finding, 'a shards/dangling finding');
    const repair = finding.repairs.find((r) => r.id === 'delete-uninitialised');
    assert.equal(repair?.targetCount, DANGLING, 'one repair of four batches');

    const cts = new vscode.CancellationTokenSource();
    const progress: Progress[] = [];
    const running = api.repair({ cluster: CLUSTER, findingId: finding.id, repairId: repair.id }, cts.token, (v) => {
      progress.push(v);
      if (v.kind === 'report' && !cts.token.isCancellationRequested) {
        cts.cancel(); // what the progress notification's Cancel does
      }
    });
    running.catch(() => undefined); // awaited below; after an early failure, afterEach disconnects and it rejects
    await gate!.held();
    await waitFor('the first progress report to reach the extension', () => cts.token.isCancellationRequested, {
      timeoutMs: 20_000,
      describe: () => JSON.stringify(progress),
    });
    await releaseAfterCancelArrived();
    const result = await running;

    assert.equal(gate!.repairs.length, 2, `batches sent: ${gate!.repairs.join(', ')}`);
    assert.equal(result.ok, false, 'a cancelled repair is not ok');
    assert.equal(result.resolved, false);
    assert.equal(result.applied, 2 * MAX_REPAIR_TARGETS, result.summary);
    assert.match(result.summary, /cancelled before the remaining batches/);
    assert.deepEqual(
      progress.filter((p) => p.kind === 'report').map((p) => p.percentage),
      [25, 50],
      'the server reports each batch to the extension’s own progress',
    );
    await logSays(log!, /delete-uninitialised: .*cancelled before the remaining batches/, 'the log to say it was cancelled');
    // The other half stays in the cluster, and in the Problems panel.
    assert.equal((await danglingFinding())?.count, DANGLING - 2 * MAX_REPAIR_TARGETS, 'the finding stays with the shards not deleted');
    assert.ok(rulesPresent(CLUSTER).has('shards/dangling'), 'and so does its diagnostic');
  });

  it('applyAllSafe: cancelled while a batch is in flight, it stops part-way and says so', async () => {
    const cts = new vscode.CancellationTokenSource();
    const running = api.repairAllSafe(CLUSTER, cts.token, () => undefined);
    running.catch(() => undefined); // awaited below; after an early failure, afterEach disconnects and it rejects
    await gate!.held();
    cts.cancel();
    await releaseAfterCancelArrived();
    const result = await running;

    assert.equal(gate!.repairs.length, 2, `batches sent: ${gate!.repairs.join(', ')}`);
    assert.equal(result.ok, false, 'a cancelled run is not ok');
    assert.equal(result.applied, 2 * MAX_REPAIR_TARGETS, result.summary);
    assert.match(result.summary, /cancelled part-way/);
    await logSays(log!, /cancelled before the remaining batches/, 'the log to say it was cancelled');
    assert.equal((await danglingFinding())?.count, DANGLING - 2 * MAX_REPAIR_TARGETS, 'the finding stays with the shards not deleted');
  });
});
