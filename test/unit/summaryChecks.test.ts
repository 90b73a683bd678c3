/**
 * The checks on counts (`runSummaryChecks`) against the full checks on the same cluster: for every
 * scenario, the summary is what a full read counts (`summariseCollections`, which the cluster
 * summary tests hold equal to `cluster.summary`), and each provisional finding must be one the full
 * check makes too, with the same id and at least as many entities. Where the counts suffice (which
 * scenario breaks what is written out here, not derived from the checks), the provisional finding
 * must be there; a healthy cluster has none.
 */
import * as assert from 'node:assert/strict';
import { Finding, SCENARIOS, summariseCollections, type RuleId, type ScenarioName, type SummaryResult } from '../../src/protocol';
import { modelFrom, runChecks, runSummaryChecks, type ClusterModel } from '../../src/analysis';
import { Simulator } from '../../src/simulator/simulator';
import { SCENARIO_RULES } from '../scenarioRules';
import * as F from './fixtures';

function scenarioModel(scenario: ScenarioName, seed: number): ClusterModel {
  const sim = new Simulator();
  sim.reset({ scenario, seed, size: { danglingShards: 5_000, liveShards: 40, ddlRetries: 400 } });
  return modelFrom(sim.status(), (c) => sim.entities(c));
}

const summaryOfModel = (m: ClusterModel): SummaryResult => ({ seq: m.status.seq, collections: summariseCollections(m.collections) });

/** The rules whose finding the counts prove in each scenario (the others need the entities). */
const PROVABLE: Record<ScenarioName, readonly RuleId[]> = {
  healthy: [],
  'quickwit-dangling-shards': ['shards/dangling'],
  'milvus-wal-close-blocked': [],
  'greptime-ddl-backlog': ['ddl/backlog'],
  'tikv-stale-prepared-region': [],
  'fluvio-out-of-space-reverted': [],
  'incident-all': ['ddl/backlog', 'shards/dangling'],
};

/** Every provisional finding is valid, offers nothing to repair, and is one the full check makes, with at least as many entities. */
function agrees(provisional: Finding[], full: Finding[]): void {
  const byId = new Map(full.map((f) => [f.id, f]));
  for (const p of provisional) {
    Finding.parse(p);
    assert.equal(p.provisional, true, p.id);
    assert.deepEqual(p.repairs, [], `${p.id}: no repair from counts`);
    assert.deepEqual(p.samples, [], `${p.id}: no entity was read`);
    const f = byId.get(p.id);
    assert.ok(f, `${p.id}: the full check finds it too (it found ${full.map((x) => x.id).join(', ') || 'nothing'})`);
    assert.equal(f.provisional, undefined);
    assert.equal(p.severity, f.severity);
    assert.ok(p.count <= f.count, `${p.id}: at least ${p.count}, of ${f.count}`);
  }
}

