/**
 * `clusterDebugger/topology` from the real language server against the real
 * simulator: the nodes of the incident with its problems on them, and the
 * picture after a repair.
 */
import * as assert from 'node:assert/strict';
import {
  LspCommands,
  LspMethods,
  TopologyResult,
  type ApplyRepairResult,
  type ClusterInfo,
  type ClusterTopology,
  type FindingSummary,
  type TopologyNode,
} from '../../src/protocol';
import { INCIDENT_RULES } from '../scenarioRules';
import { useLanguageServer } from './lsp';
import { startSim } from './sim';

const nodes = (t: ClusterTopology) => t.systems.flatMap((s) => s.nodes);
const rulesOn = (n: TopologyNode) => [...new Set(n.problems.map((p) => p.rule))].sort();

describe('clusterDebugger/topology (real server, real simulator)', function () {
  this.timeout(60_000);
  const t = useLanguageServer();

  async function topology(cluster?: string): Promise<TopologyResult> {
    return TopologyResult.parse(await t.lsp.request(LspMethods.topology, cluster === undefined ? {} : { cluster }));
  }

  it('draws the incident: each rule on its node, every finding placed; a repair takes its mark away', async () => {
    const sim = await startSim(['--scenario', 'incident-all', '--seed', '1']);
    t.sims.push(sim);
    const info = await t.lsp.request<ClusterInfo>(LspMethods.connect, { name: 'sim', url: sim.url, token: sim.token });
    assert.equal(info.state, 'live');

    const { clusters } = await topology();
    assert.equal(clusters.length, 1);
    const [sim1] = clusters;
    assert.equal(sim1!.cluster, 'sim');
    assert.equal(sim1!.message, undefined);
    const byRole = (role: TopologyNode['role']) => nodes(sim1!).filter((n) => n.role === role);
    assert.deepEqual(rulesOn(byRole('metastore')[0]!), ['shards/dangling']);
    assert.deepEqual(rulesOn(byRole('metasrv')[0]!), ['ddl/backlog', 'ddl/duplicate']);
    assert.deepEqual(
      byRole('streaming-node')
        .filter((n) => n.problems.length)
        .map(rulesOn),
      [['wal/close-blocked']],
    );
    assert.deepEqual(
      byRole('store')
        .filter((n) => n.problems.length)
        .map(rulesOn),
      [['regions/stale-prepared']],
    );
    assert.deepEqual(rulesOn(byRole('sc')[0]!), ['partitions/online-out-of-space']);
    assert.ok(byRole('spu').some((n) => rulesOn(n).includes('partitions/online-out-of-space')));
    // Every finding the editor lists is on some node.
    const { findings } = await t.lsp.request<{ findings: FindingSummary[] }>(LspMethods.findings, { cluster: 'sim' });
    assert.deepEqual([...new Set(findings.map((f) => f.rule))].sort(), [...INCIDENT_RULES]);
    const placed = new Set(nodes(sim1!).flatMap((n) => n.problems.map((p) => p.findingId)));
    assert.deepEqual(
      findings.map((f) => f.id).filter((id) => !placed.has(id)),
      [],
    );
    // Reveal ids are the ids of the tree's own nodes.
    const store = byRole('store').find((n) => n.problems.length)!;
    const roots = await t.lsp.request<{ nodes: Array<{ id: string }> }>(LspMethods.treeChildren, {
      subsystem: 'regions',
      parentId: 'regions:sim',
    });
    assert.ok(
      roots.nodes.some((n) => n.id === store.reveal.treeId),
      `${store.reveal.treeId} is a node of the Regions view`,
    );

    // Repair the stale region: its store loses the mark.
    const finding = findings.find((f) => f.rule === 'regions/stale-prepared')!;
    const repair = finding.repairs.find((r) => r.safety === 'safe')!;
    const result = await t.lsp.request<ApplyRepairResult>('workspace/executeCommand', {
      command: LspCommands.applyRepair,
      arguments: [{ cluster: 'sim', findingId: finding.id, repairId: repair.id }],
    });
    assert.ok(result.resolved, result.summary);
    const after = (await topology('sim')).clusters[0]!;
    assert.deepEqual(
      nodes(after)
        .filter((n) => n.role === 'store' && n.problems.length)
        .map((n) => n.label),
      [],
    );
    assert.deepEqual(rulesOn(nodes(after).find((n) => n.role === 'metastore')!), ['shards/dangling']);
  });

  it('answers an unknown cluster with an error in words', async () => {
    await assert.rejects(t.lsp.request(LspMethods.topology, { cluster: 'nope' }), /no cluster named nope is connected/);
  });
});
