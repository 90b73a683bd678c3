/**
 * The model's compact collections (`EntityTable`) read exactly like a `Map`
 * of the same entities: same entities (deep-equal, field order included),
 * same keys, same iteration order, through every change of a column's form
 * (values, interned strings, integers), deletions and compaction.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { COLLECTION_NAMES, keys, type CollectionName, type EntityOf } from '../../src/protocol';
import {
  emptyCollections,
  EntityTable,
  modelFrom,
  parseSnapshot,
  renderSnapshot,
  runChecks,
  StringInterner,
  type ClusterModel,
} from '../../src/analysis';
import { Simulator } from '../../src/simulator/simulator';
import { entityArbitrary, random } from './arbitraries';
import { metastoreShardAt } from './fixtures';

type Shard = EntityOf<'quickwit.metastore.shards'>;

function assertSame<E>(
  table: EntityTable<{ key: string }> | ClusterModel['collections'][CollectionName],
  map: Map<string, E>,
  what: string,
): void {
  assert.equal(table.size, map.size, `${what}: size`);
  assert.deepStrictEqual([...table], [...map], `${what}: entries in order`);
  assert.deepStrictEqual([...table.keys()], [...map.keys()], `${what}: keys`);
  for (const [k, e] of map) {
    assert.ok(table.has(k), `${what}: has ${k}`);
    // Field order too: the same JSON.
    assert.equal(JSON.stringify(table.get(k)), JSON.stringify(e), `${what}: get ${k}`);
  }
}

describe("EntityTable (the model's compact collections)", () => {
  it('holds shards exactly as a Map does, through replacements, deletions, compaction and changes of form', () => {
    const next = random(7);
    const table = new EntityTable<Shard>('quickwit.metastore.shards', new StringInterner());
    const map = new Map<string, Shard>();
    const indexes = ['app-logs:01HF7YAT01F6SEFP5Y4J5566PC', 'clicks:01HF7YAT01F6SEFP5Y4J5566PD', 'orders/with:slash'];
    const shard = (i: number, phase: number): Shard => {
      const indexUid = indexes[i % 3]!;
      const sourceId = i % 5 === 0 ? '_ingest-source' : 'kafka';
      const shardId = `01HF7YAT09ZYAYM0P06V${String(i).padStart(6, '0')}`;
      // Odd keys (not index/source/shard, or with a `/` in a part), unique strings where strings repeated,
      // numbers past 32 bits, -0 and fractions where integers were, nulls: every column changes form.
      const odd = i % 97 === 0;
      return {
        key: odd ? `odd key ${i}` : keys.shard(indexUid, sourceId, shardId),
        version: phase === 2 && i % 3 === 0 ? 2 ** 40 + i : phase === 2 && i % 7 === 0 ? -0 : i % 11,
        indexUid,
        sourceId,
        shardId,
        leaderId: phase === 1 ? `ingester-${i}` : `ingester-${i % 4}`,
        followerId: i % 2 ? null : 'ingester-9',
        docMappingUid: '01HDOC',
        shardState: (['open', 'closed', 'unavailable'] as const)[i % 3]!,
        publishPositionInclusive: phase === 1 ? `~${String(i).padStart(20, '0')}` : '',
        publishToken: phase === 2 ? ((i % 2 ? 1.5 : { nested: [i] }) as unknown as string) : null,
        createdAt: (i % 13 === 0 ? null : i) as number,
        updateTimestamp: i % 4 === 0 ? null : 1_724_158_996 + i,
      };
    };
    let n = 0;
    for (const phase of [0, 1, 2]) {
      for (let step = 0; step < 6000; step++) {
        const r = next();
        if (r < 0.6 || map.size === 0) {
          const e = shard(n++, phase);
          table.set(e.key, e);
          map.set(e.key, e);
        } else if (r < 0.8) {
          // Replace one, sometimes with fewer fields (another shape).
          const k = [...map.keys()][Math.floor(next() * map.size)]!;
          const e = { ...map.get(k)!, version: map.get(k)!.version + 1 };
          if (next() < 0.3) delete (e as Partial<Shard>).publishToken;
          assert.ok(table.has(k));
          table.set(k, e);
          map.set(k, e);
          assert.deepEqual(table.get(k), e);
        } else {
          const k = [...map.keys()][Math.floor(next() * map.size)]!;
          // Read, then delete, then read again (the table finds the key it just found without probing).
          assert.deepEqual(table.get(k), map.get(k));
          assert.equal(table.delete(k), map.delete(k));
          assert.equal(table.get(k), undefined);
          assert.equal(table.has(`${k}`.slice(0)), false, 'the same key in another string');
        }
      }
      assertSame(table, map, `phase ${phase}`);
    }
    // Mostly deleted: the table compacts, and stays the same Map.
    for (const k of [...map.keys()].filter((_, i) => i % 10 !== 0)) {
      table.delete(k);
      map.delete(k);
    }
    assert.equal(table.delete('no such key'), false);
    assert.equal(table.get('no such key'), undefined);
    assertSame(table, map, 'after compaction');
    // A deleted key added again goes to the end, as in a Map.
    const again = shard(3, 0);
    table.delete(again.key);
    map.delete(again.key);
    table.set(again.key, again);
    map.set(again.key, again);
    assertSame(table, map, 're-added');
    table.clear();
    map.clear();
    assertSame(table, map, 'cleared');
    assert.throws(() => table.set('another key', again), /stored under its own key/);
  });

  it('forgets the key it just found once it changes: read, deleted, deleted again, set again', () => {
    const table = new EntityTable<Shard>('quickwit.metastore.shards', new StringInterner());
    const a = metastoreShardAt('logs:01/_src/0001');
    const b = metastoreShardAt('logs:01/_src/0002');
    table.set(a.key, a);
    table.set(b.key, b);
    assert.deepEqual(table.get(a.key), a);
    assert.equal(table.delete(a.key), true);
    assert.equal(table.delete(a.key), false, 'gone already');
    assert.equal(table.get(a.key), undefined);
    table.set(a.key, a);
    assert.deepEqual(table.get(`${a.key}`.slice(0)), a);
    assert.equal(table.delete(a.key), true);
    assert.equal(table.has(a.key), false);
    assert.deepEqual([...table.keys()], [b.key]);
  });

  it('holds any valid entity of every collection as a Map does', () => {
    for (const c of COLLECTION_NAMES) {
      fc.assert(
        fc.property(fc.array(entityArbitrary(c), { maxLength: 30 }), (entities) => {
          const table = emptyCollections()[c];
          const map = new Map<string, unknown>();
          for (const e of entities) {
            table.set(e.key, e as never);
            map.set(e.key, e);
          }
          assertSame(table, map, c);
        }),
        { numRuns: 30 },
      );
    }
  });

  it('appendRow and reserve hold the same entities as set, odd keys, new shapes and duplicates included', () => {
    for (const reserved of [0, 40, 5000, 1e12]) {
      const table = new EntityTable<Shard>('quickwit.metastore.shards', new StringInterner());
      const map = new Map<string, Shard>();
      table.reserve(reserved);
      const names = ['key', 'indexUid', 'sourceId', 'shardId', 'leaderId', 'shardState', 'version', 'createdAt'];
      const shape = table.shapeFor(names);
      assert.equal(table.shapeFor([...names]), shape);
      for (let i = 0; i < 3000; i++) {
        const indexUid = `index-${i % 3}`;
        const shardId = `shard-${i}`;
        const key = i % 101 === 0 ? `odd key ${i}` : keys.shard(indexUid, 'kafka', shardId);
        const values = [key, indexUid, 'kafka', shardId, i % 7 ? `ingester-${i % 4}` : null, 'open', i % 11, i * 2 ** 33];
        const e = Object.fromEntries(names.map((n, j) => [n, values[j]])) as unknown as Shard;
        if (i % 5 === 4) {
          // Another shape (set) between appended rows: the appended rows leave its columns empty.
          const other = { ...e, publishToken: `t${i}` };
          table.set(key, other);
          map.set(key, other);
          continue;
        }
        assert.equal(table.appendRow(shape, key, values), true);
        map.set(key, e);
        // Present already: nothing changes.
        assert.equal(table.appendRow(shape, key, [key, 'x', 'y', 'z', null, 'closed', 0, 0]), false);
      }
      assertSame(table, map, `reserved ${reserved}`);
      const deleted = [...map.keys()].filter((_, i) => i % 3 === 0);
      for (const k of deleted) assert.equal(table.delete(k), map.delete(k));
      assert.equal(table.appendRow(shape, deleted[1]!, [deleted[1]!, 'a', 'b', 'c', null, 'open', 1, 1]), true);
      map.set(deleted[1]!, {
        key: deleted[1]!,
        indexUid: 'a',
        sourceId: 'b',
        shardId: 'c',
        leaderId: null,
        shardState: 'open',
        version: 1,
        createdAt: 1,
      } as unknown as Shard);
      assertSame(table, map, `reserved ${reserved}, after deletions`);
    }
    assert.throws(() => new EntityTable('quickwit.metastore.shards', new StringInterner()).appendRow(0, 'k', []), /no shape/);
  });

  it('a simulated incident: the same entities, findings and snapshot as a model of Maps', () => {
    const sim = new Simulator();
    sim.reset({ scenario: 'incident-all', seed: 2, size: { danglingShards: 20_000, liveShards: 300 } });
    const compact = modelFrom(sim.status(), (c) => sim.entities(c));
    const maps = { status: compact.status, collections: {} as ClusterModel['collections'] };
    for (const c of COLLECTION_NAMES)
      (maps.collections as unknown as Record<string, Map<string, unknown>>)[c] = new Map([...sim.entities(c)].map((e) => [e.key, e]));
    for (const c of COLLECTION_NAMES) assertSame(compact.collections[c], maps.collections[c] as Map<string, unknown>, c);
    assert.deepStrictEqual(runChecks(compact), runChecks(maps));
    const text = renderSnapshot(compact);
    assert.equal(text, renderSnapshot(maps));
    const parsed = parseSnapshot(text);
    assert.ok(parsed.model);
    for (const c of COLLECTION_NAMES)
      assert.deepStrictEqual([...parsed.model.collections[c]], [...compact.collections[c]], `${c}: snapshot round trip`);
  });
});
