/**
 * The column decoders derived from the entity schemas (src/protocol/column-decoders.ts) against
 * zod itself: for random pages of every collection, valid and broken in many ways, the derived
 * decoder accepts exactly the pages that `decodeColumnsPage` and then the collection's zod schema
 * accept, gives equal entities (same fields, same order, same values), and, for a page zod
 * rejects, names the collection, a row zod rejects and the column zod rejects it for.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import {
  columnDecoderKinds,
  decodeColumnsEntities,
  decodeColumnsEntitiesWith,
  decodeColumnsWith,
  entitiesOf,
} from '../../src/protocol/column-decoders';
import {
  COLLECTION_NAMES,
  COLLECTIONS,
  MetastoreShard,
  decodeColumnsPage,
  encodeColumnsPage,
  type CollectionName,
} from '../../src/protocol';
import { entityArbitrary } from './arbitraries';
import { metastoreShard } from './fixtures';

/** What the wire does to a value: JSON out and back. */
const wire = <T>(v: T): unknown => JSON.parse(JSON.stringify(v));

type Page = { n: number; fields: string[]; columns: Record<string, unknown>[]; strings: string[] };

/** The definition: the page's plain objects, then zod on each entity. */
function reference(c: CollectionName, page: unknown, schema: z.ZodType = COLLECTIONS[c].schema) {
  const decoded = decodeColumnsPage(c, page);
  if (!decoded.ok) return { ok: false as const, structural: true, objects: undefined };
  const parsed = z.array(schema).safeParse(decoded.items);
  return parsed.success
    ? { ok: true as const, items: parsed.data as Record<string, unknown>[], objects: decoded.items }
    : { ok: false as const, structural: false, objects: decoded.items };
}

/** The derived decoder says what the definition says, for `page` of collection `c`. */
function agrees(c: CollectionName, page: unknown, schema?: z.ZodType): void {
  const want = reference(c, page, schema);
  const got = schema ? decodeColumnsEntitiesWith(c, schema, page) : decodeColumnsEntities(c, page);
  // The same page left as columns (what the sync stores): the same answer, the same entities.
  const columns = decodeColumnsWith(c, schema ?? COLLECTIONS[c].schema, page);
  assert.deepStrictEqual(columns.ok ? { ok: true, items: columns.items ?? entitiesOf(columns.columns) } : columns, got);
  assert.equal(
    got.ok,
    want.ok,
    got.ok ? 'the derived decoder accepted a page zod rejects' : `zod accepted a page the decoder rejects: ${got.error}`,
  );
  if (got.ok && want.ok) {
    assert.deepStrictEqual(got.items, want.items);
    for (let i = 0; i < got.items.length; i++)
      assert.deepEqual(Object.keys(got.items[i]!), Object.keys(want.items[i]!), `row ${i}: field order`);
    return;
  }
  if (got.ok || want.ok) return;
  if (want.structural) {
    assert.match(got.error, /^columns page: /);
    return;
  }
  // Rejected by the schema: the message names the collection, a row zod rejects, and the column it rejects it for.
  const m = new RegExp(`^${c.replaceAll('.', '\\.')} page: row (\\d+), column ("(?:[^"\\\\]|\\\\.)*"): .+`).exec(got.error);
  assert.ok(m, `not a row and column: ${got.error}`);
  const row = Number(m[1]);
  const column = JSON.parse(m[2]!) as string;
  const r = (schema ?? COLLECTIONS[c].schema).safeParse(want.objects![row]);
  assert.ok(!r.success, `zod accepts row ${row}: ${got.error}`);
  assert.ok(
    r.error.issues.some((i) => i.path[0] === column),
    `zod rejects row ${row} for ${r.error.issues.map((i) => i.path[0]).join(', ')}, not ${column}`,
  );
}

/** Pages of unique entities, and pages drawn from a few entities (so that string columns repeat and use the dictionary). */
function itemsArbitrary(c: CollectionName): fc.Arbitrary<unknown[]> {
  const entity = entityArbitrary(c);
  return fc.oneof(
    fc.array(entity, { maxLength: 8 }),
    fc
      .tuple(fc.array(entity, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { minLength: 1, maxLength: 30 }))
      .map(([pool, picks]) => picks.map((i) => pool[i % pool.length])),
  );
}

