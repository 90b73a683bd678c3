/**
 * The facts of every finding of every scenario, checked against the model the
 * simulator gives: which components, how many entities, which keys at which
 * versions, the control plane's epoch, the time read. The expected values are
 * recomputed here from the entities, not taken from the checks.
 */
import * as assert from 'node:assert/strict';
import {
  COLLECTIONS,
  Fact,
  SCENARIOS,
  UNFINISHED_PROCEDURE_STATUSES,
  keys,
  type AnyEntity,
  type CollectionName,
  type Finding,
  type RuleId,
  type ScenarioName,
} from '../../src/protocol';
import { locateFact, modelFrom, renderSubsystem, runChecks, type ClusterModel } from '../../src/analysis';
import { Simulator } from '../../src/simulator/simulator';
import { INCIDENT_RULES, SCENARIO_RULES } from '../scenarioRules';

function scenarioModel(scenario: ScenarioName): ClusterModel {
  const sim = new Simulator();
  sim.reset({ scenario, seed: 1 });
  return modelFrom(sim.status(), (c) => sim.entities(c));
}

/** What a test compares: the component, the collection, the count (1 for an entity), the key and the version (entities). */
function shape(f: Fact): [string, CollectionName, number, string | undefined, number | undefined] {
  const s = f.subject;
  return [f.component, s.collection, s.kind === 'group' ? s.count : 1, s.key, s.kind === 'entity' ? s.version : undefined];
}

function entity<C extends CollectionName>(model: ClusterModel, c: C, key: string) {
  const e = model.collections[c].get(key);
  assert.ok(e, `${c} ${key} is in the model`);
  return e;
}

const groupOfShard = (s: { indexUid: string; sourceId: string }) => `${s.indexUid}/${s.sourceId}`;

