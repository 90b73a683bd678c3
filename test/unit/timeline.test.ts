/**
 * The timeline: the recorder's bound, the forbidden transitions (as findings with their time, and
 * none for what the fixed systems do), the snapshot file's timeline, and the Show Timeline query.
 */
import * as assert from 'node:assert/strict';
import { Finding, keys, type AnyEntity, type CollectionName, type EntityOf, type Transition } from '../../src/protocol';
import {
  forbiddenTransitions,
  parseSnapshotDocument,
  queryTimeline,
  renderSnapshot,
  runChecks,
  Timeline,
  type ClusterModel,
} from '../../src/analysis';
import * as F from './fixtures';

/** A model and its timeline, changed the way the session applies events: the entity replaced, the change observed. */
class Recorder {
  readonly timeline: Timeline;
  private seq = 0;
  constructor(
    readonly model: ClusterModel,
    capacity = 1000,
  ) {
    this.timeline = new Timeline(capacity);
  }

  /** Puts (or deletes, with `null`) each entity at logical time `time`. */
  at<C extends CollectionName>(time: number, collection: C, ...changes: Array<EntityOf<C> | { delete: string }>): this {
    const map = this.model.collections[collection] as Map<string, AnyEntity>;
    for (const change of changes) {
      const key = 'delete' in change ? change.delete : change.key;
      const before = map.get(key);
      const after = 'delete' in change ? undefined : { ...change, version: (before?.version ?? 0) + 1 };
      if (after) map.set(key, after as AnyEntity);
      else map.delete(key);
      this.timeline.observe({ seq: ++this.seq, time, collection, key, before, after: after as AnyEntity | undefined });
    }
    return this;
  }

  findings(): Finding[] {
    return runChecks(this.model, { timeline: this.timeline.toArray() }).filter((f) => f.rule === 'timeline/forbidden-transition');
  }
}

const P = (resolution: EntityOf<'fluvio.partitions'>['resolution']) => F.partition('orders', 0, { resolution });

/** The Fluvio incident as the buggy SC plays it: disk full at t=10, link down at t=11, back at t=14. */
function fluvioIncident(): Recorder {
  const r = new Recorder(
    F.model()
      .add('fluvio.partitions', P('Online'))
      .add('fluvio.spuReports', F.spuReport(5001, 'orders', 0))
      .build(),
  );
  return r
    .at(10, 'fluvio.spuReports', F.spuReport(5001, 'orders', 0, { storageFull: true, freeBytes: 0, reportedAt: 10 }))
    .at(10, 'fluvio.partitions', P('OutOfStorage'))
    .at(11, 'fluvio.partitions', P('LeaderOffline'))
    .at(14, 'fluvio.partitions', P('Online'));
}

describe('timeline recorder', () => {
  it('keeps at most its capacity, the newest, and counts what it dropped', () => {
    const r = new Recorder(F.model().build(), 3);
    for (let t = 1; t <= 5; t++) r.at(t, 'greptime.procedures', F.procedure('p1', { status: t % 2 ? 'Running' : 'Retrying' }));
    assert.equal(r.timeline.size, 3);
    assert.equal(r.timeline.dropped, 2);
    assert.deepEqual(
      r.timeline.toArray().map((t) => t.time),
      [3, 4, 5],
    );
    r.timeline.setCapacity(2);
    assert.deepEqual(
      r.timeline.toArray().map((t) => t.time),
      [4, 5],
    );
    assert.equal(r.timeline.dropped, 3);
    r.timeline.setCapacity(0);
    r.at(6, 'greptime.procedures', F.procedure('p1', { status: 'Done' }));
    assert.equal(r.timeline.size, 0);
  });

  it('records state changes only: appearing, leaving, and label changes, not other fields', () => {
    const r = new Recorder(F.model().build());
    r.at(1, 'tikv.regions', F.region(1, 7))
      .at(2, 'tikv.regions', F.region(1, 7, { safePoint: 99 })) // not a state
      .at(3, 'tikv.regions', F.region(1, 7, { isWritten: true }))
      .at(4, 'greptime.etcd', F.etcdPrefix('/__procedure__/', 10)) // etcd prefixes have no state
      .at(5, 'tikv.regions', { delete: keys.region(1, 7) });
    assert.deepEqual(
      r.timeline.toArray().map((t) => [t.time, t.from, t.to]),
      [
        [1, null, 'Active'],
        [3, 'Active', 'Active, prepared'],
        [5, 'Active, prepared', null],
      ],
    );
  });
});

