/**
 * `EntityTable.setColumns` (a sync's `columns-v1` page stored from its decoded columns) against
 * `set` of each entity of the same page: after the same pages, the two tables read the same
 * (entities deep-equal with their fields in order, keys, iteration order, `get`), and an open
 * `valuesAsOfNow` reader gets the same entities from both.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { COLLECTION_NAMES, encodeColumnsPage, type CollectionName } from '../../src/protocol';
import { decodeColumns, decodeColumnsEntities, entitiesOf } from '../../src/protocol/column-decoders';
import { EntityTable, StringInterner } from '../../src/analysis';
import { entityArbitrary, random } from './arbitraries';

type Row = { key: string } & Record<string, unknown>;
type Table = EntityTable<Row>;

/** What the wire does to a value: JSON out and back. */
const wire = <T>(v: T): unknown => JSON.parse(JSON.stringify(v));

/** `page` stored both ways: by `set` of each decoded entity into `bySet`, by `setColumns` into `byColumns`. */
function store(c: CollectionName, page: unknown, bySet: Table, byColumns: Table): void {
  const entities = decodeColumnsEntities(c, page);
  const columns = decodeColumns(c, page);
  assert.equal(columns.ok, entities.ok);
  if (!entities.ok || !columns.ok) return;
  assert.ok(columns.columns, `${c}: decoded as columns`);
  for (const e of entities.items as Row[]) bySet.set(e.key, e);
  byColumns.setColumns(columns.columns);
}

function assertSameTables(bySet: Table, byColumns: Table, what: string): void {
  assert.equal(byColumns.size, bySet.size, `${what}: size`);
  const want = [...bySet];
  const got = [...byColumns];
  assert.deepStrictEqual(got, want, `${what}: entries in order`);
  for (let i = 0; i < want.length; i++) assert.deepEqual(Object.keys(got[i]![1]), Object.keys(want[i]![1]), `${what}: field order`);
  for (const [k, e] of want) assert.equal(JSON.stringify(byColumns.get(k)), JSON.stringify(e), `${what}: get ${k}`);
}

/** Pages of unique entities, and pages drawn from a few entities (string columns repeat, keys come twice). */
function itemsArbitrary(c: CollectionName): fc.Arbitrary<Row[]> {
  const entity = entityArbitrary(c) as unknown as fc.Arbitrary<Row>;
  return fc.oneof(
    fc.array(entity, { maxLength: 8 }),
    fc
      .tuple(fc.array(entity, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { minLength: 1, maxLength: 30 }))
      .map(([pool, picks]) => picks.map((i) => pool[i % pool.length]!)),
  );
}

