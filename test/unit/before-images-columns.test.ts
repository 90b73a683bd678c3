/**
 * Before-images read straight from the model's table as columns (`EntityTable.rowsAsColumns`,
 * `packIntentOfColumns`, #21): the same columns as of the entities `get` builds, and so the same
 * packed intent, byte for byte, as `packIntent` of those entities (every reader reads it as
 * before); absent keys, several shapes, fields left undefined and a table of every collection's
 * arbitrary entities included.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { EntityTable, StringInterner } from '../../src/analysis';
import { packIntent, packIntentOfColumns, packResult, packResultOfKeys, unpackJournalLine } from '../../src/protocol/before-images';
import { gather } from '../../src/protocol/packed-columns';
import { COLLECTION_NAMES, type CollectionName, type JournalIntentLine, type JournalResultLine } from '../../src/protocol';
import { entityArbitrary } from './arbitraries';
import { metastoreShardAt } from './fixtures';

const AT = '2026-01-01T00:00:00.000Z';
const keyOf = (i: number) => `app-logs:01HF7YAT01F6SEFP5Y4J5566PC/_ingest-source/01HF7YXD${String(i).padStart(18, '0')}`;

function intent(collection: string, keys: readonly string[], table: EntityTable<{ key: string }>): JournalIntentLine {
  return {
    type: 'intent',
    repair: 'r1',
    at: AT,
    batch: 2,
    requestId: 'q2',
    operation: { command: 'quickwit.deleteShards', targets: keys.map((key) => ({ key, version: 3 })) },
    before: keys.map((key) => ({ collection, key, entity: (table.get(key) as Record<string, unknown> | undefined) ?? null })),
  } as JournalIntentLine;
}

/** `packIntentOfColumns` from the table and `packIntent` of its entities write the same line; it reads back as the plain line. */
async function assertSamePacked(collection: string, keys: readonly string[], table: EntityTable<{ key: string }>): Promise<void> {
  const plain = intent(collection, keys, table);
  const rows = table.rowsAsColumns(keys);
  assert.deepStrictEqual(rows, gather(plain.before.map((b) => b.entity)), 'the columns of the entities get builds');
  const { before: _before, ...line } = plain;
  const fromTable = await packIntentOfColumns(line, collection, rows);
  assert.deepStrictEqual(fromTable, await packIntent(plain), 'the same packed line');
  assert.deepStrictEqual(unpackJournalLine(JSON.parse(JSON.stringify(fromTable))), JSON.parse(JSON.stringify(plain)));
}

describe('before-images from the table as columns (#21)', () => {
  it('packs a batch of shards, some absent, some of another shape or with a field left undefined, as from their entities', async () => {
    const collection = 'quickwit.metastore.shards';
    const table = new EntityTable<{ key: string }>(collection, new StringInterner());
    for (let i = 0; i < 3000; i++) {
      const key = keyOf(i);
      const shard: Record<string, unknown> = { ...metastoreShardAt(key, { version: i % 5 }) };
      if (i % 7 === 0) shard.extra = { nested: [i] };
      if (i % 11 === 0) shard.leaderId = undefined;
      if (i % 13 === 0) shard.followerId = null;
      table.set(key, shard as { key: string });
    }
    for (let i = 0; i < 3000; i += 17) table.delete(keyOf(i));
    const keys = Array.from({ length: 1200 }, (_, i) => keyOf((i * 7) % 3100));
    await assertSamePacked(collection, keys, table);
    await assertSamePacked(collection, [keyOf(5000)], table);
    // Every row of one shape (read column by column), some absent, every column's form.
    const uniform = new EntityTable<{ key: string }>(collection, new StringInterner());
    for (let i = 0; i < 3000; i++) {
      const key = keyOf(i);
      uniform.set(key, metastoreShardAt(key, { version: i % 3 ? i : 2 ** 40, followerId: i % 2 ? null : `f${i % 4}` }));
    }
    await assertSamePacked(collection, keys, uniform);
    await assertSamePacked(collection, [keyOf(7), keyOf(9000)], uniform);
  });

  it("packs any collection's arbitrary entities as from their entities", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .constantFrom(...COLLECTION_NAMES)
          .chain((c: CollectionName) =>
            fc.tuple(fc.constant(c), fc.array(entityArbitrary(c), { minLength: 1, maxLength: 30 }), fc.array(fc.nat(), { minLength: 1 })),
          ),
        async ([collection, entities, picks]) => {
          const table = new EntityTable<{ key: string }>(collection, new StringInterner());
          for (const e of entities) table.set(e.key, e);
          const keys = picks.map((p) => (p % 5 === 4 ? `absent ${p}` : entities[p % entities.length]!.key));
          await assertSamePacked(collection, keys, table);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("packs a compact answer's applied keys as their items", () => {
    for (const n of [1, 7, 5000]) {
      const keys = Array.from({ length: n }, (_, i) => keyOf(i * 3));
      const line: JournalResultLine = {
        type: 'result',
        repair: 'r1',
        at: AT,
        batch: 1,
        requestId: 'q1',
        outcome: 'answered',
        applied: keys.map((key) => ({ key })),
        refused: [{ key: 'k-refused', message: 'moved on' }],
        unchanged: 1,
        summary: `${n} applied`,
      };
      const { applied: _applied, ...withoutApplied } = line;
      const packed = packResultOfKeys(withoutApplied, keys);
      assert.equal(JSON.stringify(packed), JSON.stringify(packResult(line)), `${n} keys: the same line`);
      assert.deepStrictEqual(unpackJournalLine(JSON.parse(JSON.stringify(packed))), line);
    }
  });
});