describe('timeline/forbidden-transition', () => {
  it('Fluvio: OutOfStorage → Online with no SPU report of space freed is a finding, with its time', () => {
    const r = fluvioIncident();
    const [f, ...rest] = r.findings();
    assert.deepEqual(rest, []);
    Finding.parse(f);
    assert.equal(f.subsystem, 'partitions');
    assert.equal(f.id, 'timeline/forbidden-transition:out-of-storage-cleared:orders');
    assert.deepEqual(f.anchor, { collection: 'fluvio.partitions', key: 'orders-0', version: 4 });
    assert.deepEqual(
      f.transitions?.map((t) => [t.time, t.key, t.from, t.to]),
      [[14, 'orders-0', 'LeaderOffline', 'Online']],
    );
    assert.match(f.message, /orders-0 went LeaderOffline → Online at t=14 s/);
    assert.match(f.message, /OutOfStorage since t=10 s, and no report of spu-5001 said space was freed/);
  });

  it('Fluvio: not when the leader reported space freed in between, and gone once repaired', () => {
    const freed = new Recorder(F.model().add('fluvio.partitions', P('Online')).build())
      .at(10, 'fluvio.partitions', P('OutOfStorage'))
      .at(12, 'fluvio.spuReports', F.spuReport(5001, 'orders', 0, { storageFull: false, reportedAt: 12 }))
      .at(14, 'fluvio.partitions', P('Online'));
    assert.deepEqual(freed.findings(), []);
    assert.deepEqual(forbiddenTransitions(freed.model, freed.timeline.toArray()), []);

    // The restore repair: the partition is OutOfStorage again. The transition stays forbidden in the timeline.
    const repaired = fluvioIncident().at(20, 'fluvio.partitions', P('OutOfStorage'));
    assert.deepEqual(repaired.findings(), []);
    assert.deepEqual(
      forbiddenTransitions(repaired.model, repaired.timeline.toArray()).map((f) => [f.kind, f.transition.time]),
      [['out-of-storage-cleared', 14]],
    );
  });

  it('TiKV: a region left prepared at a commit boundary is a finding; a prepare, write and clear within a step is not', () => {
    const base = () => F.model().add('tikv.regions', F.region(1, 26972)).add('tikv.writeBatches', F.writeBatch(1)).build();
    const prepared = F.region(1, 26972, { isWritten: true });
    // Fixed: prepare_for_region, then the clear at commit, all at t=5.
    const fixed = new Recorder(base())
      .at(5, 'tikv.regions', prepared)
      .at(5, 'tikv.writeBatches', F.writeBatch(1, { currentRegion: 26972, writtenRegions: [26972], atCommitBoundary: false }))
      .at(5, 'tikv.regions', F.region(1, 26972))
      .at(5, 'tikv.writeBatches', F.writeBatch(1));
    assert.deepEqual(fixed.findings(), []);
    assert.deepEqual(forbiddenTransitions(fixed.model, fixed.timeline.toArray()), []);
    // Buggy: the clear is skipped; the batch reaches the commit boundary with the mark set.
    const buggy = new Recorder(base())
      .at(5, 'tikv.regions', prepared)
      .at(5, 'tikv.writeBatches', F.writeBatch(1, { currentRegion: 26972, writtenRegions: [26972], atCommitBoundary: false }))
      .at(5, 'tikv.writeBatches', F.writeBatch(1, { currentRegion: 26972, writtenRegions: [26972], atCommitBoundary: true }));
    const [f, ...rest] = buggy.findings();
    assert.deepEqual(rest, []);
    assert.equal(f.id, 'timeline/forbidden-transition:prepared-not-current:store-1');
    assert.equal(f.anchor.key, keys.region(1, 26972));
    assert.deepEqual(
      f.transitions?.map((t) => [t.time, t.key, t.to]),
      [[5, keys.region(1, 26972), 'Active, prepared']],
    );
    assert.match(f.message, /at t=5 s/);
    // Cleared by the repair: no finding.
    buggy.at(9, 'tikv.regions', F.region(1, 26972));
    assert.deepEqual(buggy.findings(), []);
  });

  it('TiKV: a region prepared while another region is the current one', () => {
    const r = new Recorder(
      F.model()
        .add('tikv.regions', F.region(1, 8))
        .add('tikv.writeBatches', F.writeBatch(1, { currentRegion: 9, atCommitBoundary: false }))
        .build(),
    ).at(3, 'tikv.regions', F.region(1, 8, { isWritten: true }));
    const [f] = r.findings();
    assert.match(f.message, /current region is 9/);
  });

  it('region states outside the cache state machine, WAL terms that go back or reopen, finished procedures and closed shards that restart', () => {
    const r = new Recorder(F.model().build())
      .at(1, 'tikv.regions', F.region(1, 5, { state: 'Pending' }))
      .at(2, 'tikv.regions', F.region(1, 5, { state: 'Active' })) // Pending → Active skips Loading
      .at(1, 'milvus.wals', F.wal(1, 'ch-1', { term: 3, available: false }))
      .at(2, 'milvus.wals', F.wal(1, 'ch-1', { term: 3, available: true }))
      .at(1, 'milvus.wals', F.wal(2, 'ch-2', { term: 4 }))
      .at(2, 'milvus.wals', F.wal(2, 'ch-2', { term: 2 }))
      .at(1, 'greptime.procedures', F.procedure('p1', { status: 'Done' }))
      .at(2, 'greptime.procedures', F.procedure('p1', { status: 'Running' }))
      .at(1, 'quickwit.metastore.shards', F.metastoreShard('s1', { shardState: 'closed' }))
      .at(2, 'quickwit.metastore.shards', F.metastoreShard('s1', { shardState: 'open' }));
    assert.deepEqual(
      forbiddenTransitions(r.model, r.timeline.toArray()).map((f) => [f.kind, f.entity.key]),
      [
        ['region-state', keys.region(1, 5)],
        ['wal-term', keys.wal(1, 'ch-1')],
        ['wal-term', keys.wal(2, 'ch-2')],
        ['procedure-reopened', 'p1'],
        ['shard-reopened', keys.shard(F.INDEX, F.SOURCE, 's1')],
      ],
    );
    assert.deepEqual(
      r
        .findings()
        .map((f) => [f.subsystem, f.count])
        .sort(),
      [
        ['ddl', 1],
        ['regions', 1],
        ['shards', 1],
        ['wal', 1],
        ['wal', 1],
      ],
    );
  });

  it('a break in an entity’s history (a resync missed some events) starts it again', () => {
    // OutOfStorage, then (missed: the SPU freed space, the SC set Online, then LeaderOffline), then Online.
    const r = new Recorder(F.model().add('fluvio.partitions', P('Online')).build()).at(10, 'fluvio.partitions', P('OutOfStorage'));
    r.model.collections['fluvio.partitions'].set('orders-0', { ...P('LeaderOffline'), version: 9 });
    r.at(30, 'fluvio.partitions', P('Online'));
    assert.deepEqual(r.findings(), []);
  });
});

