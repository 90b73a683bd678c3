/**
 * A cluster whose incarnation changes while the connection stays up (a
 * `sim.reset`; a real store's new cluster id or revision): the server resyncs
 * on the `reset` notification, and a repair planned on the new incarnation is
 * sent, on the same connection. (Found by the chaos suite: the session
 * compared the plan with the incarnation of its connection's `initialize`
 * reply, so after a reset every repair was "planned before a restart" and
 * never sent until the connection dropped.)
 */
import * as assert from 'node:assert/strict';
import { LspCommands, LspMethods, type ApplyRepairResult, type ClusterInfo } from '../../src/protocol';
import { LspHarness } from './lsp';
import { startSim, type RunningSim } from './sim';

describe('a cluster reset without a reconnect (real server, real simulator)', function () {
  this.timeout(60_000);
  let lsp: LspHarness;
  let sim: RunningSim;
  before(async () => {
    sim = await startSim(['--scenario', 'quickwit-dangling-shards', '--seed', '1']);
    lsp = await LspHarness.start();
  });
  after(async () => {
    await lsp.stop();
    await sim.stop();
  });

  it('repairs on the new incarnation over the same connection', async () => {
    const before = await lsp.request<ClusterInfo>(LspMethods.connect, { name: 'sim', url: sim.url, token: sim.token });
    const control = await sim.client();
    const reset = await control.request('sim.reset', { scenario: 'quickwit-dangling-shards', seed: 1 });
    assert.notEqual(reset.incarnation, before.status?.incarnation);
    await lsp.waitFor('the server to resync on the new incarnation', () =>
      lsp.didChanges.some(
        (c) => c.cluster === 'sim' && c.state === 'live' && c.clusters.some((x) => x.status?.incarnation === reset.incarnation),
      ),
    );
    const result = await lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyAllSafe,
      arguments: [{ cluster: 'sim' }],
    });
    assert.doesNotMatch(result.details.join('\n'), /restarted since this plan was made/, result.details.join('\n'));
    assert.ok(result.applied > 0, result.summary);
    const status = await control.request('cluster.status', {});
    assert.equal(status.incarnation, reset.incarnation, 'the same incarnation: nothing was reset again');
    assert.ok(status.counts['quickwit.metastore.shards'] < reset.counts['quickwit.metastore.shards'], 'the dangling shards were deleted');
  });
});