describe('EntityTable.setColumns (a page stored from its columns)', () => {
  for (const c of COLLECTION_NAMES) {
    it(`${c}: the table reads as after set() of each entity, replacements and open readers included`, () => {
      fc.assert(
        fc.property(
          itemsArbitrary(c),
          fc.array(itemsArbitrary(c), { minLength: 1, maxLength: 4 }),
          fc.nat(12),
          (before, pages, readFirst) => {
            const interner = new StringInterner();
            const bySet: Table = new EntityTable(c, interner);
            const byColumns: Table = new EntityTable(c, new StringInterner());
            for (const e of before) {
              bySet.set(e.key, wire(e) as Row);
              byColumns.set(e.key, wire(e) as Row);
            }
            // A reader opened before the pages (a snapshot being saved meanwhile), part-read.
            const readers = [bySet.valuesAsOfNow(), byColumns.valuesAsOfNow()];
            const early = readers.map((r) => [...take(r, readFirst)]);
            assert.deepStrictEqual(early[1], early[0], 'read before the pages');
            for (const items of pages) {
              const page = wire(encodeColumnsPage(c, items));
              store(c, page, bySet, byColumns);
            }
            assertSameTables(bySet, byColumns, c);
            assert.deepStrictEqual([...readers[1]!], [...readers[0]!], 'the reader opened before the pages');
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  it('shards over many pages: every change of a column’s form, odd keys, replacements across pages', () => {
    const c = 'quickwit.metastore.shards';
    const next = random(21);
    const indexes = ['app-logs:01HF7YAT01F6SEFP5Y4J5566PC', 'clicks:01HF7YAT01F6SEFP5Y4J5566PD', 'orders/with:slash'];
    const shard = (i: number, phase: number): Row => {
      const indexUid = indexes[i % 3]!;
      const sourceId = i % 5 === 0 ? '_ingest-source' : 'kafka';
      const shardId = `01HF7YAT09ZYAYM0P06V${String(i).padStart(6, '0')}`;
      return {
        key: `${indexUid}/${sourceId}/${shardId}`,
        version: phase < 2 ? i % 7 : i * 1.5,
        indexUid,
        sourceId,
        shardId,
        // Repeating strings, then unique ones (interned, then values again), then repeating again.
        leaderId: phase === 1 ? `ingester-${i}` : `ingester-${i % 4}`,
        followerId: i % 3 === 0 ? null : `ingester-${(i + 1) % 4}`,
        docMappingUid: '01HF7YAT0000000000000000DM',
        shardState: (['open', 'closed', 'unavailable'] as const)[i % 3]!,
        publishPositionInclusive: phase === 2 ? `${i}` : '~',
        publishToken: i % 2 ? null : `token-${i % 5}`,
        // Integers, then numbers past 32 bits.
        createdAt: phase === 0 ? 1_700_000_000 + i : 2 ** 40 + i,
        updateTimestamp: i % 4 === 0 ? null : 1_700_000_100 + i,
      };
    };
    const bySet: Table = new EntityTable(c, new StringInterner());
    const byColumns: Table = new EntityTable(c, new StringInterner());
    let reader: [IterableIterator<Row>, IterableIterator<Row>] | undefined;
    for (let phase = 0; phase < 3; phase++) {
      const ids = Array.from({ length: 6000 }, (_, i) => i).filter(() => next() < 0.8);
      for (let from = 0; from < ids.length; from += 1700) {
        const items = ids.slice(from, from + 1700).map((i) => shard(i, phase));
        // A key twice in a page, the second time with other values.
        if (items.length > 2) items.push({ ...items[1]!, leaderId: 'again', version: 99 });
        store(c, wire(encodeColumnsPage(c, items)), bySet, byColumns);
        if (phase === 1 && !reader) reader = [bySet.valuesAsOfNow(), byColumns.valuesAsOfNow()];
      }
      assertSameTables(bySet, byColumns, `phase ${phase}`);
    }
    assert.deepStrictEqual([...reader![1]], [...reader![0]], 'the reader opened in phase 1');
    // Keys with a `/` in a part: not derivable, sent as values and kept as odd keys.
    assert.ok([...byColumns.keys()].some((k) => k.startsWith('orders/with')));
  });

  it('an entity schema’s page as columns gives the entities decodeColumnsEntities gives, or its error', () => {
    for (const c of COLLECTION_NAMES) {
      for (const items of fc.sample(itemsArbitrary(c), { numRuns: 20, seed: 5 })) {
        const page = wire(encodeColumnsPage(c, items));
        const entities = decodeColumnsEntities(c, page);
        const columns = decodeColumns(c, page);
        assert.ok(entities.ok && columns.ok && columns.columns);
        assert.deepStrictEqual(entitiesOf(columns.columns), entities.items);
      }
    }
    const broken = { n: 2, fields: ['key'], columns: [{ v: ['a'] }], strings: [] };
    assert.deepEqual(decodeColumns('quickwit.ingesters', broken), decodeColumnsEntities('quickwit.ingesters', broken));
  });
});

function* take<T>(it: Iterator<T>, n: number): Generator<T> {
  for (let i = 0; i < n; i++) {
    const r = it.next();
    if (r.done) return;
    yield r.value;
  }
}
