/**
 * `clusterTopology`: for every scenario, the nodes of the five systems, what
 * each holds, and each finding marked on the node it sits on (by hand: the
 * role each rule's problems sit on is written out here, not derived).
 */
import * as assert from 'node:assert/strict';
import { ClusterTopology, keys, SCENARIOS, type Finding, type NodeRole, type RuleId, type TopologyNode } from '../../src/protocol';
import { clusterTopology, modelFrom, runChecks, type ClusterModel } from '../../src/analysis';
import { Simulator } from '../../src/simulator/simulator';
import { INCIDENT_RULES, SCENARIO_RULES } from '../scenarioRules';
import { treeNodeId } from '../../src/engine/tree';
import * as F from './fixtures';

/** Where each rule's problems sit. */
const ROLES_OF_RULE: Partial<Record<RuleId, NodeRole[]>> = {
  'shards/dangling': ['metastore'],
  'wal/close-blocked': ['streaming-node'],
  'ddl/backlog': ['metasrv'],
  'ddl/duplicate': ['metasrv'],
  'regions/stale-prepared': ['store'],
  'partitions/online-out-of-space': ['sc', 'spu'],
};

const nodesOf = (t: ClusterTopology) => t.systems.flatMap((s) => s.nodes);
const marked = (t: ClusterTopology, f: Finding) => nodesOf(t).filter((n) => n.problems.some((p) => p.findingId === f.id));
const mark = (n: TopologyNode, f: Finding) => n.problems.find((p) => p.findingId === f.id)!;

const topology = (model: ClusterModel, findings: Finding[], cluster = 'sim') =>
  clusterTopology(model, findings, { cluster, treeId: (s, segments) => treeNodeId(s, cluster, segments) });

function scenarioModel(scenario: (typeof SCENARIOS)[number]): ClusterModel {
  const sim = new Simulator();
  sim.reset({ scenario, seed: 1 });
  return modelFrom(sim.status(), (c) => sim.entities(c));
}

