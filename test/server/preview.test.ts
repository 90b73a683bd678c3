/**
 * A preview tells the truth: on every scenario, for every safe repair of
 * every finding, what the preview says the repair resolves and creates is
 * (and of those that may lose data too, which the workspace applies without asking)
 * what applying the same plan to the simulator does (applied through the
 * workspace, as the editor and the CLI do), and so are its per-item answers
 * and the collections' sizes after it.
 */
import * as assert from 'node:assert/strict';
import { SCENARIOS, type Finding } from '../../src/protocol';
import { connectClusterClient } from '../../src/engine/link';
import { ClusterWorkspace } from '../../src/engine/workspace';
import { assertPreviewTold, ids } from './previewTruth';
import { startSim, type RunningSim } from './sim';

describe('repair preview: what it says is what the repair does', function () {
  this.timeout(180_000);
  let sim: RunningSim | undefined;
  let workspace: ClusterWorkspace | undefined;
  afterEach(async () => {
    workspace?.dispose();
    workspace = undefined;
    await sim?.stop();
    sim = undefined;
  });

  for (const scenario of SCENARIOS) {
    it(scenario, async () => {
      sim = await startSim(['--scenario', scenario, '--seed', '3']);
      const ws = (workspace = new ClusterWorkspace({ connect: connectClusterClient, log: () => undefined, reconnect: false }));
      const connect = () => ws.connect({ name: 'c', url: sim!.url, token: sim!.token });
      await connect();
      const findings = ws.require('c').checker.findings();
      const cases = findings.flatMap((f: Finding) => f.repairs.map((r) => ({ findingId: f.id, repairId: r.id })));
      if (scenario !== 'healthy')
        assert.ok(
          findings.some((f) => f.repairs.some((r) => r.safety === 'safe')),
          `${scenario} has safe repairs to preview`,
        );

      for (const [i, args] of cases.entries()) {
        const what = `${args.findingId} → ${args.repairId}`;
        if (i > 0) {
          // Back to the scenario's start: the same seed gives the same cluster.
          await (await sim.client()).request('sim.reset', { scenario, seed: 3 });
          await connect();
        }
        const before = ids(ws.require('c').checker.findings());
        const preview = await ws.preview({ cluster: 'c', ...args });
        assert.ok(preview, `${what}: a preview`);

        const result = await ws.applyRepair({ cluster: 'c', ...args });
        const c = ws.require('c');
        const after = ids(c.checker.findings());
        assertPreviewTold(what, preview, result, before, after);
        for (const col of preview.collections) {
          assert.equal(c.session.model!.collections[col.collection].size, col.after, `${what}: ${col.collection} after the repair`);
        }
      }
    });
  }
});
