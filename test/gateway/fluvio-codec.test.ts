/** The Fluvio codec on files written by hand from the upstream definitions (local.rs, partition/status.rs, spu/). */
import * as assert from 'node:assert/strict';
import {
  contentVersion,
  decodePartitionFile,
  decodeSpuFile,
  encodePartitionFile,
  encodeSpuFile,
  encodeTopicFile,
  parseStored,
  withResolution,
} from '../../src/codecs/fluvio';
import { ScPartition, Spu } from '../../src/protocol';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { ROOT } from '../server/sim';

const UPSTREAM = join(ROOT, 'test', 'fixtures', 'upstream', 'fluvio');

// As `SpecStore::apply` + serde_yaml write a Partition (camelCase status, `lrs` alias accepted, non-indented sequences).
const PARTITION = `!1.0.0
meta:
  id: my-topic-1
  revision: 7
  parent:
    id: my-topic
    revision: 0
key: my-topic-1
status:
  resolution: OutOfStorage
  leader:
    spu: 5001
    hw: 120
    leo: 125
  lsr: 1
  replicas:
  - spu: 5002
    hw: 120
    leo: 120
  size: 65536
  isBeingDeleted: false
  baseOffset: 0
spec:
  leader: 5001
  replicas:
  - 5001
  - 5002
  cleanupPolicy: null
  storage: null
  compressionType: Any
  deduplication: null
  system: false
  mirror: null
`;

const SPU = `!1.0.0
meta:
  id: custom-spu-5002
  revision: 3
key: custom-spu-5002
status:
  resolution: Offline
spec:
  spuId: 5002
  spuType: Custom
  publicEndpoint:
    port: 9020
    ingress:
    - hostname: localhost
    encryption: PLAINTEXT
  privateEndpoint:
    port: 9021
    host: localhost
    encryption: PLAINTEXT
`;

