/**
 * The snapshot parser's fast path and its general path agree: random valid
 * entities of every collection, rendered by the renderer, parse to the same
 * model with and without the fast path, and that model holds the entities.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { COLLECTION_NAMES, COLLECTIONS, type AnyEntity, type CollectionName } from '../../src/protocol';
import { emptyCollections, renderSnapshot, type ClusterModel } from '../../src/analysis';
import { parseSnapshotWith } from '../../src/analysis/snapshot/parse';
import { encodeString, encodeValue, LAYOUTS } from '../../src/analysis/snapshot/layout';
import { awkwardString, entityArbitrary } from './arbitraries';
import * as F from './fixtures';

const NUM_RUNS = 200;

/** One arbitrary per collection: adding a collection without one fails to compile (and the coverage test below). */
const ENTITIES: { [C in CollectionName]: fc.Arbitrary<AnyEntity[]> } = Object.fromEntries(
  COLLECTION_NAMES.map((c) => [
    c,
    fc.uniqueArray(entityArbitrary(c) as fc.Arbitrary<AnyEntity>, { selector: (e) => e.key, minLength: 1, maxLength: 6 }),
  ]),
) as { [C in CollectionName]: fc.Arbitrary<AnyEntity[]> };

function modelOf(c: CollectionName, entities: AnyEntity[], clusterName: string): ClusterModel {
  const collections = emptyCollections();
  const map = collections[c] as Map<string, AnyEntity>;
  for (const e of entities) map.set(e.key, e);
  const status = F.status({ clusterName });
  status.counts = { ...status.counts, [c]: entities.length };
  return { status, collections };
}

describe('snapshot parser: fast path and general path agree', () => {
  it('has an arbitrary for every collection', () => {
    for (const c of COLLECTION_NAMES) assert.ok(ENTITIES[c], c);
    assert.deepEqual(Object.keys(ENTITIES).sort(), Object.keys(COLLECTIONS).sort());
  });

  const fastLines = new Map<CollectionName, number>();

  for (const c of COLLECTION_NAMES) {
    it(c, () => {
      let fast = 0;
      fc.assert(
        fc.property(ENTITIES[c], fc.constantFrom('sim', 'prod eu', 'é "x"'), (entities, clusterName) => {
          for (const e of entities) assert.ok(COLLECTIONS[c].schema.safeParse(e).success, 'the arbitrary gives valid entities');
          const model = modelOf(c, entities, clusterName);
          const text = renderSnapshot(model);
          const withFast = parseSnapshotWith(text, { fastPath: true });
          const general = parseSnapshotWith(text, { fastPath: false });
          assert.equal(general.fastLines, 0);
          fast += withFast.fastLines;
          assert.deepEqual(withFast.parsed.errors, [], text);
          assert.deepEqual(general.parsed.errors, [], text);
          for (const other of COLLECTION_NAMES) {
            assert.deepEqual(
              [...withFast.parsed.model!.collections[other].entries()],
              [...general.parsed.model!.collections[other].entries()],
              `${other}: fast vs general\n${text}`,
            );
          }
          assert.deepEqual([...general.parsed.model!.collections[c].values()], entities, text);
          assert.deepEqual(withFast.parsed.model!.status, model.status);
          assert.deepEqual(general.parsed.model!.status, model.status);
          for (const e of entities) {
            assert.equal(withFast.parsed.index.lineOf(c, e.key), general.parsed.index.lineOf(c, e.key));
          }
        }),
        { numRuns: NUM_RUNS, seed: 20250101 },
      );
      fastLines.set(c, fast);
    });
  }

  /**
   * Lines as a person may write them: each value rendered, JSON-quoted, bare even where it
   * needs quotes, `null`, or an odd token; fields in any order, maybe twice, maybe missing.
   * Both paths must give the same entities and the same errors.
   */
  it('agree on hand-written lines, valid or not', () => {
    const ODD = [
      'null',
      '""',
      '"',
      '[',
      '[a',
      '[a]b',
      '{',
      '{"a":1}',
      '[1, 2]',
      '"a\tb"',
      '"a\u0001b"',
      '"\u0001"',
      '-',
      '-0',
      '007',
      '1e3',
      '+1',
      'true',
      'x#y',
      '#',
      'a=b',
    ];
    const token = (v: unknown, f: (typeof LAYOUTS)[CollectionName]['fields'][number]): fc.Arbitrary<string> =>
      fc.oneof(
        { arbitrary: fc.constant(v === null ? 'null' : encodeValue(v, f)), weight: 6 },
        { arbitrary: fc.constant(typeof v === 'string' ? JSON.stringify(v) : String(v)), weight: 1 },
        { arbitrary: fc.constant(typeof v === 'string' && v !== '' && !/[\s]/.test(v) ? v : 'null'), weight: 1 },
        { arbitrary: fc.constantFrom(...ODD), weight: 2 },
        { arbitrary: awkwardString.map((s) => (s && !/[\s]/.test(s) ? s : JSON.stringify(s))), weight: 1 },
      );
    const lineOf = (c: CollectionName) =>
      entityArbitrary(c).chain((e) => {
        const layout = LAYOUTS[c];
        const rec = e as unknown as Record<string, unknown>;
        const fields = layout.fields.map((f) =>
          fc.record(
            { name: fc.constant(f.name), value: token(rec[f.name], f), drop: fc.integer({ min: 0, max: 9 }).map((n) => n === 0) },
            { noNullPrototype: true },
          ),
        );
        return fc
          .tuple(
            fc.tuple(...fields),
            fc.boolean(),
            fc.boolean(),
            fc.constantFrom(' ', '  ', '\t', ' \r'),
            fc.constantFrom('', ' # note', '\r', ' version=1'),
          )
          .chain(([tokens, shuffle, quoteKey, sep, tail]) =>
            (shuffle ? fc.shuffledSubarray(tokens, { minLength: tokens.length }) : fc.constant(tokens)).map((ordered) => {
              const parts = ordered.filter((t) => !t.drop).map((t) => `${t.name}=${t.value}`);
              const key = quoteKey ? JSON.stringify(e.key) : encodeString(e.key);
              return `${layout.kind} ${key}${sep}${parts.join(sep)} version=${e.version}${tail}`;
            }),
          );
      });
    for (const c of COLLECTION_NAMES) {
      fc.assert(
        fc.property(fc.array(lineOf(c), { minLength: 1, maxLength: 4 }), (lines) => {
          const text = [`[${c}]`, ...lines].join('\n');
          const withFast = parseSnapshotWith(text, { fastPath: true }).parsed;
          const general = parseSnapshotWith(text, { fastPath: false }).parsed;
          assert.deepEqual(withFast.errors, general.errors, text);
          assert.deepEqual([...withFast.model!.collections[c].entries()], [...general.model!.collections[c].entries()], text);
        }),
        { numRuns: NUM_RUNS, seed: 20250102 },
      );
    }
  });

  it('the fast path reads many lines of the collections without JSON fields', () => {
    // A fast path that never matched would agree trivially.
    for (const c of ['quickwit.metastore.shards', 'quickwit.ingester.shards', 'milvus.nodes', 'tikv.regions', 'fluvio.spus'] as const) {
      assert.ok((fastLines.get(c) ?? 0) > NUM_RUNS / 4, `${c}: ${fastLines.get(c)} lines on the fast path`);
    }
  });
});