describe('timeline in a snapshot file', () => {
  it('round-trips, and a file without one has none', () => {
    const r = fluvioIncident().at(15, 'milvus.wals', F.wal(1, 'by-dev-rootcoord-dml_0', { term: 2, recovering: true }));
    r.timeline.setCapacity(4); // drops the first
    const text = renderSnapshot(r.model, { timeline: { transitions: r.timeline.toArray(), dropped: r.timeline.dropped } });
    const parsed = parseSnapshotDocument(text);
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(parsed.timeline, r.timeline.toArray());
    assert.equal(parsed.timelineDropped, 1);
    assert.ok(
      parsed.timeline.some((t) => t.to === 'term 2, available, recovering'),
      'labels with blanks survive',
    );
    // The file is the same model as one written without its timeline: the timeline lines are comments to other readers.
    const without = renderSnapshot(r.model);
    // Models compare by content (a collection is an EntityTable: the same entities, in order).
    const plain = (m: NonNullable<typeof parsed.model>) => ({
      status: m.status,
      collections: Object.fromEntries(Object.entries(m.collections).map(([c, t]) => [c, [...t.values()]])),
    });
    assert.deepEqual(plain(parseSnapshotDocument(without).model!), plain(parsed.model!));
    assert.deepEqual(parseSnapshotDocument(without).timeline, []);
    const extra = text.split('\n').filter((l) => !without.includes(l));
    assert.ok(extra.length > 0 && extra.every((l) => l.startsWith('#')), `timeline lines are comments: ${extra.join(' | ')}`);
  });

  it('checks the file with its timeline: the forbidden transition is a finding offline too', () => {
    const r = fluvioIncident();
    const parsed = parseSnapshotDocument(renderSnapshot(r.model, { timeline: { transitions: r.timeline.toArray() } }));
    const ids = runChecks(parsed.model!, { timeline: parsed.timeline }).map((f) => f.id);
    assert.ok(ids.includes('timeline/forbidden-transition:out-of-storage-cleared:orders'), ids.join(', '));
  });

  it('reports a malformed transition line and reads on', () => {
    const r = fluvioIncident();
    const text = renderSnapshot(r.model, { timeline: { transitions: r.timeline.toArray() } }).replace('seq=2 time=10', 'seq=two time=10');
    const parsed = parseSnapshotDocument(text);
    assert.equal(parsed.errors.length, 1);
    assert.match(parsed.errors[0].message, /seq must be an integer/);
    assert.equal(parsed.timeline.length, r.timeline.size - 1);
  });
});

