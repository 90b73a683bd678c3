/**
 * `clusterDebugger/planAllSafe`: what Repair All Safe would apply first, counted for the editor's
 * one confirmation ("Apply 17 safe repairs on sim (14 cannot be undone)?"). The counts are those of
 * the findings the user sees, and the run that follows applies at least that many; a cluster that
 * would refuse says why instead, and nothing is sent by asking.
 */
import * as assert from 'node:assert/strict';
import {
  LspCommands,
  LspMethods,
  type ApplyRepairResult,
  type ClusterInfo,
  type FindingSummary,
  type PlanAllSafeResult,
} from '../../src/protocol';
import { useLanguageServer } from './lsp';
import { startSim } from './sim';

describe('language server: planAllSafe, the counts of Repair All Safe (real simulator)', function () {
  this.timeout(120_000);
  const t = useLanguageServer();

  it('counts one safe repair per finding, and how many cannot be undone, as the findings list them; the run applies them', async () => {
    const sim = await startSim(['--scenario', 'incident-all', '--seed', '1']);
    t.sims.push(sim);
    const info = await t.lsp.request<ClusterInfo>(LspMethods.connect, { name: 'sim', url: sim.url, token: sim.token, protection: 'none' });
    assert.equal(info.state, 'live');
    const { findings } = await t.lsp.request<{ findings: FindingSummary[] }>(LspMethods.findings, { cluster: 'sim' });
    // What the user sees: per finding, its first safe repair.
    const firstSafe = findings.map((f) => f.repairs.find((r) => r.safety === 'safe')).filter((r) => r !== undefined);
    assert.ok(firstSafe.length > 0, 'incident-all has findings with a safe repair');

    const plan = await t.lsp.request<PlanAllSafeResult>(LspMethods.planAllSafe, { cluster: 'sim' });
    assert.deepEqual(plan, {
      cluster: 'sim',
      refusal: null,
      repairs: firstSafe.length,
      targets: firstSafe.reduce((n, r) => n + r.targetCount, 0),
      notUndoable: firstSafe.filter((r) => r.undoable === false).length,
      undoNotes: [
        ...new Set(
          firstSafe
            .filter((r) => r.undoable === false)
            .map((r) => r.undoNote)
            .filter((n) => n !== undefined),
        ),
      ].slice(0, 5),
      refusedByCluster: 0,
    });
    // Asking sent nothing: the findings are all still there.
    const again = await t.lsp.request<{ findings: FindingSummary[] }>(LspMethods.findings, { cluster: 'sim' });
    assert.deepEqual(again.findings.map((f) => f.id).sort(), findings.map((f) => f.id).sort());

    const run = await t.lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyAllSafe,
      arguments: [{ cluster: 'sim' }],
    });
    const ran = Number(/^([\d,]+) safe repairs?/.exec(run.summary)?.[1].replace(/,/g, ''));
    assert.ok(ran >= plan.repairs, `the run applied at least the ${plan.repairs} counted (${run.summary})`);
  });

  it('says why nothing would be sent to a read-only cluster, with zero counts', async () => {
    const sim = await startSim(['--scenario', 'quickwit-dangling-shards', '--seed', '1']);
    t.sims.push(sim);
    await t.lsp.request<ClusterInfo>(LspMethods.connect, { name: 'prod', url: sim.url, token: sim.token, protection: 'read-only' });
    const plan = await t.lsp.request<PlanAllSafeResult>(LspMethods.planAllSafe, { cluster: 'prod' });
    assert.match(plan.refusal ?? '', /^Refused: prod is protected read-only/);
    assert.equal(plan.repairs, 0);
  });
});