describe('topology', () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario}: every system's nodes, with each problem on the node it sits on`, () => {
      const model = scenarioModel(scenario);
      const findings = runChecks(model);
      const expectedRules = scenario === 'healthy' ? [] : scenario === 'incident-all' ? INCIDENT_RULES : SCENARIO_RULES[scenario];
      assert.deepEqual([...new Set(findings.map((f) => f.rule))].sort(), [...expectedRules].sort());
      const t = ClusterTopology.parse(topology(model, findings, 'sim'));

      // Every system is drawn with its nodes, whatever the scenario.
      assert.deepEqual(
        t.systems.map((s) => s.id),
        ['quickwit', 'milvus', 'greptime', 'tikv', 'fluvio'],
      );
      for (const s of t.systems) assert.ok(s.nodes.length > 0, `${s.id} has nodes`);
      const roles = new Set(nodesOf(t).map((n) => n.role));
      for (const r of ['metastore', 'control-plane', 'ingester', 'streaming-node', 'metasrv', 'store', 'sc', 'spu'] as const)
        assert.ok(roles.has(r), `a ${r} node`);
      const metastore = nodesOf(t).find((n) => n.role === 'metastore')!;
      assert.deepEqual(metastore.holds[0], { what: 'shards', count: model.collections['quickwit.metastore.shards'].size });
      assert.equal(t.maxCount, Math.max(...nodesOf(t).map((n) => n.holds[0]!.count)));

      if (scenario === 'healthy') {
        assert.deepEqual(
          nodesOf(t)
            .filter((n) => n.problems.length)
            .map((n) => n.id),
          [],
        );
        assert.ok(nodesOf(t).every((n) => n.health === 'ok'));
      }
      for (const f of findings) {
        const on = marked(t, f);
        assert.deepEqual(
          [...new Set(on.map((n) => n.role))].sort(),
          [...ROLES_OF_RULE[f.rule]!].sort(),
          `${f.id} sits on ${ROLES_OF_RULE[f.rule]}`,
        );
        for (const n of on) {
          assert.equal(mark(n, f).severity, f.severity);
          assert.equal(n.health, f.severity === 'error' || n.problems.some((p) => p.severity === 'error') ? 'error' : 'warning');
        }
        switch (f.rule) {
          case 'shards/dangling':
          case 'ddl/backlog':
          case 'ddl/duplicate':
            assert.equal(mark(on[0]!, f).count, f.count);
            break;
          case 'wal/close-blocked': {
            // The node asked to stop, and only it.
            const terminating = [...model.collections['milvus.nodes'].values()]
              .filter((n) => n.lifecycle === 'Terminating')
              .map((n) => n.key);
            assert.deepEqual(
              on.map((n) => n.label),
              terminating,
            );
            assert.equal(on[0]!.reveal.treeId, `wal:sim/${terminating[0]}`);
            break;
          }
          case 'regions/stale-prepared':
            assert.deepEqual(
              on.map((n) => n.label),
              [f.group],
            );
            assert.equal(on[0]!.reveal.treeId, `regions:sim/${f.group}`);
            break;
          case 'partitions/online-out-of-space': {
            // The SPUs that lead an Online partition of the topic and report their storage full.
            const reports = model.collections['fluvio.spuReports'];
            const full = [...model.collections['fluvio.partitions'].values()].filter(
              (p) =>
                p.topic === f.group &&
                p.resolution === 'Online' &&
                reports.get(keys.spuReport(p.leader.spu, p.topic, p.partition))?.storageFull,
            );
            const spus = [...new Set(full.map((p) => keys.spu(p.leader.spu)))].sort();
            assert.deepEqual(
              on
                .filter((n) => n.role === 'spu')
                .map((n) => n.label)
                .sort(),
              spus,
            );
            assert.equal(
              mark(
                on.find((n) => n.role === 'sc')!,
                f,
              ).count,
              f.count,
            );
            assert.equal(
              on.filter((n) => n.role === 'spu').reduce((sum, n) => sum + mark(n, f).count, 0),
              f.count,
            );
            for (const n of on) assert.equal(n.reveal.treeId, `partitions:sim/${f.group}`);
            break;
          }
        }
      }
      if (findings.some((f) => f.rule === 'shards/dangling')) {
        // Revealed at the metastore group of the source with the dangling shards.
        const f = findings.find((x) => x.rule === 'shards/dangling')!;
        assert.equal(metastore.reveal.treeId, `shards:sim/${f.group.split('/').map(encodeURIComponent).join('/')}/metastore`);
      }
      for (const s of t.systems) assert.deepEqual(s.unplaced, [], `${s.id}: nothing unplaced`);
    });
  }

  it('with the bugs fixed, nothing is marked', () => {
    const sim = new Simulator();
    sim.reset({ scenario: 'incident-all', seed: 1, bugs: 'fixed' });
    const model = modelFrom(sim.status(), (c) => sim.entities(c));
    const t = topology(model, runChecks(model), 'sim');
    assert.deepEqual(
      nodesOf(t)
        .filter((n) => n.problems.length)
        .map((n) => n.id),
      [],
    );
  });

  it('puts orphaned shards on the control plane and on each ingester that holds them, counted', () => {
    const b = F.model();
    F.healthyShard(b, 'live');
    b.add('quickwit.controlPlane.shards', F.controlPlaneShard('o1'), F.controlPlaneShard('o2'));
    b.add(
      'quickwit.ingester.shards',
      F.ingesterShard('o1'),
      F.ingesterShard('o1', { ingesterId: 'ingester-2' }),
      F.ingesterShard('o2', { ingesterId: 'ingester-2' }),
    );
    const model = b.build();
    const findings = runChecks(model).filter((f) => f.rule === 'shards/orphaned');
    assert.equal(findings.length, 1);
    const t = topology(model, findings, 'c');
    const counts = marked(t, findings[0]!).map((n) => [n.label, mark(n, findings[0]!).count, mark(n, findings[0]!).partial ?? false]);
    assert.deepEqual(counts, [
      ['control plane', 2, false],
      ['ingester-1', 1, false],
      ['ingester-2', 2, false],
    ]);
  });

  it('a finding of an unknown shape sits on the nodes of its samples, as a lower bound when they differ', () => {
    const b = F.model();
    b.add('tikv.writeBatches', F.writeBatch(1), F.writeBatch(2));
    const model = b.build();
    const finding: Finding = {
      id: 'regions/stale-prepared:x',
      rule: 'regions/stale-prepared',
      severity: 'warning',
      subsystem: 'regions',
      group: 'x',
      message: 'made up',
      count: 40,
      samples: [
        { collection: 'tikv.regions', key: keys.region(1, 7), version: 1 },
        { collection: 'tikv.regions', key: keys.region(2, 8), version: 1 },
      ],
      anchor: { collection: 'tikv.regions', key: keys.region(1, 7), version: 1 },
      facts: [],
      repairs: [],
    };
    const t = topology(model, [finding], 'c');
    assert.deepEqual(
      marked(t, finding).map((n) => [n.label, mark(n, finding).count, mark(n, finding).partial, n.health]),
      [
        ['store-1', 1, true, 'warning'],
        ['store-2', 1, true, 'warning'],
      ],
    );
  });

  it('draws the incident at scale as a few dozen nodes', () => {
    const sim = new Simulator();
    sim.reset({ scenario: 'quickwit-dangling-shards', seed: 1, size: { danglingShards: 50_000, liveShards: 300 } });
    const model = modelFrom(sim.status(), (c) => sim.entities(c));
    const findings = runChecks(model);
    const t = topology(model, findings, 'sim');
    assert.ok(nodesOf(t).length < 50, `${nodesOf(t).length} nodes`);
    const metastore = nodesOf(t).find((n) => n.role === 'metastore')!;
    assert.equal(metastore.holds[0]!.count, 50_300);
    assert.equal(
      metastore.problems.reduce((n, p) => n + p.count, 0),
      50_000,
    );
    // The dangling shards name ingesters as their leaders; none holds them.
    const ingesters = nodesOf(t).filter((n) => n.role === 'ingester');
    assert.equal(
      ingesters.reduce((n, i) => n + (i.holds.find((h) => h.what.startsWith('metastore shards naming'))?.count ?? 0), 0),
      50_300,
    );
  });
});