describe('Show Timeline query', () => {
  const all = () => {
    const r = fluvioIncident()
      .at(15, 'tikv.regions', F.region(1, 3))
      .at(16, 'tikv.regions', F.region(1, 3, { isWritten: true }));
    const source = { transitions: r.timeline.toArray(), capacity: r.timeline.capacity, dropped: 0 };
    return { r, q: (query: Parameters<typeof queryTimeline>[3]) => queryTimeline('sim', r.model, source, query) };
  };

  it("lists what was already so before the timeline began: the current findings' facts at their own times, oldest first", () => {
    const { r } = all();
    const findings = runChecks(r.model);
    const dated = findings.flatMap((f) => f.facts.filter((x) => x.since !== undefined));
    assert.ok(dated.length > 0, 'the incident has dated facts');
    const none = { transitions: [], capacity: 100, dropped: 0 };
    const text = queryTimeline('sim', r.model, none, { limit: 100 }, findings).text;
    assert.match(text, /\(no transition recorded yet[^\n]*\n\n# Already so before the timeline began/);
    for (const x of dated) assert.ok(text.includes(`t=${x.since} s  ${x.says}`), `${x.says} in\n${text}`);
    const times = [...text.matchAll(/^t=(\d+) s {2}/gm)].map((m) => Number(m[1]));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
      'oldest first',
    );
    assert.doesNotMatch(
      queryTimeline('sim', r.model, none, { limit: 100, states: ['Online'] }, findings).text,
      /Already so/,
      'not under a state filter',
    );
    assert.doesNotMatch(
      queryTimeline('sim', r.model, none, { limit: 100, subsystems: ['wal'] }, findings).text,
      /Already so/,
      'only the subsystems asked for',
    );
  });

  it('filters by subsystem and by state, newest first, and marks the forbidden transition', () => {
    const { q } = all();
    const everything = q({ limit: 100 });
    assert.equal(everything.matched, 6);
    assert.deepEqual(
      everything.transitions.map((t) => t.time),
      [16, 15, 14, 11, 10, 10],
    );
    assert.deepEqual(everything.facets.subsystems, { regions: 2, partitions: 4 });
    assert.equal(everything.facets.states.OutOfStorage, 2);

    const partitions = q({ limit: 100, subsystems: ['partitions'] });
    assert.ok(partitions.transitions.every((t) => t.collection.startsWith('fluvio.')));
    assert.equal(partitions.matched, 4);

    const oos = q({ limit: 100, states: ['OutOfStorage'] });
    assert.deepEqual(
      oos.transitions.map((t: Transition) => [t.from, t.to]),
      [
        ['OutOfStorage', 'LeaderOffline'],
        ['Online', 'OutOfStorage'],
      ],
    );
    const prepared = q({ limit: 100, subsystems: ['regions'], states: ['prepared'] });
    assert.deepEqual(
      prepared.transitions.map((t) => t.to),
      ['Active, prepared'],
    );
    assert.equal(q({ limit: 100, subsystems: ['ddl'] }).matched, 0);

    const forbidden = everything.transitions.filter((t) => t.forbidden);
    assert.deepEqual(
      forbidden.map((t) => [t.time, t.to]),
      [[14, 'Online']],
    );
    assert.match(
      everything.text,
      /t=14 s seq \d+ {2}fluvio\.partitions orders-0: LeaderOffline → Online {2}\[partitions\] {2}FORBIDDEN: it was OutOfStorage since t=10 s/,
    );
  });

  it('one entity, and the newest `limit`', () => {
    const { q } = all();
    const one = q({ limit: 2, collection: 'fluvio.partitions', key: 'orders-0' });
    assert.equal(one.recorded, 3);
    assert.equal(one.matched, 3);
    assert.deepEqual(
      one.transitions.map((t) => t.time),
      [14, 11],
    );
    assert.match(one.text, /^# Timeline of fluvio\.partitions orders-0 on sim: the newest 2 of 3 transitions, newest first\./);
  });
});
