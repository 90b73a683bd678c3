/**
 * Streamed snapshots are the same snapshots: the chunked renderer's chunks
 * concatenate to exactly `renderSnapshot`'s text, and the streaming parser,
 * fed the text in arbitrary pieces (strings, or UTF-8 bytes cut inside a
 * character), gives exactly what the string parser gives: model, errors,
 * summarised groups and line index. On random entities of every collection,
 * and on text with errors, CRLF, group lines and no final newline.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { COLLECTION_NAMES, type AnyEntity, type CollectionName } from '../../src/protocol';
import {
  emptyCollections,
  renderSnapshot,
  renderSnapshotChunks,
  renderSnapshotDocument,
  type ClusterModel,
  type ParsedSnapshot,
} from '../../src/analysis';
import { parseSnapshotStream, parseSnapshotWith } from '../../src/analysis/snapshot/parse';
import { entityArbitrary } from './arbitraries';
import * as F from './fixtures';

function modelOf(entities: Partial<Record<CollectionName, AnyEntity[]>>): ClusterModel {
  const collections = emptyCollections();
  const status = F.status({ clusterName: 'é "x"' });
  for (const [c, list] of Object.entries(entities) as [CollectionName, AnyEntity[]][]) {
    const map = collections[c] as Map<string, AnyEntity>;
    for (const e of list) map.set(e.key, e);
    status.counts = { ...status.counts, [c]: map.size };
  }
  return { status, collections };
}

/** Cuts `text` at the given fractions, as strings or as UTF-8 bytes. */
function pieces(text: string, cuts: number[], bytes: boolean): (string | Uint8Array)[] {
  const whole = bytes ? Buffer.from(text, 'utf8') : text;
  const at = [...new Set(cuts.map((f) => Math.floor(f * whole.length)))].sort((a, b) => a - b);
  const out: (string | Uint8Array)[] = [];
  let prev = 0;
  for (const i of [...at, whole.length]) {
    out.push(whole.slice(prev, i) as string | Uint8Array);
    prev = i;
  }
  return out;
}

async function* slowly(chunks: (string | Uint8Array)[]): AsyncIterable<string | Uint8Array> {
  for (const c of chunks) {
    await Promise.resolve();
    yield c;
  }
}

function assertSameParse(streamed: ParsedSnapshot, whole: ParsedSnapshot, text: string): void {
  assert.deepEqual(streamed.errors, whole.errors, text);
  assert.deepEqual(streamed.summarised, whole.summarised, text);
  assert.equal(streamed.model === null, whole.model === null, text);
  if (!whole.model) return;
  assert.deepEqual(streamed.model!.status, whole.model.status, text);
  for (const c of COLLECTION_NAMES) {
    assert.deepEqual([...streamed.model!.collections[c].entries()], [...whole.model.collections[c].entries()], `${c}\n${text}`);
    assert.equal(streamed.index.sectionLine(c), whole.index.sectionLine(c));
    for (const key of whole.model.collections[c].keys()) assert.equal(streamed.index.lineOf(c, key), whole.index.lineOf(c, key));
  }
}

const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 });

describe('streamed snapshots', () => {
  for (const c of COLLECTION_NAMES) {
    it(`${c}: chunks render the string, and the stream parses as the string`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(entityArbitrary(c) as fc.Arbitrary<AnyEntity>, { selector: (e) => e.key, maxLength: 6 }),
          fc.integer({ min: 1, max: 300 }),
          cuts,
          fc.boolean(),
          async (entities, chunkChars, at, bytes) => {
            const model = modelOf({ [c]: entities });
            const text = renderSnapshot(model);
            const chunks = [...renderSnapshotChunks(model, chunkChars)];
            assert.equal(chunks.join(''), text);
            for (const chunk of chunks) assert.ok(chunk.endsWith('\n'), 'chunks are whole lines');
            assert.equal(renderSnapshotDocument(model).text, text);
            const whole = parseSnapshotWith(text, { fastPath: true }).parsed;
            assert.deepEqual(whole.errors, []);
            assertSameParse(await parseSnapshotStream(slowly(pieces(text, at, bytes))), whole, text);
            assertSameParse(await parseSnapshotStream(chunks), whole, text);
          },
        ),
        { numRuns: 60, seed: 20250103 },
      );
    });
  }

  it('every collection at once, with the general path too', async () => {
    const all = fc.record(
      Object.fromEntries(
        COLLECTION_NAMES.map((c) => [
          c,
          fc.uniqueArray(entityArbitrary(c) as fc.Arbitrary<AnyEntity>, { selector: (e) => e.key, maxLength: 3 }),
        ]),
      ) as Record<CollectionName, fc.Arbitrary<AnyEntity[]>>,
    );
    await fc.assert(
      fc.asyncProperty(all, cuts, fc.boolean(), fc.boolean(), async (entities, at, bytes, fastPath) => {
        const text = renderSnapshot(modelOf(entities));
        const whole = parseSnapshotWith(text, { fastPath }).parsed;
        assertSameParse(await parseSnapshotStream(pieces(text, at, bytes), { fastPath }), whole, text);
      }),
      { numRuns: 40, seed: 20250104 },
    );
  });

  it('text with errors, CRLF, group lines, unicode and no final newline parses the same', async () => {
    const LINES = [
      '# comment',
      '',
      'cluster sim scenario=x seed=1 time=2 seq=3 controlPlaneEpoch=0',
      'bugs shards=buggy',
      '[shards]',
      '[quickwit.ingesters]',
      'ingester i-1 nodeId=i-1 status=ready version=1',
      'ingester i-1 nodeId=i-1 status=ready version=2',
      'ingester "日本 😀" status=failed version=3\r',
      'group g count=500',
      'bogus line',
      '[nope]',
      'shard a/b/c version=1',
      '[quickwit.metastore.shards]',
      'shard a/b/c version=1',
      '\r',
      'ingester x version=1',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...LINES), { maxLength: 20 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        cuts,
        fc.boolean(),
        async (lines, eol, final, at, bytes) => {
          const text = lines.join(eol) + (final ? eol : '');
          const whole = parseSnapshotWith(text, { fastPath: true }).parsed;
          assertSameParse(await parseSnapshotStream(slowly(pieces(text, at, bytes))), whole, text);
        },
      ),
      { numRuns: 300, seed: 20250105 },
    );
  });

  it('an empty stream is the empty text', async () => {
    assertSameParse(await parseSnapshotStream([]), parseSnapshotWith('', { fastPath: true }).parsed, '');
  });
});
