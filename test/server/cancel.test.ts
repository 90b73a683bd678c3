/**
 * Cancelling a long repair: the real language server against the real
 * simulator, with a BatchGate in between that holds the second batch. The
 * cancel is sent while that batch is held, and a round trip to the server
 * proves it arrived before the batch is let through; so exactly two batches
 * reach the cluster whatever the timing, and any third one is the server
 * ignoring the cancel.
 */
import * as assert from 'node:assert/strict';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import {
  LspCommands,
  LspMethods,
  MAX_REPAIR_TARGETS,
  type ApplyRepairArgs,
  type ApplyRepairResult,
  type ClusterInfo,
  type FindingSummary,
} from '../../src/protocol';
import { danglingShards, useGatedServer } from './gatedServer';
import { clusterDocUri } from '../../src/protocol/uri';

/** Four full batches of dangling shards, all deletable. */
const DANGLING = 4 * MAX_REPAIR_TARGETS;
const SHARDS_DOC = clusterDocUri('big', 'shards');
const METASTORE = 'quickwit.metastore.shards';

/** How the cancel reaches the server: the request's own `$/cancelRequest`, or the Cancel of the progress the server created. */
type Route = 'request' | 'server progress';

describe('cancelling a repair part-way (real server, real simulator, batch 2 held)', function () {
  this.timeout(60_000);
  const rig = useGatedServer({ holdRepair: 2 }, danglingShards(DANGLING));

  beforeEach(async () => {
    const info = await rig.lsp.request<ClusterInfo>(LspMethods.connect, { name: 'big', url: rig.gate.url, token: rig.sim.token });
    assert.equal(info.state, 'live');
    await rig.lsp.waitForDiagnostics(SHARDS_DOC, (d) => d.some((x) => x.code === 'shards/dangling'));
  });

  async function danglingFinding(): Promise<FindingSummary | undefined> {
    const { findings } = await rig.lsp.request<{ findings: FindingSummary[] }>(LspMethods.findings, { cluster: 'big' });
    return findings.find((f) => f.rule === 'shards/dangling');
  }

  async function metastoreCount(): Promise<number> {
    const status = await (await rig.sim.client()).request('cluster.status', {});
    return status.counts[METASTORE] ?? 0;
  }

  /** Starts `command`, cancels it by `route` while batch 2 is held, and lets that batch through once the server has the cancel. */
  async function runAndCancel(command: string, args: unknown, route: Route): Promise<ApplyRepairResult> {
    const cts = new CancellationTokenSource();
    const params = { command, arguments: [args], workDoneToken: route === 'request' ? 'test-progress' : undefined };
    const running = rig.lsp.request<ApplyRepairResult>('workspace/executeCommand', params, cts.token);
    await rig.gate.held();
    if (route === 'request') {
      cts.cancel();
    } else {
      const token = await rig.lsp.waitFor('the server to create its progress', () => rig.lsp.createdProgress[0]);
      await rig.lsp.notify('window/workDoneProgress/cancel', { token });
    }
    // Messages are read in order: once this answers, the server has seen the cancel.
    await rig.lsp.request(LspMethods.clusters, {});
    rig.gate.release();
    return running;
  }

  it('lets every batch through when nobody cancels (the gate itself changes nothing)', async () => {
    const finding = (await danglingFinding())!;
    const args: ApplyRepairArgs = { cluster: 'big', findingId: finding.id, repairId: 'delete-uninitialised' };
    const running = rig.lsp.request<ApplyRepairResult>('workspace/executeCommand', { command: LspCommands.applyRepair, arguments: [args] });
    await rig.gate.held();
    rig.gate.release();
    const result = await running;
    assert.equal(result.applied, DANGLING, result.summary);
    assert.equal(rig.gate.repairs.length, 4);
    assert.ok(result.ok && result.resolved, result.summary);
  });

  for (const route of ['request', 'server progress'] as Route[]) {
    it(`applyRepair: a cancel by ${route} stops after the batch in flight; the rest are never sent`, async () => {
      const finding = await danglingFinding();
      assert.ok(finding, 'a shards/dangling finding');
      const repair = finding.repairs.find((r) => r.id === 'delete-uninitialised');
      assert.equal(repair?.targetCount, DANGLING, 'one repair of four batches');
      const before = await metastoreCount();

      const result = await runAndCancel(LspCommands.applyRepair, { cluster: 'big', findingId: finding.id, repairId: repair.id }, route);

      assert.deepEqual(rig.gate.repairs.length, 2, `batches sent: ${rig.gate.repairs.join(', ')}`);
      assert.equal(result.ok, false, 'a cancelled repair is not ok');
      assert.equal(result.resolved, false);
      assert.equal(result.applied, 2 * MAX_REPAIR_TARGETS, result.summary);
      assert.match(result.summary, /cancelled before the remaining batches/);
      if (route === 'request') {
        // Reported to the client's own token (the editor's progress), not to a second one of the server's.
        assert.deepEqual(rig.lsp.createdProgress, [], 'the server opens no progress of its own when the client gave a token');
        const reports = rig.lsp.progress.filter((p) => p.token === 'test-progress' && p.value.kind === 'report');
        assert.deepEqual(
          reports.map((p) => p.value.percentage),
          [25, 50],
          'one progress report per batch sent',
        );
      }
      assert.ok(
        rig.lsp.logs.some((l) => /repair .*delete-uninitialised: .*cancelled before the remaining batches/.test(l)),
        `the server log says it was cancelled:\n${rig.lsp.logs.slice(-6).join('\n')}`,
      );
      // The cluster kept the other half, and the editor still shows it.
      assert.equal(before - (await metastoreCount()), 2 * MAX_REPAIR_TARGETS, 'the cluster lost exactly the two batches');
      const left = await danglingFinding();
      assert.equal(left?.count, DANGLING - 2 * MAX_REPAIR_TARGETS, 'the finding stays with the shards not deleted');
      assert.ok(
        rig.lsp.diagnostics.get(SHARDS_DOC)?.some((d) => d.code === 'shards/dangling'),
        'and so does its diagnostic',
      );
    });

    // The scenario has one finding with a safe repair: the dangling shards, four batches.
    it(`applyAllSafe: a cancel by ${route} stops part-way and says so`, async () => {
      const before = await metastoreCount();

      const result = await runAndCancel(LspCommands.applyAllSafe, { cluster: 'big' }, route);

      assert.deepEqual(rig.gate.repairs.length, 2, `batches sent: ${rig.gate.repairs.join(', ')}`);
      assert.equal(result.ok, false, 'a cancelled run is not ok');
      assert.equal(result.resolved, false);
      assert.equal(result.applied, 2 * MAX_REPAIR_TARGETS, result.summary);
      assert.match(result.summary, /cancelled part-way/);
      assert.ok(
        result.details.some((d) => /cancelled before the remaining batches/.test(d)),
        result.details.join(' | '),
      );
      if (route === 'request') {
        // In entities of the whole run, batch by batch: not "1 of 1 findings".
        const reports = rig.lsp.progress.filter((p) => p.token === 'test-progress' && p.value.kind === 'report');
        assert.deepEqual(
          reports.map((p) => p.value.percentage),
          [0, 25, 50],
          'a report as it starts, then one per batch sent',
        );
        assert.match(String(reports.at(-1)?.value.message), /^10,000 of 20,000: /);
      }
      assert.equal(before - (await metastoreCount()), 2 * MAX_REPAIR_TARGETS, 'the cluster lost exactly the two batches');
      assert.equal((await danglingFinding())?.count, DANGLING - 2 * MAX_REPAIR_TARGETS, 'the finding stays with the shards not deleted');
    });
  }
});
