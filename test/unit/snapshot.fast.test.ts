/**
 * The snapshot language's fast paths give what the plain code gave (#21 item 2):
 * - the compiled line renderer writes, for random valid entities of every collection, the line the
 *   loop over the layout's fields wrote (kept here as the reference, with the regex `isBare` it used);
 * - the regex-free `isBare` says what the regex said, on any string;
 * - the fast parser, reading in place, with its per-column string reuse, round-trips every line;
 * - a model of compact tables changed while its file is written gives the file as it was when the
 *   writing began (`EntityTable.valuesAsOfNow`), without a copy of the model.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { COLLECTION_NAMES, type AnyEntity, type CollectionName } from '../../src/protocol';
import { emptyCollections, renderEntity, renderSnapshot, renderSnapshotChunks, type ClusterModel } from '../../src/analysis';
import { parseSnapshotWith } from '../../src/analysis/snapshot/parse';
import { isBare, LAYOUTS, type CollectionLayout, type FieldInfo } from '../../src/analysis/snapshot/layout';
import { EntityTable } from '../../src/analysis/table';
import { awkwardString, entityArbitrary } from './arbitraries';
import * as F from './fixtures';

// ---- the reference: the renderer as it was before the compiled one (git 01c56e5) ----

// eslint-disable-next-line no-control-regex -- control characters are what this must match (they force quotes)
const BARE = /^[^\s"#=\\[{\x00-\x1f\x7f][^\s"#=\\\x00-\x1f\x7f]*$/;
const referenceIsBare = (s: string) => BARE.test(s) && s !== 'null';
const referenceEncodeString = (s: string) => (referenceIsBare(s) ? s : JSON.stringify(s));

function referenceEncodeValue(v: unknown, f: FieldInfo): string {
  if (v === null) return 'null';
  switch (f.type) {
    case 'string':
      return f.bare ? String(v) : referenceEncodeString(String(v));
    case 'number':
    case 'boolean':
      return String(v);
    case 'json':
      return JSON.stringify(v);
  }
}

function referenceRenderEntity(layout: CollectionLayout, e: AnyEntity): string {
  const rec = e as unknown as Record<string, unknown>;
  let line = `${layout.kind} ${referenceEncodeString(e.key)}`;
  const omit = layout.keyParts?.matches(e.key, rec) ? layout.keyParts.names : undefined;
  for (const f of layout.fields) {
    const v = rec[f.name];
    if (v === null && f.nullable) continue;
    if (omit?.has(f.name)) continue;
    line += ` ${f.name}=${referenceEncodeValue(v, f)}`;
  }
  return `${line} version=${e.version}`;
}

// ----

const NUM_RUNS = 150;

function modelOf(entities: Partial<Record<CollectionName, AnyEntity[]>>): ClusterModel {
  const collections = emptyCollections();
  const status = F.status({ clusterName: 'sim' });
  for (const [c, list] of Object.entries(entities) as [CollectionName, AnyEntity[]][]) {
    const map = collections[c] as Map<string, AnyEntity>;
    for (const e of list) map.set(e.key, e);
    status.counts = { ...status.counts, [c]: map.size };
  }
  return { status, collections };
}

const entitiesOf = (c: CollectionName, maxLength = 8) =>
  fc.uniqueArray(entityArbitrary(c) as fc.Arbitrary<AnyEntity>, { selector: (e) => e.key, minLength: 1, maxLength });

describe('snapshot fast paths agree with the plain code', () => {
  it('isBare says what the regex said, on any string', () => {
    const blanks = [
      ' ',
      '\t',
      '\n',
      '\v',
      '\f',
      '\r',
      '\u00a0',
      '\u1680',
      '\u2000',
      '\u200a',
      '\u2028',
      '\u2029',
      '\u202f',
      '\u205f',
      '\u3000',
      '\ufeff',
    ];
    const near = ['\u0085', '\u009f', '\u00a1', '\u180e', '\u200b', '\u1fff', '\u3001', '\ufefe', '\u007e', '\u007f', '\u0080'];
    const special = ['"', '#', '=', '\\', '[', '{', ']', '}', 'null', 'nul', 'nulls', '\u0000', '\u001f'];
    const piece = fc.oneof(fc.constantFrom(...blanks, ...near, ...special), fc.string({ unit: 'binary', maxLength: 3 }), awkwardString);
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 5 }), (parts) => {
        const s = parts.join('');
        assert.equal(isBare(s), referenceIsBare(s), JSON.stringify(s));
      }),
      { numRuns: 3000, seed: 2112 },
    );
    for (let c = 0; c < 0x10000; c++) {
      const s = String.fromCharCode(c);
      assert.equal(isBare(s), referenceIsBare(s), `U+${c.toString(16)}`);
      assert.equal(isBare(`a${s}`), referenceIsBare(`a${s}`), `a U+${c.toString(16)}`);
    }
  });

  for (const c of COLLECTION_NAMES) {
    it(`${c}: the compiled line renderer writes the reference's lines, and the fast parser reads them back`, () => {
      fc.assert(
        fc.property(entitiesOf(c), (entities) => {
          const layout = LAYOUTS[c];
          // Twice over: the second pass meets each string field's remembered last value.
          for (const e of [...entities, ...entities]) assert.equal(renderEntity(layout, e), referenceRenderEntity(layout, e));
          const model = modelOf({ [c]: entities });
          const text = renderSnapshot(model);
          const fromTable = text.split('\n').filter((l) => l.startsWith(`${layout.kind} `));
          assert.deepEqual(
            fromTable,
            [...model.collections[c].values()].map((e) => referenceRenderEntity(layout, e)),
          );
          const { parsed } = parseSnapshotWith(text, { fastPath: true });
          assert.deepEqual(parsed.errors, [], text);
          assert.deepEqual([...parsed.model!.collections[c].values()], [...model.collections[c].values()], text);
          assert.equal(renderSnapshot(parsed.model!), text);
        }),
        { numRuns: NUM_RUNS, seed: 2113 },
      );
    });
  }

  it('a line read in place reads as the same line cut out (every collection at once, a model of Maps too)', () => {
    fc.assert(
      fc.property(fc.record(Object.fromEntries(COLLECTION_NAMES.map((c) => [c, entitiesOf(c, 4)]))), (all) => {
        const model = modelOf(all as Record<CollectionName, AnyEntity[]>);
        const maps = {
          status: model.status,
          collections: Object.fromEntries(
            COLLECTION_NAMES.map((c) => [c, new Map(model.collections[c] as unknown as Iterable<[string, AnyEntity]>)]),
          ),
        };
        const text = renderSnapshot(model);
        assert.equal(renderSnapshot(maps as unknown as ClusterModel), text);
        const inPlace = parseSnapshotWith(text, { fastPath: true }).parsed;
        const general = parseSnapshotWith(text, { fastPath: false }).parsed;
        assert.deepEqual(inPlace.errors, []);
        for (const c of COLLECTION_NAMES) {
          assert.deepEqual([...inPlace.model!.collections[c].entries()], [...general.model!.collections[c].entries()]);
          for (const key of model.collections[c].keys()) assert.equal(inPlace.index.lineOf(c, key), general.index.lineOf(c, key));
        }
      }),
      { numRuns: 60, seed: 2114 },
    );
  });

  it('a model changed while its file is pulled chunk by chunk gives the file as it was', () => {
    const c = 'quickwit.metastore.shards';
    type Op = { kind: 'set' | 'delete'; at: number; entity: AnyEntity } | { kind: 'clear' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        arbitrary: fc.record({
          kind: fc.constantFrom('set' as const, 'delete' as const),
          at: fc.nat(),
          entity: entityArbitrary(c) as fc.Arbitrary<AnyEntity>,
        }),
        weight: 20,
      },
      { arbitrary: fc.constant({ kind: 'clear' as const }), weight: 1 },
    );
    fc.assert(
      fc.property(
        entitiesOf(c, 40),
        fc.array(fc.tuple(fc.nat(60), op), { maxLength: 30 }),
        fc.integer({ min: 1, max: 400 }),
        (entities, ops, chunkChars) => {
          const model = modelOf({ [c]: entities });
          const table = model.collections[c] as unknown as EntityTable<AnyEntity>;
          assert.ok(table instanceof EntityTable);
          const before = renderSnapshot(model);
          const chunks = renderSnapshotChunks(model, chunkChars);
          let text = '';
          let pulled = 0;
          const sorted = [...ops].sort((a, b) => a[0] - b[0]);
          for (let r = chunks.next(); !r.done; r = chunks.next()) {
            text += r.value;
            pulled++;
            // Between chunks, the model changes: entities replaced (an existing key), added, deleted, or all cleared.
            while (sorted.length && sorted[0]![0] <= pulled) {
              const [, o] = sorted.shift()!;
              const keys = [...table.keys()];
              if (o.kind === 'clear') table.clear();
              else if (o.kind === 'delete') {
                if (keys.length) table.delete(keys[o.at % keys.length]!);
              } else if (keys.length && o.at % 2 === 0) {
                const key = keys[o.at % keys.length]!;
                const old = table.get(key)!;
                table.set(key, {
                  ...o.entity,
                  key,
                  indexUid: (old as { indexUid: string }).indexUid,
                  sourceId: (old as { sourceId: string }).sourceId,
                  shardId: (old as { shardId: string }).shardId,
                } as AnyEntity);
              } else table.set(o.entity.key, o.entity);
            }
          }
          assert.equal(text, before);
        },
      ),
      { numRuns: NUM_RUNS, seed: 2115 },
    );
  });

  it('a save that stops early closes its reader: the table compacts again', () => {
    const c = 'quickwit.metastore.shards';
    const entities = fc.sample(entitiesOf(c, 40), { numRuns: 1, seed: 2116 })[0]!;
    const model = modelOf({ [c]: entities });
    const table = model.collections[c] as unknown as EntityTable<AnyEntity>;
    assert.ok(table instanceof EntityTable);
    const open = table as unknown as { views: Set<unknown>; iterators: number };
    const started = renderSnapshotChunks(model, 64);
    started.next();
    assert.equal(open.views.size, 1);
    started.return(undefined);
    assert.deepEqual([open.views.size, open.iterators], [0, 0]);
    // Returned before its first chunk: a generator's own \`finally\` would not run.
    renderSnapshotChunks(model, 64).return(undefined);
    assert.deepEqual([open.views.size, open.iterators], [0, 0]);
    // Pulled to the end.
    assert.equal([...renderSnapshotChunks(model, 64)].join(''), renderSnapshot(model));
    assert.deepEqual([open.views.size, open.iterators], [0, 0]);
  });
});