/** Values a broken page may hold where an entity's field goes: near misses of every field type, and any JSON. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    -1,
    0,
    1,
    1.5,
    -0.5,
    2 ** 53,
    -(2 ** 53),
    253_402_300_800,
    '',
    'open',
    'ready',
    'Running',
    true,
    false,
    [],
    [1, 2],
    ['a'],
    [1.5],
    {},
  ),
  fc.constantFrom({ spu: 1, hw: 2, leo: 3 }, { spu: 1, hw: 2 }, { spu: 1.5, hw: 2, leo: 3 }, { spu: 1, hw: 2, leo: 3, extra: 'x' }),
  fc.jsonValue({ maxDepth: 2 }),
);

/** One way of breaking (or merely reshaping) an encoded page; most keep it decodable, so that zod has entities to judge. */
function mutation(c: CollectionName): fc.Arbitrary<(p: Page) => void> {
  const fieldNames = Object.keys((COLLECTIONS[c].schema as unknown as { shape: object }).shape);
  const pick = (n: number, k: number) => (n === 0 ? 0 : k % n);
  return fc.oneof(
    // A value of a `v` column replaced, or every value of one.
    fc.tuple(fc.nat(), fc.nat(), oddValue, fc.boolean()).map(([j, i, v, all]) => (p: Page) => {
      const col = p.columns[pick(p.columns.length, j)];
      if (!col || !Array.isArray(col.v) || col.v.length === 0) return;
      if (all) col.v.fill(v);
      else col.v[pick(col.v.length, i)] = v;
    }),
    // A dictionary string replaced, or an index pointed at another string, or at null.
    fc
      .tuple(fc.nat(), fc.nat(), fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('open', 'closed', 'ready', 'Running', 'Active', '')))
      .map(([j, i, s]) => (p: Page) => {
        if (p.strings.length > 0) p.strings[pick(p.strings.length, j)] = s;
        const col = p.columns[pick(p.columns.length, i)];
        if (col && Array.isArray(col.d) && col.d.length > 0) col.d[pick(col.d.length, j)] = i % 3 === 0 ? -1 : pick(p.strings.length, i);
      }),
    // A field left out, or one it does not have added, or a field renamed to another of the schema's.
    fc
      .tuple(fc.nat(), fc.constantFrom(...fieldNames, 'extra', '__proto__', 'toString'), oddValue, fc.constantFrom('drop', 'add', 'rename'))
      .map(([j, name, v, how]) => (p: Page) => {
        const at = pick(p.fields.length, j);
        if (how === 'drop' && p.fields.length > 0) {
          p.fields.splice(at, 1);
          p.columns.splice(at, 1);
        } else if (how === 'add' && !p.fields.includes(name)) {
          p.fields.push(name);
          p.columns.push({ v: new Array(p.n).fill(v) });
        } else if (how === 'rename' && p.fields.length > 0 && !p.fields.includes(name)) p.fields[at] = name;
      }),
    // A column moved between the forms: values into the dictionary, dictionary into values, the key derived.
    fc.tuple(fc.nat(), fc.constantFrom('to-d', 'to-v', 'derive-key')).map(([j, how]) => (p: Page) => {
      const at = pick(p.fields.length, j);
      const col = p.columns[at];
      if (!col) return;
      if (how === 'to-d' && Array.isArray(col.v) && col.v.every((x) => typeof x === 'string')) {
        p.columns[at] = { d: col.v.map((x) => (p.strings.push(x as string), p.strings.length - 1)) };
      } else if (how === 'to-v' && Array.isArray(col.d)) {
        p.columns[at] = { v: col.d.map((ix) => ((ix as number) < 0 ? null : p.strings[ix as number])) };
      } else if (how === 'derive-key') {
        const k = p.fields.indexOf('key');
        if (k >= 0) p.columns[k] = { k: 1 };
      }
    }),
  );
}

/** A page of `c`'s entities, as the wire gives it, then broken in 0 to 3 ways. */
function pageArbitrary(c: CollectionName): fc.Arbitrary<Page> {
  return fc.tuple(itemsArbitrary(c), fc.array(mutation(c), { maxLength: 3 })).map(([items, mutations]) => {
    const page = wire(encodeColumnsPage(c, items as object[])!) as Page;
    for (const m of mutations) m(page);
    return page;
  });
}