describe('fluvio codec (SC local metadata, !1.0.0 YAML)', () => {
  it('decodes a hand-written Partition file into the SC partition entity', () => {
    const d = decodePartitionFile(PARTITION);
    assert.ok(d.ok, d.ok ? '' : d.reason);
    const e = d.entity;
    ScPartition.parse(e);
    assert.equal(e.key, 'my-topic-1');
    assert.equal(e.topic, 'my-topic');
    assert.equal(e.partition, 1);
    assert.equal(e.resolution, 'OutOfStorage');
    assert.deepEqual(e.leader, { spu: 5001, hw: 120, leo: 125 });
    assert.equal(e.lsr, 1);
    assert.deepEqual(e.replicas, [5001, 5002]);
    assert.equal(e.size, 65536);
    assert.equal(e.isBeingDeleted, false);
    assert.equal(e.version, contentVersion(PARTITION));
  });

  it('accepts the `lrs` alias and a missing size / baseOffset (serde defaults)', () => {
    const text = PARTITION.replace('  lsr: 1\n', '  lrs: 1\n').replace('  size: 65536\n', '').replace('  baseOffset: 0\n', '');
    const d = decodePartitionFile(text);
    assert.ok(d.ok);
    assert.equal(d.entity.lsr, 1);
    assert.equal(d.entity.size, -2);
  });

  it('the version changes whenever the file changes, even without a revision bump', () => {
    const other = PARTITION.replace('resolution: OutOfStorage', 'resolution: Online');
    const a = decodePartitionFile(PARTITION);
    const b = decodePartitionFile(other);
    assert.ok(a.ok && b.ok);
    assert.notEqual(a.entity.version, b.entity.version);
    assert.ok(Number.isSafeInteger(a.entity.version) && a.entity.version >= 0);
  });

  it('rewrites only status.resolution and meta.revision in place: every other byte stays', () => {
    const online = PARTITION.replace('resolution: OutOfStorage', 'resolution: Online');
    const text = withResolution(online, 'OutOfStorage');
    assert.equal(typeof text, 'string');
    assert.equal(text, online.replace('revision: 7', 'revision: 8').replace('resolution: Online', 'resolution: OutOfStorage'));
    const back = parseStored(text as string);
    assert.ok(typeof back !== 'string');
    assert.equal(back.meta.revision, 8);
    assert.equal(back.status.resolution, 'OutOfStorage');
  });

  it('on every upstream-shaped Partition file, the in-place edit changes two lines and keeps every tag', () => {
    const files = [
      ...readdirSync(join(UPSTREAM, 'healthy', 'Partition')).map((f) => join(UPSTREAM, 'healthy', 'Partition', f)),
      ...readdirSync(join(UPSTREAM, 'incident')).map((f) => join(UPSTREAM, 'incident', f)),
    ];
    assert.ok(files.length >= 9);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const rev = Number(/^ {2}revision: (\d+)$/m.exec(text)![1]);
      const next = withResolution(text, 'LeaderOffline');
      assert.equal(typeof next, 'string', f);
      const a = text.split('\n');
      const b = (next as string).split('\n');
      assert.equal(b.length, a.length, f);
      const changed = a.flatMap((line, i) => (line === b[i] ? [] : [[line, b[i]]]));
      assert.deepEqual(
        changed.map(([, after]) => after),
        [`  revision: ${rev + 1}`, '  resolution: LeaderOffline'].filter((l) => !a.includes(l)),
        f,
      );
      const tagsOf = (t: string) => [...t.matchAll(/!\S+/g)].map((m) => m[0]);
      assert.deepEqual(tagsOf(next as string), tagsOf(text), f);
      assert.deepEqual(parseDocument(next as string).errors, [], f);
      assert.ok(decodePartitionFile(next as string).ok, f);
    }
    const offsets = withResolution(
      readFileSync(join(UPSTREAM, 'healthy', 'Partition', 'consumer-offset-0.yaml'), 'utf8'),
      'OutOfStorage',
    ) as string;
    assert.match(offsets, /\n {2}cleanupPolicy: !segment\n {4}timeInSeconds: 604800\n/);
  });

  it('refuses to edit a file whose resolution or revision is not a plain scalar', () => {
    assert.deepEqual(withResolution(PARTITION.replace('resolution: OutOfStorage', "resolution: 'Online'"), 'OutOfStorage'), {
      error: 'status.resolution is not a plain scalar',
    });
    assert.ok(typeof withResolution(PARTITION.replace('revision: 7', 'revision: !!int 7'), 'Online') !== 'string');
  });

  it('encodes an entity as a file that decodes back to it', () => {
    const e = {
      key: 'a-b-3',
      version: 0,
      topic: 'a-b',
      partition: 3,
      resolution: 'Online' as const,
      leader: { spu: 1, hw: 5, leo: 6 },
      lsr: 2,
      replicas: [1, 2],
      size: 10,
      isBeingDeleted: false,
    };
    const text = encodePartitionFile(e);
    const d = decodePartitionFile(text);
    assert.ok(d.ok);
    assert.deepEqual({ ...d.entity, version: 0 }, e);
    assert.equal((parseStored(text) as { meta: { revision: number } }).meta.revision, 0);
    const again = encodePartitionFile(e, d.record);
    assert.equal((parseStored(again) as { meta: { revision: number } }).meta.revision, 1);
  });

  it('decodes and encodes SPU files', () => {
    const d = decodeSpuFile(SPU);
    assert.ok(d.ok);
    Spu.parse(d.entity);
    assert.deepEqual({ ...d.entity, version: 0 }, { key: 'spu-5002', version: 0, spuId: 5002, connected: false, status: 'Offline' });
    const text = encodeSpuFile({ ...d.entity, connected: true, status: 'Online' }, d.record);
    const back = decodeSpuFile(text);
    assert.ok(back.ok);
    assert.equal(back.entity.status, 'Online');
    assert.equal(back.record.meta.revision, 4);
  });

  it('writes Topic files with a !computed replica spec', () => {
    const text = encodeTopicFile('t', [
      {
        key: 't-0',
        version: 0,
        topic: 't',
        partition: 0,
        resolution: 'Online',
        leader: { spu: 1, hw: 0, leo: 0 },
        lsr: 1,
        replicas: [1, 2],
        size: 0,
        isBeingDeleted: false,
      },
    ]);
    assert.match(text, /^!1\.0\.0\n/);
    assert.match(text, /replicas: !computed\n/);
    assert.match(text, /replicaMap:\n {4}0:\n {4}- 1\n/);
  });

  const MALFORMED: Array<[string, string, RegExp]> = [
    ['no version tag', PARTITION.replace('!1.0.0\n', ''), /version tag/],
    ['another version', PARTITION.replace('!1.0.0', '!2.0.0'), /unknown storage version/],
    ['not YAML', '!1.0.0\nmeta: [unclosed', /not YAML/],
    ['unknown resolution (OutOfSpace is not upstream)', PARTITION.replace('OutOfStorage', 'OutOfSpace'), /PartitionResolution/],
    ['bad key', PARTITION.replace('key: my-topic-1', 'key: nopartition'), /topic>-<partition/],
    ['leader missing', PARTITION.replace(/ {2}leader:\n {4}spu: 5001\n {4}hw: 120\n {4}leo: 125\n/, ''), /status\.leader/],
    ['empty file', '', /tag|mapping/],
    ['binary junk', '\u0000\u0001\u0002', /./],
  ];
  for (const [what, text, reason] of MALFORMED) {
    it(`a malformed file is unreadable, never a crash: ${what}`, () => {
      const d = decodePartitionFile(text);
      assert.equal(d.ok, false);
      if (!d.ok) assert.match(d.reason, reason);
    });
  }
  it('an SPU file without spuId is unreadable', () => {
    const d = decodeSpuFile(SPU.replace('  spuId: 5002\n', ''));
    assert.equal(d.ok, false);
  });
});