describe('checks on counts (cluster.summary)', () => {
  for (const scenario of SCENARIOS) {
    for (const seed of [1, 7]) {
      it(`agree with the full checks: ${scenario}, seed ${seed}`, () => {
        const model = scenarioModel(scenario, seed);
        const full = runChecks(model);
        const provisional = runSummaryChecks(summaryOfModel(model), model.status);
        agrees(provisional, full);
        const rules = [...new Set(provisional.map((f) => f.rule))].sort();
        assert.deepEqual(rules, PROVABLE[scenario]);
        if (scenario !== 'healthy' && scenario !== 'incident-all') {
          for (const r of rules) assert.ok((SCENARIO_RULES[scenario] as readonly RuleId[]).includes(r), `${r} is what ${scenario} breaks`);
        }
        // Where the counts suffice, every finding of that rule comes early.
        for (const f of full.filter((x) => PROVABLE[scenario].includes(x.rule))) {
          assert.ok(
            provisional.some((p) => p.id === f.id),
            `${f.id} comes from the counts`,
          );
        }
      });
    }
  }

  it('dangling shards: the counts of each component, and a lower bound the full check reaches', () => {
    const model = scenarioModel('quickwit-dangling-shards', 1);
    const [p] = runSummaryChecks(summaryOfModel(model), model.status);
    const group = p.group;
    const ofSource = (s: { indexUid: string; sourceId: string }) => `${s.indexUid}/${s.sourceId}` === group;
    const open = [...model.collections['quickwit.metastore.shards'].values()].filter(
      (s) => ofSource(s) && s.shardState !== 'closed',
    ).length;
    const known = [...model.collections['quickwit.controlPlane.shards'].values()].filter(ofSource).length;
    const held = [...model.collections['quickwit.ingester.shards'].values()].filter(ofSource).length;
    assert.ok(open > 5_000 && known > 0 && held > 0, `${open} ${known} ${held}`);
    assert.equal(p.count, open - known - held);
    assert.deepEqual(
      p.facts.map((f) => [f.component, f.subject.collection, f.subject.kind === 'group' ? f.subject.count : -1]),
      [
        ['metastore', 'quickwit.metastore.shards', open],
        ['control plane', 'quickwit.controlPlane.shards', known],
        ['ingester', 'quickwit.ingester.shards', held],
        ['metastore', 'quickwit.metastore.shards', open - known - held],
      ],
    );
    assert.equal(p.facts[1]!.epoch, model.status.controlPlaneEpoch);
    for (const f of p.facts) assert.equal(f.readAt, model.status.time);
    const fmt = (n: number) => n.toLocaleString('en-US');
    assert.match(
      p.message,
      new RegExp(`${fmt(open)} not closed in the metastore, ${fmt(known)} in the control plane, ${fmt(held)} on ingesters`),
    );
  });

  it('ddl backlog: the unfinished count is exact, the tables ranked as the full check ranks them', () => {
    const model = scenarioModel('greptime-ddl-backlog', 1);
    const [p] = runSummaryChecks(summaryOfModel(model), model.status).filter((f) => f.rule === 'ddl/backlog');
    const f = runChecks(model).find((x) => x.id === p.id)!;
    assert.equal(p.count, f.count);
    assert.ok(f.message.startsWith(p.message.replace(/\)\..*$/, ')')), `${p.message} | ${f.message}`);
    assert.match(p.message, new RegExp(`Most are for ${f.message.split('Most are for ')[1]!.replace(/[.()]/g, '\\$&')}$`));
  });

  it('orphaned shards: more in the control plane or on one ingester than the metastore has', () => {
    const b = F.model();
    F.healthyShard(b, 's1');
    b.add('quickwit.controlPlane.shards', F.controlPlaneShard('cp-only-1'), F.controlPlaneShard('cp-only-2'));
    b.add('quickwit.ingester.shards', F.ingesterShard('ing-only-1', { ingesterId: 'ingester-9' }));
    const model = b.build();
    const full = runChecks(model);
    const provisional = runSummaryChecks(summaryOfModel(model), model.status);
    agrees(provisional, full);
    assert.deepEqual(
      provisional.map((p) => [p.id, p.count]),
      [[`shards/orphaned:${F.INDEX}/${F.SOURCE}`, 2]],
      'the control plane has 3 of a source the metastore has 1 of: 2 orphans at least (the ingesters hold 1 each: not provable)',
    );
  });

  it('concludes nothing from groups a summary left out, from a subsystem the cluster cannot see, or for a rule set off', () => {
    const model = scenarioModel('incident-all', 1);
    const summary = summaryOfModel(model);
    const cp = summary.collections['quickwit.controlPlane.shards']!;
    const truncated: SummaryResult = {
      ...summary,
      collections: { ...summary.collections, 'quickwit.controlPlane.shards': { ...cp, groups: [], groupsOmitted: cp.groups!.length } },
    };
    assert.deepEqual(
      runSummaryChecks(truncated, model.status).map((f) => f.rule),
      ['ddl/backlog'],
    );
    const unavailable = { ...model.status, subsystems: { ddl: { state: 'unavailable' as const, reason: 'etcd is down' } } };
    assert.deepEqual(
      runSummaryChecks(summary, unavailable).map((f) => f.rule),
      ['shards/dangling'],
    );
    assert.deepEqual(
      runSummaryChecks(summary, model.status, { severities: { 'shards/dangling': 'off', 'ddl/backlog': 'info' } }).map((f) => [
        f.rule,
        f.severity,
      ]),
      [['ddl/backlog', 'info']],
    );
  });
});
