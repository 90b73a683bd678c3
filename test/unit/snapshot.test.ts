import * as assert from 'node:assert/strict';
import { COLLECTION_NAMES, type CollectionName } from '../../src/protocol';
import {
  GROUP_SUMMARY_THRESHOLD,
  parseSnapshot,
  parseSnapshotDocument,
  renderSnapshot,
  renderSubsystem,
  runChecks,
  type ClusterModel,
} from '../../src/analysis';
import * as F from './fixtures';

/** A model with at least one entity in every collection, with awkward values (blanks, quotes, nulls, JSON). */
function everyCollection(): ClusterModel {
  const b = F.model({ clusterName: 'prod eu', scenario: 'incident-all', seq: 42, controlPlaneEpoch: 9 });
  F.healthyShard(b, 's1');
  b.add(
    'quickwit.metastore.shards',
    F.metastoreShard('s2', { followerId: 'ingester-2', publishToken: 'tok "1"', shardState: 'unavailable' }),
  );
  // A key that does not follow keys.shard: its fields must be written out and read back.
  b.add('quickwit.controlPlane.shards', { ...F.controlPlaneShard('s3'), key: 'custom key #1' });
  b.add('quickwit.ingesters', { key: 'ingester-1', version: 2, nodeId: 'ingester-1', status: 'ready' });
  b.add('milvus.nodes', F.streamingNode(1, { lifecycle: 'Terminating', stopRequestedAt: 7 }));
  b.add('milvus.wals', F.wal(1, 'by-dev-rootcoord-dml_0', { recovering: true, inFlightAppends: 1 }));
  // Read from a store that does not hold the node's memory: unknown, written and read back as null.
  b.add('milvus.wals', F.wal(2, 'by-dev-rootcoord-dml_0', { recovering: null, inFlightAppends: null, closing: true, available: false }));
  b.add('milvus.appends', F.append(1, 'by-dev-rootcoord-dml_0', 'a-1'));
  b.add('milvus.channelMetas', {
    key: 'by-dev-rootcoord-dml_0',
    version: 3,
    channel: 'by-dev-rootcoord-dml_0',
    node: 1,
    term: 2,
    state: 'PCHANNEL_META_STATE_ASSIGNED',
    lastAssignTimestampSeconds: 5,
  });
  b.add('greptime.procedures', F.procedure('p1', { error: 'remote WAL unavailable: "kafka" down', lockKeys: ['a', 'b c'], endTime: 12 }));
  b.add('greptime.etcd', F.etcdPrefix('/__procedure__/', 12345));
  b.add('tikv.regions', F.region(1, 26972, { isWritten: true, start: '', end: 'zz=top' }));
  b.add('tikv.writeBatches', F.writeBatch(1, { writtenRegions: [26972, 3] }));
  b.add('fluvio.partitions', F.partition('my-topic', 0));
  b.add('fluvio.spuReports', F.spuReport(5001, 'my-topic', 0, { storageFull: true }));
  b.add('fluvio.spus', { key: 'spu-5001', version: 1, spuId: 5001, connected: false, status: 'Offline' });
  return b.build();
}

function assertSameModel(actual: ClusterModel | null, expected: ClusterModel): void {
  assert.ok(actual);
  assert.deepEqual(actual.status, expected.status);
  for (const c of COLLECTION_NAMES) assert.deepEqual([...actual.collections[c].entries()], [...expected.collections[c].entries()], c);
}