/** Per rule: the facts a finding must carry, from the model. */
const EXPECTED: Partial<Record<RuleId, (f: Finding, m: ClusterModel) => void>> = {
  'shards/dangling': (f, m) => {
    const ofSource = (s: { indexUid: string; sourceId: string }) => groupOfShard(s) === f.group;
    const open = [...m.collections['quickwit.metastore.shards'].values()].filter((s) => ofSource(s) && s.shardState !== 'closed');
    const known = [...m.collections['quickwit.controlPlane.shards'].values()].filter(ofSource);
    const held = new Set(
      [...m.collections['quickwit.ingester.shards'].values()].filter(ofSource).map((s) => keys.shard(s.indexUid, s.sourceId, s.shardId)),
    );
    assert.equal(open.length, f.count + known.length, 'the metastore holds the dangling shards and the ones the control plane knows');
    assert.deepEqual(
      f.facts.map((x) => shape(x).slice(0, 3)),
      [
        ['metastore', 'quickwit.metastore.shards', open.length],
        ['control plane', 'quickwit.controlPlane.shards', known.length],
        ['ingester', 'quickwit.ingester.shards', held.size],
        ['metastore', 'quickwit.metastore.shards', f.count],
      ],
    );
    assert.equal(f.facts[1]!.epoch, m.status.controlPlaneEpoch);
    assert.match(f.facts[1]!.says, new RegExp(`^The control plane \\(epoch ${m.status.controlPlaneEpoch}\\) knows `));
    // The dangling shards are the ones neither the control plane knows nor an ingester holds.
    const dangling = entity(m, 'quickwit.metastore.shards', f.facts[3]!.subject.key!);
    assert.ok(!m.collections['quickwit.controlPlane.shards'].has(dangling.key) && !held.has(dangling.key));
    assert.equal(
      f.facts[3]!.since,
      Math.min(...open.filter((s) => !held.has(s.key) && !known.some((k) => k.key === s.key)).map((s) => s.createdAt)),
    );
  },
  'wal/close-blocked': (f, m) => {
    const node = entity(m, 'milvus.nodes', f.group);
    const wals = [...m.collections['milvus.wals'].values()].filter(
      (w) => w.serverId === node.serverId && w.recovering === true && (w.inFlightAppends ?? 0) > 0,
    );
    const channels = new Set(wals.map((w) => w.channel));
    const appends = [...m.collections['milvus.appends'].values()].filter((a) => a.serverId === node.serverId && channels.has(a.channel));
    assert.deepEqual(f.facts.map(shape), [
      ['kubernetes', 'milvus.nodes', 1, node.key, node.version],
      ...wals.map((w) => ['streaming node', 'milvus.wals', 1, w.key, w.version]),
      ['streaming node', 'milvus.appends', appends.length, appends[0]?.key, undefined],
    ]);
    assert.equal(f.facts[0]!.since, node.stopRequestedAt);
  },
  'ddl/backlog': (f, m) => {
    const procs = [...m.collections['greptime.procedures'].values()];
    const unfinished = procs.filter((p) => UNFINISHED_PROCEDURE_STATUSES.includes(p.status));
    const finished = procs.filter((p) => p.status === 'Done' || p.status === 'Failed');
    const etcd = [...m.collections['greptime.etcd'].values()];
    const biggest = etcd.reduce((a, b) => (b.sizeBytes > a.sizeBytes ? b : a));
    const perTable = new Map<string, number>();
    for (const p of unfinished) perTable.set(p.table, (perTable.get(p.table) ?? 0) + 1);
    const ranked = [...perTable.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    // The tables that pile up procedures (more than one), or every table if none does.
    const tables = ranked.some(([, n]) => n > 1) ? ranked.filter(([, n]) => n > 1) : ranked;
    assert.deepEqual(f.facts.slice(0, 4).map(shape), [
      ['metasrv', 'greptime.procedures', unfinished.length, unfinished[0]?.key, undefined],
      ['metasrv', 'greptime.procedures', finished.length, finished[0]?.key, undefined],
      ['etcd', 'greptime.etcd', etcd.length, biggest.key, undefined],
      ['etcd', 'greptime.etcd', 1, biggest.key, biggest.version],
    ]);
    // Then the tables piling up procedures, the five biggest one by one and the others together.
    const shown = tables.slice(0, 5);
    const rest = tables.slice(5).reduce((n, [, k]) => n + k, 0);
    assert.deepEqual(
      f.facts.slice(4).map((x) => [x.subject.kind === 'group' && x.subject.group, shape(x)[2]]),
      [...shown, ...(rest ? [['other tables', rest]] : [])],
    );
    for (const x of f.facts.slice(4, 9))
      assert.equal(entity(m, 'greptime.procedures', x.subject.key!).table, (x.subject as { group: string }).group);
  },
  'ddl/duplicate': (f, m) => {
    const same = [...m.collections['greptime.procedures'].values()].filter(
      (p) => p.table === f.group && UNFINISHED_PROCEDURE_STATUSES.includes(p.status),
    );
    const oldest = same.reduce((a, b) =>
      b.startTime < a.startTime || (b.startTime === a.startTime && b.procedureId < a.procedureId) ? b : a,
    );
    // The scenario's duplicates are all of one kind: the oldest, then the others.
    assert.deepEqual(f.facts.map(shape), [
      ['metasrv', 'greptime.procedures', 1, oldest.key, oldest.version],
      ['metasrv', 'greptime.procedures', same.length - 1, same.find((p) => p !== oldest)!.key, undefined],
    ]);
    assert.equal(f.facts[0]!.since, oldest.startTime);
  },
  'regions/stale-prepared': (f, m) => {
    const batch = entity(m, 'tikv.writeBatches', f.group);
    const marked = [...m.collections['tikv.regions'].values()].filter(
      (r) => r.storeId === batch.storeId && r.isWritten && r.regionId !== (batch.atCommitBoundary ? null : batch.currentRegion),
    );
    assert.deepEqual(f.facts.map(shape), [
      ...marked.slice(0, 5).map((r) => ['region cache', 'tikv.regions', 1, r.key, r.version]),
      ...(marked.length > 5 ? [['region cache', 'tikv.regions', marked.length - 5, marked[5]!.key, undefined]] : []),
      ['write batch', 'tikv.writeBatches', 1, batch.key, batch.version],
    ]);
  },
  'partitions/online-out-of-space': (f, m) => {
    const online = [...m.collections['fluvio.partitions'].values()].filter((p) => p.topic === f.group && p.resolution === 'Online');
    const full = online.filter(
      (p) => m.collections['fluvio.spuReports'].get(keys.spuReport(p.leader.spu, p.topic, p.partition))?.storageFull,
    );
    const pairs = full.slice(0, 5).flatMap((p) => {
      const report = entity(m, 'fluvio.spuReports', keys.spuReport(p.leader.spu, p.topic, p.partition));
      return [
        ['SC', 'fluvio.partitions', 1, p.key, p.version],
        [`SPU ${report.spuId}`, 'fluvio.spuReports', 1, report.key, report.version],
      ];
    });
    const rest = full.length > 5 ? [['SC', 'fluvio.partitions', full.length - 5, full[5]!.key, undefined]] : [];
    assert.deepEqual(f.facts.map(shape), [...pairs, ...rest]);
    for (const x of f.facts) {
      if (x.subject.collection !== 'fluvio.spuReports') continue;
      const report = entity(m, 'fluvio.spuReports', x.subject.key!);
      assert.equal(x.since, report.reportedAt);
      assert.equal(x.says, `SPU ${report.spuId}'s last report (t=${report.reportedAt} s) says its storage is full, 0 B free.`);
    }
  },
};

describe('facts of every finding of every scenario', () => {
  for (const scenario of SCENARIOS) {
    it(`${scenario}: each finding's facts name the components, counts, keys and versions of the model`, () => {
      const model = scenarioModel(scenario);
      const findings = runChecks(model);
      const expectedRules = scenario === 'healthy' ? [] : scenario === 'incident-all' ? INCIDENT_RULES : SCENARIO_RULES[scenario];
      assert.deepEqual([...new Set(findings.map((f) => f.rule))].sort(), [...expectedRules].sort());
      for (const f of findings) {
        assert.ok(f.facts.length >= 2, `${f.id} rests on at least two facts`);
        for (const x of f.facts) {
          Fact.parse(x);
          assert.equal(x.readAt, model.status.time, `${f.id}: read at the model's time`);
          assert.ok(x.says.length > 0 && x.says.endsWith('.'), `${f.id}: a sentence: ${x.says}`);
          // The version is the one the model holds, and the fact links into the document that shows its entity.
          if (x.subject.kind === 'entity')
            assert.equal((entity(model, x.subject.collection, x.subject.key) as AnyEntity).version, x.subject.version);
          const doc = renderSubsystem(model, COLLECTIONS[x.subject.collection].subsystem, 'sim');
          const at = locateFact(x, () => ({ uri: 'doc', index: doc }));
          assert.ok(at, `${f.id}: ${x.says} has a line`);
          const line = doc.text.split('\n')[at.line]!;
          if (x.subject.kind === 'entity')
            assert.ok(line.includes(x.subject.key), `${f.id}: line ${at.line} shows ${x.subject.key}: ${line}`);
        }
        const expect = EXPECTED[f.rule];
        assert.ok(expect, `facts of ${f.rule} are checked`);
        expect(f, model);
      }
    });
  }
});
