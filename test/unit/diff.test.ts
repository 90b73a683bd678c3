/** The comparison of two cluster states (src/analysis/diff.ts): pure, on hand-built models. */
import * as assert from 'node:assert/strict';
import {
  changedFields,
  diffClusters,
  diffSummary,
  parseSnapshot,
  renderDiffText,
  renderSnapshot,
  runChecks,
  sameValue,
  type ClusterModel,
} from '../../src/analysis';
import * as F from './fixtures';

const side = (model: ClusterModel) => ({ model, findings: runChecks(model) });

describe('diffClusters', () => {
  it('reports nothing for two equal models, and a model against its own snapshot', () => {
    const m = F.healthyShard(F.model(), 's1').add('fluvio.partitions', F.partition('events', 0)).build();
    const d = diffClusters(side(m), side(m));
    assert.equal(d.identical, true);
    assert.deepEqual(d.totals, { added: 0, removed: 0, changed: 0, versionOnly: 0 });
    const reread = parseSnapshot(renderSnapshot(m)).model!;
    const d2 = diffClusters(side(m), side(reread));
    assert.equal(d2.identical, true, renderDiffText(d2, m.status, reread.status, { labels: ['a', 'b'] }));
    assert.match(diffSummary(d2), /no entity added, removed or changed/);
  });

  it('finds added, removed and changed entities, with sorted field changes, old → new', () => {
    const a = F.model()
      .add('quickwit.metastore.shards', F.metastoreShard('s1'), F.metastoreShard('s2'))
      .add('fluvio.partitions', F.partition('events', 0, { version: 7 }))
      .build();
    const b = F.model()
      .add('quickwit.metastore.shards', F.metastoreShard('s2'), F.metastoreShard('s3'))
      .add('fluvio.partitions', F.partition('events', 0, { version: 8, resolution: 'OutOfStorage', leader: { spu: 5001, hw: 1, leo: 2 } }))
      .build();
    const d = diffClusters({ model: a, findings: [] }, { model: b, findings: [] });
    const shards = d.collections.find((c) => c.collection === 'quickwit.metastore.shards')!;
    assert.deepEqual([shards.added, shards.removed, shards.changed, shards.unchanged], [1, 1, 0, 1]);
    assert.equal(shards.samples.added[0].key.endsWith('/s3'), true);
    assert.equal(shards.samples.removed[0].key.endsWith('/s1'), true);
    const parts = d.collections.find((c) => c.collection === 'fluvio.partitions')!;
    assert.equal(parts.changed, 1);
    const [change] = parts.samples.changed;
    assert.deepEqual(
      change.fields.map((f) => f.field),
      ['leader', 'resolution'],
    );
    assert.equal(change.fields[1].from, 'Online');
    assert.equal(change.fields[1].to, 'OutOfStorage');
    assert.deepEqual([change.fromVersion, change.toVersion], [7, 8]);
    assert.equal(d.identical, false);
    const text = renderDiffText(d, a.status, b.status, { labels: ['before', 'after'] });
    assert.match(text, /quickwit\.metastore\.shards: 1 added, 1 removed/);
    assert.match(text, /^ {2}- shard .*\/s1 /m);
    assert.match(text, /^ {2}\+ shard .*\/s3 /m);
    assert.match(text, /resolution: Online → OutOfStorage/);
    assert.match(text, /version 7 → 8/);
  });

  it('counts a change of version alone apart, and not as a difference', () => {
    const a = F.model()
      .add('quickwit.metastore.shards', F.metastoreShard('s1', { version: 1 }))
      .build();
    const b = F.model({ time: 2000, seq: 99 })
      .add('quickwit.metastore.shards', F.metastoreShard('s1', { version: 5 }))
      .build();
    const d = diffClusters({ model: a, findings: [] }, { model: b, findings: [] });
    assert.equal(d.identical, true);
    assert.equal(d.totals.versionOnly, 1);
    assert.equal(d.totals.changed, 0);
    assert.match(renderDiffText(d, a.status, b.status, { labels: ['a', 'b'] }), /1 with only a new version/);
  });

  it('treats null and a missing field as the same, and compares lists and objects structurally', () => {
    assert.equal(sameValue(null, undefined), true);
    assert.equal(sameValue([1, 2], [1, 2]), true);
    assert.equal(sameValue([1, 2], [2, 1]), false);
    assert.equal(sameValue({ spu: 1, hw: 2 }, { hw: 2, spu: 1 }), true);
    assert.equal(sameValue({ spu: 1 }, { spu: 1, hw: 2 }), false);
    assert.equal(changedFields(F.metastoreShard('s1'), F.metastoreShard('s1', { version: 9 })), null);
  });

  it('counts every entity of a huge diff but keeps only `limit` of them', () => {
    const a = F.model();
    for (let i = 0; i < 5000; i++) a.add('quickwit.metastore.shards', F.metastoreShard(`s${i}`));
    const d = diffClusters({ model: a.build(), findings: [] }, { model: F.model().build(), findings: [] }, { limit: 3 });
    const shards = d.collections.find((c) => c.collection === 'quickwit.metastore.shards')!;
    assert.equal(shards.removed, 5000);
    assert.equal(shards.samples.removed.length, 3);
    const text = renderDiffText(d, a.build().status, a.build().status, { labels: ['a', 'b'], moreHint: '(--all)' });
    assert.match(text, /… and 4,997 more removed \(--all\)/);
    assert.ok(text.split('\n').length < 20);
    const all = diffClusters({ model: a.build(), findings: [] }, { model: F.model().build(), findings: [] }, { limit: Infinity });
    assert.equal(all.collections.find((c) => c.collection === 'quickwit.metastore.shards')!.samples.removed.length, 5000);
  });

  it('reports the cluster settings that changed, not its clock', () => {
    const a = F.model().build();
    const b = F.model({ time: 5, seq: 7, controlPlaneEpoch: 4, bugs: { ...a.status.bugs, shards: 'fixed' } }).build();
    const d = diffClusters({ model: a, findings: [] }, { model: b, findings: [] });
    assert.deepEqual(
      d.status.map((s) => `${s.field}:${s.from}→${s.to}`),
      ['controlPlaneEpoch:3→4', 'bugs.shards:buggy→fixed'],
    );
    assert.equal(d.identical, false);
  });

  it('matches findings by id: appeared, resolved, and changed count', () => {
    const dangling = (n: number) => {
      const b = F.model().add('quickwit.ingesters', { key: 'ingester-1', version: 1, nodeId: 'ingester-1', status: 'ready' });
      for (let i = 0; i < n; i++) b.add('quickwit.metastore.shards', F.metastoreShard(`d${i}`));
      return b.build();
    };
    const outOfSpace = F.model()
      .add('fluvio.partitions', F.partition('events', 0, { version: 7 }))
      .add('fluvio.spuReports', F.spuReport(5001, 'events', 0, { storageFull: true, freeBytes: 0 }))
      .build();
    const a = side(dangling(5));
    const b = side(dangling(2));
    assert.ok(a.findings.length > 0, 'the fixture has a dangling-shards finding');
    const d = diffClusters(a, b);
    assert.deepEqual(d.findings.appeared, []);
    assert.deepEqual(d.findings.resolved, []);
    assert.deepEqual(
      d.findings.changed.map((c) => [c.rule, c.from, c.to]),
      [['shards/dangling', 5, 2]],
    );
    const gone = diffClusters(a, side(dangling(0)));
    assert.deepEqual(
      gone.findings.resolved.map((f) => f.id),
      a.findings.map((f) => f.id),
    );
    const other = side(outOfSpace);
    assert.ok(other.findings.length > 0, 'the fixture has an out-of-space finding');
    const appeared = diffClusters(side(F.model().build()), other);
    assert.deepEqual(
      appeared.findings.appeared.map((f) => f.rule),
      ['partitions/online-out-of-space'],
    );
  });
});