describe('snapshot language', () => {
  it('round-trips every collection and the status, losslessly', () => {
    const m = everyCollection();
    for (const c of COLLECTION_NAMES) assert.ok(m.collections[c].size > 0, `fixture covers ${c}`);
    const text = renderSnapshot(m);
    const { model, errors } = parseSnapshot(text);
    assert.deepEqual(errors, []);
    assertSameModel(model, m);
    // And the checks see the same problems offline.
    assert.deepEqual(
      runChecks(model!).map((f) => f.id),
      runChecks(m).map((f) => f.id),
    );
  });

  it('keeps a key whose number is spelled with leading zeros as written (node-007/x, not node-7/x), also from a line that leaves the fields to the key', () => {
    const m = F.model({ clusterName: 'zeros' }).build();
    const odd = { ...F.wal(7, 'x'), key: 'node-007/x' };
    m.collections['milvus.wals'].set(odd.key, odd);
    assert.deepEqual([...m.collections['milvus.wals'].keys()], ['node-007/x'], 'the model keeps the key');
    const text = renderSnapshot(m);
    assertSameModel(parseSnapshot(text).model, m);
    // A file written before the key's spelling was checked: the line leaves serverId and channel to the key.
    const line = text.split('\n').find((l) => l.includes('node-007/x'))!;
    const older = text.replace(line, line.replace(/ serverId=\S+/, '').replace(/ channel=\S+/, ''));
    assert.notEqual(older, text, 'the line spelled out the fields');
    const { model, errors } = parseSnapshot(older);
    assert.deepEqual(errors, []);
    assert.deepEqual([...model!.collections['milvus.wals'].keys()], ['node-007/x']);
    assert.deepEqual(model!.collections['milvus.wals'].get('node-007/x'), odd);
  });

  it('keeps what a gateway could not read, so a snapshot re-opened offline concludes nothing from it', () => {
    const b = F.model({
      clusterName: 'prod',
      scenario: 'gateway',
      subsystems: {
        shards: {
          state: 'ok',
          version: { system: 'Quickwit', version: '0.9.0', from: '_sqlx_migrations (migration 28)' },
          collections: {
            'quickwit.controlPlane.shards': { state: 'unavailable', reason: 'control plane answered {"error": "not ready"}' },
          },
        },
        ddl: { state: 'unavailable', reason: 'etcd: connection refused' },
        wal: { state: 'not-configured', reason: 'no milvus section in the gateway config' },
      },
    });
    F.healthyShard(b, 'live');
    b.add('quickwit.metastore.shards', F.metastoreShard('d1'));
    b.add('greptime.procedures', F.procedure('p1'), F.procedure('p2'));
    const m = b.build();
    const text = renderSnapshot(m);
    assert.ok(
      text.split('\n').includes('health shards state=ok system=Quickwit version=0.9.0 from="_sqlx_migrations (migration 28)"'),
      text,
    );
    const { model, errors } = parseSnapshot(text);
    assert.deepEqual(errors, []);
    assertSameModel(model, m);
    assert.deepEqual(runChecks(model!), [], 'the dangling shard rests on an unknown control plane; the duplicates on an unavailable etcd');
  });

  it("a gateway's live document shows wall-clock time and no simulator fields; its saved snapshot keeps them, and both parse", () => {
    const gw = F.model({ clusterName: 'prod', scenario: 'gateway', seed: 0, time: 1700000610, seq: 7 });
    gw.add('quickwit.metastore.shards', F.metastoreShard('d1', { createdAt: 1700000000 }));
    const m = gw.build();
    const live = renderSubsystem(m, 'shards', 'prod').text.split('\n');
    assert.equal(live[0], '# cluster://prod/prod.shards.clustersnap: Shards of prod at 2023-11-14 22:23:30 UTC (seq 7), read-only.');
    assert.equal(live[2], 'cluster prod scenario=gateway time=1700000610 seq=7 controlPlaneEpoch=3');
    assert.ok(!live.some((l) => l.startsWith('bugs')), live.slice(0, 6).join('\n'));
    const parsedLive = parseSnapshotDocument(live.join('\n'));
    assert.deepEqual(parsedLive.errors, []);
    assert.equal(parsedLive.model!.status.time, 1700000610);
    assert.equal(parsedLive.model!.status.scenario, 'gateway');
    // The file keeps every field: it reads back as it was.
    const file = renderSnapshot(m);
    assert.ok(file.startsWith('# Cluster snapshot of prod at 2023-11-14 22:23:30 UTC (seq 7).\n'), file.slice(0, 200));
    assert.ok(file.split('\n').some((l) => l.startsWith('bugs shards=buggy')));
    const { model, errors } = parseSnapshot(file);
    assert.deepEqual(errors, []);
    assertSameModel(model, m);
    // The simulator's live document keeps its fields and its logical clock.
    const sim = renderSubsystem(F.model({ scenario: 'incident-all', time: 610 }).build(), 'shards', 'sim').text.split('\n');
    assert.match(sim[0]!, / at t=610 s \(seq 1\), read-only\.$/);
    assert.equal(sim[2], 'cluster sim scenario=incident-all seed=1 time=610 seq=1 controlPlaneEpoch=3');
    assert.ok(sim[3]!.startsWith('bugs shards=buggy '), sim[3]);
  });

  it('is readable: a header, a section per subsystem and collection, one line per entity', () => {
    const text = renderSnapshot(everyCollection());
    const lines = text.split('\n');
    assert.ok(lines.includes('cluster "prod eu" scenario=incident-all seed=1 time=1000 seq=42 controlPlaneEpoch=9'));
    assert.ok(lines.some((l) => l.startsWith('config maxRunningProcedures=128 ')));
    assert.ok(lines.some((l) => l.startsWith('[shards]')));
    assert.ok(lines.some((l) => l.startsWith('[quickwit.metastore.shards]')));
    // The key spells out index, source and shard id: they are not repeated; null fields are left out.
    assert.ok(
      lines.includes(
        `shard ${F.INDEX}/${F.SOURCE}/s1 leaderId=ingester-1 docMappingUid=01HDOC shardState=open publishPositionInclusive=~00000000000000000010 createdAt=10 version=1`,
      ),
      lines.filter((l) => l.startsWith('shard')).join('\n'),
    );
    assert.ok(
      lines.some(
        (l) =>
          l.startsWith('procedure p1 ') &&
          l.includes('lockKeys=["a","b c"]') &&
          l.includes('error="remote WAL unavailable: \\"kafka\\" down"'),
      ),
    );
  });

  it('reports syntax errors with line and column, never throws, and keeps what parsed', () => {
    const good = renderSnapshot(everyCollection()).split('\n');
    const at = good.findIndex((l) => l.startsWith('shard '));
    const broken = [...good];
    broken[at] = broken[at]!.replace('shardState=open', 'shardState=opne');
    broken.splice(at + 1, 0, 'shard x/y/z leaderId="unterminated version=1', 'nonsense here', '[no.such.collection]');
    const { model, errors } = parseSnapshot(broken.join('\n'));
    assert.deepEqual(
      errors.map((e) => [e.line, e.message.split(';')[0]!.split(' found')[0]]),
      [
        [at, 'shardState must be one of unspecified, open, unavailable, closed'],
        [at + 1, 'unterminated string'],
        [at + 2, 'expected `shard` lines in [quickwit.metastore.shards]'],
        [at + 3, 'unknown section [no.such.collection]'],
      ],
    );
    assert.equal(errors[0]!.column, broken[at]!.indexOf('shardState='));
    assert.equal(errors[1]!.column, broken[at + 1]!.indexOf('"'));
    assert.ok(model);
    assert.equal(model.collections['fluvio.spus'].size, 1, 'lines after the errors still parsed');
  });

  it('survives garbage of every kind', () => {
    const inputs = [
      '',
      '\u0000\u0001binary\xff',
      '[',
      'cluster',
      'cluster x seed=abc',
      'shard a',
      '[shards]\n[quickwit.metastore.shards]\nshard a/b/c version=-1',
      '"quoted"',
      'x=1',
      '{"json": true}',
      '#'.repeat(5),
      'cluster a\ncluster b',
    ];
    for (const text of inputs) {
      const r = parseSnapshot(text);
      assert.ok(Array.isArray(r.errors), JSON.stringify(text));
      for (const e of r.errors) assert.ok(Number.isInteger(e.line) && Number.isInteger(e.column) && e.message.length > 0);
    }
    assert.equal(parseSnapshot('').model, null);
    assert.ok(parseSnapshot('shard a').errors.length > 0);
    assert.ok(
      parseSnapshot('[shards]\n[quickwit.metastore.shards]\nshard a/b/c version=1').errors[0]!.message.includes('missing field `leaderId`'),
    );
  });

  it('treats names inherited by every object (constructor, __proto__, toString) as unknown, never as a table entry', () => {
    const header = 'cluster sim scenario=x seed=1 time=1 seq=1 controlPlaneEpoch=1';
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const section = parseSnapshot(`${header}\n[${name}]\nundefined k version=1\n`);
      assert.ok(
        section.errors.some((e) => e.line === 1 && e.message.includes(`unknown section [${name}]`)),
        `[${name}] is an unknown section: ${JSON.stringify(section.errors)}`,
      );
      for (const kind of ['bugs', 'config', 'counts']) {
        const field = parseSnapshot(`${header}\n${kind} ${name}=1\n`);
        assert.ok(
          field.errors.some((e) => e.line === 1 && e.message.includes(name)),
          `${kind} ${name}=1: ${JSON.stringify(field.errors)}`,
        );
        assert.equal(Object.getPrototypeOf(field.model!.status.bugs), Object.prototype, 'no prototype was replaced');
      }
    }
    // An entity line after an inherited-name section is reported too, by the general path, and never throws.
    const r = parseSnapshot(
      `${header}\n[constructor]\nundefined k version=1\n[quickwit.ingesters]\ningester i nodeId=i status=ready version=1\n`,
    );
    assert.equal(r.model?.collections['quickwit.ingesters'].size, 1, 'what follows still parses');
  });

  it('caps the number of reported errors', () => {
    const { errors } = parseSnapshot('bad line\n'.repeat(1000));
    assert.ok(errors.length <= 201);
  });

  describe('virtual documents', () => {
    const big = () => {
      const b = F.model();
      for (let i = 0; i < 10_000; i++) b.add('quickwit.metastore.shards', F.metastoreShard(`d${i}`));
      b.add('quickwit.metastore.shards', F.metastoreShard('lonely', { sourceId: 'kafka' }));
      F.healthyShard(b, 'live');
      b.add('greptime.procedures', F.procedure('p1'));
      return b.build();
    };

    it('renders one subsystem, with a huge group as one line with a count', () => {
      const doc = renderSubsystem(big(), 'shards', 'sim');
      const lines = doc.text.split('\n');
      assert.ok(doc.lineCount < 40, `small document (${doc.lineCount} lines)`);
      assert.ok(lines[0]!.includes('cluster://sim/sim.shards.clustersnap'));
      assert.ok(!lines.some((l) => l.startsWith('[ddl]') || l.startsWith('procedure')));
      const groupLines = lines.filter((l) => l.startsWith('group '));
      assert.equal(groupLines.length, 1);
      assert.match(groupLines[0]!, new RegExp(`^group ${F.INDEX}/${F.SOURCE} count=10001 +# 10,001 open;`));
    });

    it('lineOf gives the entity line, or the group line that summarises it; sectionLine the header', () => {
      const m = big();
      const doc = renderSubsystem(m, 'shards', 'sim');
      const lines = doc.text.split('\n');
      const groupLine = lines.findIndex((l) => l.startsWith('group '));
      assert.equal(doc.lineOf('quickwit.metastore.shards', `${F.INDEX}/${F.SOURCE}/d9999`), groupLine);
      assert.equal(doc.lineOf('quickwit.metastore.shards', `${F.INDEX}/${F.SOURCE}/live`), groupLine);
      const lonely = doc.lineOf('quickwit.metastore.shards', `${F.INDEX}/kafka/lonely`)!;
      assert.ok(lines[lonely]!.startsWith(`shard ${F.INDEX}/kafka/lonely `));
      const cp = doc.lineOf('quickwit.controlPlane.shards', `${F.INDEX}/${F.SOURCE}/live`)!;
      assert.ok(lines[cp]!.startsWith(`shard ${F.INDEX}/${F.SOURCE}/live `));
      assert.ok(lines[doc.sectionLine('quickwit.controlPlane.shards')!]!.startsWith('[quickwit.controlPlane.shards]'));
      assert.equal(doc.lineOf('quickwit.metastore.shards', 'no/such/shard'), undefined);
      // A finding's anchor lands on a line of the document.
      const [dangling] = runChecks(m, { subsystem: 'shards' });
      assert.equal(doc.lineOf(dangling!.anchor.collection, dangling!.anchor.key), groupLine);
    });

    it('does not summarise groups at the threshold', () => {
      const b = F.model();
      for (let i = 0; i < GROUP_SUMMARY_THRESHOLD; i++) b.add('quickwit.metastore.shards', F.metastoreShard(`d${i}`));
      const doc = renderSubsystem(b.build(), 'shards', 'sim');
      assert.ok(!doc.text.includes('\ngroup '));
      assert.equal(doc.text.split('\n').filter((l) => l.startsWith('shard ')).length, GROUP_SUMMARY_THRESHOLD);
    });

    it('a saved virtual document parses, reporting its summarised groups', () => {
      const parsed = parseSnapshotDocument(renderSubsystem(big(), 'shards', 'sim').text);
      assert.deepEqual(parsed.errors, []);
      assert.deepEqual(
        parsed.summarised.map((g) => [g.collection, g.group, g.count]),
        [['quickwit.metastore.shards', `${F.INDEX}/${F.SOURCE}`, 10_001]],
      );
      assert.equal(parsed.model!.collections['quickwit.metastore.shards'].size, 1);
    });

    it('a parsed file has a line index too: exact for small groups, first line for huge ones', () => {
      const m = big();
      const text = renderSnapshot(m);
      const lines = text.split('\n');
      const parsed = parseSnapshotDocument(text);
      const first = lines.findIndex((l) => l.startsWith(`shard ${F.INDEX}/${F.SOURCE}/d0 `));
      assert.equal(parsed.index.lineOf('quickwit.metastore.shards', `${F.INDEX}/${F.SOURCE}/d500`), first);
      const lonely = parsed.index.lineOf('quickwit.metastore.shards', `${F.INDEX}/kafka/lonely`)!;
      assert.ok(lines[lonely]!.startsWith(`shard ${F.INDEX}/kafka/lonely`));
      assert.ok(lines[parsed.index.sectionLine('greptime.procedures' as CollectionName)!]!.startsWith('[greptime.procedures]'));
    });
  });
});
