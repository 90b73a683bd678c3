import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { COLLECTION_KEYS, COLLECTION_NAMES, COLLECTIONS, KEYS, keys, type KeyFormat } from '../../src/protocol';
import { awkwardString, integer, slashFreeString } from './arbitraries';

type Name = keyof typeof KEYS;

const int = integer();
const nat = integer(0);

/** Valid arguments of each format, in `fields` order: parts a format delimits with `/` hold no `/`. */
const ARGS: { [N in Name]: fc.Arbitrary<unknown[]> } = {
  shard: fc.tuple(slashFreeString, slashFreeString, slashFreeString),
  ingesterShard: fc.tuple(slashFreeString, slashFreeString, slashFreeString, slashFreeString),
  shardSource: fc.tuple(slashFreeString, slashFreeString),
  ingesterSource: fc.tuple(slashFreeString, slashFreeString, slashFreeString),
  ingester: fc.tuple(awkwardString),
  node: fc.tuple(int),
  wal: fc.tuple(int, awkwardString),
  append: fc.tuple(awkwardString),
  channelMeta: fc.tuple(awkwardString),
  procedure: fc.tuple(awkwardString),
  etcdPrefix: fc.tuple(awkwardString),
  region: fc.tuple(int, int),
  writeBatch: fc.tuple(int),
  partition: fc.tuple(awkwardString, nat),
  spuReport: fc.tuple(int, awkwardString, nat),
  spu: fc.tuple(int),
};

/** Keys that are not in each format (formats whose parts are any string accept every key). */
const MALFORMED: { [N in Name]: string[] } = {
  shard: ['', 'a', 'a/b', 'a/b/c/d', '////'],
  ingesterShard: ['', 'a/b/c', 'a/b/c/d/e'],
  shardSource: ['', 'a', 'a/b/c'],
  ingesterSource: ['', 'a/b', 'a/b/c/d'],
  ingester: [],
  node: ['', 'node', 'node-', 'node--', 'node-x', 'node-1x', 'node-1/', 'node-1.5', 'node-1e3', 'node- 1', 'Node-1', ' node-1', 'store-1'],
  wal: ['', 'node-1', 'node-/c', 'node-x/c', 'node-1-2/c', 'node--/c', 'store-1/c'],
  append: [],
  channelMeta: [],
  procedure: [],
  etcdPrefix: [],
  region: [
    '',
    'store-1',
    'store-1/region-',
    'store-/region-1',
    'store-1/region-x',
    'store-1/region-1/x',
    'store-1/regions-1',
    'store-1region-1',
    'store-a/region-1',
  ],
  writeBatch: ['', 'store-', 'store-x', 'store-1/region-2', 'store-+1', 'store-0x10'],
  partition: ['', 'topic', 'topic-', 'topic-x', 'topic-1.0', 'topic-1 '],
  spuReport: ['', 'spu-1', 'spu-1/', 'spu-1/t', 'spu-1/t-', 'spu-x/t-0', 'spu-1-t-0', 'spu-/t-0'],
  spu: ['', 'spu-', 'spu-x', 'spu-1/t-0', 'SPU-1'],
};

const formatOf = (name: Name) => KEYS[name] as unknown as KeyFormat<Record<string, unknown>, unknown[]>;
const partsOf = (fields: readonly string[], args: unknown[]) => Object.fromEntries(fields.map((f, i) => [f, args[i]]));

