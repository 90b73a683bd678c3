/**
 * "All safe" means one thing: `cluster-check --repair all --yes` and the
 * editor's `Repair All Safe Findings` (the language server's `applyAllSafe`)
 * run the same engine code. Two simulators start identical; the CLI repairs
 * one, the language server the other; both clusters must end entity for
 * entity in the same state.
 */
import * as assert from 'node:assert/strict';
import { COLLECTION_NAMES, LspCommands, LspMethods, SCENARIOS, type ApplyRepairResult, type ClusterInfo } from '../../src/protocol';
import { LspHarness } from '../server/lsp';
import { startSim, type RunningSim } from '../server/sim';
import { cli } from './cliProcess';

/** Every entity of the cluster, by collection and key, with its version. */
async function clusterState(sim: RunningSim): Promise<Record<string, Record<string, unknown>>> {
  const client = await sim.client();
  const state: Record<string, Record<string, unknown>> = {};
  for (const c of COLLECTION_NAMES) {
    const entities: Record<string, unknown> = {};
    for await (const page of client.listAll(c)) for (const e of page) entities[e.key] = e;
    state[c] = entities;
  }
  return state;
}

describe('all safe repairs: cluster-check and the editor end in the same state', function () {
  this.timeout(120_000);
  const sims: RunningSim[] = [];
  let lsp: LspHarness | undefined;
  afterEach(async () => {
    await lsp?.stop();
    lsp = undefined;
    for (const s of sims.splice(0)) await s.stop();
  });

  async function sim(scenario: string): Promise<RunningSim> {
    const s = await startSim(['--scenario', scenario, '--seed', '3']);
    sims.push(s);
    return s;
  }

  for (const scenario of SCENARIOS) {
    it(scenario, async () => {
      const [byCli, byEditor] = [await sim(scenario), await sim(scenario)];
      const before = await clusterState(byCli);
      assert.deepEqual(await clusterState(byEditor), before, 'the two simulators start identical');

      const run = await cli([byCli.url, '--token', byCli.token, '--repair', 'all', '--yes']);
      assert.ok(run.code === 0 || run.code === 1, `cluster-check ran: ${run.stderr}`);

      lsp = await LspHarness.start();
      const info = await lsp.request<ClusterInfo>(LspMethods.connect, { name: 'editor', url: byEditor.url, token: byEditor.token });
      assert.equal(info.state, 'live');
      const result = await lsp.request<ApplyRepairResult>('workspace/executeCommand', {
        command: LspCommands.applyAllSafe,
        arguments: [{ cluster: 'editor' }],
      });
      assert.equal(result.refused, 0, result.summary);

      const afterCli = await clusterState(byCli);
      assert.deepEqual(await clusterState(byEditor), afterCli, 'both clusters end in the same state');
      if (scenario === 'healthy') {
        assert.deepEqual(afterCli, before, 'nothing to repair on a healthy cluster');
        assert.equal(result.summary, 'No safe repair to apply');
      } else {
        assert.notDeepEqual(afterCli, before, 'the safe repairs changed the cluster');
        assert.ok(result.applied > 0, result.summary);
      }
    });
  }
});
