/**
 * The `columns-v1` page encoding: what a client decodes and validates from a
 * compact page is exactly what it validates from the same page as objects
 * (v1), for random entities of every collection; a malformed page is an
 * error in words, never a throw.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { z } from 'zod';
import { COLLECTION_NAMES, COLLECTIONS, ColumnsPage, decodeColumnsPage, encodeColumnsPage, type CollectionName } from '../../src/protocol';
import { entityArbitrary } from './arbitraries';

/** What the wire does to a value: JSON out and back. */
const wire = <T>(v: T): unknown => JSON.parse(JSON.stringify(v));

function validate(c: CollectionName, items: unknown): { ok: boolean; data?: unknown } {
  const r = z.array(COLLECTIONS[c].schema as z.ZodType).safeParse(items);
  return r.success ? { ok: true, data: r.data } : { ok: false };
}

/** Pages of unique entities, and pages drawn from a few entities (so that string columns repeat and use the dictionary). */
function pageArbitrary(c: CollectionName): fc.Arbitrary<unknown[]> {
  const entity = entityArbitrary(c);
  return fc.oneof(
    fc.array(entity, { maxLength: 8 }),
    fc
      .tuple(fc.array(entity, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(), { minLength: 1, maxLength: 40 }))
      .map(([pool, picks]) => picks.map((i) => pool[i % pool.length])),
  );
}