describe('key formats', () => {
  for (const name of Object.keys(KEYS) as Name[]) {
    describe(name, () => {
      const k = formatOf(name);

      it('parse is the inverse of format', () => {
        fc.assert(
          fc.property(ARGS[name], (args) => {
            const key = k.format(...args);
            const parts = partsOf(k.fields, args);
            assert.deepEqual(k.parse(key), parts);
            assert.ok(k.matches(key, parts), `matches ${JSON.stringify(key)}`);
          }),
          { numRuns: 300, seed: 42 },
        );
      });

      it('matches is parse then compare', () => {
        fc.assert(
          fc.property(ARGS[name], ARGS[name], fc.boolean(), (a, b, same) => {
            const key = k.format(...a);
            const entity = partsOf(k.fields, same ? a : b);
            const parsed = k.parse(key) as Record<string, unknown> | null;
            const expected = !!parsed && k.fields.every((f) => parsed[f] === entity[f]);
            assert.equal(k.matches(key, entity), expected);
          }),
          { numRuns: 200, seed: 7 },
        );
      });

      it('matchesParts is matches, the fields given in order', () => {
        fc.assert(
          fc.property(ARGS[name], ARGS[name], fc.boolean(), (a, b, same) => {
            const key = k.format(...a);
            const values = same ? a : b;
            assert.equal(k.matchesParts(key, values), k.matches(key, partsOf(k.fields, values)));
          }),
          { numRuns: 300, seed: 13 },
        );
        for (const key of MALFORMED[name]) assert.equal(k.matchesParts(key, []), false, JSON.stringify(key));
      });

      it('spells is "the key is format(...parts)", for parts matches accepted', () => {
        fc.assert(
          fc.property(ARGS[name], ARGS[name], fc.boolean(), (a, b, same) => {
            const stored = k.format(...a);
            // The key a row was stored under, and a key looked up against it (the same, or another's).
            const key = same ? stored : k.format(...b);
            if (!k.matches(stored, partsOf(k.fields, a))) return;
            assert.equal(k.spells(key, a), key === stored, `${JSON.stringify(key)} against ${JSON.stringify(stored)}`);
          }),
          { numRuns: 300, seed: 11 },
        );
        // Near misses of a key: one character more, less, or changed.
        fc.assert(
          fc.property(ARGS[name], fc.nat(), fc.constantFrom('', 'x', '/', '-', '0'), (a, at, ch) => {
            const stored = k.format(...a);
            if (!k.matches(stored, partsOf(k.fields, a))) return;
            const i = at % (stored.length + 1);
            for (const key of [stored.slice(0, i) + ch + stored.slice(i), stored.slice(0, i) + stored.slice(i + 1)]) {
              assert.equal(k.spells(key, a), key === stored, `${JSON.stringify(key)} against ${JSON.stringify(stored)}`);
            }
          }),
          { numRuns: 300, seed: 12 },
        );
      });

      it('rejects malformed keys', () => {
        for (const key of MALFORMED[name]) {
          assert.equal(k.parse(key), null, JSON.stringify(key));
          assert.equal(k.matches(key, {}), false);
        }
      });
    });
  }

  it('cover every collection, with fields of its schema', () => {
    for (const c of COLLECTION_NAMES) {
      const k = COLLECTION_KEYS[c];
      assert.ok(k, `${c} has a key format`);
      const shape = (COLLECTIONS[c].schema as unknown as { shape: Record<string, unknown> }).shape;
      for (const f of k.fields) assert.ok(f in shape && f !== 'key' && f !== 'version', `${c}: ${f}`);
    }
  });

  it('match only the fields\u2019 own spelling: node-007 reads as 7, but only node-7 is what 7 spells', () => {
    assert.equal(KEYS.node.matches('node-007', { serverId: 7 }), false);
    assert.equal(KEYS.node.matches('node-7', { serverId: 7 }), true);
    assert.equal(KEYS.wal.matches('node-01/x', { serverId: 1, channel: 'x' }), false);
    assert.equal(KEYS.region.matches('store-1/region-026972', { storeId: 1, regionId: 26972 }), false);
    assert.equal(KEYS.partition.matches('t-00', { topic: 't', partition: 0 }), false);
    assert.equal(KEYS.spu.matches('spu--0', { spuId: -0 }), false);
    assert.equal(KEYS.node.matchesParts('node-007', [7]), false);
    assert.equal(KEYS.region.matchesParts('store-1/region-026972', [1, 26972]), false);
    assert.equal(KEYS.node.spells('node-007', [7]), false);
  });

  it('read the keys the snapshot layout read before (examples)', () => {
    assert.deepEqual(KEYS.node.parse('node-3'), { serverId: 3 });
    assert.deepEqual(KEYS.node.parse('node--3'), { serverId: -3 });
    assert.deepEqual(KEYS.node.parse('node-007'), { serverId: 7 }, 'leading zeros, as the layout regex read them');
    assert.deepEqual(KEYS.wal.parse('node-1/by-dev/rootcoord-dml_0'), { serverId: 1, channel: 'by-dev/rootcoord-dml_0' });
    assert.deepEqual(KEYS.wal.parse('node-1/'), { serverId: 1, channel: '' });
    assert.deepEqual(KEYS.region.parse('store-1/region-26972'), { storeId: 1, regionId: 26972 });
    assert.deepEqual(KEYS.writeBatch.parse('store-12'), { storeId: 12 });
    assert.deepEqual(KEYS.partition.parse('my-topic-10'), { topic: 'my-topic', partition: 10 });
    assert.deepEqual(KEYS.partition.parse('a--3'), { topic: 'a-', partition: 3 });
    assert.deepEqual(KEYS.partition.parse('-0'), { topic: '', partition: 0 });
    assert.deepEqual(KEYS.spuReport.parse('spu-5001/my-topic-0'), { spuId: 5001, topic: 'my-topic', partition: 0 });
    assert.deepEqual(KEYS.spuReport.parse('spu--1/a/b-c-2'), { spuId: -1, topic: 'a/b-c', partition: 2 });
    assert.deepEqual(KEYS.spu.parse('spu-5001'), { spuId: 5001 });
    assert.deepEqual(KEYS.shard.parse('idx:01/_src/01J'), { indexUid: 'idx:01', sourceId: '_src', shardId: '01J' });
    assert.deepEqual(KEYS.shard.parse('//'), { indexUid: '', sourceId: '', shardId: '' });
    assert.deepEqual(KEYS.ingesterShard.parse('ing-1/i/s/0'), { ingesterId: 'ing-1', indexUid: 'i', sourceId: 's', shardId: '0' });
    assert.deepEqual(KEYS.procedure.parse('p 1'), { procedureId: 'p 1' });
    // A part holding the delimiter does not come back: such keys are written with their fields.
    assert.equal(KEYS.shard.matches('a/b/c/d', { indexUid: 'a/b', sourceId: 'c', shardId: 'd' }), false);
  });

  it('keys.* are the formats', () => {
    assert.equal(keys.region(1, 2), 'store-1/region-2');
    assert.equal(keys.spuReport(5001, 'my-topic', 0), 'spu-5001/my-topic-0');
    assert.equal(keys.ingesterShard('i', 'x', 'y', 'z'), 'i/x/y/z');
    assert.deepEqual([5001, 5002].map(keys.spu), ['spu-5001', 'spu-5002']);
  });
});