describe('column decoders derived from the entity schemas', () => {
  it('derive every field of every collection: no entity goes through zod', () => {
    for (const c of COLLECTION_NAMES) {
      const kinds = columnDecoderKinds(c);
      assert.ok(kinds, `${c}: the entity schema is not read`);
      const left = Object.entries(kinds).filter(([, k]) => k.includes('zod'));
      assert.deepEqual(left, [], `${c}: fields left to zod`);
    }
    assert.deepEqual(columnDecoderKinds('quickwit.metastore.shards'), {
      key: 'string',
      version: 'number',
      indexUid: 'string',
      sourceId: 'string',
      shardId: 'string',
      leaderId: 'string',
      followerId: 'string | null',
      docMappingUid: 'string',
      shardState: 'enum',
      publishPositionInclusive: 'string',
      publishToken: 'string | null',
      createdAt: 'number',
      updateTimestamp: 'number | null',
    });
  });

  for (const c of COLLECTION_NAMES) {
    it(`${c}: accepts exactly what zod accepts, and gives what zod gives`, () => {
      fc.assert(
        fc.property(pageArbitrary(c), (page) => agrees(c, page)),
        { numRuns: 150 },
      );
    });
  }

  it('every field, given each edge value (as values and through the dictionary), is judged as zod judges it', () => {
    const edges: unknown[] = [
      ...[null, true, false, -1, 0, 1, -0.5, 0.5, 1.5, 2 ** 31, 2 ** 53 - 1, 2 ** 53, -(2 ** 53 - 1), -(2 ** 53)],
      ...[253_402_300_799, 253_402_300_800, '', 'a', 'a/b', [], [0], [-1], [1.5], ['a'], [null], {}],
      ...[
        { spu: 1, hw: 2, leo: 3 },
        { spu: 1, hw: 2 },
        { spu: 1, hw: -2, leo: 0.5 },
        { spu: 1, hw: 2, leo: 3, x: 1 },
      ],
    ];
    for (const c of COLLECTION_NAMES) {
      const shape = (COLLECTIONS[c].schema as unknown as { shape: Record<string, { options?: string[] }> }).shape;
      const words = Object.values(shape).flatMap((s) => s.options ?? []);
      for (const items of fc.sample(fc.array(entityArbitrary(c), { minLength: 1, maxLength: 3 }), { numRuns: 1, seed: 21 })) {
        const good = wire(encodeColumnsPage(c, items)!) as Page;
        for (let j = 0; j < good.fields.length; j++) {
          for (const v of [...edges, ...words]) {
            const page = structuredClone(good);
            page.columns[j] = { v: new Array(page.n).fill(v) };
            agrees(c, page);
            if (typeof v === 'string' || v === null) {
              page.strings.push(v ?? '');
              page.columns[j] = { d: new Array(page.n).fill(v === null ? -1 : page.strings.length - 1) };
              agrees(c, page);
            }
          }
        }
      }
    }
  });

  it("another collection's pages, and garbage, are judged as zod judges them", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...COLLECTION_NAMES).chain((from) => fc.tuple(fc.constant(from), pageArbitrary(from))),
        fc.constantFrom(...COLLECTION_NAMES),
        ([, page], as) => agrees(as, page),
      ),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (v) => agrees('quickwit.ingesters', v)),
      { numRuns: 200 },
    );
  });

  it('a field the derivation cannot read is left to zod, for that field only', () => {
    const schema = MetastoreShard.extend({
      shardId: z.string().refine((s) => !s.includes('x'), 'no x in a shard id'),
      leaderId: z.string().default('nobody'),
      docMappingUid: z.string().transform((s) => s.toUpperCase()),
    });
    const kinds = columnDecoderKinds(schema)!;
    assert.equal(kinds.shardId, 'zod');
    assert.equal(kinds.leaderId, 'zod');
    assert.equal(kinds.docMappingUid, 'zod');
    assert.equal(kinds.indexUid, 'string');
    const c = 'quickwit.metastore.shards';
    fc.assert(
      fc.property(pageArbitrary(c), (page) => agrees(c, page, schema)),
      { numRuns: 150 },
    );
    const shard = (shardId: string) => metastoreShard(shardId, { docMappingUid: 'd' });
    const page = wire(encodeColumnsPage(c, [shard('a'), shard('x1')])!);
    const r = decodeColumnsEntitiesWith(c, schema, page);
    assert.deepEqual(r, { ok: false, error: 'quickwit.metastore.shards page: row 1, column "shardId": no x in a shard id' });
    const fine = decodeColumnsEntitiesWith(c, schema, wire(encodeColumnsPage(c, [shard('a')])!));
    assert.ok(fine.ok);
    assert.equal((fine.items[0] as { docMappingUid: string }).docMappingUid, 'D');
  });

  describe('errors name the collection, the row and the column', () => {
    const ingesters = (status: unknown[], version = status.map(() => 1)) =>
      wire(
        encodeColumnsPage(
          'quickwit.ingesters',
          status.map((s, i) => ({ key: `i-${i}`, version: version[i], nodeId: `i-${i}`, status: s })),
        ),
      );
    const cases: [string, unknown, string][] = [
      [
        'a negative version',
        ingesters(['ready', 'ready', 'ready'], [1, -2, 3]),
        'quickwit.ingesters page: row 1, column "version": Too small: expected number to be >=0',
      ],
      [
        'a fractional version',
        ingesters(['ready', 'ready'], [1, 1.5]),
        'quickwit.ingesters page: row 1, column "version": Invalid input: expected int, received number',
      ],
      [
        'a status no ingester has (in the dictionary)',
        ingesters(['ready', 'ready', 'sleepy', 'sleepy', 'ready', 'ready']),
        'quickwit.ingesters page: row 2, column "status": Invalid option: expected one of "unspecified"|"initializing"|"ready"|"retiring"|"decommissioning"|"decommissioned"|"failed"',
      ],
      [
        'a null where a string goes',
        ingesters(['ready', 'ready', 'ready'].map((s, i) => (i === 1 ? null : s))),
        'quickwit.ingesters page: row 1, column "status": Invalid option: expected one of "unspecified"|"initializing"|"ready"|"retiring"|"decommissioning"|"decommissioned"|"failed"',
      ],
      [
        'a required field missing',
        { n: 2, fields: ['key', 'version', 'nodeId'], columns: [{ v: ['a', 'b'] }, { v: [1, 1] }, { v: ['a', 'b'] }], strings: [] },
        'quickwit.ingesters page: row 0, column "status": Invalid option: expected one of "unspecified"|"initializing"|"ready"|"retiring"|"decommissioning"|"decommissioned"|"failed"',
      ],
      [
        'an empty derived key',
        {
          n: 1,
          fields: ['key', 'version', 'nodeId', 'status'],
          columns: [{ k: 1 }, { v: [1] }, { v: [''] }, { v: ['ready'] }],
          strings: [],
        },
        'quickwit.ingesters page: row 0, column "key": Too small: expected string to have >=1 characters',
      ],
    ];
    for (const [what, page, error] of cases) {
      it(what, () => {
        assert.deepEqual(decodeColumnsEntities('quickwit.ingesters', page), { ok: false, error });
        agrees('quickwit.ingesters', page);
      });
    }

    it('a nested field: the path inside the column', () => {
      const partition = {
        key: 't-0',
        version: 1,
        topic: 't',
        partition: 0,
        resolution: 'Online',
        leader: { spu: 1, hw: 2.5, leo: 3 },
        lsr: 0,
        replicas: [1],
        size: 0,
        isBeingDeleted: false,
      };
      const r = decodeColumnsEntities('fluvio.partitions', wire(encodeColumnsPage('fluvio.partitions', [partition])!));
      assert.deepEqual(r, {
        ok: false,
        error: 'fluvio.partitions page: row 0, column "leader": hw: Invalid input: expected int, received number',
      });
    });

    it("the page's structure: as decodeColumnsPage says it", () => {
      const r = decodeColumnsEntities('quickwit.ingesters', { n: 2, fields: ['key'], columns: [{ v: ['a'] }], strings: [] });
      assert.deepEqual(r, { ok: false, error: 'columns page: field "key" has 1 values for 2 entities' });
    });
  });
});