describe('columns-v1 pages', () => {
  for (const c of COLLECTION_NAMES) {
    it(`${c}: decode(encode(page)) validates to what the objects validate to`, () => {
      fc.assert(
        fc.property(pageArbitrary(c), (items) => {
          const page = encodeColumnsPage(c, items as object[]);
          assert.ok(page, 'entities of one schema share one shape');
          assert.ok(ColumnsPage.safeParse(wire(page)).success);
          const decoded = decodeColumnsPage(c, wire(page));
          assert.ok(decoded.ok, decoded.ok ? '' : decoded.error);
          const v1 = validate(c, wire(items));
          const v2 = validate(c, decoded.items);
          assert.equal(v2.ok, v1.ok);
          assert.deepStrictEqual(v2.data, v1.data);
          // And the plain objects themselves, before the schema, hold what v1 sent.
          assert.deepStrictEqual(decoded.items, wire(items));
        }),
        { numRuns: 60 },
      );
    });
  }

  it('leaves out keys that the entity fields spell out, and uses the dictionary for repeated strings', () => {
    const shards = Array.from({ length: 100 }, (_, i) => ({
      key: `otel-logs:01HX/_ingest-source/${String(i).padStart(20, '0')}`,
      version: 1,
      indexUid: 'otel-logs:01HX',
      sourceId: '_ingest-source',
      shardId: String(i).padStart(20, '0'),
      leaderId: `ingester-${i % 3}`,
      shardState: 'open',
    }));
    const page = encodeColumnsPage('quickwit.controlPlane.shards', shards)!;
    assert.deepEqual(page.columns[page.fields.indexOf('key')], { k: 1 });
    assert.ok('d' in page.columns[page.fields.indexOf('leaderId')]!);
    assert.ok('v' in page.columns[page.fields.indexOf('shardId')]!);
    assert.equal(page.strings.length, 1 + 1 + 3 + 1);
    assert.ok(JSON.stringify(page).length * 2 < JSON.stringify(shards).length);
    const decoded = decodeColumnsPage('quickwit.controlPlane.shards', wire(page));
    assert.ok(decoded.ok);
    assert.deepStrictEqual(decoded.items, shards.map((s) => ({ ...s })).map(wire));
  });

  it('sends a page of mixed shapes as objects (undefined: the caller falls back)', () => {
    assert.equal(
      encodeColumnsPage('quickwit.ingesters', [
        { key: 'a', version: 1, nodeId: 'a', status: 'ready' },
        { key: 'b', version: 1, nodeId: 'b' },
      ]),
      undefined,
    );
    assert.equal(encodeColumnsPage('quickwit.ingesters', [{ key: 'a', version: 1, nodeId: 'a', status: undefined }]), undefined);
  });

  describe('a malformed page is an error in words', () => {
    const good = () =>
      wire(
        encodeColumnsPage('quickwit.ingesters', [
          { key: 'i-1', version: 1, nodeId: 'i-1', status: 'ready' },
          { key: 'i-2', version: 2, nodeId: 'i-2', status: 'ready' },
          { key: 'i-3', version: 3, nodeId: 'i-3', status: 'ready' },
        ]),
      ) as { n: number; fields: string[]; columns: Record<string, unknown>[]; strings: string[] };
    const cases: [string, (p: ReturnType<typeof good>) => unknown, RegExp][] = [
      ['not an object', () => 'garbage', /columns page: .*expected object/],
      ['null', () => null, /columns page/],
      [
        'a column is not an array',
        (p) => ((p.columns[1] = { v: 7 }), p),
        /column 1 \("version"\) is not \{"d": \[indices\]\}, \{"v": \[values\]\} or \{"k": 1\}/,
      ],
      ['a column of another kind', (p) => ((p.columns[1] = { x: [] }), p), /columns page: column 1 \("version"\) is not/],
      ['too few values', (p) => ((p.columns[1] = { v: [1, 2] }), p), /"version" has 2 values for 3 entities/],
      ['more fields than columns', (p) => (p.fields.push('extra'), p), /5 fields but 4 columns/],
      ['a field twice', (p) => ((p.fields[1] = 'key'), p), /field "key" given twice/],
      ['a string index out of range', (p) => ((p.columns[3] = { d: [0, 0, 99] }), p), /field "status", entity 2: 99 is not a string index/],
      ['a fractional index', (p) => ((p.columns[3] = { d: [0, 0.5, 0] }), p), /entity 1: 0\.5 is not a string index/],
      ['a string as an index', (p) => ((p.columns[3] = { d: [0, '0', 0] }), p), /entity 1: "0" is not a string index/],
      ['a derived column that is not the key', (p) => ((p.columns[2] = { k: 1 }), p), /"nodeId": only the key can be derived/],
      [
        'a derived key without its fields',
        (p) => ((p.fields[2] = 'node'), (p.columns[0] = { k: 1 }), p),
        /the key's field "nodeId" is not in the page/,
      ],
      [
        'a derived key from a non-string',
        (p) => ((p.columns[0] = { k: 1 }), (p.columns[2] = { v: ['a', {}, 'c'] }), p),
        /entity 1: the key is derived from nodeId, which is \{\}/,
      ],
      ['an unknown member', (p) => ({ ...p, extra: 1 }), /columns page: .*extra/],
      ['a negative count', (p) => ({ ...p, n: -1 }), /columns page: n/],
    ];
    for (const [what, mutate, message] of cases) {
      it(what, () => {
        const r = decodeColumnsPage('quickwit.ingesters', mutate(good()));
        assert.equal(r.ok, false);
        assert.match((r as { error: string }).error, message);
      });
    }

    it('a page that decodes but holds invalid entities fails the schema, like objects do', () => {
      const p = good();
      p.columns[1] = { v: [1, -2, 3] };
      const r = decodeColumnsPage('quickwit.ingesters', p);
      assert.ok(r.ok);
      assert.equal(validate('quickwit.ingesters', r.items).ok, false);
    });

    it('a field named __proto__ stays a field', () => {
      const r = decodeColumnsPage('quickwit.ingesters', {
        n: 1,
        fields: ['__proto__'],
        columns: [{ v: [{ polluted: true }] }],
        strings: [],
      });
      assert.ok(r.ok);
      assert.equal(Object.getPrototypeOf(r.items[0]), Object.prototype);
      assert.equal((r.items[0] as { polluted?: boolean }).polluted, undefined);
    });

    it('random garbage never throws', () => {
      fc.assert(
        fc.property(fc.jsonValue(), (v) => {
          const r = decodeColumnsPage('quickwit.ingesters', v);
          assert.ok(typeof r.ok === 'boolean');
        }),
        { numRuns: 300 },
      );
    });
  });
});
