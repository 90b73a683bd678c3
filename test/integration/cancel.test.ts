// Cancelling a long repair from inside the editor: the extension's ServerApi (what the repair
// commands run under their cancellable progress), a vscode.CancellationTokenSource, the real
// language server, and the bundled simulator with four batches of dangling shards. A BatchGate
// between server and simulator holds batch 2 until a round trip proves the server has the cancel,
// so exactly two batches reach the cluster, whatever the timing; no sleeps.
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { MAX_REPAIR_TARGETS } from '../../src/protocol/methods';
import type { FindingSummary } from '../../src/protocol/lsp';
import type { ClusterDebuggerApi } from '../../src/extension/main';
import type { ProgressSink } from '../../src/extension/api';
import { BundledSimulator } from '../../src/extension/simulator';
import { BatchGate } from '../server/batchGate';
import { EXTENSION_ID, activateExtension, describeRules, rulesPresent, waitFor } from './helpers';

const CLUSTER = 'cancel';
/** Four full batches, all deletable. */
const DANGLING = 4 * MAX_REPAIR_TARGETS;

type Progress = Parameters<ProgressSink>[0];

/** Records what reaches the extension's log channel (its own lines and the server's), until disposed. */
function recordLog(channel: vscode.LogOutputChannel): { lines: string[]; dispose(): void } {
  const lines: string[] = [];
  const methods = ['trace', 'debug', 'info', 'warn', 'error', 'appendLine'] as const;
  const originals = methods.map((m) => [m, channel[m]] as const);
  for (const [m, original] of originals) {
    (channel as unknown as Record<string, unknown>)[m] = (message: unknown, ...rest: unknown[]) => {
      lines.push(String(message));
      return (original as (...a: unknown[]) => void).call(channel, message, ...rest);
    };
  }
  return {
    lines,
    dispose: () => {
      for (const [m, original] of originals) (channel as unknown as Record<string, unknown>)[m] = original;
    },
  };
}

describe('Cancelling a long repair through the extension’s ServerApi', function () {
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
    sim = await BundledSimulator.start({ script, scenario: 'quickwit-dangling-shards', extraArgs: ['--dangling-shards', String(DANGLING)], log: quiet });
    gate = await BatchGate.start(sim.url, { holdRepair: 2 });
    await vscode.commands.executeCommand('clusterDebugger.connect', { url: gate.url, name: CLUSTER, token: sim.token });
    await waitFor(`shards/dangling on cluster://${CLUSTER}`, () => rulesPresent(CLUSTER).has('shards/dangling'), {
      describe: () => `${describeRules(CLUSTER)}; ${api.ctx.lastCommandError?.message ?? ''}`,
    });
    log = recordLog(api.ctx.log);
  });

  afterEach(async () => {
    log?.dispose();
    gate?.release();
    if (api.ctx.clusters.some((c) => c.name === CLUSTER)) {
      await vscode.commands.executeCommand('clusterDebugger.disconnect', CLUSTER);
      await waitFor(`${CLUSTER} to leave the list`, () => !api.ctx.clusters.some((c) => c.name === CLUSTER));
    }
    await gate?.close();
    await sim?.stop();
  });

  async function danglingFinding(): Promise<FindingSummary | undefined> {
    return (await api.ctx.requireApi().findings({ cluster: CLUSTER })).find((f) => f.rule === 'shards/dangling');
  }

  /** Lets the held batch through once the server has certainly read the cancel (its messages are read in order). */
  async function releaseAfterCancelArrived(): Promise<void> {
    await api.ctx.requireApi().clusters();
    gate!.release();
  }

  it('applyRepair: cancelled on its first progress report, it sends no batch after the one in flight', async () => {
    const server = api.ctx.requireApi();
    const finding = await danglingFinding();
    assert.ok(finding, 'a shards/dangling finding');
    const repair = finding.repairs.find((r) => r.id === 'delete-uninitialised');
    assert.equal(repair?.targetCount, DANGLING, 'one repair of four batches');

    const cts = new vscode.CancellationTokenSource();
    const progress: Progress[] = [];
    const running = server.applyRepair({ cluster: CLUSTER, findingId: finding.id, repairId: repair.id }, cts.token, (v) => {
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
    assert.ok(
      log!.lines.some((l) => /delete-uninitialised: .*cancelled before the remaining batches/.test(l)),
      `the log says it was cancelled:\n${log!.lines.slice(-6).join('\n')}`,
    );
    // The other half stays in the cluster, and in the Problems panel.
    assert.equal((await danglingFinding())?.count, DANGLING - 2 * MAX_REPAIR_TARGETS, 'the finding stays with the shards not deleted');
    assert.ok(rulesPresent(CLUSTER).has('shards/dangling'), 'and so does its diagnostic');
  });

  it('applyAllSafe: cancelled while a batch is in flight, it stops part-way and says so', async () => {
    const server = api.ctx.requireApi();
    const cts = new vscode.CancellationTokenSource();
    const running = server.applyAllSafe(CLUSTER, cts.token, () => undefined);
    running.catch(() => undefined); // awaited below; after an early failure, afterEach disconnects and it rejects
    await gate!.held();
    cts.cancel();
    await releaseAfterCancelArrived();
    const result = await running;

    assert.equal(gate!.repairs.length, 2, `batches sent: ${gate!.repairs.join(', ')}`);
    assert.equal(result.ok, false, 'a cancelled run is not ok');
    assert.equal(result.applied, 2 * MAX_REPAIR_TARGETS, result.summary);
    assert.match(result.summary, /cancelled part-way/);
    assert.ok(
      log!.lines.some((l) => /cancelled before the remaining batches/.test(l)),
      `the log says it was cancelled:\n${log!.lines.slice(-6).join('\n')}`,
    );
    assert.equal((await danglingFinding())?.count, DANGLING - 2 * MAX_REPAIR_TARGETS, 'the finding stays with the shards not deleted');
  });
});
