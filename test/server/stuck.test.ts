/**
 * `clusterDebugger/stuckWork` from the real language server process against the real simulator:
 * the items a user sees in the Stuck Work view, a repair from a chain's end through the same
 * `clusterDebugger.applyRepair` a quick fix runs, and the item gone afterwards.
 */
import * as assert from 'node:assert/strict';
import type { ResponseError } from 'vscode-jsonrpc/node';
import {
  chainText,
  LspCommands,
  LspMethods,
  StuckWorkResult,
  type ApplyRepairArgs,
  type ApplyRepairResult,
  type ClusterInfo,
  type StuckItem,
} from '../../src/protocol';
import { useLanguageServer } from './lsp';
import { startSim } from './sim';
import { clusterDocUri } from '../../src/protocol/uri';

describe('language server: Stuck Work', function () {
  this.timeout(60_000);
  const t = useLanguageServer();

  async function stuck(cluster?: string): Promise<StuckWorkResult> {
    return StuckWorkResult.parse(await t.lsp.request(LspMethods.stuckWork, cluster === undefined ? {} : { cluster }));
  }

  async function itemsOf(cluster: string): Promise<StuckItem[]> {
    const [c] = (await stuck(cluster)).clusters;
    assert.ok(c?.work, `${cluster} has synced`);
    return c.work.items;
  }

  it('lists every incident of incident-all oldest first, and a chain end’s repair clears its item', async () => {
    const sim = await startSim(['--scenario', 'incident-all', '--seed', '1']);
    t.sims.push(sim);
    const info = await t.lsp.request<ClusterInfo>(LspMethods.connect, { name: 'sim', url: sim.url, token: sim.token });
    assert.equal(info.state, 'live');
    await t.lsp.waitForDiagnostics(clusterDocUri('sim', 'wal'), (d) => d.some((x) => x.code === 'wal/close-blocked'));

    const items = await itemsOf('sim');
    assert.deepEqual([...new Set(items.map((i) => i.subsystem))].sort(), ['ddl', 'partitions', 'regions', 'shards', 'wal']);
    const ages = items.map((i) => i.age ?? -1); // unknown ages last
    assert.deepEqual(
      ages,
      [...ages].sort((a, b) => b - a),
      'oldest first, unknown ages last',
    );
    const close = items.find((i) => i.id.startsWith('wal:close:'));
    assert.ok(close, `a blocked WAL close among ${items.map((i) => i.id).join(', ')}`);
    assert.match(chainText(close.chain), /^close\(node-1\) ← append\(by-dev-rootcoord-dml_1\) ×5 ← recovery\(by-dev-rootcoord-dml_1\)$/);

    const repair = close.chain.at(-1)!.repair;
    assert.ok(repair, 'the end of the chain offers a repair');
    assert.deepEqual([repair.findingId, repair.repairId, repair.safety], ['wal/close-blocked:node-1', 'cancel-appends-and-close', 'safe']);
    const args: ApplyRepairArgs = { cluster: 'sim', findingId: repair.findingId, repairId: repair.repairId };
    const result = await t.lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyRepair,
      arguments: [args],
    });
    assert.equal(result.ok, true, result.summary);
    assert.equal(result.resolved, true, result.summary);

    const after = await itemsOf('sim');
    assert.equal(
      after.find((i) => i.id === close.id),
      undefined,
      'the WAL close is no longer stuck',
    );
    assert.ok(
      after.some((i) => i.subsystem === 'shards'),
      'the other incidents are still there',
    );
  });

  it('answers every cluster when none is named, nothing stuck on a healthy one, and an error for an unknown one', async () => {
    const sim = await startSim(['--scenario', 'healthy', '--seed', '1']);
    t.sims.push(sim);
    await t.lsp.request<ClusterInfo>(LspMethods.connect, { name: 'ok', url: sim.url, token: sim.token });
    const all = await stuck();
    assert.deepEqual(
      all.clusters.map((c) => [c.cluster, c.state, c.work?.items.length, c.work?.omitted]),
      [['ok', 'live', 0, 0]],
    );
    await assert.rejects(t.lsp.request(LspMethods.stuckWork, { cluster: 'nope' }), (e: ResponseError<unknown>) =>
      /no cluster named nope/.test(e.message),
    );
    await assert.rejects(t.lsp.request(LspMethods.stuckWork, { cluster: 7 }), (e: ResponseError<unknown>) => /stuckWork/.test(e.message));
  });
});
