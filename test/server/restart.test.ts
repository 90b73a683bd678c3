/**
 * A plan never crosses a cluster restart. The simulator is killed with
 * SIGKILL and started again on the same port with the same seed, so the new
 * cluster has the very same keys and versions; only its incarnation differs.
 * A quick fix planned on the old cluster must not be replayed on the new
 * one: the server re-plans it after the resync and says so.
 */
import * as assert from 'node:assert/strict';
import type { CodeAction } from 'vscode-languageserver/node';
import { LspCommands, LspMethods, clusterDocUri, type ApplyRepairArgs, type ApplyRepairResult, type ClusterInfo } from '../../src/protocol';
import { useLanguageServer } from './lsp';
import { startSim, type RunningSim } from './sim';
import { testSecret } from '../secrets';

describe('a cluster restart between plan and repair (real server, real simulator, kill -9)', function () {
  this.timeout(60_000);
  const t = useLanguageServer();

  async function sim(port: number, token: string): Promise<RunningSim> {
    const s = await startSim(['--scenario', 'quickwit-dangling-shards', '--seed', '1', '--port', String(port), '--token', token]);
    t.sims.push(s);
    return s;
  }

  it('re-plans a quick fix made before the restart instead of replaying it on the new cluster', async () => {
    const token = testSecret('sim');
    const first = await sim(0, token);
    const port = Number(new URL(first.url).port);
    const before = await t.lsp.request<ClusterInfo>(LspMethods.connect, { name: 'sim', url: first.url, token });
    const uri = clusterDocUri('sim', 'shards');
    const [diagnostic] = await t.lsp.waitForDiagnostics(uri, (d) => d.some((x) => x.code === 'shards/dangling'));
    const actions = await t.lsp.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri },
      range: diagnostic.range,
      context: { diagnostics: [diagnostic] },
    });
    const args = actions.find((a) => a.isPreferred)!.command!.arguments![0] as ApplyRepairArgs;

    // kill -9, and the same cluster again on the same port: the plan the quick fix pinned is now from another incarnation.
    const killed = new Promise((r) => first.process.once('exit', r));
    first.process.kill('SIGKILL');
    await killed;
    await t.lsp.waitFor('the server to notice the cluster is gone', () =>
      t.lsp.didChanges.some((c) => c.cluster === 'sim' && c.state === 'stale'),
    );
    const second = await sim(port, token);
    const after = await t.lsp.waitFor('the server to resync with the restarted cluster', () =>
      [...t.lsp.didChanges]
        .reverse()
        .find((c) => c.cluster === 'sim' && c.state === 'live')
        ?.clusters.find((c) => c.name === 'sim' && c.status?.incarnation !== before.status?.incarnation),
    );
    assert.ok(after.status?.incarnation, 'the restarted cluster says which incarnation it is');

    const result = await t.lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyRepair,
      arguments: [args],
    });
    assert.match(result.summary, /restarted since this plan was made/, result.summary);
    assert.match(result.summary, /Re-planned on the restarted cluster/, result.summary);
    assert.equal(result.resolved, true, result.summary);
    assert.ok(result.applied > 0);
    assert.ok(
      t.lsp.logs.some((l) => /re-planning once it has resynced/.test(l)),
      'the log says it re-planned',
    );
    // The new cluster saw only the re-planned repair, never a batch of the old plan: every batch it applied carried its own incarnation.
    const status = await (await second.client()).request('cluster.status', {});
    assert.equal(status.incarnation, after.status!.incarnation);
    assert.equal(status.counts['quickwit.metastore.shards'], before.status!.counts['quickwit.metastore.shards'] - result.applied);
  });
});
